"""Unreachable plans: status infeasible, most revenue reachable and the blocking constraint named."""

from __future__ import annotations

from typing import Any

import pytest

from optimizer.model.staffing import StaffingProblem
from optimizer.staffing import solve_staffing


def one_role(plan: float | list[float], **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "months": 3,
        "mc_draws": 0,
        "directions": [{"id": "A", "plan": plan, "avg_deal": 1_000,
                        "funnel": [{"stage": "meetings"}, {"stage": "deals", "rate": 0.5}]}],
        "roles": [{"id": "am", "level": 1, "monthly_cost": 100, "max_hires_per_month": 1,
                   "produces": {"activity": "meetings", "per_month": 10}}],
    }
    d.update(extra)
    return d


def item(diag: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(x for x in diag if x["constraint"] == name)


def test_hiring_limit_blocks_and_reachable_revenue_is_exact() -> None:
    # one hire a month from zero: 1, 2, 3 managers -> 60 meetings -> 30 deals -> 30,000
    sol = solve_staffing(StaffingProblem.model_validate(one_role(50_000)), time_limit=None)
    assert sol.status == "infeasible"
    plan = item(sol.diagnosis, "plan")
    assert plan["reachable"] == pytest.approx(30_000)
    assert plan["shortfall"] == pytest.approx(20_000)
    hl = item(sol.diagnosis, "hiring limit of am")
    assert hl["shortfall_recovered"] == pytest.approx(20_000)
    assert hl["alone_sufficient"] is True
    assert hl["months"] == "1-3"
    assert sol.bottleneck == "hiring limit of am"
    assert [r.count for r in sol.headcount] == [1, 2, 3]
    assert sol.attainment[0].expected == pytest.approx(30_000)


def test_cycle_lag_blocks_first_months_of_a_monthly_plan() -> None:
    data = one_role([5_000, 5_000, 5_000], plan_basis="monthly")
    data["directions"][0]["cycle_months"] = 1
    data["roles"][0]["max_hires_per_month"] = None
    sol = solve_staffing(StaffingProblem.model_validate(data), time_limit=None)
    assert sol.status == "infeasible"
    assert item(sol.diagnosis, "plan")["shortfall"] == pytest.approx(5_000)
    lag = item(sol.diagnosis, "cycle lag")
    assert lag["shortfall_recovered"] == pytest.approx(5_000)
    assert lag["months"] == "1-1"


def test_budget_blocks_min_cost() -> None:
    data = one_role(30_000, budget=300.0)
    data["roles"][0]["max_hires_per_month"] = None
    # 30 deals need 6 manager-months (600) but the budget pays 3
    sol = solve_staffing(StaffingProblem.model_validate(data), time_limit=None)
    assert sol.status == "infeasible"
    assert item(sol.diagnosis, "plan")["reachable"] == pytest.approx(15_000)
    assert item(sol.diagnosis, "budget")["shortfall_recovered"] == pytest.approx(15_000)
    assert sol.cost <= 300.0 + 1e-6


def test_budget_below_least_staffing() -> None:
    data = one_role(1.0, objective="max_revenue", budget=100.0)
    data["roles"][0]["min_headcount"] = 1
    sol = solve_staffing(StaffingProblem.model_validate(data), time_limit=None)
    assert sol.status == "infeasible"
    assert sol.diagnosis[0]["constraint"] == "budget"
    assert sol.diagnosis[0]["least_cost"] == pytest.approx(300.0)
