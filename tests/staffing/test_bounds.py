"""Per-direction decomposition: feasible staffing, valid bounds, cuts that keep the optimum."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.model.staffing import StaffingProblem
from optimizer.staffing.bounds import applicable, decompose, direction_problem, improve_by_direction, shared_rates
from optimizer.staffing.examples import synthetic
from optimizer.staffing.milp import MilpResult, solve_best, solve_milp, staffing_volumes
from optimizer.staffing.prep import Prepared, prepare

from .conftest import ladder


def _direction_cost(prep: Prepared, r: MilpResult, did: str, rates: dict[str, float] | None = None) -> float:
    """Direction ``did``'s own roles' cost plus the shared-role rates, recomputed from the rows."""
    rates = shared_rates(prep) if rates is None else rates
    total = 0.0
    for rid, w in rates.items():
        role = prep.roles[rid]
        nv = r.n[(rid, did)]
        prev = np.concatenate([[float(prep.current[(rid, did)])], nv[:-1]])
        total += (role.monthly_cost + w) * nv.sum() + role.hiring_cost * (r.h[(rid, did)].sum()
                                                                          + role.attrition * prev.sum())
    return total


@pytest.fixture(scope="module")
def small() -> Prepared:
    return prepare(synthetic(2, 4, seed=0, plan_scale=0.5))


def test_rates_and_subproblem(small: Prepared) -> None:
    rates = shared_rates(small)
    # telesales: supervisor 3500 / 8 + research assistant 1200 / 4; heads: director 15000 / 8
    assert rates["telesales"] == pytest.approx(3500 / 8 + 1200 / 4)
    assert rates["direction_head"] == pytest.approx(15000 / 8)
    assert rates["account_manager"] == 0.0
    sub = direction_problem(small, 1)
    assert [d.id for d in sub.directions] == [small.dirs[1]]
    assert {r.id for r in sub.roles} == {"direction_head", "account_manager", "solution_engineer", "telesales"}
    assert applicable(small)
    assert not applicable(prepare(StaffingProblem.model_validate(ladder(2, 1e5))))  # one direction


def test_decomposition_is_feasible_and_bounds_are_valid(small: Prepared) -> None:
    exact = solve_milp(small, solver="cbc")
    assert exact.status == "optimal"
    dec = decompose(small, gap=1e-9)
    r = dec.result
    assert r.status == "feasible"
    # feasibility re-checked without the solver, cost recomputed
    chk = staffing_volumes(small, r.n, r.h)
    assert chk.status == "feasible" and chk.cost == pytest.approx(r.cost)
    assert r.cost >= exact.cost - 1e-6
    assert set(dec.cuts) == set(small.dirs)
    for did, z in dec.cuts.items():
        assert _direction_cost(small, exact, did, dec.rates) >= z - 1e-6  # valid for the optimum
    lp = solve_milp(small, integer=False)
    lb = solve_milp(small, integer=False, rated_cuts=dec.rated_cuts)
    assert lp.cost - 1e-6 <= lb.cost <= exact.cost + 1e-6  # tighter than the LP, still a bound
    # the cuts keep the optimum and the MIP start is accepted
    cut = solve_milp(small, solver="cbc", rated_cuts=dec.rated_cuts, warm=r)
    assert cut.status == "optimal" and cut.cost == pytest.approx(exact.cost)


def test_solve_best_reports_a_lower_bound(small: Prepared) -> None:
    a = solve_best(small, exact_time_limit=5.0, solver="cbc")
    b = solve_best(small, exact_time_limit=5.0, solver="cbc")
    assert a.ok and a.lower_bound is not None
    assert a.lower_bound <= a.cost + 1e-6
    assert a.cost == b.cost and all(np.array_equal(a.n[k], b.n[k]) for k in a.n)


def test_hires_are_the_least_for_the_headcount(small: Prepared) -> None:
    r = solve_milp(small, solver="cbc")
    for key, nv in r.n.items():
        prev = np.concatenate([[float(small.current[key])], nv[:-1]])
        assert np.array_equal(r.h[key], np.maximum(0.0, nv - prev))


def test_direction_lns_never_worse_stays_feasible_and_reaches_the_optimum_here() -> None:
    prep = prepare(synthetic(3, 5, seed=2, plan_scale=0.6))
    exact = solve_milp(prep, solver="cbc", gap=1e-9)
    assert exact.status == "optimal"
    dec = decompose(prep, gap=1e-9, solver="cbc")
    assert dec.result.status == "feasible" and dec.result.cost > exact.cost + 1  # the shared roles' rounding
    runs = [improve_by_direction(prep, dec.result, solver="cbc") for _ in range(2)]
    r = runs[0]
    assert r.status == "feasible"
    assert r.cost == runs[1].cost and all(np.array_equal(r.n[k], runs[1].n[k]) for k in r.n)
    chk = staffing_volumes(prep, r.n, r.h)
    assert chk.status == "feasible" and chk.cost == pytest.approx(r.cost)
    assert exact.cost - 1e-6 <= r.cost < dec.result.cost
    assert r.cost == pytest.approx(exact.cost)  # on this instance one pass closes the gap


def test_pair_lns_feasible_never_worse_and_deterministic() -> None:
    prep = prepare(synthetic(3, 5, seed=3, plan_scale=0.6))
    exact = solve_milp(prep, solver="cbc", gap=1e-9)
    assert exact.status == "optimal"
    dec = decompose(prep, gap=1e-9, solver="cbc")
    runs = [improve_by_direction(prep, dec.result, solver="cbc", group=2, cuts=dec.rated_cuts) for _ in range(2)]
    r = runs[0]
    assert r.cost == runs[1].cost and all(np.array_equal(r.n[k], runs[1].n[k]) for k in r.n)
    chk = staffing_volumes(prep, r.n, r.h)
    assert chk.status == "feasible" and chk.cost == pytest.approx(r.cost)
    assert exact.cost - 1e-6 <= r.cost <= dec.result.cost + 1e-6
    assert r.cost == pytest.approx(exact.cost)  # pairs of three directions: every neighbourhood is nearly all


def test_month_costs_price_the_objective_only(small: Prepared) -> None:
    """A constant month price equals a higher monthly cost of the role; the reported cost stays the model's."""
    extra = {("telesales", did): np.full(small.T, 700.0) for did in small.dirs}
    priced = solve_milp(small, solver="cbc", gap=1e-9, month_costs=extra)
    data = small.problem.model_dump(exclude_none=True)
    for r in data["roles"]:
        if r["id"] == "telesales":
            r["monthly_cost"] += 700.0
    raised = solve_milp(prepare(StaffingProblem.model_validate(data)), solver="cbc", gap=1e-9)
    assert priced.status == raised.status == "optimal"
    ts = sum(priced.n[("telesales", did)].sum() for did in small.dirs)
    assert priced.cost + 700.0 * ts == pytest.approx(raised.cost, abs=1e-3)
    chk = staffing_volumes(small, priced.n, priced.h)
    assert chk.status == "feasible" and chk.cost == pytest.approx(priced.cost)


def test_decomposition_splits_a_hiring_limit_the_directions_break_together() -> None:
    """Each direction alone fits the telesales limit, together they do not: the month's limit is split."""
    data = synthetic(2, 4, seed=0, plan_scale=0.8).model_dump(exclude_none=True)
    for role in data["roles"]:
        if role["id"] == "telesales":
            role["max_hires_per_month"] = 6
            role.pop("ramp")
    prep = prepare(StaffingProblem.model_validate(data))
    lim = 6.0
    ts = prep.roles["telesales"]

    def hires(res: MilpResult, did: str) -> np.ndarray:
        """Telesales hires plus expected back-fill per month, as the hiring limit counts them."""
        key = ("telesales", did)
        prev = np.concatenate([[float(prep.current[key])], res.n[key][:-1]])
        return res.h[key] + ts.attrition * prev

    dec = decompose(prep, gap=1e-9, solver="cbc")
    r = dec.result
    assert r.status == "feasible"  # before the split: no staffing (the fixed directions broke the limit)
    chk = staffing_volumes(prep, r.n, r.h)
    assert chk.status == "feasible" and chk.cost == pytest.approx(r.cost)
    assert np.all(sum(hires(r, did) for did in prep.dirs) <= lim + 1e-6)
    exact = solve_milp(prep, solver="cbc", gap=1e-9)
    assert exact.status == "optimal" and r.cost >= exact.cost - 1e-6
    # the directions' first, unsplit optima are what the cuts carry: still valid for the optimum
    for did, z in dec.cuts.items():
        assert _direction_cost(prep, exact, did, dec.rates) >= z - 1e-6
    # the precondition: the directions' own optima together go over the limit in some month
    alone = [solve_milp(prepare(direction_problem(prep, d, dec.rates)), solver="cbc", gap=1e-9) for d in range(2)]
    assert np.any(sum(hires(a, did) for a, did in zip(alone, prep.dirs, strict=True)) > lim + 1e-6)
