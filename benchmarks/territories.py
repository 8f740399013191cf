"""Territory design benchmark: salesplan vs k-means, size-balanced k-means, Hess location-allocation, LP bound.

Instances: territory-synthetic-clustered (n500 seeds 1-3 with p=10, n2000 seeds 1-2 with p=20) and
generated clustered instances (``--generated 10000``, p = n/200). Metrics follow the dataset README:
``bal_w``/``bal_p`` max relative deviation of workload/potential, ``disp`` workload x distance to the
territory's weighted medoid / total workload, ``diam`` largest intra-territory distance, ``disc``
territories not connected on the Delaunay graph, ``time`` seconds. All metrics are recomputed here
from each method's labels with the same code. A second table gives our own lower bound per instance
(Lagrangian of the p-median-with-balance LP, ``--bound-time`` seconds per size; valid at every
iterate) next to the dataset README's exact LP values and the issue's targets. The set-partitioning
(Dantzig-Wolfe) bound is in ``benchmarks/territories_bound.py``.

Run: ``python benchmarks/territories.py --time-limit 10 --sizes 500 2000 --generated 10000``
(salesplan gets ``--time-limit`` at n=500, 3x at n=2000 and ``--big-time-limit`` for generated ones).

``--mixed K [K ...]`` (section ``territories_mixed``): K existing reps keep their homes and ``p - K``
new territories get centres chosen by the solver (K <= 0 means ``p + K``, 0 < K < 1 a fraction of p).
The homes are those of an older alignment: an all-free solve with K territories, each home a random
unit among the 10 nearest its territory's medoid. Compared on the same instance: (a) the all-free
engine with p territories (ignores the homes: what the map would look like if every rep could move),
(b) the planner's workaround, the all-free answer's centres matched to the homes (least total km,
Hungarian), the matched territories fixed at the homes, the others at the free answer's medoids,
re-solved as an all-fixed problem, and (c) one mixed solve.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix
from scipy.spatial import ConvexHull, Delaunay

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results_md import machine, table, write_section
from optimizer.paths import shared_datasets
from optimizer.territories import solve_territories
from optimizer.territories.bound import lagrangian_bound
from optimizer.territories.datasets import (
    clustered_edges,
    clustered_problem,
    clustered_units,
    generate_clustered,
)

LP_BOUNDS = {(500, 1): 70.22, (500, 2): 73.86, (500, 3): 76.38}  # dataset README (valid LP bounds on disp)
# set-partitioning Lagrangian bounds measured by benchmarks/territories_bound.py (section territories_dw_bound)
DW_BOUNDS = {(500, 1): 70.216, (500, 2): 73.863, (500, 3): 76.193, (2000, 1): 52.184, (2000, 2): 53.333}
TAU = 0.05


# -- metrics ------------------------------------------------------------------------------------
def metrics(xy: np.ndarray, w: np.ndarray, pot: np.ndarray, lab: np.ndarray, p: int,
            edges: np.ndarray) -> dict[str, float]:
    """bal_w, bal_p, disp, diam, disconnected recomputed from labels."""
    W = np.bincount(lab, weights=w, minlength=p)
    P = np.bincount(lab, weights=pot, minlength=p)
    disp = 0.0
    diam = 0.0
    for t in range(p):
        m = np.flatnonzero(lab == t)
        if len(m) == 0:
            continue
        d = np.sqrt(((xy[m, None, :] - xy[None, m, :]) ** 2).sum(-1)) if len(m) <= 3000 else None
        if d is not None:
            disp += float((w[m] @ d).min())
        pts = m
        if len(m) > 3:
            try:
                pts = m[ConvexHull(xy[m]).vertices]
            except Exception:  # collinear
                pts = m
        dd = np.sqrt(((xy[pts, None, :] - xy[None, pts, :]) ** 2).sum(-1))
        diam = max(diam, float(dd.max()))
    nb: list[list[int]] = [[] for _ in range(len(xy))]
    for a, b in edges:
        nb[a].append(int(b))
        nb[b].append(int(a))
    seen = np.zeros(len(xy), dtype=bool)
    pieces = np.zeros(p, dtype=int)
    for s in range(len(xy)):
        if seen[s]:
            continue
        pieces[lab[s]] += 1
        seen[s] = True
        q = deque([s])
        while q:
            u = q.popleft()
            for v in nb[u]:
                if not seen[v] and lab[v] == lab[u]:
                    seen[v] = True
                    q.append(v)
    return {"bal_w": float(np.abs(W / W.mean() - 1).max()), "bal_p": float(np.abs(P / P.mean() - 1).max()),
            "disp": disp / float(w.sum()), "diam": diam, "disc": int((pieces > 1).sum())}


# -- baselines ----------------------------------------------------------------------------------
def kmeans(xy: np.ndarray, w: np.ndarray, p: int, seed: int) -> np.ndarray:
    """Workload-weighted k-means (scikit-learn), no balance."""
    from sklearn.cluster import KMeans

    return np.asarray(KMeans(p, n_init=10, random_state=seed).fit(xy, sample_weight=w).labels_)


def kmeans_constrained(xy: np.ndarray, p: int, seed: int) -> np.ndarray:
    """Equal unit counts (k-means-constrained): size-balanced, not workload-balanced."""
    from k_means_constrained import KMeansConstrained

    n = len(xy)
    km = KMeansConstrained(n_clusters=p, size_min=n // p, size_max=-(-n // p), random_state=seed,
                           n_init=3 if n <= 5000 else 1)
    return np.asarray(km.fit_predict(xy))


def hess(xy: np.ndarray, w: np.ndarray, p: int, seed: int, tau: float = TAU, kk: int = 10) -> np.ndarray:
    """Hess location-allocation as in the dataset README (independent, plain implementation).

    Weighted k-means start; balanced transport LP to the medoids (each unit restricted to its ``kk``
    nearest centres), largest fraction rounding; re-centre on weighted medoids until stable; then
    greedy shift repair of the balance.
    """
    from sklearn.cluster import KMeans

    n = len(xy)
    cen = KMeans(p, n_init=1, random_state=seed).fit(xy, sample_weight=w).cluster_centers_
    med = np.array([int(np.argmin(((xy - c) ** 2).sum(1))) for c in cen])
    lo, hi = (1 - tau) * w.sum() / p, (1 + tau) * w.sum() / p
    lab = np.zeros(n, dtype=int)
    for _ in range(30):
        d = np.sqrt(((xy[:, None, :] - xy[med][None, :, :]) ** 2).sum(-1))
        near = np.argsort(d, axis=1)[:, :kk]
        ii = np.repeat(np.arange(n), kk)
        tt = near.ravel()
        c = w[ii] * d[ii, tt]
        cols = np.arange(len(ii))
        a_eq = csr_matrix((np.ones(len(ii)), (ii, cols)), shape=(n, len(ii)))
        a_t = csr_matrix((w[ii], (tt, cols)), shape=(p, len(ii)))
        from scipy.sparse import vstack

        res = linprog(c, A_ub=vstack([a_t, -a_t]), b_ub=np.concatenate([np.full(p, hi), np.full(p, -lo)]),
                      A_eq=a_eq, b_eq=np.ones(n), bounds=(0, 1), method="highs")
        if res.x is None:
            if kk < p:  # balance infeasible with the nearest centres only: allow every centre
                kk = p
                continue
            lab = np.argmin(d, axis=1)
            break
        order = np.argsort(res.x)
        lab[ii[order]] = tt[order]
        new = med.copy()
        for t in range(p):
            m = np.flatnonzero(lab == t)
            if len(m):
                dm = np.sqrt(((xy[m, None, :] - xy[None, m, :]) ** 2).sum(-1))
                new[t] = m[int(np.argmin(w[m] @ dm))]
        if np.array_equal(new, med):
            break
        med = new
    # greedy repair: move the cheapest unit out of an over-loaded territory / into an under-loaded one
    d = np.sqrt(((xy[:, None, :] - xy[med][None, :, :]) ** 2).sum(-1))
    rows = np.arange(n)
    for _ in range(n):
        L = np.bincount(lab, weights=w, minlength=p)
        over = np.greater(L, hi)
        under = np.less(L, lo)
        if not over.any() and not under.any():
            break
        src = over[lab] if over.any() else (L[lab] - w >= lo)
        dst = under if under.any() else np.ones(p, dtype=bool)
        ok = src[:, None] & dst[None, :] & (L[None, :] + w[:, None] <= hi) & (lab[:, None] != np.arange(p))
        if not ok.any():
            break
        dc = np.where(ok, w[:, None] * (d - d[rows, lab][:, None]), np.inf)
        i, b = np.unravel_index(int(np.argmin(dc)), dc.shape)
        lab[i] = b
    return lab


# -- runner -------------------------------------------------------------------------------------
def run_instance(name: str, xy: np.ndarray, w: np.ndarray, pot: np.ndarray, p: int, edges: np.ndarray,
                 tl: float, seed: int, methods: list[str], bound: float | None) -> list[dict[str, object]]:
    """Run every method on one instance and return table rows."""
    out: list[dict[str, object]] = []
    for meth in methods:
        t0 = time.monotonic()
        extra = ""
        if meth in ("salesplan", "salesplan_contig"):
            contig = meth == "salesplan_contig"
            prob = clustered_problem(xy, w, pot, p, TAU, contiguity=contig, edges=edges if contig else None)
            sol = solve_territories(prob, time_limit=tl, seed=seed)
            lab = np.array([int(sol.assignment[str(i)][1:]) - 1 for i in range(len(xy))])
            extra = f"{sol.stats.get('descents', '')} descents"
        elif meth == "kmeans":
            lab = kmeans(xy, w, p, seed)
        elif meth == "kmeans_constrained":
            lab = kmeans_constrained(xy, p, seed)
        elif meth == "hess":
            lab = hess(xy, w, p, seed)
        else:
            raise SystemExit(f"unknown method {meth}")
        el = time.monotonic() - t0
        m = metrics(xy, w, pot, lab, p, edges)
        out.append({"instance": name, "method": meth, "time": el, **m, "note": extra})
        print(f"{name:14s} {meth:19s} {el:7.1f}s bal_w {m['bal_w']:.4f} bal_p {m['bal_p']:.4f} "
              f"disp {m['disp']:.3f} diam {m['diam']:.1f} disc {m['disc']}", flush=True)
    hess_row = next((r for r in out if r["method"] == "hess"), None)
    for r in out:
        r["vs_hess"] = (float(r["disp"]) / float(hess_row["disp"]) - 1) if hess_row else None  # type: ignore[arg-type]
        r["gap_lb"] = (float(r["disp"]) / bound - 1) if bound else None  # type: ignore[arg-type]
    return out


def our_bound(xy: np.ndarray, w: np.ndarray, pot: np.ndarray, p: int, tl: float,
              upper: float) -> tuple[float, int]:
    """Our Lagrangian bound on disp (valid at every iterate; <= the LP relaxation) and its iterations."""
    from optimizer.territories.instance import build_instance

    inst = build_instance(clustered_problem(xy, w, pot, p, TAU))
    r = lagrangian_bound(inst, time_limit=tl, upper=upper * float(w.sum()))
    assert r is not None
    return r.value / float(w.sum()), r.iterations


def baseline_csv() -> dict[tuple[int, int, str], float]:
    """disp of the dataset's own baseline rows (hess_lp etc.)."""
    f = shared_datasets() / "territory-synthetic-clustered" / "baseline_results.csv"
    out: dict[tuple[int, int, str], float] = {}
    with open(f, encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["disp"]:
                out[(int(r["n"]), int(r["seed"]), r["method"])] = float(r["disp"])
    return out


def bound_row(name: str, xy: np.ndarray, w: np.ndarray, pot: np.ndarray, p: int, tl: float,
              r: list[dict[str, object]], readme: float | None) -> list[object]:
    """One row of the bound table: our bound, the README's, the best salesplan answer and the targets."""
    ours = [float(x["disp"]) for x in r if str(x["method"]).startswith("salesplan")]  # type: ignore[arg-type]
    hess_d = next((float(x["disp"]) for x in r if x["method"] == "hess"), None)  # type: ignore[arg-type]
    best = min(ours) if ours else (hess_d or 0.0)
    t0 = time.monotonic()
    lb, iters = our_bound(xy, w, pot, p, tl, best)
    el = time.monotonic() - t0
    print(f"{name}: our bound {lb:.3f} ({iters} iterations, {el:.0f} s), best salesplan {best:.3f}", flush=True)
    return [name, f"{readme:.2f}" if readme else "", f"{lb:.3f}", iters, f"{el:.0f}", f"{best:.3f}",
            f"{best / lb - 1:+.1%}", f"{best / readme - 1:+.1%}" if readme else "",
            f"{hess_d:.3f}" if hess_d else "", f"{0.97 * hess_d:.3f}" if hess_d else "",
            f"{1.03 * (readme or lb):.3f}"]


def mixed_disp(xy: np.ndarray, w: np.ndarray, lab: np.ndarray, homes: np.ndarray, p: int) -> float:
    """sum w x distance to the home (territories ``< len(homes)``) or to the weighted medoid, / total w."""
    tot = 0.0
    for t in range(p):
        m = np.flatnonzero(lab == t)
        if len(m) == 0:
            continue
        if t < len(homes):
            tot += float(w[m] @ np.sqrt(((xy[m] - homes[t]) ** 2).sum(1)))
        else:
            d = np.sqrt(((xy[m, None, :] - xy[None, m, :]) ** 2).sum(-1))
            tot += float((w[m] @ d).min())
    return tot / float(w.sum())


def _labels(sol: object, n: int, tids: list[str]) -> np.ndarray:
    pos = {t: j for j, t in enumerate(tids)}
    return np.array([pos[sol.assignment[str(i)]] for i in range(n)])  # type: ignore[attr-defined]


def mixed(args: argparse.Namespace) -> None:
    """Mixed fixed and free centres vs the all-free engine and the all-fixed workaround; section territories_mixed."""
    from scipy.optimize import linear_sum_assignment

    from optimizer.model.territories import TerritoriesProblem

    rows: list[list[object]] = []
    load0 = os.getloadavg()[0]
    for n in args.sizes:
        p = 10 if n == 500 else 20
        for s in args.seeds or ([1, 2, 3] if n == 500 else [1, 2]):
            xy, w, pot = clustered_units(n, s)
            tl = args.time_limit if n == 500 else 3 * args.time_limit
            base = clustered_problem(xy, w, pot, p, TAU)
            data = base.model_dump(mode="json", exclude_none=True)
            t0, c0 = time.monotonic(), _cpu()
            free = solve_territories(base, time_limit=tl, seed=0)
            free_s, free_cpu = time.monotonic() - t0, _cpu() - c0
            tids = [f"T{t + 1}" for t in range(p)]
            lab_f = _labels(free, n, tids)
            cen_f = np.array([c.center.coords() for c in free.territories])  # type: ignore[union-attr]
            for kk in args.mixed:
                K = round(kk * p) if 0 < kk < 1 else int(kk) if kk >= 1 else p + int(kk)
                if not 0 < K < p:
                    continue
                # homes: an older alignment with K reps, each home near its territory's medoid
                old = solve_territories(clustered_problem(xy, w, pot, K, TAU), time_limit=tl / 3, seed=1)
                rng = np.random.default_rng(1000 * n + 10 * s + K)
                homes = np.zeros((K, 2))
                for t, terr in enumerate(old.territories):
                    c = np.array(terr.center.coords())  # type: ignore[union-attr]
                    near = np.argsort(((xy - c) ** 2).sum(1), kind="stable")[:10]
                    homes[t] = xy[int(rng.choice(near))]
                name = f"n{n}_s{s}"
                # (a) all-free: its own medoids (no homes)
                disp_a = mixed_disp(xy, w, lab_f, np.zeros((0, 2)), p)
                # (b) workaround: match the free centres to the homes, fix all centres, re-solve
                cost = np.sqrt(((homes[:, None, :] - cen_f[None, :, :]) ** 2).sum(-1))
                hr, hc = linear_sum_assignment(cost)
                order = list(hc[np.argsort(hr)]) + [t for t in range(p) if t not in set(hc.tolist())]
                pts = np.concatenate([homes, cen_f[order[K:]]])
                fixed_terr = [{"id": f"T{t + 1}", "center": {"x": float(pts[t, 0]), "y": float(pts[t, 1])}}
                              for t in range(p)]
                dfix = dict(data, territories=fixed_terr)
                dfix.pop("count", None)
                t0, c0 = time.monotonic(), _cpu()
                fx = solve_territories(TerritoriesProblem.model_validate(dfix), time_limit=tl, seed=0)
                fx_s, fx_cpu = time.monotonic() - t0, _cpu() - c0
                lab_b = _labels(fx, n, tids)
                disp_b = mixed_disp(xy, w, lab_b, homes, p)  # free slots re-centred on their medoids
                # (c) mixed: homes fixed, the rest chosen
                mix_terr = [{"id": f"T{t + 1}", **({"center": {"x": float(homes[t, 0]), "y": float(homes[t, 1])}}
                                                   if t < K else {})} for t in range(p)]
                dmix = dict(data, territories=mix_terr)
                dmix.pop("count", None)
                t0, c0 = time.monotonic(), _cpu()
                mx = solve_territories(TerritoriesProblem.model_validate(dmix), time_limit=tl, seed=0)
                mx_s, mx_cpu = time.monotonic() - t0, _cpu() - c0
                lab_c = _labels(mx, n, tids)
                disp_c = mixed_disp(xy, w, lab_c, homes, p)
                if abs(disp_c * float(w.sum()) - float(mx.objective or 0.0)) > 1e-6 * float(w.sum()) * disp_c:
                    print(f"warning: {name} K={K}: recomputed disp differs from the solver's objective", flush=True)
                kept = all(t.center is not None and np.allclose(t.center.coords(), homes[j])
                           for j, t in enumerate(mx.territories[:K]))
                lb = (mx.lower_bound or 0.0) / float(w.sum())
                lb_long = 0.0
                if args.mixed_bound > 0:  # a longer run of the same bound: how much of the gap is the bound's
                    from optimizer.territories.instance import build_instance

                    lr = lagrangian_bound(build_instance(TerritoriesProblem.model_validate(dmix)),
                                          time_limit=args.mixed_bound, upper=min(disp_b, disp_c) * float(w.sum()))
                    lb_long = max(lb, (lr.value if lr is not None else 0.0) / float(w.sum()))
                home_km = float(cost[hr, hc].mean())
                for meth, lab, disp, el, cpu, sol in (
                        ("a all-free (homes ignored)", lab_f, disp_a, free_s, free_cpu, free),
                        ("b free + match + all-fixed", lab_b, disp_b, free_s + fx_s, free_cpu + fx_cpu, fx),
                        ("c mixed", lab_c, disp_c, mx_s, mx_cpu, mx)):
                    bal = np.bincount(lab, weights=w, minlength=p)
                    rows.append([name, f"{K}+{p - K}", meth, f"{float(np.abs(bal / bal.mean() - 1).max()):.4f}",
                                 f"{disp:.3f}", f"{disp / disp_c - 1:+.2%}", f"{disp / lb - 1:+.2%}" if lb else "",
                                 f"{disp / lb_long - 1:+.2%}" if lb_long else "",
                                 f"{el:.1f}", f"{cpu:.1f}", len(sol.violations),
                                 f"{home_km:.1f}" if meth.startswith("b") else ("yes" if meth == "c mixed" and kept
                                                                              else "")])
                    print(" | ".join(str(x) for x in rows[-1]), flush=True)
    md = table(["instance", "fixed+free", "method", "bal_w", "disp", "vs mixed", "vs mixed LB", "vs long LB",
                "wall s", "CPU s", "violations", "note"], rows)
    print(md)
    b_vs = [float(str(r[5]).rstrip("%")) for r in rows if str(r[2]).startswith("b")]
    a_vs = [float(str(r[5]).rstrip("%")) for r in rows if str(r[2]).startswith("a")]
    c_gap = [float(str(r[6]).rstrip("%")) for r in rows if str(r[2]).startswith("c") and r[6]]
    c_long = [float(str(r[7]).rstrip("%")) for r in rows if str(r[2]).startswith("c") and r[7]]
    summary = ""
    if b_vs:
        summary = (f"Reading: the workaround (b) is {min(b_vs):+.2f} % to {max(b_vs):+.2f} % (mean "
                   f"{sum(b_vs) / len(b_vs):+.2f} %) against one mixed solve (c) (positive = the mixed solve is "
                   f"better) and takes two solves; keeping the homes costs {-max(a_vs):.2f} % to {-min(a_vs):.2f} % "
                   f"of dispersion against the all-free map (a); the mixed answers sit {min(c_gap):+.1f} % to "
                   f"{max(c_gap):+.1f} % above their own lower bound (compact Lagrangian, 10 % of the limit)"
                   + (f", {min(c_long):+.1f} % to {max(c_long):+.1f} % above the longer bound" if c_long else "")
                   + ".\n\n")
    if not args.no_write:
        cmd = "python benchmarks/territories.py " + " ".join(sys.argv[1:])
        write_section("territories_mixed", (
            f"## territories: mixed fixed and free centres\n\nCommand: `{cmd}`\n\nMachine: {machine()}; 1-minute "
            f"load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end\n\n"
            "K existing reps keep their homes (an older K-territory alignment's medoids, each moved to a random unit "
            "among its 10 nearest), p - K new territories get chosen centres; +-5 % workload. disp = workload x "
            "distance to the home (fixed) or to the weighted medoid (free) / total workload, recomputed here from "
            "the labels. (a) the all-free engine: no homes, every centre a medoid (what the map could be if every "
            "rep moved home; not a feasible answer to the mixed question). (b) the workaround a planner had: the "
            "all-free answer's centres matched to the homes (Hungarian, least km; `note` = mean km from a home to "
            "its matched centre), the matched territories fixed at the homes, the others at the free medoids, "
            "re-solved all-fixed (time = both solves). (c) one mixed solve (`note` yes = every given home kept). "
            "`vs mixed LB` = disp / the mixed solve's own Lagrangian lower bound - 1 (valid for the mixed problem, "
            "so (a) can sit below it only because it ignores the homes); `vs long LB`: against the same bound run "
            f"for {args.mixed_bound:g} s (--mixed-bound, 0 = not run). Time limits: --time-limit at n=500, 3x at "
            "n=2000, for each solve.\n\n" + summary + md + "\n"))


def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children (the parallel searches)."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def multistart(args: argparse.Namespace) -> None:
    """One search vs parallel searches (``--workers``) per instance and seed; section territories_multistart."""
    rows: list[list[object]] = []
    load0 = os.getloadavg()[0]
    for n in args.sizes:
        p = 10 if n == 500 else 20
        for s in args.seeds or ([1, 2, 3] if n == 500 else [1, 2]):
            xy, w, pot = clustered_units(n, s)
            prob = clustered_problem(xy, w, pot, p, TAU)
            tl = args.time_limit if n == 500 else 3 * args.time_limit
            for seed in args.multistart:
                got: dict[int, float] = {}
                for wk in args.workers:
                    t0, c0 = time.monotonic(), _cpu()
                    sol = solve_territories(prob, time_limit=tl, seed=seed, workers=wk)
                    el, cpu = time.monotonic() - t0, _cpu() - c0
                    disp = float(sol.objective or 0.0) / float(w.sum())
                    got[wk] = disp
                    dw = DW_BOUNDS.get((n, s))
                    objs = sol.stats.get("search_objectives")
                    per = "/".join(f"{float(v) / float(w.sum()):.3f}" for v in objs) if isinstance(objs, list) else ""
                    rows.append([f"n{n}_s{s}", seed, wk, f"{tl:g}", f"{el:.1f}", f"{cpu:.1f}", f"{disp:.3f}",
                                 f"{sol.metrics.workload_max_dev:.4f}", per, sol.stats.get("search_winner", ""),
                                 f"{disp / dw - 1:+.2%}" if dw else "",
                                 f"{disp / got[args.workers[0]] - 1:+.2%}" if wk != args.workers[0] else ""])
                    print(" | ".join(str(x) for x in rows[-1]), flush=True)
    md = table(["instance", "seed", "workers", "limit s", "wall s", "CPU s", "disp", "bal_w", "per search",
                "winner", "vs DW bound", f"vs workers={args.workers[0]}"], rows)
    print(md)
    base = args.workers[0]
    changes = [float(str(r[-1]).rstrip("%")) for r in rows if r[2] != base and r[-1]]
    cpu_of = {(r[0], r[1], r[2]): float(str(r[5])) for r in rows}
    ratios = [cpu_of[(r[0], r[1], r[2])] / cpu_of[(r[0], r[1], base)] for r in rows
              if r[2] != base and cpu_of.get((r[0], r[1], base))]
    summary = ""
    if changes and ratios:
        summary = (f"Reading: against workers={base}, disp changed by {min(changes):+.2f} % to {max(changes):+.2f} % "
                   f"(mean {sum(changes) / len(changes):+.3f} %, negative = better) for {min(ratios):.1f}-"
                   f"{max(ratios):.1f}x the CPU seconds. The engine's default is one search (workers=1).\n\n")
    if not args.no_write:
        cmd = "python benchmarks/territories.py " + " ".join(sys.argv[1:])
        write_section(args.section, (
            f"## territories: multi-start on both cores\n\nCommand: `{cmd}`\n\nMachine: {machine()}; 1-minute load "
            f"average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end\n\n"
            "`solve_territories(..., workers=W)`: W searches with seeds derived from the solve's seed, search 0 in "
            "the calling process, the others in spawned processes, all until the same deadline (75 % of the limit); "
            "the best is kept (optimizer/territories/parallel.py). `CPU s`: CPU seconds of the solve including its "
            "child processes (on a shared machine wall seconds say little, CPU seconds say what the run "
            "consumed). `per search`: each search's disp before the final polish; `vs DW bound`: disp / the "
            "set-partitioning bound of the territories_dw_bound section - 1.\n\n" + summary + md + "\n"))


def main() -> None:
    """Parse arguments, run, print and write the RESULTS.md section."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--time-limit", type=float, default=10.0, help="salesplan seconds at n=500 (x3 at n=2000)")
    ap.add_argument("--big-time-limit", type=float, default=240.0, help="salesplan seconds on generated instances")
    ap.add_argument("--sizes", type=int, nargs="*", default=[500, 2000], help="dataset sizes: 500 and/or 2000")
    ap.add_argument("--seeds", type=int, nargs="*", default=None, help="dataset seeds (default: all)")
    ap.add_argument("--generated", type=int, nargs="*", default=[], help="generated instance sizes, e.g. 10000")
    ap.add_argument("--methods", nargs="*", default=["salesplan", "salesplan_contig", "kmeans",
                                                     "kmeans_constrained", "hess"])
    ap.add_argument("--bound-time", type=float, nargs=3, default=[30.0, 60.0, 0.0],
                    help="seconds for our Lagrangian LP bound at n=500, n=2000 and generated sizes (0: skip)")
    ap.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    ap.add_argument("--multistart", type=int, nargs="*", default=None,
                    help="solve seeds: compare --workers parallel searches instead (section territories_multistart)")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="worker counts compared by --multistart")
    ap.add_argument("--section", default="territories_multistart", help="RESULTS.md section of --multistart")
    ap.add_argument("--mixed-bound", type=float, default=0.0,
                    help="--mixed: also run the mixed Lagrangian bound this many seconds per case (0: skip)")
    ap.add_argument("--mixed", type=float, nargs="*", default=None,
                    help="fixed centres K (<= 0: p + K; 0 < K < 1: fraction of p): mixed vs all-free vs the all-fixed "
                         "workaround (section territories_mixed)")
    args = ap.parse_args()
    if args.mixed:
        mixed(args)
        return
    if args.multistart:
        multistart(args)
        return
    rows: list[dict[str, object]] = []
    bounds: list[list[object]] = []
    base = baseline_csv()
    for n in args.sizes:
        p = 10 if n == 500 else 20
        seeds = args.seeds or ([1, 2, 3] if n == 500 else [1, 2])
        for s in seeds:
            xy, w, pot = clustered_units(n, s)
            edges = clustered_edges(n, s)
            tl = args.time_limit if n == 500 else 3 * args.time_limit
            r = run_instance(f"n{n}_s{s}", xy, w, pot, p, edges, tl, 0, args.methods, LP_BOUNDS.get((n, s)))
            for x in r:
                x["hess_lp_csv"] = base.get((n, s, "hess_lp"))
            rows += r
            bt = args.bound_time[0 if n == 500 else 1]
            if bt > 0:
                bounds.append(bound_row(f"n{n}_s{s}", xy, w, pot, p, bt, r, LP_BOUNDS.get((n, s))))
    for n in args.generated:
        xy, w, pot = generate_clustered(n, 1)
        edges = np.sort(np.concatenate([Delaunay(xy).simplices[:, [0, 1]], Delaunay(xy).simplices[:, [1, 2]],
                                        Delaunay(xy).simplices[:, [0, 2]]]), axis=1)
        edges = np.unique(edges, axis=0)
        r = run_instance(f"gen{n}_s1", xy, w, pot, max(2, n // 200), edges, args.big_time_limit, 0,
                         args.methods, None)
        rows += r
        if args.bound_time[2] > 0:
            bounds.append(bound_row(f"gen{n}_s1", xy, w, pot, max(2, n // 200), args.bound_time[2], r, None))
    headers = ["instance", "method", "time s", "bal_w", "bal_p", "disp", "diam", "disc", "vs Hess", "gap LB",
               "vs hess_lp csv", "note"]

    def pct(v: object) -> str:
        return "" if v is None else f"{float(v):+.1%}"  # type: ignore[arg-type]

    trs = [[r["instance"], r["method"], f"{float(r['time']):.1f}", f"{float(r['bal_w']):.4f}",  # type: ignore[arg-type]
            f"{float(r['bal_p']):.4f}", f"{float(r['disp']):.3f}", f"{float(r['diam']):.1f}", r["disc"],  # type: ignore[arg-type]
            pct(r["vs_hess"]), pct(r["gap_lb"]),
            pct(float(r["disp"]) / float(r["hess_lp_csv"]) - 1) if r.get("hess_lp_csv") else "",  # type: ignore[arg-type]
            r["note"]] for r in rows]
    md = table(headers, trs)
    bmd = table(["instance", "README LP bound", "our bound", "iters", "bound s", "best salesplan", "gap ours",
                 "gap README", "Hess", "Hess -3 % target", "target <= LB x 1.03"], bounds) if bounds else ""
    print(md)
    print(bmd)
    if not args.no_write:
        cmd = "python benchmarks/territories.py " + " ".join(sys.argv[1:])
        text = (f"## territories\n\nCommand: `{cmd}`\n\nMachine: {machine()}\n\n"
                "disp = workload x distance to the weighted medoid / total workload (km); `vs Hess` compares with "
                "the Hess location-allocation baseline run here, `vs hess_lp csv` with the dataset's own hess_lp row; "
                "`gap LB` uses the dataset README's LP bounds (n500 only). salesplan_contig adds contiguity on the "
                "Delaunay graph. Balance target: +-5 % workload.\n\n" + md + "\n\n"
                "Lower bounds on disp: `our bound` is the Lagrangian relaxation of the p-median-with-balance LP "
                "(every unit a candidate centre, +-5 % workload) by subgradient steps for `bound s` seconds "
                "(optimizer/territories/bound.py; valid at every iterate, at most the LP optimum); `README LP "
                "bound` is the dataset's exact LP value. `gap` = best salesplan disp / bound - 1.\n\n" + bmd + "\n")
        write_section("territories", text)


if __name__ == "__main__":
    main()
