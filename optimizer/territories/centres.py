"""Centre search for territories with centres chosen among the units: balanced transport flow + vertex substitution.

With the centres fixed and only the workload balanced, the fractional allocation is a transportation
problem: unit ``i`` ships its workload ``w[i]`` to centres, centre ``t`` receives between ``lo[t]``
and ``hi[t]``, shipping one hour from ``i`` to ``t`` costs ``wt[i] / w[i] * km(i, t)``. OR-Tools'
min-cost flow solves it exactly in milliseconds (integer-scaled), so whole centre sets can be compared
by their *balanced* cost, which plain p-median swap deltas ignore. A basic flow splits at most about
``k`` units; rounding them barely moves the cost.

The search (:func:`substitution_search`) is a Teitz-Bart vertex substitution on that cost: replace one
centre by a candidate unit (candidates from the LP bound's open frequencies, from units far from
their centre, and from each territory's own units), keep the move if the flow cost drops, then move
every centre to its weighted medoid (Hess) and repeat. Iterated from perturbed centre sets until the
time runs out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from optimizer.territories.evaluate import medoids
from optimizer.territories.instance import FloatArray, Instance, IntArray

FLOW_SCALE_TOTAL = 1e8
"""Total workload after integer scaling (flow units)."""
COST_SCALE = 1e4
"""Integer cost per flow unit = round(km x COST_SCALE x wt / w)."""


class FlowAllocator:
    """Balanced allocation of the units to a set of centre units by min-cost flow (workload only).

    Parameters
    ----------
    inst
        Instance with centres chosen by the solver.
    kk
        Each unit may go to its ``kk`` nearest centres only (None: all); widened to all when that
        makes the flow infeasible.
    """

    def __init__(self, inst: Instance, kk: int | None = 10) -> None:
        self.inst = inst
        self.kk = kk
        w = inst.measures[:, 0]
        self.pos = np.flatnonzero(w > 0)
        tot = float(w.sum())
        self.scale = FLOW_SCALE_TOTAL / max(tot, 1e-12)
        self.W = np.maximum(np.round(w[self.pos] * self.scale), 1).astype(np.int64)
        lo = np.where(np.isfinite(inst.lo[:, 0]), inst.lo[:, 0], 0.0)
        hi = np.where(np.isfinite(inst.hi[:, 0]), inst.hi[:, 0], tot)
        self.lo_i = np.ceil(np.maximum(lo, 0.0) * self.scale - 1e-6).astype(np.int64)
        self.hi_i = np.floor(hi * self.scale + 1e-6).astype(np.int64)
        # integer rounding must not make the bounds cross or the total fall outside them
        self.hi_i = np.maximum(self.hi_i, self.lo_i)
        total = int(self.W.sum())
        if total < int(self.lo_i.sum()):
            self.lo_i = np.floor(self.lo_i * (total / max(int(self.lo_i.sum()), 1))).astype(np.int64)
        if total > int(self.hi_i.sum()):
            self.hi_i = self.hi_i + (total - int(self.hi_i.sum())) // len(self.hi_i) + 1
        self.ratio = inst.wt[self.pos] / np.maximum(w[self.pos], 1e-12)
        self.evals = 0

    def solve(self, med: IntArray, want_assign: bool = False) -> tuple[float, IntArray | None]:
        """Flow cost (in objective units, fractional allocation) and, if asked, the rounded assignment.

        Returns ``(inf, None)`` when no balanced allocation exists even with all pairs.
        """
        inst = self.inst
        k = len(med)
        d = inst.km(self.pos, inst.cpts(med))  # m x k
        kk = self.kk if self.kk is not None and self.kk < k else None
        for attempt in (kk, None):
            self.evals += 1
            res = self._flow(d, attempt, want_assign)
            if res is not None or attempt is None:
                break
        if res is None:
            return np.inf, None
        cost, a_pos = res
        if not want_assign:
            return cost, None
        assert a_pos is not None
        a = np.argmin(inst.km(slice(None), inst.cpts(med)), axis=1).astype(np.int64)
        a[self.pos] = a_pos
        return cost, a

    def _flow(self, d: FloatArray, kk: int | None, want_assign: bool) -> tuple[float, IntArray | None] | None:
        m, k = d.shape
        if kk is None:
            ii = np.repeat(np.arange(m), k)
            tt = np.tile(np.arange(k), m)
        else:
            near = np.argpartition(d, kk - 1, axis=1)[:, :kk]
            ii = np.repeat(np.arange(m), kk)
            tt = near.ravel()
        cost = np.round(d[ii, tt] * self.ratio[ii] * COST_SCALE).astype(np.int64)
        f = min_cost_flow.SimpleMinCostFlow()
        # nodes: units 0..m-1, territories m..m+k-1, sink m+k
        sink = m + k
        cap_u = self.W[ii]
        slack = self.hi_i - self.lo_i
        starts = np.concatenate([ii, m + np.arange(k)])
        ends = np.concatenate([m + tt, np.full(k, sink)])
        caps = np.concatenate([cap_u, slack])
        costs = np.concatenate([cost, np.zeros(k, dtype=np.int64)])
        arcs = f.add_arcs_with_capacity_and_unit_cost(starts, ends, caps, costs)
        supply = np.concatenate([self.W, -self.lo_i, [-(int(self.W.sum()) - int(self.lo_i.sum()))]])
        f.set_nodes_supplies(np.arange(m + k + 1), supply)
        if f.solve() != f.OPTIMAL:
            return None
        val = f.optimal_cost() / COST_SCALE / self.scale
        if not want_assign:
            return val, None
        flows = f.flows(arcs[: len(ii)])
        order = np.argsort(flows, kind="stable")
        a = np.zeros(m, dtype=np.int64)
        a[ii[order]] = tt[order]  # the last write per unit wins: its largest share
        return val, a


def _recentre(inst: Instance, fa: FlowAllocator, med: IntArray, val: float,
              stop: Callable[[], bool], max_iter: int = 40) -> tuple[IntArray, float]:
    """Hess iterations on the flow: allocate, move centres to weighted medoids, until the centres repeat.

    ``val`` is the flow cost of ``med``. A step that makes the flow dearer is still taken (Hess does
    so) but the best centres seen are returned.
    """
    best_m, best_v = med, val
    seen = {med.tobytes()}
    a: IntArray | None = None
    for it in range(max_iter):
        if stop():
            break
        if it == 0 or a is None:
            _, a = fa.solve(med, want_assign=True)
        assert a is not None
        new = medoids(inst, a, med)
        if (new < 0).any() or new.tobytes() in seen:
            break
        seen.add(new.tobytes())
        v2, a = fa.solve(new, want_assign=True)
        med = new
        if v2 < best_v - 1e-9 * max(1.0, abs(best_v)):
            best_m, best_v = new, v2
        elif v2 > best_v * 1.01 or a is None:
            break
    return best_m, best_v


def substitution_search(
    inst: Instance,
    med: IntArray,
    rng: np.random.Generator,
    stop: Callable[[], bool],
    *,
    lp_pool: IntArray | None = None,
    kk: int | None = 10,
    pool_size: int | None = None,
    fa: FlowAllocator | None = None,
) -> tuple[IntArray, float, int]:
    """Vertex substitution on the balanced flow cost, with Hess re-centring after every accepted swap.

    Parameters
    ----------
    inst
        Instance with chosen centres.
    med
        Starting centre units (one per territory).
    rng
        Random generator (candidate sampling and order).
    stop
        Returns True when time is up.
    lp_pool
        Units the LP bound likes as centres (tried first).
    kk
        Nearest-centre restriction of the flow.
    pool_size
        Candidates per pass (default ``max(4k, 40)``).
    fa
        Reusable allocator.

    Returns
    -------
    tuple
        ``(centres, flow cost, flow evaluations)``.
    """
    fa = fa or FlowAllocator(inst, kk)
    k = inst.k
    med = med.copy()
    val, _ = fa.solve(med)
    # Hess always runs to the end (at most 40 flows): even a loaded machine gets at least its quality
    med, val = _recentre(inst, fa, med, val, lambda: False)
    size = pool_size or max(4 * k, 40)
    improved = True
    while improved and not stop():
        improved = False
        _, a = fa.solve(med, want_assign=True)
        assert a is not None
        d_own = inst.km(slice(None), inst.cpts(med))[np.arange(inst.n), a]
        cands: list[int] = []
        if lp_pool is not None:
            cands += [int(u) for u in lp_pool[: 2 * k]]
        # far, heavy units (k-means++ style) and random members of every territory
        pr = inst.wt * d_own ** 2
        if pr.sum() > 0:
            # (tiny instances: no more draws than units with a positive weight)
            cands += [int(u) for u in rng.choice(inst.n, size=min(int(np.count_nonzero(pr)), size // 2),
                                                 replace=False, p=pr / pr.sum())]
        cands += [int(u) for u in rng.choice(inst.n, size=min(inst.n, size // 2), replace=False)]
        taken = set(med.tolist())
        seen: set[int] = set()
        uniq = [u for u in cands if u not in taken and not (u in seen or seen.add(u))]  # type: ignore[func-returns-value]
        dmed = inst.km(np.asarray(uniq, dtype=np.int64), inst.cpts(med)) if uniq else np.zeros((0, k))
        if inst.fixed_mask is not None:  # mixed centres: only the free ones are substituted
            dmed[:, inst.fixed_mask] = np.inf
        for q, u in enumerate(uniq):
            if stop():
                break
            # try closing each of the 3 nearest centres and the cheapest-to-lose one, keep the best
            slots = [t for t in np.argsort(dmed[q])[:3] if np.isfinite(dmed[q, t])]
            best_v, best_t = val, -1
            for t in slots:
                trial = med.copy()
                trial[t] = u
                v, _ = fa.solve(trial)
                if v < best_v - 1e-9 * max(1.0, abs(best_v)):
                    best_v, best_t = v, int(t)
            if best_t >= 0:
                med = med.copy()
                med[best_t] = u
                med, val = _recentre(inst, fa, med, best_v, stop)
                improved = True
                break
    return med, float(val), fa.evals


def finalize(inst: Instance, fa: FlowAllocator, med: IntArray) -> tuple[IntArray, IntArray]:
    """Integral assignment for centre units ``med``: rounded flow, balance repair, shifts/swaps, medoids.

    The answer is then polished by shifts and swaps against its medoids and re-centred, while that
    lowers the objective.

    When measures other than the workload are balanced the flow ignores them; the balance repair
    then restores them (the allocation LP with every measure is tried as well and the better kept).
    """
    from optimizer.territories.alloc import State, cost_matrix
    from optimizer.territories.evaluate import evaluate
    from optimizer.territories.locate import allocate

    cost = cost_matrix(inst, inst.km(slice(None), inst.cpts(med)))
    cands: list[IntArray] = []
    _, a = fa.solve(med, want_assign=True)
    if a is not None:
        st = State(inst, a, cost)
        st.repair_balance()
        st.local_search(rounds=30)
        cands.append(st.a)
    others = np.isfinite(inst.lo[:, 1:]).any() or np.isfinite(inst.hi[:, 1:]).any()
    if a is None or others:
        cands.append(allocate(inst, med, kk=fa.kk))
    best: tuple[float, float, IntArray, IntArray] | None = None
    for c in cands:
        ev = evaluate(inst, c, med)
        assert ev.med is not None
        viol = State(inst, c, cost).violation()
        key = (viol, ev.objective)
        if best is None or key < (best[0], best[1]):
            best = (viol, ev.objective, c, ev.med)
    assert best is not None
    a_b, m_b, v_b = best[2], best[3], best[1]
    # Hess on the integral answer: shifts/swaps against the medoids, re-centre, while it pays
    for _ in range(3):
        st = State(inst, a_b, cost_matrix(inst, inst.km(slice(None), inst.cpts(m_b))))
        if st.violation() > 1e-9:
            break
        st.local_search(rounds=30)
        ev = evaluate(inst, st.a, m_b)
        assert ev.med is not None
        if ev.objective >= v_b - 1e-9 * max(1.0, abs(v_b)):
            break
        a_b, m_b, v_b = st.a, ev.med, ev.objective
    return a_b, m_b


def centre_search(
    inst: Instance,
    rng: np.random.Generator,
    stop: Callable[[], bool],
    on_best: Callable[[float], bool] | None = None,
    *,
    kk: int | None = 10,
    lp_pool: IntArray | None = None,
    max_idle: int = 30,
) -> tuple[IntArray, IntArray, float, int]:
    """Iterated vertex substitution: start from weighted k-means, perturb the best centres, restart.

    Every local optimum of the flow cost within 0.5 % of the best one is made integral
    (:func:`finalize`) and the best balanced answer by its true objective (distance to the weighted
    medoids) is kept. Ends at ``stop()`` or after ``max_idle`` searches in a row without improvement.

    Returns
    -------
    tuple
        ``(assignment, centre units, objective, searches run)``.
    """
    from optimizer.territories.alloc import State, cost_matrix
    from optimizer.territories.evaluate import objective
    from optimizer.territories.locate import initial_centres, perturb

    fa = FlowAllocator(inst, kk)
    best: tuple[float, float, IntArray, IntArray] | None = None  # (violation, objective, a, med)
    best_flow = np.inf
    med = initial_centres(inst, rng)
    runs = idle = 0
    while True:
        m2, v2, _ = substitution_search(inst, med, rng, stop, lp_pool=lp_pool, fa=fa)
        runs += 1
        idle += 1
        if v2 <= best_flow * 1.005 or best is None:
            a2, mm2 = finalize(inst, fa, m2)
            obj = objective(inst, a2, mm2)
            viol = State(inst, a2, cost_matrix(inst, inst.km(slice(None), inst.cpts(mm2)))).violation()
            if best is None or (viol, obj) < (best[0], best[1] - 1e-9 * max(1.0, abs(best[1]))):
                best = (viol, obj, a2, mm2)
                idle = 0
                if on_best is not None:
                    on_best(obj)
        best_flow = min(best_flow, v2)
        if stop() or idle >= max_idle:
            break
        # mostly perturb the best centres (two close/open moves); every fourth search starts afresh
        _, a_b = fa.solve(best[3], want_assign=True)
        if runs % 4 == 0 or a_b is None:
            med = initial_centres(inst, rng)
        else:
            med = perturb(inst, a_b, perturb(inst, a_b, best[3], rng), rng)
    assert best is not None
    return best[2], best[3], best[1], runs


def _sub_flow(inst: Instance, fa: FlowAllocator, units: IntArray, centres: IntArray, lo_i: IntArray,
              hi_i: IntArray, pts: FloatArray | None = None) -> tuple[float, IntArray | None]:
    """Fractional balanced flow of ``units`` (positive workload) to ``centres`` (all pairs); rounded labels.

    ``pts`` (optional) gives the centre points instead of the centre units' locations (mixed centres).
    """
    d = inst.km(units, inst.xy[centres] if pts is None else pts)
    m, s = d.shape
    W = np.maximum(np.round(inst.measures[units, 0] * fa.scale), 1).astype(np.int64)
    ratio = inst.wt[units] / np.maximum(inst.measures[units, 0], 1e-12)
    ii = np.repeat(np.arange(m), s)
    tt = np.tile(np.arange(s), m)
    cost = np.round(d[ii, tt] * ratio[ii] * COST_SCALE).astype(np.int64)
    total = int(W.sum())
    lo_i = np.minimum(lo_i, total)
    if total < int(lo_i.sum()) or total > int(hi_i.sum()):
        return np.inf, None
    f = min_cost_flow.SimpleMinCostFlow()
    sink = m + s
    arcs = f.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([ii, m + np.arange(s)]), np.concatenate([m + tt, np.full(s, sink)]),
        np.concatenate([W[ii], hi_i - lo_i]), np.concatenate([cost, np.zeros(s, dtype=np.int64)]))
    f.set_nodes_supplies(np.arange(m + s + 1), np.concatenate([W, -lo_i, [-(total - int(lo_i.sum()))]]))
    if f.solve() != f.OPTIMAL:
        return np.inf, None
    flows = f.flows(arcs[: len(ii)])
    order = np.argsort(flows, kind="stable")
    lab = np.zeros(m, dtype=np.int64)
    lab[ii[order]] = tt[order]
    return f.optimal_cost() / COST_SCALE / fa.scale, lab


def _ring_medoids(inst: Instance, units: IntArray, lab: IntArray, centres: IntArray,
                  keep: NDArray[np.bool_] | None = None) -> IntArray:
    """Weighted medoid of each ring territory (labels ``lab`` index ``centres``); empty and ``keep`` ones stay."""
    out = centres.copy()
    for q in range(len(centres)):
        mem = units[lab == q]
        if len(mem) == 0 or (keep is not None and keep[q]):
            continue
        cand = mem
        if len(mem) > 400:
            cen = (inst.xy[mem] * inst.wt[mem, None]).sum(0) / max(float(inst.wt[mem].sum()), 1e-12)
            cand = mem[np.argsort(inst.km(mem, cen[None, :])[:, 0], kind="stable")[:400]]
        out[q] = cand[int(np.argmin(inst.wt[mem] @ inst.km(mem, inst.xy[cand])))]
    return out


def local_substitution(
    inst: Instance,
    a: IntArray,
    med: IntArray,
    rng: np.random.Generator,
    stop: Callable[[], bool],
    *,
    ring: int = 6,
    fa: FlowAllocator | None = None,
) -> tuple[IntArray, IntArray, int]:
    """Vertex substitution evaluated on a neighbourhood: for large instances where a global flow is slow.

    A candidate unit ``u`` replaces one of the 3 centres nearest to it; only the units of the ``ring``
    territories around ``u`` are re-allocated (balanced flow among those territories, each keeping its
    workload range, widened to its current load when that is outside), so one evaluation costs
    milliseconds. An accepted move re-centres those territories on their weighted medoids. The caller
    repairs the global balance at the end (the rounding splits a few units per move).

    Returns
    -------
    tuple
        ``(assignment, centre units, moves accepted)``.
    """
    fa = fa or FlowAllocator(inst, None)
    k = inst.k
    a = a.copy()
    med = med.copy()
    ring = min(ring, k)
    w = inst.measures[:, 0]
    pos_mask = w > 0
    accepted = 0
    fails = 0
    while not stop() and fails < 20 * k:
        cpts = inst.cpts(med)
        d_own = inst.km(slice(None), cpts)[np.arange(inst.n), a] if inst.n <= 20_000 else \
            np.sqrt(((inst.xy - cpts[a]) ** 2).sum(1))
        pr = inst.wt * d_own ** 2
        # far, heavy units (k-means++ style) and uniform ones
        half = min(inst.n, 2 * k)
        batch = np.concatenate([rng.choice(inst.n, size=half, replace=False,
                                           p=pr / pr.sum() if pr.sum() > 0 else None),
                                rng.choice(inst.n, size=half, replace=False)])
        moved_any = False
        for u in batch:
            if stop():
                break
            u = int(u)
            if u in set(med.tolist()):
                continue
            du = inst.km(np.array([u]), cpts)[0]
            slots = np.argsort(du, kind="stable")[:ring]
            keep = inst.fixed_mask[slots] if inst.fixed_mask is not None else None
            spts = cpts[slots] if keep is not None else None
            units = np.flatnonzero(np.isin(a, slots) & pos_mask)
            if len(units) == 0:
                continue
            load = np.round(np.bincount(a[units], weights=w[units], minlength=k)[slots] * fa.scale).astype(np.int64)
            lo_i = np.minimum(fa.lo_i[slots], load)
            hi_i = np.maximum(fa.hi_i[slots], load)
            def rpts(c: IntArray, keep: NDArray[np.bool_] | None = keep, spts: FloatArray | None = spts
                     ) -> FloatArray | None:
                # mixed centres: fixed slots keep their points (and are never substituted)
                return None if keep is None or spts is None else np.where(keep[:, None], spts, inst.xy[c])

            base, _ = _sub_flow(inst, fa, units, med[slots], lo_i, hi_i, spts)
            best_v, best_q, best_lab = base, -1, None
            best_c: IntArray | None = None
            free_q = [q for q in range(len(slots)) if keep is None or not keep[q]][:3]
            for q in free_q:
                trial = med[slots].copy()
                trial[q] = u
                v, lab = _sub_flow(inst, fa, units, trial, lo_i, hi_i, rpts(trial))
                if lab is None:
                    continue
                # one Hess step inside the ring: a new centre is rarely well placed before it
                for _ in range(2):
                    rc = _ring_medoids(inst, units, lab, trial, keep)
                    if np.array_equal(rc, trial):
                        break
                    v2, lab2 = _sub_flow(inst, fa, units, rc, lo_i, hi_i, rpts(rc))
                    if lab2 is None or v2 >= v:
                        break
                    trial, v, lab = rc, v2, lab2
                if v < best_v - 1e-9 * max(1.0, abs(best_v)):
                    best_v, best_q, best_lab, best_c = v, q, lab, trial
            if best_q < 0 or best_lab is None or best_c is None:
                fails += 1
                continue
            new_med = med.copy()
            new_med[slots] = best_c
            a[units] = slots[best_lab]
            med = new_med
            accepted += 1
            fails = 0
            moved_any = True
            break
        if not moved_any:
            fails += len(batch)
    return a, med, accepted


def large_search(
    inst: Instance,
    rng: np.random.Generator,
    stop: Callable[[], bool],
    on_best: Callable[[float], bool] | None = None,
    *,
    kk: int | None = 10,
    starts_done: Callable[[], bool] | None = None,
) -> tuple[IntArray, IntArray, float, int]:
    """Large instances: multi-start Hess on the flow, then :func:`local_substitution` until ``stop()``.

    Hess converges to quite different local optima from different weighted k-means starts (about 1 %
    apart on 10,000 units), so starts are repeated until ``starts_done()`` (default: one start) and the
    best is improved by neighbourhood substitution.

    Returns
    -------
    tuple
        ``(assignment, centre units, objective, starts + moves accepted)``.
    """
    from optimizer.territories.alloc import State, cost_matrix
    from optimizer.territories.evaluate import objective
    from optimizer.territories.locate import initial_centres

    fa = FlowAllocator(inst, kk)
    med = np.zeros(0, dtype=np.int64)
    val = np.inf
    starts = 0
    while True:
        m0 = initial_centres(inst, rng)
        v0, _ = fa.solve(m0)
        m0, v0 = _recentre(inst, fa, m0, v0, stop if starts else (lambda: False))
        starts += 1
        if v0 < val:
            med, val = m0, v0
        if starts_done is None or starts_done() or stop():
            break
    _, a = fa.solve(med, want_assign=True)
    if a is None:  # no balanced flow: nearest centre, the repair below does what it can
        a = np.argmin(inst.km(slice(None), inst.cpts(med)), axis=1).astype(np.int64)
    if on_best is not None:
        on_best(objective(inst, a, med))
    a, med, moves = local_substitution(inst, a, med, rng, stop, fa=fa)
    st = State(inst, a, cost_matrix(inst, inst.km(slice(None), inst.cpts(med))))
    st.repair_balance()
    st.local_search(rounds=5)
    new = medoids(inst, st.a, med)
    obj = objective(inst, st.a, new)
    if on_best is not None:
        on_best(obj)
    return st.a, new, obj, starts + moves
