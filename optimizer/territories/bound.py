"""Lower bound for territories with centres chosen among the units: Lagrangian of the p-median-with-balance LP.

Model (every unit a candidate centre ``j``; ``x[i, j]`` unit ``i`` in the territory centred on ``j``)::

    min  sum_ij c[i, j] x[i, j]                 c[i, j] = wt[i] * km(i, j)
    s.t. sum_j x[i, j] = 1                      every unit assigned
         lo y[j] <= sum_i w[i] x[i, j] <= hi y[j]   workload balance of open territories
         x[i, j] <= y[j],  x[j, j] = y[j],  sum_j y[j] = p,  0 <= x, y <= 1

Relaxing the assignment rows with multipliers ``lam`` leaves, for each candidate ``j``, a fractional
knapsack with a lower and an upper weight bound (solved exactly by sorting on ``(c - lam) / w``), and
the ``p`` cheapest candidates are opened. For *every* ``lam`` the value ``L(lam) = sum(lam) + sum of the
p smallest column values`` is a valid lower bound on any balanced partition's dispersion (the medoid of
a territory is one of its units, so the partition's dispersion is a feasible point of the model); its
maximum equals the LP relaxation's value. ``lam`` is improved by subgradient steps (Polyak step towards
an upper bound) until the time budget ends, and the best ``L`` seen is returned.

Only the workload balance is kept (other measures, capacities that differ per territory, locks and move
costs are relaxed or make the bound unavailable, see :func:`bound_applicable`), which keeps it valid.

Mixed centres (some given, the others chosen): each fixed territory ``t`` is always open with its own
column ``z[i, t]`` (cost ``wt[i] * km(i, centre t)``, its own workload range, no unit forced in), and only
the ``p_free`` free territories are opened among the candidate units. The Lagrangian adds every fixed
territory's fractional knapsack value to ``sum(lam)`` and the ``p_free`` smallest candidate values, which
stays a valid bound: in any feasible partition each fixed territory is one of its columns and the free
territories have distinct medoids.
The column values also rank the units as centres (``rank``): the LP-guided start of the search.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from optimizer.territories.instance import FloatArray, Instance, IntArray

CHUNK_ELEMS = 4_000_000
"""Largest number of matrix entries (units x candidates) handled at once (memory cap)."""


@dataclass
class BoundResult:
    """Best Lagrangian bound found and the information behind it.

    Attributes
    ----------
    value
        Valid lower bound on ``sum wt * km to the weighted medoid`` (the solver's objective).
    iterations
        Subgradient iterations run.
    lam
        Multipliers that gave ``value``.
    open_freq
        Fraction of the (late) iterations in which each unit was among the ``p`` opened candidates:
        an estimate of the LP's ``y``.
    col_value
        Column values at ``lam`` (reduced cost of opening each unit as a centre).
    """

    value: float
    iterations: int
    lam: FloatArray
    open_freq: FloatArray
    col_value: FloatArray


def bound_applicable(inst: Instance) -> bool:
    """True when the Lagrangian bound applies: (some) centres chosen by the solver among at least ``k`` units.

    Locks, move caps, other balanced measures and contiguity only add constraints, and move costs are
    non-negative, so the bound of the relaxed model stays a valid bound on the objective.
    """
    return bool(not inst.fixed and 1 <= inst.k <= inst.n and bool((inst.move_cost >= 0).all()))


def _fixed_columns(inst: Instance, cost: FloatArray, lam: FloatArray, want_x: bool = False
                   ) -> tuple[FloatArray, FloatArray | None]:
    """Mixed centres: fractional knapsack of every fixed territory (its own workload range, no unit forced).

    ``cost`` is ``wt x km`` to the fixed centres (n x k_fixed). Returns the values (``inf`` when a range
    cannot be reached) and, when asked, the knapsacks' x (k_fixed x n).
    """
    assert inst.fixed_mask is not None
    w = inst.measures[:, 0]
    slots = np.flatnonzero(inst.fixed_mask)
    lo = np.maximum(np.where(np.isfinite(inst.lo[slots, 0]), inst.lo[slots, 0], 0.0), 0.0)
    hi = np.where(np.isfinite(inst.hi[slots, 0]), inst.hi[slots, 0], np.inf)
    zero = w <= 0
    pos = np.flatnonzero(~zero)
    vals = np.empty(len(slots))
    xs = np.zeros((len(slots), inst.n)) if want_x else None
    for q in range(len(slots)):
        r = cost[:, q] - lam
        free_gain = zero & (r < 0)  # weightless units with a negative reduced cost are always taken
        order = pos[np.argsort(r[pos] / w[pos], kind="stable")]
        ws, rs = w[order], r[order]
        cw = np.concatenate([[0.0], np.cumsum(ws)])
        cr = np.concatenate([[0.0], np.cumsum(rs)])
        target = min(max(float(ws[rs < 0].sum()), float(lo[q])), float(hi[q]))
        if target > cw[-1] * (1 + 1e-12) + 1e-12:
            vals[q] = np.inf
            continue
        vals[q] = float(r[free_gain].sum()) + float(np.interp(target, cw, cr))
        if xs is not None:
            xs[q, free_gain] = 1.0
            nfull = int(np.searchsorted(cw, target + 1e-12, side="right")) - 1  # items wholly inside the prefix
            xs[q, order[:nfull]] = 1.0
            if nfull < len(order):
                xs[q, order[nfull]] = float(np.clip((target - cw[nfull]) / max(ws[nfull], 1e-12), 0.0, 1.0))
    return vals, xs


def _columns(inst: Instance, cols: IntArray, lam: FloatArray, lo: float, hi: float,
             want_x: bool = False, cost: FloatArray | None = None) -> tuple[FloatArray, list[FloatArray] | None]:
    """Value of the fractional knapsack of each candidate centre in ``cols`` (and its x when asked).

    ``cost`` is the cached ``wt x km`` block for ``cols`` (n x m) when the caller keeps one.
    """
    w = inst.measures[:, 0]
    wpos = np.maximum(w, 1e-12)
    c = cost if cost is not None else inst.wt[:, None] * inst.km(slice(None), inst.xy[cols])  # n x m
    r = c - lam[:, None]
    m = len(cols)
    n = inst.n
    ar = np.arange(m)
    # the centre is in its own territory: take it first (ratio -inf)
    ratio = r / wpos[:, None]
    ratio[cols, ar] = -np.inf
    wneg = np.where(r < 0, w[:, None], 0.0).sum(0)
    wneg = wneg + np.where(r[cols, ar] >= 0, w[cols], 0.0)
    target = np.clip(wneg, lo, hi)
    # only the cheapest items up to the target weight matter: partial sort of a prefix when that is enough
    kp = n
    if n > 200:
        kp = min(n, int(3 * hi / max(float(np.median(wpos)), 1e-12)) + 20)
    if kp < n:
        part = np.argpartition(ratio, kp - 1, axis=0)[:kp]
        sub = np.take_along_axis(ratio, part, axis=0)
        order = np.take_along_axis(part, np.argsort(sub, axis=0, kind="stable"), axis=0)
        if (w[order].sum(0) < target - 1e-9).any():
            kp = n
    if kp == n:
        order = np.argsort(ratio, axis=0, kind="stable")
    rs = np.take_along_axis(r, order, axis=0)
    ws = w[order]
    cw = np.cumsum(ws, axis=0)
    cr = np.cumsum(rs, axis=0)
    # number of whole items taken: cw[k-1] <= target, the next item taken fractionally
    kfull = (cw <= target[None, :] + 1e-12).sum(0)
    val = np.where(kfull > 0, cr[np.maximum(kfull - 1, 0), ar], 0.0)
    prev_w = np.where(kfull > 0, cw[np.maximum(kfull - 1, 0), ar], 0.0)
    has_next = kfull < kp
    nxt = np.minimum(kfull, kp - 1)
    frac = np.where(has_next, np.clip((target - prev_w) / np.maximum(ws[nxt, ar], 1e-12), 0.0, 1.0), 0.0)
    val = val + frac * np.where(has_next, rs[nxt, ar], 0.0)
    # infeasible column: the centre alone is over hi, or all units cannot reach lo
    bad = (w[cols] > hi + 1e-9) | (float(w.sum()) < lo - 1e-9)
    val = np.where(bad, np.inf, val)
    xs: list[FloatArray] | None = None
    if want_x:
        xs = []
        for q in range(m):
            x = np.zeros(n)
            x[order[: kfull[q], q]] = 1.0
            if has_next[q]:
                x[order[nxt[q], q]] = frac[q]
            xs.append(x)
    return val, xs


def lagrangian_bound(inst: Instance, *, time_limit: float = 10.0, upper: float | None = None,
                     lam0: FloatArray | None = None, max_iter: int = 2000, theta0: float = 1.0) -> BoundResult | None:
    """Maximise the Lagrangian of the p-median-with-balance LP by subgradient steps.

    Parameters
    ----------
    inst
        Instance with centres chosen by the solver (see :func:`bound_applicable`).
    time_limit
        Seconds; the best bound so far is returned when they run out (every iterate is valid).
    upper
        Objective of a known solution (target of the Polyak step); estimated when missing.
    lam0
        Starting multipliers (default: each unit's weighted distance to its ``n/p``-th nearest unit, a
        typical assignment cost).
    max_iter
        Iteration cap.
    theta0
        Initial step factor (halved after 20 iterations without improvement).

    Returns
    -------
    BoundResult or None
        None when the bound does not apply.
    """
    if not bound_applicable(inst):
        return None
    t_end = time.monotonic() + max(0.05, time_limit)
    n = inst.n
    free = inst.free_slots
    p = len(free)  # candidates opened (all territories unless centres are mixed)
    # one workload range valid for every free territory (relaxation when capacities differ)
    lo = float(np.min(inst.lo[free, 0])) if np.isfinite(inst.lo[free, 0]).all() else 0.0
    hi = (float(np.max(inst.hi[free, 0])) if np.isfinite(inst.hi[free, 0]).all()
          else float(inst.measures[:, 0].sum()))
    lo = max(lo, 0.0)
    fcost: FloatArray | None = None
    if inst.fixed_mask is not None:
        assert inst.fixed_xy is not None
        fcost = inst.wt[:, None] * inst.km(slice(None), inst.fixed_xy[inst.fixed_mask])
    step = max(1, CHUNK_ELEMS // max(n, 1))
    blocks = [np.arange(s, min(n, s + step)) for s in range(0, n, step)]
    if lam0 is None:
        probe = np.arange(n) if n <= 3000 else np.sort(np.random.default_rng(0).choice(n, 3000, replace=False))
        kth = min(len(probe) - 1, max(1, round(len(probe) / inst.k / 2)))
        lam = np.empty(n)
        for b in blocks:
            d = inst.km(b, inst.xy[probe])
            lam[b] = inst.wt[b] * np.partition(d, kth, axis=1)[:, kth]
    else:
        lam = lam0.astype(np.float64).copy()
    # keep the cost matrix when it is small (n^2 <= CHUNK_ELEMS), else recompute each block
    cache = [inst.wt[:, None] * inst.km(slice(None), inst.xy[b]) for b in blocks] if n * n <= CHUNK_ELEMS else []
    best = -np.inf
    best_lam = lam.copy()
    best_col = np.zeros(n)
    freq = np.zeros(n)
    nfreq = 0
    theta = theta0
    idle = 0
    it = 0
    ub = upper
    while it < max_iter and time.monotonic() < t_end:
        it += 1
        col = np.concatenate([_columns(inst, b, lam, lo, hi, cost=cache[q] if cache else None)[0]
                              for q, b in enumerate(blocks)])
        opened = np.argpartition(col, p - 1)[:p]
        val = float(lam.sum() + col[opened].sum())
        fx: FloatArray | None = None
        if fcost is not None:
            fv, fx = _fixed_columns(inst, fcost, lam, want_x=True)
            val += float(fv.sum())
        if not np.isfinite(val):
            return None
        if not np.isfinite(best) or val > best + 1e-9 * max(1.0, abs(best)):
            best, best_lam, best_col = val, lam.copy(), col
            idle = 0
        else:
            idle += 1
            if idle >= 20:
                theta /= 2
                idle = 0
                lam = best_lam.copy()
                if theta < 1e-4:
                    break
                continue
        if it > 10:
            freq[opened] += 1
            nfreq += 1
        _, xs = _columns(inst, opened.astype(np.int64), lam, lo, hi, want_x=True)
        assert xs is not None
        g = 1.0 - np.sum(xs, axis=0)
        if fx is not None:
            g = g - fx.sum(0)
        gn = float(g @ g)
        if gn <= 1e-12:
            break  # the relaxed solution is a partition: the bound is the optimum
        if ub is None or ub <= best:
            ub = best * 1.05 + 1e-9
        lam = lam + theta * (ub - val) / gn * g
    return BoundResult(float(best), it, best_lam, freq / max(nfreq, 1), best_col)


__all__ = ["BoundResult", "bound_applicable", "lagrangian_bound"]
