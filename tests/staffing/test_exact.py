"""Staffing MILP against hand-computed answers: closed-form reverse funnel and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from optimizer.model.staffing import StaffingProblem, StaffingSolution
from optimizer.staffing import solve_staffing

from .conftest import ladder


def reverse_funnel(plan_per_month: float) -> dict[str, int]:
    """Closed form: deals -> meetings -> account managers, conversations -> calls -> telesales, up the levels."""
    deals = plan_per_month / 10_000
    meetings = deals / 0.2
    am = math.ceil(meetings / 40 - 1e-9)
    calls = meetings / 0.3 * 30
    ts = math.ceil(calls / 1_500 - 1e-9)
    head = math.ceil(am / 8 - 1e-9)
    return {"am": am, "ts": ts, "head": head, "director": math.ceil(head / 5 - 1e-9),
            "assistant": math.ceil(ts / 4 - 1e-9)}


COST = {"director": 20_000, "head": 9_000, "am": 5_000, "ts": 2_000, "assistant": 1_000}


def counts(sol: StaffingSolution, month: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in sol.headcount:
        if r.month == month:
            out[r.role] = out.get(r.role, 0) + r.count
    return out


@pytest.mark.parametrize("plan", [130_000.0, 777_000.0, 2_345_000.0, 5_010_000.0])
def test_one_month_equals_closed_form_reverse_funnel(plan: float) -> None:
    sol = solve_staffing(StaffingProblem.model_validate(ladder(1, plan)), time_limit=None)
    want = reverse_funnel(plan)
    assert sol.status == "optimal"
    assert counts(sol, 1) == want
    assert sol.cost == pytest.approx(sum(COST[r] * n for r, n in want.items()))
    assert sol.attainment[0].expected >= plan - 1e-6


def test_monthly_plan_equals_closed_form_each_month() -> None:
    plans = [400_000.0, 900_000.0, 650_000.0]
    sol = solve_staffing(StaffingProblem.model_validate(ladder(3, plans, basis="monthly")), time_limit=None)
    assert sol.status == "optimal"
    for m, plan in enumerate(plans, start=1):
        assert counts(sol, m) == reverse_funnel(plan)
    # the daily norm of telesales is the calls made per person and working day
    calls = sum(f.volume for f in sol.funnel if f.stage == "calls")
    ts_months = sum(r.count for r in sol.headcount if r.role == "ts")
    assert sol.norms["ts"]["calls_per_day"] == pytest.approx(calls / ts_months / 21, rel=1e-3)


# --- brute force -------------------------------------------------------------------------------

def small(plan: float, lag: int, attrition: float, max_hires: int, ramp0: float) -> dict:
    return {
        "months": 2,
        "directions": [{"id": "A", "plan": plan, "avg_deal": 1_000, "cycle_months": lag,
                        "funnel": [{"stage": "calls"}, {"stage": "meetings", "rate": 0.05},
                                   {"stage": "deals", "rate": 0.3}]}],
        "roles": [
            {"id": "head", "level": 1, "monthly_cost": 4_000},
            {"id": "am", "level": 2, "monthly_cost": 3_000, "hiring_cost": 1_000, "ramp": [ramp0],
             "max_hires_per_month": max_hires, "produces": {"activity": "meetings", "per_month": 10}},
            {"id": "ts", "level": 3, "monthly_cost": 1_000, "hiring_cost": 500, "current": 2,
             "attrition": attrition, "produces": {"activity": "calls", "per_month": 300}},
        ],
        "structure": [{"role": "head", "manages": "am", "span": 3}],
    }


def brute_force(plan: float, lag: int, attrition: float, max_hires: int, ramp0: float) -> float:
    """Enumerate every integer headcount of the two months; hires are the increases."""
    best = math.inf
    rng = {"head": range(4), "am": range(6), "ts": range(9)}
    month_choices = list(itertools.product(rng["head"], rng["am"], rng["ts"]))
    for (h0, a0, t0), (h1, a1, t1) in itertools.product(month_choices, repeat=2):
        if 3 * h0 < a0 or 3 * h1 < a1:
            continue
        am_h = [max(0, a0 - 0), max(0, a1 - a0)]
        if max(am_h) > max_hires:
            continue
        ts_n, ts_prev = [t0, t1], [2, t0]
        ts_h = [max(0, n - p) for n, p in zip(ts_n, ts_prev, strict=True)]
        ts_b = [attrition * p for p in ts_prev]
        am_eff = [a0 - (1 - ramp0) * am_h[0], a1 - (1 - ramp0) * am_h[1]]
        deals = []
        for t in range(2):
            meetings = min(10 * am_eff[t], 0.05 * 300 * ts_n[t])
            deals.append(0.3 * max(0.0, meetings))
        revenue = sum(1_000 * deals[t] for t in range(2 - lag))
        if revenue < plan - 1e-6:
            continue
        cost = (4_000 * (h0 + h1) + 3_000 * (a0 + a1) + 1_000 * sum(am_h) + 1_000 * (t0 + t1)
                + 500 * (sum(ts_h) + sum(ts_b)))
        best = min(best, cost)
    return best


@pytest.mark.parametrize(
    ("plan", "lag", "attrition", "max_hires", "ramp0"),
    [(6_000, 0, 0.0, 5, 1.0), (9_000, 0, 0.1, 2, 0.5), (7_000, 1, 0.2, 5, 0.5), (11_000, 0, 0.0, 3, 0.25)],
)
def test_small_cases_equal_brute_force(plan: float, lag: int, attrition: float, max_hires: int, ramp0: float) -> None:
    want = brute_force(plan, lag, attrition, max_hires, ramp0)
    sol = solve_staffing(StaffingProblem.model_validate(small(plan, lag, attrition, max_hires, ramp0)), time_limit=None)
    if math.isinf(want):
        assert sol.status == "infeasible"
        return
    assert sol.status == "optimal"
    assert sol.cost == pytest.approx(want, abs=1e-4)
    # the cost reported is the cost of the rows reported
    roles = {"head": (4_000, 0), "am": (3_000, 1_000), "ts": (1_000, 500)}
    recomputed = sum(roles[r.role][0] * r.count + roles[r.role][1] * (r.hires + r.backfill) for r in sol.headcount)
    assert recomputed == pytest.approx(sol.cost, abs=1e-3)


def test_solution_rechecked_from_rows() -> None:
    """Every constraint re-checked from the output tables of a multi-month, ramped, shared-role case."""
    data = ladder(4, 1_500_000.0)
    data["roles"][2].update(ramp=[0.3, 0.7], max_hires_per_month=3, current=2)
    data["roles"][3].update(attrition=0.07, ramp=[0.5], current=5, hiring_cost=800)
    p = StaffingProblem.model_validate(data)
    sol = solve_staffing(p, time_limit=None)
    assert sol.status in ("optimal", "feasible")
    rows = {(r.role, r.month): r for r in sol.headcount}
    roles = {r.id: r for r in p.roles}
    for rid, role in roles.items():
        prev = role.current if isinstance(role.current, int) else 0
        for m in range(1, 5):
            r = rows[(rid, m)]
            assert r.count <= prev + r.hires
            assert r.backfill == pytest.approx(role.attrition * prev, abs=1e-3)
            if role.max_hires_per_month is not None:
                assert r.hires + r.backfill <= role.max_hires_per_month + 1e-6
            prev = r.count
    for m in range(1, 5):
        assert 8 * rows[("head", m)].count >= rows[("am", m)].count
        assert 5 * rows[("director", m)].count >= rows[("head", m)].count
        assert 4 * rows[("assistant", m)].count >= rows[("ts", m)].count
    vol = {(f.stage, f.month): f.volume for f in sol.funnel}
    for m in range(1, 5):
        assert vol[("calls", m)] <= 1_500 * rows[("ts", m)].effective + 1e-3
        assert vol[("meetings", m)] <= 40 * rows[("am", m)].effective + 1e-3
        assert vol[("conversations", m)] <= vol[("calls", m)] / 30 + 1e-3
        assert vol[("meetings", m)] <= 0.3 * vol[("conversations", m)] + 1e-3
        assert vol[("deals", m)] <= 0.2 * vol[("meetings", m)] + 1e-3
    revenue = 10_000 * sum(vol[("deals", m)] for m in range(1, 5))
    assert revenue >= 1_500_000 - 1e-3
    assert sol.attainment[0].expected == pytest.approx(revenue, abs=1)
    cost = sum(roles[r.role].monthly_cost * r.count + roles[r.role].hiring_cost * (r.hires + r.backfill)
               for r in sol.headcount)
    assert cost == pytest.approx(sol.cost, abs=1e-2)
    assert np.isfinite(sol.shadow_prices["plan+1%"]) and sol.shadow_prices["plan+1%"] > 0


def test_max_revenue_within_budget() -> None:
    data = {
        "months": 2,
        "objective": "max_revenue",
        "budget": 5_500,
        "mc_draws": 0,
        "directions": [{"id": "A", "plan": 1.0, "avg_deal": 100,
                        "funnel": [{"stage": "meetings"}, {"stage": "deals", "rate": 0.5}]}],
        "roles": [{"id": "am", "level": 1, "monthly_cost": 1_000,
                   "produces": {"activity": "meetings", "per_month": 10}}],
    }
    sol = solve_staffing(StaffingProblem.model_validate(data), time_limit=None)
    # 5 person-months fit the budget: 5 x 10 meetings x 0.5 x 100
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(2_500)
    assert sol.cost == pytest.approx(5_000)
    assert sum(r.count for r in sol.headcount) == 5


def test_budget_shadow_price_matches_a_re_solve() -> None:
    data = {
        "months": 1, "objective": "max_revenue", "budget": 10_000, "mc_draws": 0,
        "directions": [{"id": "A", "plan": 1.0, "avg_deal": 100,
                        "funnel": [{"stage": "meetings"}, {"stage": "deals", "rate": 0.5}]}],
        "roles": [{"id": "am", "level": 1, "monthly_cost": 1_000,
                   "produces": {"activity": "meetings", "per_month": 10}}],
    }
    sol = solve_staffing(StaffingProblem.model_validate(data), time_limit=None)
    # each 1,000 of budget buys a manager-month: 10 meetings -> 5 deals -> 500; +1 % budget = 100 -> 50 revenue (LP)
    assert sol.shadow_prices["budget+1%"] == pytest.approx(50.0)


def test_evaluated_staffing_agrees_with_the_volume_lp() -> None:
    from optimizer.staffing.milp import round_up, solve_milp, staffing_volumes
    from optimizer.staffing.prep import prepare

    data = ladder(4, 2_000_000.0)
    data["roles"][2].update(ramp=[0.3, 0.7], max_hires_per_month=8, current=2, attrition=0.05)
    data["roles"][3].update(attrition=0.07, ramp=[0.5], current=5, hiring_cost=800)
    prep = prepare(StaffingProblem.model_validate(data))
    r = round_up(prep)
    assert r.ok and r.method.startswith("lp-round-up")
    fix = {k: (r.n[k], r.h[k]) for k in r.n}
    lp = solve_milp(prep, integer=False, fix=fix)
    assert lp.ok and lp.cost == pytest.approx(r.cost)
    # one telesales fewer in the busiest month: both say infeasible or both agree on revenue
    key = ("ts", "A")
    t = int(np.argmax(r.n[key]))
    n2 = {k: v.copy() for k, v in r.n.items()}
    n2[key][t] -= 3
    ev = staffing_volumes(prep, n2, r.h)
    lp2 = solve_milp(prep, integer=False, fix={k: (n2[k], r.h[k]) for k in n2})
    assert ev.ok == lp2.ok
    assert not ev.ok  # the round-up left less slack than three telesales-months
