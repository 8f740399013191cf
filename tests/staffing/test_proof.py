"""Proof of optimality (Lagrangian column enumeration + exact master) against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimizer.model.staffing import StaffingProblem
from optimizer.staffing.bounds import decompose, direction_problem, month_price_cuts
from optimizer.staffing.milp import MilpResult, round_up, solve_milp, staffing_volumes
from optimizer.staffing.prep import prepare
from optimizer.staffing.proof import enumerate_direction, prove, role_prices, row_prices, shared_bound

from .test_cuts import AM_MAX, T, brute_force, instance


def _check(prep, r: MilpResult) -> float:  # type: ignore[no-untyped-def]
    """Feasibility re-checked without a solver; the recomputed cost."""
    chk = staffing_volumes(prep, r.n, r.h)
    assert chk.status == "feasible"
    assert chk.cost == pytest.approx(r.cost, abs=1e-6)
    return chk.cost


@pytest.mark.parametrize("seed", range(6))
def test_proof_finds_and_certifies_the_brute_force_optimum(seed: int) -> None:
    data = instance(seed)
    want = brute_force(data)
    assert not math.isinf(want)
    prep = prepare(StaffingProblem.model_validate(data))
    # start from a deliberately poor staffing (LP rounded up): the proof must still reach the optimum
    start = round_up(prep)
    assert start.ok
    pr = prove(prep, start, roles=["am"])
    assert pr.proven, pr.reason
    assert pr.result.cost == pytest.approx(want, abs=1e-3)
    assert _check(prep, pr.result) == pytest.approx(want, abs=1e-3)
    assert pr.lower_bound <= want + 1e-3 <= pr.upper_bound + 2e-3
    assert sum(pr.columns.values()) >= 1
    # with the optimum as start the threshold is the smallest: the enumeration never loses the optimum's sequence
    pr2 = prove(prep, pr.result, roles=["am"])
    assert pr2.proven and pr2.result.cost == pytest.approx(want, abs=1e-3)
    for did in prep.dirs:
        assert pr2.columns[did] <= pr.columns[did]


@pytest.mark.parametrize("seed", range(3))
def test_default_roles_and_no_enumeration_are_exact_too(seed: int) -> None:
    data = instance(seed)
    want = brute_force(data)
    prep = prepare(StaffingProblem.model_validate(data))
    start = decompose(prep, solver="cbc").result
    for roles in (None, [], ["am", "ts"]):
        pr = prove(prep, start, roles=roles)
        assert pr.proven, (roles, pr.reason)
        assert pr.result.cost == pytest.approx(want, abs=1e-3)


def test_enumeration_lists_every_sequence_within_the_threshold_and_prunes() -> None:
    """The listed am sequences are exactly those whose LP bound is within the threshold (all 9 checked)."""
    prep = prepare(StaffingProblem.model_validate(instance(2)))
    cuts = month_price_cuts(prep, decompose(prep, solver="cbc").rated_cuts, solver="cbc")
    lp = solve_milp(prep, integer=False, rated_cuts=cuts, tighten=True)
    u = row_prices(prep, lp.struct_duals)
    price = role_prices(prep, u)
    assert shared_bound(prep, u) is not None
    sub = prepare(direction_problem(prep, 0, {r: 0.0 for r in price}))
    everything = enumerate_direction(sub, price, ["am"], math.inf)
    assert len(everything.columns) >= 2
    bounds = sorted(everything.bounds)
    thr = (bounds[0] + bounds[-1]) / 2
    some = enumerate_direction(sub, price, ["am"], thr)
    want = {tuple(c[0]) for c, b in zip(everything.columns, everything.bounds, strict=True) if b <= thr}
    assert {tuple(c[0]) for c in some.columns} == want
    assert 0 < len(some.columns) < len(everything.columns)
    # every integer sequence with a feasible LP is listed when the threshold is infinite
    did = prep.dirs[0]
    for a0 in range(AM_MAX + 1):
        for a1 in range(AM_MAX + 1):
            fixed = solve_milp(sub, integer=False, tighten=True,
                               fix=None, month_costs={(r, did): p for r, p in price.items()},
                               choices=[_one(did, np.array([a0, a1], dtype=float))])
            listed = (float(a0), float(a1)) in {tuple(c[0]) for c in everything.columns}
            assert listed == fixed.ok
    assert T == 2


def _one(did: str, seq: np.ndarray):  # type: ignore[no-untyped-def]
    from optimizer.staffing.milp import Choice

    return Choice(keys=[("am", did)], columns=[[seq]], group=did)


def test_same_input_same_certificate() -> None:
    prep = prepare(StaffingProblem.model_validate(instance(4)))
    start = round_up(prep)
    a = prove(prep, start, roles=["am"])
    b = prove(prep, start, roles=["am"])
    assert a.proven and b.proven
    assert a.result.cost == b.result.cost and a.columns == b.columns and a.nodes == b.nodes
    assert a.lower_bound == pytest.approx(b.lower_bound)


@pytest.mark.parametrize("seed", range(3))
def test_exact_column_optima_and_highs_master_keep_the_optimum(seed: int) -> None:
    data = instance(seed)
    want = brute_force(data)
    prep = prepare(StaffingProblem.model_validate(data))
    start = round_up(prep)
    pr = prove(prep, start, roles=["am"], exact_columns=True, master_solver="highs", workers=2)
    assert pr.proven, pr.reason
    assert pr.result.cost == pytest.approx(want, abs=1e-3)
    assert set(pr.kept) == set(prep.dirs)
    assert all(1 <= pr.kept[d] <= pr.columns[d] for d in prep.dirs)


def test_a_larger_synthetic_instance_is_proven_and_agrees_with_the_exact_milp() -> None:
    from optimizer.staffing.examples import synthetic

    prep = prepare(synthetic(3, 4, seed=0, plan_scale=0.4))
    exact = solve_milp(prep, solver="cbc", gap=1e-9, tighten=True)
    assert exact.status == "optimal"
    start = decompose(prep, solver="cbc").result
    pr = prove(prep, start)
    assert pr.proven, pr.reason
    assert pr.roles == ["account_manager"]
    assert pr.result.cost == pytest.approx(exact.cost, rel=1e-9)
    assert pr.lower_bound <= exact.cost + 1e-3


def test_slack_split_adds_up_to_the_gap() -> None:
    """cost - L is the sum of the three non-negative terms (identity of the module docstring)."""
    from optimizer.staffing.proof import slack_split

    prep = prepare(StaffingProblem.model_validate(instance(1)))
    start = round_up(prep)
    pr = prove(prep, start, roles=["am"])
    for r in (start, pr.result):
        sp = slack_split(prep, r, pr.prices, pr.z)
        assert sp["total"] == pytest.approx(sp["gap"], abs=1e-3 * max(1.0, abs(sp["gap"])) + 1e-2)
        assert all(sp[k] >= -1e-3 for k in (*prep.dirs, "shared", "rounding"))


@pytest.mark.parametrize("seed", range(3))
def test_enumeration_is_exact_when_managers_step_with_the_fixed_value(seed: int) -> None:
    """Head span 2 over up to 4 account managers: ceil(am / 2) heads is a step in am, the LP bound is not convex in
    the fixed value; the listed sequences are still exactly those whose bound is within each threshold."""
    from optimizer.staffing.proof import _DirLp

    data = instance(seed)
    data["structure"][1]["span"] = 2
    data["roles"][2]["max_headcount"] = 4
    prep = prepare(StaffingProblem.model_validate(data))
    lp = solve_milp(prep, integer=False, tighten=True)
    u = row_prices(prep, lp.struct_duals)
    price = role_prices(prep, u)
    sub = prepare(direction_problem(prep, 0, {r: 0.0 for r in price}))
    did = prep.dirs[0]
    brute = _DirLp(sub, {(r, did): p for r, p in price.items()}, ["am"])
    bound = {}
    for a0 in range(5):
        for a1 in range(5):
            val, _x = brute.solve({"am": [float(a0), float(a1)]})
            if math.isfinite(val):
                bound[(float(a0), float(a1))] = val
    assert len(bound) >= 3
    vals = sorted(bound.values())
    for thr in (vals[0], vals[len(vals) // 3], vals[len(vals) // 2], vals[-1], math.inf):
        got = enumerate_direction(sub, price, ["am"], thr + 1e-6)
        assert {tuple(c[0]) for c in got.columns} == {a for a, b in bound.items() if b <= thr + 1e-6}


def test_an_unclosed_master_still_gives_a_valid_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the master stops early with a dual bound, the proof reports min(UB, that bound) (never above the
    optimum) and not 'proven'."""
    import optimizer.staffing.proof as proof_mod

    data = instance(5)
    want = brute_force(data)
    prep = prepare(StaffingProblem.model_validate(data))
    real = proof_mod.solve_milp

    def early(*args, **kw):  # type: ignore[no-untyped-def]
        r = real(*args, **kw)
        if kw.get("choices"):
            r.status, r.lower_bound = "feasible", r.cost - 1.0  # as HiGHS stopped one unit short of closing
        return r

    monkeypatch.setattr(proof_mod, "solve_milp", early)
    pr = prove(prep, round_up(prep), roles=["am"], master_solver="highs")
    assert not pr.proven and "master" in pr.reason
    assert pr.master_bound is not None
    assert pr.lower_bound == pytest.approx(max(sum(pr.z.values()), min(pr.upper_bound, want - 1.0)), abs=1e-3)
    assert pr.lower_bound <= want + 1e-6
    assert pr.result.cost == pytest.approx(want, abs=1e-3)  # the master's staffing is still the best known


@pytest.mark.parametrize("seed", range(6))
def test_telesales_ranges_keep_the_optimum(seed: int) -> None:
    data = instance(seed)
    want = brute_force(data)
    prep = prepare(StaffingProblem.model_validate(data))
    start = round_up(prep)
    pr = prove(prep, start, roles=["am"], track=True)
    assert pr.proven, pr.reason
    assert pr.result.cost == pytest.approx(want, abs=1e-3)
    pr2 = prove(prep, start, roles=["am"], track=True, exact_columns=True, master_solver="highs")
    assert pr2.proven and pr2.result.cost == pytest.approx(want, abs=1e-3)


def test_telesales_ranges_are_intervals_around_feasible_values() -> None:
    prep = prepare(StaffingProblem.model_validate(instance(3)))
    lp = solve_milp(prep, integer=False, tighten=True)
    price = role_prices(prep, row_prices(prep, lp.struct_duals))
    sub = prepare(direction_problem(prep, 1, {r: 0.0 for r in price}))
    cols = enumerate_direction(sub, price, ["am"], math.inf, track=["ts"])
    los, his = cols.ranges["ts"]
    assert len(los) == len(cols.columns) >= 2
    # with no threshold every LP-feasible value is in range: the widest range of some column spans values
    assert any(np.any(hi > lo) for lo, hi in zip(los, his, strict=True))
    tight = enumerate_direction(sub, price, ["am"], min(cols.bounds) + 1.0, track=["ts"])
    tl, th = tight.ranges["ts"]
    for col, lo, hi in zip(tight.columns, tl, th, strict=True):
        j = next(i for i, c in enumerate(cols.columns) if np.array_equal(c[0], col[0]))
        assert np.all(lo >= los[j]) and np.all(hi <= his[j])  # a lower threshold only narrows the ranges
