"""Monte Carlo against exact distributions; service-level sizing; same seed, same answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from optimizer.model.staffing import StaffingProblem
from optimizer.staffing import evaluate_staffing, solve_staffing
from optimizer.staffing.montecarlo import beta_params, probability
from optimizer.staffing.prep import prepare


def single_stage(rate_sd: float, plan: float) -> StaffingProblem:
    return StaffingProblem.model_validate({
        "months": 3,
        "directions": [{"id": "A", "plan": plan, "avg_deal": 1_000,
                        "funnel": [{"stage": "calls"}, {"stage": "deals", "rate": 0.02, "rate_sd": rate_sd}]}],
        "roles": [{"id": "ts", "level": 1, "monthly_cost": 1, "produces": {"activity": "calls", "per_month": 500}}],
    })


CAP = [np.array([[500.0, 500.0, 500.0], [np.inf, np.inf, np.inf]])]


@pytest.mark.parametrize("deals_needed", [25, 30, 34])
def test_binomial_single_stage_matches_exact(deals_needed: int) -> None:
    prep = prepare(single_stage(0.0, deals_needed * 1_000.0))
    est = probability(prep, CAP, draws=20_000, seed=3)
    exact = stats.binom.sf(deals_needed - 1, 1_500, 0.02)
    assert est.ci_low <= exact <= est.ci_high
    assert est.per_direction["A"] == est.overall
    assert est.per_direction_ci["A"] == (est.ci_low, est.ci_high)


def test_uncertain_rate_matches_beta_binomial() -> None:
    # one rate drawn per scenario for the whole horizon: deals ~ BetaBinomial(1500, a, b)
    prep = prepare(single_stage(0.006, 32_000.0))
    est = probability(prep, CAP, draws=20_000, seed=5)
    a, b = beta_params(0.02, 0.006)
    exact = stats.betabinom.sf(31, 1_500, a, b)
    assert est.ci_low <= exact <= est.ci_high
    # and the spread really matters here: the plain binomial answer is outside the interval
    assert not est.ci_low <= stats.binom.sf(31, 1_500, 0.02) <= est.ci_high


def test_beta_params_have_the_requested_moments() -> None:
    a, b = beta_params(0.3, 0.05)
    assert a / (a + b) == pytest.approx(0.3)
    assert np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))) == pytest.approx(0.05)


def funnel_problem(**extra: Any) -> StaffingProblem:
    data: dict[str, Any] = {
        "months": 4,
        "mc_draws": 2_000,
        "directions": [
            {"id": d, "plan": plan, "avg_deal": 10_000, "inbound_per_month": 2, "inbound_stage": "meetings",
             "funnel": [{"stage": "calls"}, {"stage": "meetings", "rate": 0.01, "rate_sd": 0.002},
                        {"stage": "deals", "rate": 0.25, "rate_sd": 0.05}]}
            for d, plan in (("A", 400_000.0), ("B", 250_000.0))
        ],
        "roles": [
            {"id": "am", "level": 2, "monthly_cost": 5_000, "produces": {"activity": "meetings", "per_month": 30}},
            {"id": "ts", "level": 3, "monthly_cost": 2_000, "scope": "shared",
             "produces": {"activity": "calls", "per_month": 1_500}},
        ],
    }
    data.update(extra)
    return StaffingProblem.model_validate(data)


def test_service_level_reaches_target_at_higher_cost() -> None:
    point = solve_staffing(funnel_problem(), time_limit=None, seed=1)
    sl = solve_staffing(funnel_problem(service_level=0.8), time_limit=None, seed=1)
    assert point.probability is not None and sl.probability is not None
    assert point.probability.overall < 0.8
    assert sl.stats["service_level"]["reached"] is True
    assert sl.stats["service_level"]["in_sample_probability"] >= 0.8
    # the reported probability is out of sample: independent draws, close to the in-sample one
    assert sl.probability.ci_high >= 0.75
    assert sl.cost > point.cost
    # the frontier is efficient: more cost, more probability
    costs = [f.cost for f in sl.frontier]
    probs = [f.probability for f in sl.frontier]
    assert costs == sorted(costs) and probs == sorted(probs)


def test_same_seed_same_answer() -> None:
    a = solve_staffing(funnel_problem(service_level=0.7), time_limit=None, seed=4)
    b = solve_staffing(funnel_problem(service_level=0.7), time_limit=None, seed=4)
    drop = {"stats"}
    assert a.model_dump(exclude=drop) == b.model_dump(exclude=drop)


def test_evaluating_a_solution_from_its_rows_matches_the_solver() -> None:
    p = funnel_problem()
    sol = solve_staffing(p, time_limit=None, seed=2)
    again = evaluate_staffing(p, sol, draws=2_000, seed=2)
    assert sol.probability is not None
    assert again.overall == pytest.approx(sol.probability.overall, abs=0.02)
    # one fewer account manager every month can only lower the odds
    fewer = sol.model_copy(update={"headcount": [
        r.model_copy(update={"effective": max(0.0, r.effective - 1)}) if r.role == "am" else r
        for r in sol.headcount]})
    assert evaluate_staffing(p, fewer, draws=2_000, seed=2).overall <= again.overall
