"""Exact neighbourhood search for territories with chosen centres: re-solve a few adjacent territories optimally.

A *group* is a territory and the ``q - 1`` territories whose centres are nearest to its centre. Its units
are re-partitioned into ``q`` territories by the exact p-median-with-balance MIP restricted to them (every
unit of the group a candidate centre, the centre inside its own territory, every balanced measure within the
tightest range of the group's territories), warm-started from the current split, in HiGHS (one thread).
The other territories do not change, so an accepted group solution keeps the whole partition balanced and
its objective drops by exactly the group's improvement.

Measured on the 500-unit clustered instances (``benchmarks/territories_bound.py --primal``, section
``territories_primal``): from the engine's 60 s answer, exact pairs gain 0.01-0.07 % and exact triples
another 0.08 % (most group MIPs proven optimal, a few to 15 CPU seconds each), which leaves the best
partitions 7-8 % above the set-partitioning bound, as far as the 10 s answers: too slow for the 10 s answer
and too small a gain to be the missing 4-5 %; useful as a long-run polish and as evidence that the answers
are near-optimal for every neighbourhood of two or three territories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizer.territories.evaluate import medoids, objective
from optimizer.territories.instance import FloatArray, Instance, IntArray


@dataclass
class GroupResult:
    """Answer of one group MIP.

    Attributes
    ----------
    labels
        Territory (0..q-1) of each unit of the group, or None when HiGHS found no solution.
    centres
        Centre of each of the ``q`` territories (indices into the group's units).
    value
        Objective of ``labels`` (sum of weight x km to the centre), ``inf`` without a solution.
    bound
        HiGHS's dual bound on the group's optimum.
    optimal
        True when HiGHS proved ``value`` optimal.
    """

    labels: IntArray | None
    centres: IntArray | None
    value: float
    bound: float
    optimal: bool


def applicable(inst: Instance) -> bool:
    """True for chosen centres (none given) without a current alignment, locks or contiguity (the group MIP)."""
    return (not inst.fixed and not inst.mixed and not (inst.current >= 0).any() and not inst.locked.any()
            and not inst.contiguity and inst.max_moved is None and inst.max_workload_moved is None)


def group_mip(inst: Instance, units: IntArray, q: int, lo: FloatArray, hi: FloatArray, *,
              time_limit: float = 20.0, start: IntArray | None = None) -> GroupResult:
    """Exact p-median with balance on ``units`` split into ``q`` territories (HiGHS, one thread).

    Parameters
    ----------
    inst
        Instance (planar or haversine locations).
    units
        The group's units.
    q
        Number of territories to form.
    lo, hi
        Range of each measure's territory total (length 3; ``-inf``/``inf`` where free).
    time_limit
        HiGHS seconds.
    start
        Current labels (0..q-1) of ``units``: a warm start (its centres are the weighted medoids).

    Returns
    -------
    GroupResult
        The best split found and HiGHS's bound.
    """
    import highspy

    m = len(units)
    cost = inst.wt[units, None] * inst.km(units, inst.xy[units])  # [i, j]: unit i to centre j
    nx = m * m
    ii, jj = np.divmod(np.arange(nx), m)  # variable i*m + j: unit i to centre j; y_j after them
    nv = nx + m
    blocks: list[sp.csr_matrix] = []
    lows: list[FloatArray] = []
    ups: list[FloatArray] = []
    blocks.append(sp.csr_matrix((np.ones(nx), (ii, np.arange(nx))), shape=(m, nv)))
    lows.append(np.ones(m))
    ups.append(np.ones(m))
    r = np.arange(nx)
    blocks.append(sp.csr_matrix((np.r_[np.ones(nx), -np.ones(nx)], (np.r_[r, r], np.r_[r, nx + jj])), shape=(nx, nv)))
    lows.append(np.full(nx, -np.inf))
    ups.append(np.zeros(nx))
    diag = np.arange(m) * m + np.arange(m)  # the centre lies in its own territory
    blocks.append(sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[np.arange(m), np.arange(m)],
                                                                  np.r_[diag, nx + np.arange(m)])), shape=(m, nv)))
    lows.append(np.zeros(m))
    ups.append(np.zeros(m))
    blocks.append(sp.csr_matrix((np.ones(m), (np.zeros(m, dtype=np.int64), nx + np.arange(m))), shape=(1, nv)))
    lows.append(np.array([float(q)]))
    ups.append(np.array([float(q)]))
    for meas in range(3):
        for bnd, sign in ((hi[meas], 1.0), (lo[meas], -1.0)):
            if not np.isfinite(bnd):
                continue
            # sign * (sum_i m_i x_ij - bnd y_j) <= 0 for every candidate j
            data = np.r_[sign * inst.measures[units[ii], meas], np.full(m, -sign * bnd)]
            blocks.append(sp.csr_matrix((data, (np.r_[jj, np.arange(m)], np.r_[np.arange(nx), nx + np.arange(m)])),
                                        shape=(m, nv)))
            lows.append(np.full(m, -np.inf))
            ups.append(np.zeros(m))
    A = sp.vstack(blocks).tocsr()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", max(0.1, float(time_limit)))
    h.setOptionValue("mip_rel_gap", 1e-9)
    inf = highspy.kHighsInf
    h.addCols(nv, np.r_[cost.ravel(), np.zeros(m)], np.zeros(nv), np.ones(nv), 0, np.zeros(nv, dtype=np.int32),
              np.zeros(0, dtype=np.int32), np.zeros(0))
    low = np.where(np.isfinite(np.concatenate(lows)), np.concatenate(lows), -inf)
    up = np.where(np.isfinite(np.concatenate(ups)), np.concatenate(ups), inf)
    h.addRows(A.shape[0], low, up, A.nnz, A.indptr[:-1].astype(np.int32), A.indices.astype(np.int32), A.data)
    h.changeColsIntegrality(nv, np.arange(nv, dtype=np.int32), np.full(nv, highspy.HighsVarType.kInteger))
    if start is not None:
        x0 = np.zeros(nv)
        for t in range(q):
            mem = np.flatnonzero(start == t)
            if len(mem) == 0:
                continue
            j = int(mem[np.argmin(cost[np.ix_(mem, mem)].sum(0))])  # the weighted medoid
            x0[nx + j] = 1.0
            x0[mem * m + j] = 1.0
        sol = highspy.HighsSolution()
        sol.col_value = list(x0)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    if info.primal_solution_status != 2:  # no feasible solution
        return GroupResult(None, None, np.inf, float(info.mip_dual_bound), False)
    xv = np.asarray(h.getSolution().col_value)
    y = np.flatnonzero(xv[nx:] > 0.5)
    if len(y) != q:
        return GroupResult(None, None, np.inf, float(info.mip_dual_bound), False)
    X = xv[:nx].reshape(m, m)[:, y]
    lab = np.argmax(X, axis=1).astype(np.int64)
    value = float(cost[np.arange(m), y[lab]].sum())
    return GroupResult(lab, y.astype(np.int64), value, float(info.mip_dual_bound),
                       status == highspy.HighsModelStatus.kOptimal)


def groups(inst: Instance, med: IntArray, q: int) -> list[tuple[int, ...]]:
    """Every territory with its ``q - 1`` nearest territories (by centre distance), without repeats, sorted."""
    d = inst.km(med, inst.xy[med])
    out: list[tuple[int, ...]] = []
    seen: set[tuple[int, ...]] = set()
    for t in range(len(med)):
        g = tuple(sorted(int(u) for u in np.argsort(d[t], kind="stable")[:q]))
        if t in g and g not in seen:
            seen.add(g)
            out.append(g)
    return out


def improve_groups(inst: Instance, a: IntArray, med: IntArray | None, stop: Callable[[], bool], *, q: int = 3,
                   time_per_group: float = 20.0, max_units: int = 400,
                   on_best: Callable[[float], object] | None = None) -> tuple[IntArray, IntArray, dict[str, float]]:
    """Exact re-optimisation of groups of ``q`` neighbouring territories until a pass finds no improvement.

    Parameters
    ----------
    inst
        Instance where :func:`applicable` holds.
    a, med
        Current assignment and centres (``med`` None: the weighted medoids).
    stop
        Returns True when time is up (checked between groups).
    q
        Territories per group.
    time_per_group
        HiGHS seconds per group MIP.
    max_units
        Groups with more units are skipped (the MIP has ``m^2`` variables).
    on_best
        Called with the new objective after every improvement.

    Returns
    -------
    tuple
        ``(assignment, centres, stats)``; stats count the MIPs run, proven optimal and improving.
    """
    a = a.copy()
    med = medoids(inst, a, med)
    k = inst.k
    q = min(q, k)
    val = objective(inst, a, med)
    stats = {"mips": 0.0, "proven": 0.0, "improved": 0.0, "start": val}
    done: set[bytes] = set()  # groups proven optimal for their current units
    while not stop():
        better = False
        for g in groups(inst, med, q):
            if stop():
                break
            ga = np.asarray(g, dtype=np.int64)
            units = np.flatnonzero(np.isin(a, ga))
            key = units.tobytes()
            if key in done or len(units) > max_units:
                continue
            lo = inst.lo[ga].max(axis=0)
            hi = inst.hi[ga].min(axis=0)
            start = np.searchsorted(ga, a[units])
            cur = float(sum(inst.wt[units[start == s]] @ inst.km(units[start == s], inst.xy[med[ga[s]]][None, :])[:, 0]
                            for s in range(len(ga))))
            res = group_mip(inst, units, len(ga), lo, hi, time_limit=time_per_group, start=start)
            stats["mips"] += 1
            stats["proven"] += float(res.optimal)
            if res.labels is None or res.centres is None:
                continue
            if res.value < cur - 1e-9 * max(1.0, abs(cur)):
                a[units] = ga[res.labels]
                med = med.copy()
                med[ga] = units[res.centres]
                val = objective(inst, a, med)
                stats["improved"] += 1
                better = True
                if on_best is not None:
                    on_best(val)
            if res.optimal:
                done.add(np.flatnonzero(np.isin(a, ga)).tobytes())
        if not better:
            break
    stats["end"] = val
    return a, med, stats


__all__ = ["GroupResult", "applicable", "group_mip", "groups", "improve_groups"]
