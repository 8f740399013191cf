"""Travel-matrix build time and peak memory (haversine km + minutes) vs a plain-Python loop and scikit-learn.

Usage::

    .venv/bin/python benchmarks/travel.py                          # 1,000 / 5,000 / 10,000 points
    .venv/bin/python benchmarks/travel.py --sizes 1000 5000 --no-write
    salesplan bench travel --time-limit 120

For each size it builds :class:`optimizer.travel.TravelModel`'s full km and minutes matrices
(haversine, detour 1.3, 30 km/h) on random points of a 25 km city, timing each and measuring the
peak traced memory (``tracemalloc``, which sees numpy's buffers) against the theory of ``8 n^2``
bytes per float64 matrix. Side by side on the same points: the one-shot broadcasting formula
(what :func:`pairwise_km` did before it worked in blocks), scikit-learn's ``haversine_distances``,
and, at the baseline size, a plain-Python double loop with ``math``. Sizes whose matrices would not
fit the time limit are skipped and said so.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results_md import machine, table, write_section
from optimizer.model.common import Travel
from optimizer.travel import EARTH_RADIUS_KM, TravelModel, haversine_km

MB = 1e6


def city_points(n: int, seed: int = 0) -> np.ndarray:
    """``n`` (lat, lon) points within ~25 km of a city centre."""
    rng = np.random.default_rng(seed)
    r = 25.0 * np.sqrt(rng.uniform(0, 1, n))
    a = rng.uniform(0, 2 * math.pi, n)
    lat0, lon0 = 55.75, 37.62
    lat = lat0 + r * np.sin(a) / 111.195
    lon = lon0 + r * np.cos(a) / (111.195 * math.cos(math.radians(lat0)))
    return np.column_stack([lat, lon])


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``fn``; return its result, seconds and peak traced MB."""
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    res = fn()
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return res, dt, peak / MB


def sklearn_km(fn: Callable[[np.ndarray], np.ndarray], rad: np.ndarray) -> np.ndarray:
    """scikit-learn's unit-sphere haversine scaled to km."""
    return fn(rad) * EARTH_RADIUS_KM


def python_loop_km(pts: np.ndarray) -> list[list[float]]:
    """Plain-Python haversine double loop (the baseline)."""
    rows = [(math.radians(a), math.radians(b)) for a, b in pts.tolist()]
    out = []
    for p1, l1 in rows:
        c1 = math.cos(p1)
        row = []
        for p2, l2 in rows:
            h = math.sin((p2 - p1) / 2) ** 2 + c1 * math.cos(p2) * math.sin((l2 - l1) / 2) ** 2
            row.append(2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h))))
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables and write the ``travel`` section of RESULTS.md."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    ap.add_argument("--baseline-n", type=int, default=1000, help="points for the plain-Python loop")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds for the whole run (sizes beyond skipped)")
    ap.add_argument("--oneshot-max", type=int, default=5000, help="largest n for the one-shot formula (memory!)")
    ap.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    a = ap.parse_args(argv)
    try:
        from sklearn.metrics.pairwise import haversine_distances
    except ImportError:  # the bench extra is not installed
        haversine_distances = None

    start = time.perf_counter()
    rows: list[list[object]] = []
    peers: list[list[object]] = []
    skipped: list[str] = []
    per_cell = None  # seconds per matrix cell, to predict the next size
    for n in a.sizes:
        left = a.time_limit - (time.perf_counter() - start)
        if per_cell is not None and per_cell * n * n * 4 > left:
            skipped.append(f"{n:,} (predicted {per_cell * n * n * 4:.0f} s > {left:.0f} s left)")
            continue
        pts = city_points(n)
        travel = Travel(metric="haversine", speed_kmh=30.0, detour=1.3)
        tm = TravelModel(pts, travel)
        km, t_km, p_km = measure(tm.km_matrix)
        minutes, t_min, p_min = measure(tm.minutes_matrix)
        per_cell = (t_km + t_min) / (n * n)
        theory = 8 * n * n / MB
        rows.append([f"{n:,}", round(t_km, 2), round(t_min, 2), round(t_km + t_min, 2), round(theory),
                     round(p_km), round(p_min), f"{p_km / theory:.2f}"])
        ref_gc = km / 1.3
        if n <= a.oneshot_max:
            args = (pts[:, 0:1], pts[:, 1:2], pts[None, :, 0], pts[None, :, 1])
            one, t_one, p_one = measure(partial(haversine_km, *args))
            diff = float(np.abs(one - ref_gc).max())
            peers.append([f"{n:,}", "one-shot numpy broadcast (previous pairwise_km)", round(t_one, 2), round(p_one),
                          f"{t_one / t_km:.2f}", f"{p_one / p_km:.2f}", f"{diff:.1e}"])
            del one
        if haversine_distances is not None:
            rad = np.radians(pts)
            sk, t_sk, p_sk = measure(partial(sklearn_km, haversine_distances, rad))
            diff = float(np.abs(sk - ref_gc).max())
            peers.append([f"{n:,}", "scikit-learn haversine_distances", round(t_sk, 2), round(p_sk),
                          f"{t_sk / t_km:.2f}", f"{p_sk / p_km:.2f}", f"{diff:.1e}"])
            del sk
        if n == a.baseline_n:
            loop, t_loop, _ = measure(partial(python_loop_km, pts))
            diff = float(np.abs(np.array(loop) - ref_gc).max())
            peers.append([f"{n:,}", "plain-Python double loop (math)", round(t_loop, 2), "-",
                          f"{t_loop / t_km:.1f}", "-", f"{diff:.1e}"])
            del loop
        del km, minutes, tm
        print(f"n={n:,}: km {t_km:.2f} s, minutes {t_min:.2f} s, peak {p_km:.0f} MB (theory {theory:.0f} MB)",
              flush=True)

    h1 = ["points", "km s", "minutes s", "total s", "8n² MB", "peak MB (km)", "peak MB (+minutes)", "peak / 8n²"]
    h2 = ["points", "peer (same points)", "s", "peak MB", "time vs ours", "memory vs ours", "max abs diff km"]
    t1, t2 = table(h1, rows), table(h2, peers)
    print(t1, "\n", t2, sep="\n")
    if skipped:
        print("skipped:", "; ".join(skipped))
    if a.no_write:
        return 0
    cmd = "python benchmarks/travel.py " + " ".join(argv if argv is not None else sys.argv[1:])
    md = f"""## travel: haversine matrix build time and memory

Command: `{cmd.strip()}` — {machine()}; shared 2-core machine, single runs, so times are indicative.

`TravelModel.km_matrix()` (haversine x detour 1.3) then `minutes_matrix()` (km / 30 km/h x 60) on random
points of a 25 km city. Memory: a float64 n x n matrix takes **8 n² bytes** (1,000 points: 8 MB;
5,000: 200 MB; 10,000: 800 MB), so km + minutes take 16 n² bytes. Peak = `tracemalloc` peak during
the build (numpy buffers included); the minutes build adds its own 8 n² (the km matrix is already held).

{t1}

Peers on the same points (the ratio is the peer's time or memory over ours for the km matrix; diff = largest
difference of great-circle km vs ours):

{t2}
"""
    if skipped:
        md += "\nSkipped: " + "; ".join(skipped) + "\n"
    write_section("travel", md)
    print(f"wrote the travel section of {Path(__file__).parent / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
