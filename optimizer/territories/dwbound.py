"""Set-partitioning (Dantzig-Wolfe) lower bound on dispersion for balanced territories with chosen centres.

Model: a column is a territory ``S`` (a set of units) with its medoid ``j in S``, workload
``L <= w(S) <= U`` and cost ``c(j, S) = sum_{i in S} wt_i km(i, j)``; a partition into ``p`` territories
picks ``p`` columns covering every unit once::

    min sum_(j,S) c(j, S) lam(j, S)   s.t.  sum_{(j,S) : i in S} lam = 1 (every unit i),  sum lam = p,  lam >= 0

Its LP relaxation is at least the compact p-median-with-balance LP (:mod:`bound`): a column cannot split
a unit inside one territory's knapsack (it can still be combined fractionally with other columns, so with
many small units per territory the gain is small; with a few units per territory it is large). For *any*
multipliers
``pi`` (free sign) the Lagrangian::

    LB(pi) = sum_i pi_i + (sum of the p smallest v_j(pi)),
    v_j(pi) = min_{S ∋ j, L <= w(S) <= U} sum_{i in S} (wt_i km(i, j) - pi_i)

is a valid lower bound on every feasible partition's dispersion (its territories are disjoint, so their
medoids are p distinct units), and the best ``LB`` seen is returned whatever happens later (time limit,
stalled master). At the same ``pi`` it is at least the compact-LP Lagrangian (each ``v_j`` is at least
the fractional knapsack value that one uses).

Pricing (``v_j``) is a knapsack with a lower and an upper weight bound. It is solved as a *relaxation*,
which keeps the bound valid (see :func:`price_one`): units with negative reduced cost are chosen 0/1 by a
dynamic programme over floor-discretised workloads (``sum floor(w/delta) <= floor((U - w_j)/delta)`` is
necessary for ``w(S) <= U``), units with non-negative reduced cost only ever serve to reach ``L`` and are
relaxed to a fractional fill (cheapest cost per hour first); the lower side is loosened by the worst
rounding (``delta`` times the largest number of units that fit), and the fractional-knapsack LP value
(exact ``[L, U]``) is also a valid lower bound, so ``v_j >= max(DP, LP)``. Candidates are priced in
increasing LP order and the scan stops as soon as the next LP value reaches the p-th smallest ``v`` found.

Multipliers (``method="subgradient"``, the default) start from the compact-LP Lagrangian's multipliers of
:func:`optimizer.territories.bound.lagrangian_bound` and follow Polyak subgradient steps, the subgradient
being ``1 - sum`` of the opened candidates' relaxed territories. ``method="colgen"``: a restricted master LP
in highspy (cover rows, the cardinality row, one ``<= 1`` row per medoid; artificial columns keep it feasible,
and with ``art_scale`` their costs box the duals near the warm start) gives duals ``pi_R``; pricing runs at
the Wentges-smoothed point ``alpha pi_best + (1 - alpha) pi_R``; each priced candidate's relaxed territory (or
its fractional knapsack where the LP value won) is added when its reduced cost at ``pi_R`` is negative: the
master is the cutting-plane model of the Lagrangian, and when the best bound meets the master value the
Lagrangian dual of the relaxed pricing is solved. ``method="hybrid"`` runs the subgradient until it stalls,
then column generation from its best multipliers (duals boxed at 1.5 x |pi|) for the time left: on the
500-unit clustered instances this reaches the compact LP's exact value (README) where the subgradient alone
stalls 0.2-1 % below, and column generation from a cold start moves slowly (degenerate duals).

Only the workload balance is kept (as in :mod:`bound`): other measures, locks, move limits and contiguity
only add constraints, so the bound stays valid for them; capacities that differ per territory are relaxed
to one common range.

Mixed centres (some territories with a given centre): every fixed territory ``t`` adds its own pricing
value ``v_t(pi) = min_{L_t <= w(S) <= U_t} sum_{i in S} (wt_i km(i, centre_t) - pi_i)`` (no unit forced in;
the same relaxed DP with a weightless zero-cost stand-in as the "medoid", and the fractional knapsack LP,
the larger of the two) and only the ``p_free`` smallest candidate values are summed. Only the
``subgradient`` method handles them (``hybrid`` runs its subgradient phase only, ``colgen`` returns None):
the master has no rows for the fixed territories.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np

from optimizer.territories.bound import _columns, bound_applicable, lagrangian_bound
from optimizer.territories.instance import FloatArray, Instance, IntArray

MAX_UNITS = 4000
"""Largest instance handled (the dense ``n x n`` cost matrix is cached)."""


@dataclass
class DWBoundResult:
    """Best set-partitioning Lagrangian bound found and how it was reached.

    Attributes
    ----------
    value
        Valid lower bound on ``sum wt x km to the medoid`` over balanced partitions.
    master_value
        Value of the last restricted master LP (``colgen``/``hybrid``): the cutting-plane model's value, an
        estimate from above of the best bound this relaxation can give, not a bound on the dispersion;
        ``inf`` while artificial columns are still in use or when no master was run.
    compact_value
        Bound of the compact-LP Lagrangian used as the warm start (``-inf`` when none was run).
    iterations
        Subgradient plus column-generation iterations.
    columns
        Columns added to the master (beyond the artificial ones).
    dp_runs
        Knapsack dynamic programmes run.
    converged
        True when the bound met the master value (or a known solution's value) within the tolerance.
    seconds
        Wall time spent.
    pi
        Multipliers of ``value``.
    history
        ``(seconds, best bound)`` after each iteration.
    """

    value: float
    master_value: float
    compact_value: float
    iterations: int
    columns: int
    dp_runs: int
    converged: bool
    seconds: float
    pi: FloatArray
    history: list[tuple[float, float]] = field(default_factory=list)


def floor_weights(w: FloatArray, delta: float) -> IntArray:
    """``floor(w / delta)`` corrected for float error so that ``a * delta <= w < (a + 1) * delta``.

    Parameters
    ----------
    w
        Non-negative weights.
    delta
        Resolution (> 0).

    Returns
    -------
    numpy.ndarray
        Integer weights.
    """
    a = np.floor(w / delta).astype(np.int64)
    a = np.where(a * delta > w, a - 1, a)
    a = np.where((a + 1) * delta <= w, a + 1, a)
    return np.maximum(a, 0)


def fill_cost(rpos: FloatArray, wpos: FloatArray, need: FloatArray) -> FloatArray:
    """Cheapest fractional fill of weight ``need`` from items with costs ``rpos >= 0`` and weights ``wpos``.

    Parameters
    ----------
    rpos, wpos
        Costs (non-negative) and weights of the available items.
    need
        Weights to reach (values <= 0 cost nothing).

    Returns
    -------
    numpy.ndarray
        Fill cost per entry of ``need`` (``inf`` when the items cannot reach it).
    """
    need = np.asarray(need, dtype=np.float64)
    keep = wpos > 0
    rp, wp = rpos[keep], wpos[keep]
    order = np.argsort(rp / wp, kind="stable")
    cw = np.concatenate([[0.0], np.cumsum(wp[order])])
    cr = np.concatenate([[0.0], np.cumsum(rp[order])])
    x = np.maximum(need, 0.0)
    out = np.interp(x, cw, cr)
    return np.where(x > cw[-1] * (1 + 1e-12) + 1e-12, np.inf, out)


def price_one(r: FloatArray, w: FloatArray, j: int, lo: float, hi: float, delta: float,
              want_set: bool = False) -> tuple[float, IntArray | None]:
    """Relaxed pricing of candidate medoid ``j``: a lower bound on ``min_{S ∋ j, lo <= w(S) <= hi} r(S)``.

    Units ``i != j`` with ``r_i < 0`` (set ``N``) are chosen 0/1 by a dynamic programme over
    ``a_i = floor(w_i / delta)`` with capacity ``B = floor((hi - w_j) / delta)`` (necessary for
    ``w(S) <= hi``); a subset of ``N`` with floor sum ``b`` weighs at most ``delta (b + M(b))``, ``M(b)``
    the largest number of units of ``N`` whose floor sum is ``<= b``; what is missing to reach ``lo`` is
    filled fractionally from the units with ``r_i >= 0`` (:func:`fill_cost`, non-decreasing in the missing
    weight). Every true territory's value is therefore ``>=`` the returned one.

    Parameters
    ----------
    r
        Reduced cost of each unit for this medoid (``wt_i km(i, j) - pi_i``).
    w
        Workloads (non-negative).
    j
        The medoid (always in ``S``).
    lo, hi
        Workload range of a territory.
    delta
        Discretisation step.
    want_set
        Also return the chosen units of ``N`` (indices into ``r``) for building a column.

    Returns
    -------
    tuple
        ``(value, chosen)``; ``value`` is ``inf`` when no territory containing ``j`` exists.
    """
    n = len(r)
    wj = float(w[j])
    if wj > hi:
        return np.inf, None
    others = np.ones(n, dtype=bool)
    others[j] = False
    cap = hi - wj
    big_b = int(np.floor(cap / delta + 1e-9))
    a_all = floor_weights(w, delta)
    neg = np.flatnonzero(others & (r < 0) & (a_all <= big_b))
    pos = others & (r >= 0)
    a = a_all[neg]
    rn = r[neg]
    # M(b): units of N whose floor weights are the smallest, counted while their sum stays <= b
    csa = np.cumsum(np.sort(a))
    dp = np.full(big_b + 1, np.inf)
    dp[0] = 0.0
    zero = a == 0
    dp[0] += float(rn[zero].sum())  # zero-weight units with negative cost are always taken
    items = np.flatnonzero(~zero)
    masks: list[np.ndarray] = []
    reach = 0
    for q in items:
        aq = int(a[q])
        top = min(big_b, reach + aq)
        if top < aq:
            masks.append(np.zeros(0, dtype=bool))
            continue
        cand = dp[: top - aq + 1] + rn[q]
        tgt = dp[aq: top + 1]
        better = cand < tgt
        tgt[better] = cand[better]
        reach = top
        if want_set:
            masks.append(better)
    b = np.arange(big_b + 1)
    mb = np.searchsorted(csa, b, side="right")
    need = np.asarray(lo - wj - delta * (b + mb) - 1e-9 * max(1.0, abs(lo)), dtype=np.float64)
    tot = dp + fill_cost(r[pos], w[pos], need)
    bi = int(np.argmin(tot))
    val = float(r[j] + tot[bi])
    if not np.isfinite(val):
        return np.inf, None
    if not want_set:
        return val, None
    chosen = list(neg[zero])
    cur = bi
    for k in range(len(items) - 1, -1, -1):
        q = items[k]
        aq = int(a[q])
        m = masks[k]
        if aq <= cur < aq + len(m) and m[cur - aq]:
            chosen.append(int(neg[q]))
            cur -= aq
    return val, np.asarray(sorted(chosen), dtype=np.int64)


def relaxed_x(r: FloatArray, w: FloatArray, j: int, chosen: IntArray, lo: float) -> FloatArray:
    """Relaxed territory as a 0..1 vector: ``j``, the chosen units, and a fractional fill up to ``lo``."""
    x = np.zeros(len(r))
    x[chosen] = 1.0
    x[j] = 1.0
    need = lo - float(w @ x)
    if need > 0:
        rest = np.flatnonzero((x == 0) & (r >= 0) & (w > 0))
        for i in rest[np.argsort(r[rest] / w[rest], kind="stable")]:
            take = min(1.0, need / w[i])
            x[i] = take
            need -= take * w[i]
            if need <= 1e-12:
                break
    return x


class _Master:
    """Restricted master LP in highspy: cover rows, the cardinality row and one ``<= 1`` row per medoid.

    Columns are ``(medoid j, units, values, cost)``: real territories (values 1), the pricing's relaxed
    territories (fractional fill) or, where the LP value beat the DP, the fractional knapsack solution: all
    points of candidate ``j``'s relaxed domain, so the master is the cutting-plane model of the Lagrangian.
    Artificial columns keep it feasible.
    """

    def __init__(self, n: int, p: int, big: FloatArray, big_card: float) -> None:
        import highspy

        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.inf = highspy.kHighsInf
        self.n, self.p = n, p
        lo = np.concatenate([np.ones(n), [float(p)], np.full(n, -self.inf)])
        up = np.concatenate([np.ones(n), [float(p)], np.ones(n)])
        self.h.addRows(2 * n + 1, lo, up, 0, np.zeros(2 * n + 1, dtype=np.int32), np.zeros(0, dtype=np.int32),
                       np.zeros(0))
        na = n + 2
        idx = np.concatenate([np.arange(n), [n, n]]).astype(np.int32)
        val = np.concatenate([np.ones(n), [1.0, -1.0]])
        self.h.addCols(na, np.concatenate([big, [big_card, big_card]]), np.zeros(na), np.full(na, self.inf), na,
                       np.arange(na, dtype=np.int32), idx, val)
        self.n_art = na
        self.art_cost = np.concatenate([big, [big_card, big_card]])
        self.keys: set[bytes] = set()
        self.ncols = 0

    def widen(self, factor: float) -> None:
        """Multiply the artificial columns' costs (widens the box they put around the duals)."""
        self.art_cost = self.art_cost * factor
        self.h.changeColsCost(self.n_art, np.arange(self.n_art, dtype=np.int32), self.art_cost)

    def add(self, cols: list[tuple[int, IntArray, FloatArray, float]]) -> int:
        """Add new columns; returns how many were new."""
        starts: list[int] = []
        idx: list[IntArray] = []
        vals: list[FloatArray] = []
        costs: list[float] = []
        nnz = 0
        for j, s_, v, c in cols:
            key = np.int64(j).tobytes() + s_.astype(np.int32).tobytes() + np.round(v, 9).tobytes()
            if key in self.keys:
                continue
            self.keys.add(key)
            starts.append(nnz)
            idx.append(np.concatenate([s_, [self.n, self.n + 1 + j]]).astype(np.int32))
            vals.append(np.concatenate([v, [1.0, 1.0]]))
            nnz += len(s_) + 2
            costs.append(c)
        if not costs:
            return 0
        m = len(costs)
        self.h.addCols(m, np.asarray(costs), np.zeros(m), np.full(m, self.inf), nnz,
                       np.asarray(starts, dtype=np.int32), np.concatenate(idx), np.concatenate(vals))
        self.ncols += m
        return m

    def solve(self) -> tuple[float, FloatArray, float, FloatArray, float]:
        """Solve; returns ``(value, pi, mu, sigma, artificial mass)``."""
        self.h.run()
        sol = self.h.getSolution()
        dual = np.asarray(sol.row_dual, dtype=np.float64)
        art = float(np.sum(np.asarray(sol.col_value[: self.n_art], dtype=np.float64)))
        n = self.n
        return (float(self.h.getInfo().objective_function_value), dual[:n], float(dual[n]), dual[n + 1:], art)


class _Pricer:
    """Relaxed pricing of every candidate medoid at given multipliers (with LP pruning)."""

    def __init__(self, inst: Instance, cost: FloatArray, lo: float, hi: float, delta: float) -> None:
        self.inst, self.c, self.lo, self.hi, self.delta = inst, cost, lo, hi, delta
        self.w = inst.measures[:, 0].astype(np.float64)
        self.n, self.p = inst.n, len(inst.free_slots)
        # mixed centres: cost to each fixed centre and its workload range
        self.fcost: FloatArray | None = None
        if inst.fixed_mask is not None:
            assert inst.fixed_xy is not None
            fs = np.flatnonzero(inst.fixed_mask)
            self.fcost = inst.wt[:, None] * inst.km(slice(None), inst.fixed_xy[fs])
            self.flo = np.maximum(np.where(np.isfinite(inst.lo[fs, 0]), inst.lo[fs, 0], 0.0), 0.0)
            self.fhi = np.where(np.isfinite(inst.hi[fs, 0]), inst.hi[fs, 0], float(self.w.sum()))
        step = max(1, 4_000_000 // max(self.n, 1))
        self.blocks = [np.arange(s, min(self.n, s + step)) for s in range(0, self.n, step)]
        self.dp_runs = 0

    def lp_values(self, pi: FloatArray) -> FloatArray:
        """Fractional-knapsack (LP) value of every candidate: a valid lower bound on ``v_j``."""
        return np.concatenate([_columns(self.inst, b, pi, self.lo, self.hi, cost=self.c[:, b])[0]
                               for b in self.blocks])

    def fixed_values(self, pi: FloatArray, want_x: bool) -> tuple[float, FloatArray | None]:
        """Mixed centres: sum of the fixed territories' pricing values ``max(DP, LP)`` and of their relaxed x."""
        from optimizer.territories.bound import _fixed_columns

        assert self.fcost is not None
        lpv, lpx = _fixed_columns(self.inst, self.fcost, pi, want_x=want_x)
        w0 = np.append(self.w, 0.0)  # a weightless zero-cost stand-in plays the medoid: no unit is forced in
        tot = 0.0
        xsum = np.zeros(self.n) if want_x else None
        for q in range(self.fcost.shape[1]):
            r = np.append(self.fcost[:, q] - pi, 0.0)
            val, chosen = price_one(r, w0, self.n, float(self.flo[q]), float(self.fhi[q]), self.delta,
                                    want_set=want_x)
            self.dp_runs += 1
            tot += max(val, float(lpv[q]))
            if xsum is not None:
                if chosen is not None and val >= lpv[q]:
                    xsum += relaxed_x(r, w0, self.n, chosen, float(self.flo[q]))[: self.n]
                else:  # the LP value won: its fractional knapsack
                    assert lpx is not None
                    xsum += lpx[q]
        return tot, xsum

    def column_cost(self, s: IntArray) -> float:
        """Cost of territory ``s`` at its best medoid."""
        return float(self.c[np.ix_(s, s)].sum(0).min())

    def price(self, pi: FloatArray, ncols: int, t_end: float, want_x: bool = False
              ) -> tuple[float, list[tuple[int, IntArray, FloatArray, float]], FloatArray | None]:
        """``(LB(pi), relaxed territories of the ncols most promising candidates, subgradient or None)``.

        ``LB(pi) = sum(pi) + the p smallest v_j`` (territories are disjoint, so their medoids are distinct).
        Candidates are visited in increasing LP value, each ``v_j`` being ``max(DP, LP)``; unvisited
        candidates keep their LP value, so the bound is valid wherever the scan stops (deadline included);
        the scan stops once the next LP value reaches the p-th smallest ``v`` found.
        """
        lp = self.lp_values(pi)
        vals = lp.copy()
        order = np.argsort(lp, kind="stable")
        heap: list[float] = []  # negatives of the p smallest evaluated values
        cols: list[tuple[int, IntArray, FloatArray, float]] = []
        sets: dict[int, IntArray] = {}
        runs = 0
        for rank, j in enumerate(order):
            lj = float(lp[j])
            if not np.isfinite(lj):
                break
            if rank >= ncols and len(heap) >= self.p and lj >= -heap[0]:
                break
            if runs > 0 and time.monotonic() > t_end:
                break
            r = self.c[:, j] - pi
            want = rank < ncols or want_x
            val, chosen = price_one(r, self.w, int(j), self.lo, self.hi, self.delta, want_set=want)
            runs += 1
            v = max(val, lj)
            vals[j] = v
            if len(heap) < self.p:
                heapq.heappush(heap, -v)
            elif v < -heap[0]:
                heapq.heapreplace(heap, -v)
            if chosen is not None and val >= lj:
                sets[int(j)] = chosen
            if rank < ncols:
                if chosen is not None and val >= lj:
                    x = relaxed_x(r, self.w, int(j), chosen, self.lo)
                else:  # the LP bound won: its fractional knapsack is the cutting plane to add
                    jj = np.asarray([j], dtype=np.int64)
                    _, xs = _columns(self.inst, jj, pi, self.lo, self.hi, want_x=True, cost=self.c[:, jj])
                    assert xs is not None
                    x = xs[0]
                nz = np.flatnonzero(x)
                cols.append((int(j), nz, x[nz], float(self.c[nz, j] @ x[nz])))
        self.dp_runs += runs
        opened = np.argpartition(vals, self.p - 1)[: self.p]
        vmin = float(vals[opened].sum())
        fx: FloatArray | None = None
        if self.fcost is not None:
            fv, fx = self.fixed_values(pi, want_x)
            vmin += fv
        g: FloatArray | None = None
        if want_x:
            # subgradient 1 - sum of the opened candidates' relaxed territories (the LP's where it dominates)
            g = np.ones(self.n)
            lp_open = [int(j) for j in opened if int(j) not in sets]
            if lp_open:
                _, xs = _columns(self.inst, np.asarray(lp_open, dtype=np.int64), pi, self.lo, self.hi,
                                 want_x=True, cost=self.c[:, lp_open])
                assert xs is not None
                g -= np.sum(xs, axis=0)
            if fx is not None:
                g -= fx
            for j in opened:
                if int(j) in sets:
                    g -= relaxed_x(self.c[:, j] - pi, self.w, int(j), sets[int(j)], self.lo)
        return float(pi.sum() + vmin), cols, g


def partition_columns(labels: IntArray, w: FloatArray, lo: float, hi: float) -> list[IntArray]:
    """Territories of a labelling that satisfy the workload range (usable as master columns)."""
    out = []
    for t in np.unique(labels):
        s = np.flatnonzero(labels == t).astype(np.int64)
        if lo - 1e-9 <= w[s].sum() <= hi + 1e-9:
            out.append(s)
    return out


def dw_bound(inst: Instance, *, time_limit: float = 60.0, labels: IntArray | None = None,
             upper: float | None = None, pi0: FloatArray | None = None, warm_time: float | None = None,
             resolution: float | None = None, method: str = "subgradient", alpha: float = 0.5,
             ncols: int | None = None, art_scale: float = 0.0, theta0: float = 1.0, target: float | None = None,
             tol: float = 1e-5, max_iter: int = 100_000) -> DWBoundResult | None:
    """Lower bound on dispersion by the Lagrangian dual of the set-partitioning model.

    Parameters
    ----------
    inst
        Instance with centres chosen among the units (see :func:`optimizer.territories.bound.bound_applicable`).
    time_limit
        Seconds (wall) including the warm start; the best bound so far is returned when they run out.
    labels
        A known partition (territory index per unit): its balanced territories seed the master, and its
        dispersion is the Polyak target when ``upper`` is missing.
    upper
        Dispersion of a known solution (``sum wt x km``), the target of the subgradient step.
    pi0
        Starting multipliers; default: the compact-LP Lagrangian multipliers (``warm_time`` seconds).
    warm_time
        Seconds for the compact-LP warm start (default ``time_limit / 3``).
    resolution
        Workload step of the pricing DP (default ``U / 20000``; finer is slower but tighter).
    method
        ``"subgradient"`` (Polyak steps on the Lagrangian with the relaxed pricing's territories as the
        subgradient), ``"colgen"`` (restricted master LP in highspy, Wentges-smoothed pricing) or
        ``"hybrid"`` (subgradient until it stalls, then colgen from its best multipliers for the time left).
    alpha
        Wentges smoothing weight of the best multipliers (``colgen``; 0 = plain Kelley).
    ncols
        Candidates per iteration whose priced sets become master columns (default ``max(2 p, 20)``).
    art_scale
        ``colgen``: when > 0, a unit's artificial column costs ``art_scale x |pi0_i|`` (this bounds the
        master's duals near the warm start, a box stabilisation); else twice its largest assignment cost.
    theta0
        Initial Polyak step factor (``subgradient``; halved after 20 iterations without improvement).
    target
        When set (``subgradient``), the Polyak step aims at ``best bound x (1 + target)`` instead of
        ``upper``, and the target is halved after 20 iterations without improvement (target-level method).
    tol
        Relative gap to the master value / upper bound at which the loop stops.
    max_iter
        Iteration cap.

    Returns
    -------
    DWBoundResult or None
        None when the bound does not apply (fixed centres, more than :data:`MAX_UNITS` units, or
        ``colgen`` with mixed centres).
    """
    t0 = time.monotonic()
    t_end = t0 + max(0.1, time_limit)
    if not bound_applicable(inst) or inst.n > MAX_UNITS or method not in ("subgradient", "colgen", "hybrid"):
        return None
    if inst.mixed:
        if method == "colgen":
            return None
        method = "subgradient"  # the master has no rows for the fixed territories
        labels = None  # its columns would need a medoid each
    n, p = inst.n, len(inst.free_slots)
    w = inst.measures[:, 0].astype(np.float64)
    if (w < 0).any():
        return None
    free = inst.free_slots
    lo = float(np.min(inst.lo[free, 0])) if np.isfinite(inst.lo[free, 0]).all() else 0.0
    hi = float(np.max(inst.hi[free, 0])) if np.isfinite(inst.hi[free, 0]).all() else float(w.sum())
    lo = max(lo, 0.0)
    delta = resolution if resolution is not None else max(hi / 20000.0, 1e-9)
    cost = inst.wt[:, None] * inst.km(slice(None), inst.xy)  # c[i, j] = wt_i km(i, j)
    pricer = _Pricer(inst, cost, lo, hi, delta)
    ncols = ncols if ncols is not None else max(2 * p, 20)
    lab_cols = partition_columns(np.asarray(labels), w, lo, hi) if labels is not None else []
    if upper is None and labels is not None and len(lab_cols) == len(np.unique(labels)):
        upper = float(sum(pricer.column_cost(s_) for s_ in lab_cols))
    compact = -np.inf
    if pi0 is None:
        wt_s = warm_time if warm_time is not None else time_limit / 3
        res = lagrangian_bound(inst, time_limit=wt_s, upper=upper)
        if res is None:
            return None
        pi0, compact = res.lam, res.value
    pi_best = np.asarray(pi0, dtype=np.float64).copy()
    want_x = method != "colgen"
    # colgen: every candidate's relaxed territory at the warm start seeds the master
    lb_best, cols, g = pricer.price(pi_best, n if not want_x else 0, t_end, want_x=want_x)
    hist = [(time.monotonic() - t0, lb_best)]
    it = 0
    z = np.inf
    converged = False
    ncol_master = 0
    if method in ("subgradient", "hybrid"):
        lam, val = pi_best.copy(), lb_best
        theta, idle, tgt = theta0, 0, target
        known = upper is not None and upper > lb_best  # a real solution's value: the gap can close
        ub = float(upper) if known and upper is not None else abs(lb_best) * 1.05 + 1e-9
        while it < max_iter and time.monotonic() < t_end and g is not None:
            gn = float(g @ g)
            if gn <= 1e-12:
                break  # zero subgradient: no ascent direction known at these multipliers
            if known and ub - lb_best <= tol * max(1.0, abs(ub)):
                converged = True
                break
            if not known and ub <= lb_best:
                ub = abs(lb_best) * 1.05 + 1e-9  # estimated target overtaken: raise it
            aim = min(ub, lb_best + tgt * abs(lb_best)) if tgt is not None else ub
            lam = lam + theta * (aim - val) / gn * g
            it += 1
            val, _, g_new = pricer.price(lam, 0, t_end, want_x=True)
            if val > lb_best:
                lb_best, pi_best, idle = val, lam.copy(), 0
            else:
                idle += 1
                if idle >= 20:
                    idle = 0
                    if tgt is not None:
                        tgt /= 2
                    else:
                        theta /= 2
                    lam, val = pi_best.copy(), lb_best
                    _, _, g_new = pricer.price(lam, 0, t_end, want_x=True)
                    if theta < 1e-4 or (tgt is not None and tgt < 1e-7):
                        break
            g = g_new
            hist.append((time.monotonic() - t0, lb_best))
    if method == "colgen" or (method == "hybrid" and not converged and time.monotonic() < t_end):
        if method == "hybrid":
            # the subgradient has stalled: cutting planes from its best multipliers, duals boxed near them
            art_scale = art_scale if art_scale > 0 else 1.5
            _, cols, _ = pricer.price(pi_best, n, t_end)
        # artificial costs: twice a unit's largest assignment cost (their level only affects the
        # master's path, never the bound's validity)
        big = art_scale * np.abs(pi_best) + 1e-6 * float(np.abs(pi_best).mean() + 1.0) if art_scale > 0 \
            else 2.0 * cost.max(1) + np.abs(pi_best) + 1.0
        master = _Master(n, p, big, float(big.sum()) / p)
        real = []
        for s_ in lab_cols:
            jj = int(s_[int(np.argmin(cost[np.ix_(s_, s_)].sum(0)))])
            real.append((jj, s_, np.ones(len(s_)), pricer.column_cost(s_)))
        master.add(real)
        master.add(cols)
        a_cur = alpha
        stall = 0
        while it < max_iter and time.monotonic() < t_end:
            it += 1
            zr, pi_r, mu_r, sig_r, art = master.solve()
            z = zr if art < 1e-9 else np.inf
            if np.isfinite(z) and lb_best >= z - tol * max(1.0, abs(z)):
                converged = True
                break
            pi_s = a_cur * pi_best + (1 - a_cur) * pi_r if a_cur > 0 else pi_r
            lb, cols, _ = pricer.price(pi_s, ncols, t_end)
            if lb > lb_best:
                lb_best, pi_best = lb, pi_s.copy()
            hist.append((time.monotonic() - t0, lb_best))
            # keep the columns with negative reduced cost at the master's duals
            good = [q for q in cols
                    if q[3] - float(pi_r[q[1]] @ q[2]) - mu_r - sig_r[q[0]] < -1e-9 * max(1.0, abs(q[3]))]
            if master.add(good) == 0:
                if a_cur == 0:
                    stall += 1
                    if stall >= 2:
                        if art < 1e-9:
                            break  # nothing prices out at the master's duals: the master is stuck
                        master.widen(2.0)  # the duals sit on the box: double the artificial costs
                        stall = 0
                a_cur = 0.0  # mispricing at the smoothed point: price at the master's duals once
            else:
                stall, a_cur = 0, alpha
        ncol_master = master.ncols
    return DWBoundResult(value=float(lb_best), master_value=float(z), compact_value=float(compact),
                         iterations=it, columns=ncol_master, dp_runs=pricer.dp_runs, converged=converged,
                         seconds=time.monotonic() - t0, pi=pi_best, history=hist)


__all__ = ["DWBoundResult", "dw_bound", "fill_cost", "floor_weights", "partition_columns",
           "price_one"]
