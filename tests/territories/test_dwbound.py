"""Set-partitioning (Dantzig-Wolfe) Lagrangian bound: relaxed pricing vs brute force, validity, strength."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog
from territory_checks import random_problem
from test_bound_flow import _strong_lp

from optimizer.territories import solve_territories
from optimizer.territories.bound import lagrangian_bound
from optimizer.territories.dwbound import dw_bound, fill_cost, floor_weights, price_one
from optimizer.territories.instance import Instance, build_instance


def _range(inst: Instance) -> tuple[float, float]:
    return float(inst.lo[0, 0]), float(inst.hi[0, 0])


def _subsets(n: int) -> list[tuple[int, ...]]:
    return [s for m in range(n + 1) for s in itertools.combinations(range(n), m)]


def _brute_optimum(inst: Instance) -> float:
    """Min dispersion (medoid cost) over all partitions into k balanced territories (exact)."""
    n, k = inst.n, inst.k
    w = inst.measures[:, 0]
    lo, hi = _range(inst)
    c = inst.wt[:, None] * inst.km(slice(None), inst.xy)
    best_cost: dict[int, float] = {}
    for s in _subsets(n):
        if s and lo - 1e-9 <= w[list(s)].sum() <= hi + 1e-9:
            best_cost[sum(1 << i for i in s)] = float(c[np.ix_(s, s)].sum(0).min())
    full = (1 << n) - 1
    memo: dict[tuple[int, int], float] = {}

    def rec(mask: int, left: int) -> float:
        if mask == full:
            return 0.0 if left == 0 else np.inf
        if left == 0:
            return np.inf
        if (mask, left) in memo:
            return memo[(mask, left)]
        low = (~mask & full) & -(~mask & full)  # lowest unassigned unit starts the next territory
        free = ~mask & full & ~low
        out = np.inf
        sub = free
        while True:
            t = sub | low
            if t in best_cost:
                out = min(out, best_cost[t] + rec(mask | t, left - 1))
            if sub == 0:
                break
            sub = (sub - 1) & free
        memo[(mask, left)] = out
        return out

    return rec(0, k)


def _sp_lp(inst: Instance) -> float:
    """Set-partitioning LP over every (medoid j, set S containing j), with each medoid used at most once."""
    n, k = inst.n, inst.k
    w = inst.measures[:, 0]
    lo, hi = _range(inst)
    c = inst.wt[:, None] * inst.km(slice(None), inst.xy)
    cols: list[tuple[int, tuple[int, ...]]] = []
    costs: list[float] = []
    for s in _subsets(n):
        if s and lo - 1e-9 <= w[list(s)].sum() <= hi + 1e-9:
            for j in s:
                cols.append((j, s))
                costs.append(float(c[list(s), j].sum()))
    a_eq = np.zeros((n + 1, len(cols)))
    a_ub = np.zeros((n, len(cols)))
    for q, (j, s) in enumerate(cols):
        a_eq[list(s), q] = 1.0
        a_eq[n, q] = 1.0
        a_ub[j, q] = 1.0
    res = linprog(np.asarray(costs), A_ub=a_ub, b_ub=np.ones(n), A_eq=a_eq,
                  b_eq=np.concatenate([np.ones(n), [float(k)]]), bounds=(0, None), method="highs")
    assert res.status == 0
    return float(res.fun)


def _relaxed_brute(r: np.ndarray, w: np.ndarray, j: int, lo: float, hi: float, delta: float) -> float:
    """The pricing relaxation by enumeration: every subset of the negative units within the floor capacity."""
    n = len(r)
    a = floor_weights(w, delta)
    cap = int(np.floor((hi - w[j]) / delta + 1e-9))
    if w[j] > hi:
        return np.inf
    neg = [i for i in range(n) if i != j and r[i] < 0 and a[i] <= cap]
    pos = np.array([i for i in range(n) if i != j and r[i] >= 0], dtype=np.int64)
    csa = np.cumsum(np.sort(a[neg]))
    best = np.inf
    for m in range(len(neg) + 1):
        for t in itertools.combinations(neg, m):
            b = int(a[list(t)].sum())
            if b > cap:
                continue
            mb = int(np.searchsorted(csa, b, side="right"))
            need = lo - w[j] - delta * (b + mb) - 1e-9 * max(1.0, abs(lo))
            fc = float(fill_cost(r[pos], w[pos], np.array([need]))[0])
            best = min(best, float(r[j] + r[list(t)].sum() + fc))
    return best


def _exact_v(r: np.ndarray, w: np.ndarray, j: int, lo: float, hi: float) -> float:
    """min r(S) over S containing j with lo <= w(S) <= hi (enumeration)."""
    others = [i for i in range(len(r)) if i != j]
    best = np.inf
    for m in range(len(others) + 1):
        for t in itertools.combinations(others, m):
            s = [j, *t]
            if lo - 1e-9 <= w[s].sum() <= hi + 1e-9:
                best = min(best, float(r[s].sum()))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_pricing_dp_equals_enumeration_and_bounds_the_exact_knapsack(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 10
    w = np.round(rng.uniform(0.5, 6.0, size=n), 6)
    r = rng.normal(0.0, 5.0, size=n)
    lo, hi = float(w.sum()) * 0.3, float(w.sum()) * 0.45
    for delta in (0.37, 0.05):
        for j in range(n):
            val, chosen = price_one(r, w, j, lo, hi, delta, want_set=True)
            assert val == pytest.approx(_relaxed_brute(r, w, j, lo, hi, delta), abs=1e-9)
            assert val <= _exact_v(r, w, j, lo, hi) + 1e-9
            if np.isfinite(val):
                assert chosen is not None
                # the backtracked set fits the floor capacity and has negative reduced costs only
                assert all(r[i] < 0 and i != j for i in chosen)
                assert floor_weights(w, delta)[chosen].sum() <= np.floor((hi - w[j]) / delta + 1e-9)


@pytest.mark.parametrize(("n", "k", "seed", "tau"), [(8, 2, 0, 0.1), (9, 3, 1, 0.1), (9, 3, 2, 0.2),
                                                     (8, 2, 3, 0.05), (9, 3, 4, 0.15)])
def test_bound_between_compact_lp_and_optimum(n: int, k: int, seed: int, tau: float) -> None:
    inst = build_instance(random_problem(n, k, seed, tau))
    opt = _brute_optimum(inst)
    assert np.isfinite(opt)
    comp = lagrangian_bound(inst, time_limit=60.0, max_iter=400)
    assert comp is not None
    res = dw_bound(inst, time_limit=120.0, pi0=comp.lam, resolution=0.01, max_iter=1500)
    assert res is not None
    sp = _sp_lp(inst)
    assert res.value <= sp + 1e-6 * max(1.0, sp)  # a Lagrangian value never exceeds the LP it relaxes
    assert sp <= opt + 1e-6 * opt
    assert res.value >= comp.value - 1e-9 * abs(comp.value)  # at the same multipliers it is never weaker
    cg = dw_bound(inst, time_limit=120.0, pi0=comp.lam, resolution=0.01, method="colgen", max_iter=100)
    assert cg is not None and cg.value <= opt + 1e-6 * opt and cg.value >= comp.value - 1e-9 * abs(comp.value)
    # stronger than the compact LP solved exactly (the knapsacks are integral over the negative units)
    assert res.value >= _strong_lp(inst)


def test_stronger_than_compact_lp_on_a_tiny_instance() -> None:
    """Three units per territory: the knapsack's integrality gives the set-partitioning bound its edge."""
    gains = []
    for seed in range(3):
        inst = build_instance(random_problem(9, 3, seed, 0.1))
        comp = lagrangian_bound(inst, time_limit=60.0, max_iter=400)
        assert comp is not None
        res = dw_bound(inst, time_limit=120.0, pi0=comp.lam, resolution=0.01, max_iter=1500)
        assert res is not None
        gains.append(res.value / _strong_lp(inst) - 1)
    assert min(gains) > 0.01


def test_never_above_the_engine_and_same_input_same_bound() -> None:
    prob = random_problem(60, 4, 7, 0.05)
    inst = build_instance(prob)
    sol = solve_territories(prob, time_limit=2.0, seed=0)
    lab = np.array([inst.tids.index(sol.assignment[u]) for u in inst.ids])
    c = inst.wt[:, None] * inst.km(slice(None), inst.xy)
    disp = sum(float(c[np.ix_(s, s)].sum(0).min()) for s in (np.flatnonzero(lab == t) for t in range(inst.k)))
    a = dw_bound(inst, time_limit=30.0, labels=lab, warm_time=1.0, max_iter=25)
    b = dw_bound(inst, time_limit=30.0, labels=lab, warm_time=1.0, max_iter=25)
    assert a is not None and b is not None
    assert 0 < a.value <= disp + 1e-9
    comp = lagrangian_bound(inst, time_limit=1.0)
    assert comp is not None and a.value >= 0.9 * comp.value
    # the warm start is time-limited, so compare two runs from the same multipliers
    x = dw_bound(inst, time_limit=30.0, labels=lab, pi0=a.pi, max_iter=10)
    y = dw_bound(inst, time_limit=30.0, labels=lab, pi0=a.pi, max_iter=10)
    assert x is not None and y is not None and x.value == y.value and x.value >= a.value - 1e-9 * abs(a.value)


def test_hybrid_reaches_the_relaxed_dual_on_a_tiny_instance() -> None:
    """Subgradient then column generation: valid, above the compact LP, and the master closes the gap."""
    inst = build_instance(random_problem(9, 3, 1, 0.1))
    comp = lagrangian_bound(inst, time_limit=60.0, max_iter=400)
    assert comp is not None
    res = dw_bound(inst, time_limit=120.0, pi0=comp.lam, resolution=0.01, method="hybrid", max_iter=2000)
    assert res is not None
    assert _strong_lp(inst) <= res.value <= _sp_lp(inst) + 1e-6
    assert res.converged and res.value >= res.master_value - 1e-4 * abs(res.master_value)
