"""Readers for the public territory datasets (Pfizer Turkey realignment, synthetic clustered instances).

Paths come from :func:`optimizer.paths.shared_datasets`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.model.territories import TerritoriesProblem
from optimizer.paths import shared_datasets


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _mds(d: np.ndarray) -> np.ndarray:
    """Classical multidimensional scaling to 2-D (only used to draw bricks that have no coordinates)."""
    n = len(d)
    j = np.eye(n) - 1.0 / n
    b = -0.5 * j @ (d**2) @ j
    vals, vecs = np.linalg.eigh(b)
    idx = np.argsort(vals)[::-1][:2]
    return np.asarray(vecs[:, idx] * np.sqrt(np.maximum(vals[idx], 0.0)))


def pfizer_problem(size: str, lo: float = 0.8, hi: float = 1.2, *, pareto: bool = True,
                   max_workload_moved: float | None = None, root: Path | None = None) -> TerritoriesProblem:
    """The Pfizer Turkey case as a territories problem.

    Offices are fixed centres, office bricks are locked to their SR, the objective is the plain sum of
    office-to-brick distances (``distance_weight="unit"``) and disruption is the index value (workload)
    moved. ``size`` is ``"22x4"`` (distance table) or ``"100x10"`` (euclidean on x, y).
    Workload bounds ``[lo, hi]`` around the mean 1.0 become the tolerance ``hi - 1`` (symmetric cases).
    """
    base = (root or shared_datasets()) / "territory-pfizer-turkey"
    tau = round(hi - 1.0, 10)
    if abs((1.0 - lo) - tau) > 1e-9:
        raise ValueError("only symmetric bounds around 1.0 are supported")
    data: dict[str, Any] = {"name": f"pfizer-{size}", "balance": {"workload": tau}, "distance_weight": "unit",
                            "move_cost_basis": "workload", "pareto": pareto}
    if max_workload_moved is not None:
        data["max_workload_moved"] = max_workload_moved
    if size == "22x4":
        rows = _read(base / "bricks_22x4.csv")
        drows = _read(base / "brick_brick_distance_22.csv")
        dm = np.array([[float(r[str(j + 1)]) for j in range(22)] for r in drows])
        xy = _mds(dm)
        data["travel"] = {"metric": "euclidean"}
        data["territories"] = [{"id": f"SR{s}"} for s in range(1, 5)]
        data["units"] = [
            {"id": r["brick"], "location": {"x": float(xy[i, 0]), "y": float(xy[i, 1])},
             "workload": float(r["index_value"]), "current": f"SR{r['current_sr']}",
             "locked": r["is_office_of_sr"] != "0",
             "distances": {f"SR{s}": float(r[f"sr{s}_office"]) for s in range(1, 5)}}
            for i, r in enumerate(rows)
        ]
    elif size == "100x10":
        rows = _read(base / "bricks_100x10.csv")
        cur = [int(float(r["current_sr"])) for r in rows]  # brick 98 reads 10.1 in the source: SR 10
        offices = {cur[i]: (float(r["x"]), float(r["y"])) for i, r in enumerate(rows) if r["is_office"] == "1"}
        data["travel"] = {"metric": "euclidean"}
        data["territories"] = [{"id": f"SR{s}", "center": {"x": offices[s][0], "y": offices[s][1]}}
                               for s in sorted(offices)]
        data["units"] = [
            {"id": r["brick"], "location": {"x": float(r["x"]), "y": float(r["y"])},
             "workload": float(r["index_value"]), "current": f"SR{cur[i]}", "locked": r["is_office"] == "1"}
            for i, r in enumerate(rows)
        ]
    else:
        raise ValueError(f"unknown Pfizer instance {size!r}")
    return TerritoriesProblem.model_validate(data)


def clustered_units(n: int, seed: int, root: Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xy, workload, potential)`` of ``units_n{n}_s{seed}.csv`` from territory-synthetic-clustered."""
    base = (root or shared_datasets()) / "territory-synthetic-clustered"
    rows = _read(base / f"units_n{n}_s{seed}.csv")
    xy = np.array([[float(r["x_km"]), float(r["y_km"])] for r in rows])
    w = np.array([float(r["workload_h"]) for r in rows])
    pot = np.array([float(r["potential"]) for r in rows])
    return xy, w, pot


def clustered_edges(n: int, seed: int, root: Path | None = None) -> np.ndarray:
    """Delaunay edges (0-based unit indices) of a synthetic clustered instance."""
    base = (root or shared_datasets()) / "territory-synthetic-clustered"
    rows = _read(base / f"delaunay_edges_n{n}_s{seed}.csv")
    return np.array([[int(r["u"]), int(r["v"])] for r in rows], dtype=np.int64)


def generate_clustered(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A clustered instance generated like territory-synthetic-clustered (see its README)."""
    rng = np.random.default_rng(seed)
    cities = rng.uniform(80, 920, size=(12, 2))
    cw = rng.dirichlet(np.full(12, 2.0))
    n_city = round(0.8 * n)
    which = rng.choice(12, size=n_city, p=cw)
    sd = rng.uniform(15, 60, size=12)
    pts = cities[which] + rng.normal(size=(n_city, 2)) * sd[which, None]
    uni = rng.uniform(0, 1000, size=(n - n_city, 2))
    xy = np.clip(np.concatenate([pts, uni]), 0, 1000)
    w = rng.lognormal(np.log(10), 0.6, size=n)
    pot = w * rng.lognormal(0, 0.4, size=n) * 1000
    return xy, w, pot


def clustered_problem(xy: np.ndarray, w: np.ndarray, pot: np.ndarray, p: int, tau: float = 0.05,
                      contiguity: bool = False, edges: np.ndarray | None = None) -> TerritoriesProblem:
    """A free-centre territories problem over planar units."""
    data: dict[str, Any] = {
        "units": [{"id": str(i), "location": {"x": float(xy[i, 0]), "y": float(xy[i, 1])},
                   "workload": float(w[i]), "potential": float(pot[i])} for i in range(len(xy))],
        "count": p, "balance": {"workload": tau}, "travel": {"metric": "euclidean"}, "contiguity": contiguity,
    }
    if edges is not None:
        data["adjacency"] = [[str(a), str(b)] for a, b in edges]
    return TerritoriesProblem.model_validate(data)
