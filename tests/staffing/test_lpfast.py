"""The re-solvable HiGHS LP of a sweep's base problem equals the LP built from scratch per scenario."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.model.staffing import StaffingProblem
from optimizer.staffing.examples import synthetic
from optimizer.staffing.lpfast import LpTemplate
from optimizer.staffing.milp import MilpResult, round_up, solve_milp, staffing_volumes
from optimizer.staffing.prep import Prepared, prepare
from optimizer.staffing.sweep import Scenario, apply_scenario

from .conftest import ladder


def _cost(prep: Prepared, r: MilpResult) -> float:
    """Cost recomputed from headcount and hires (back-fill = attrition x previous headcount)."""
    total = 0.0
    for (rid, g), nv in r.n.items():
        role = prep.roles[rid]
        prev = np.concatenate([[float(prep.current[(rid, g)])], nv[:-1]])
        total += role.monthly_cost * nv.sum() + role.hiring_cost * (r.h[(rid, g)].sum() + role.attrition * prev.sum())
    return total


SCENARIOS = [Scenario(), Scenario(plan=1.2, conversion=0.9), Scenario(plan=0.8, conversion=1.15, deal=1.1, cost=1.3),
             Scenario(plan=1.3, conversion=0.85, deal=0.9)]


@pytest.mark.parametrize("base", [synthetic(3, 6, seed=1),
                                  StaffingProblem.model_validate(ladder(3, [2e5, 3e5, 4e5], basis="monthly"))])
def test_template_lp_matches_lp_built_per_scenario(base: StaffingProblem) -> None:
    tpl = LpTemplate(prepare(base))
    # solve in a shuffled order twice: the answer must not depend on what was solved before
    for order in (SCENARIOS, SCENARIOS[::-1]):
        for sc in order:
            prep = prepare(apply_scenario(base, sc))
            for slack in (False, True):
                ref = solve_milp(prep, integer=False, hire_slack=slack, solver="cbc")
                got = tpl.solve(plan=sc.plan, conversion=sc.conversion, deal=sc.deal, hire_slack=slack)
                assert got.ok == ref.ok
                if ref.ok:
                    assert _cost(prep, got) == pytest.approx(ref.cost, rel=1e-6)


def test_template_reports_infeasible() -> None:
    base = synthetic(2, 4, seed=0)
    tpl = LpTemplate(prepare(base))
    assert tpl.solve(plan=50.0).status == "infeasible"
    assert solve_milp(prepare(apply_scenario(base, Scenario(plan=50.0))), integer=False).status == "infeasible"


def test_round_up_with_template_is_feasible_and_deterministic() -> None:
    base = synthetic(3, 6, seed=0)
    tpl = LpTemplate(prepare(base))
    sc = Scenario(plan=1.1, conversion=0.95)  # rounding needs the hiring room here (second margin)
    prep = prepare(apply_scenario(base, sc))
    runs = [round_up(prep, lp_solve=lambda f, room: tpl.solve(plan=sc.plan, conversion=sc.conversion, plan_factor=f,
                                                             hire_room=room)) for _ in range(2)]
    r = runs[0]
    assert r.status == "feasible"
    assert all(np.array_equal(r.n[k], runs[1].n[k]) for k in r.n)
    for nv in r.n.values():
        assert np.array_equal(nv, np.round(nv))
    # re-checked without the solver: every constraint holds, the plan is met, cost recomputed
    chk = staffing_volumes(prep, r.n, r.h)
    assert chk.status == "feasible"
    assert chk.cost == pytest.approx(_cost(prep, r)) == pytest.approx(r.cost)
    lp = solve_milp(prep, integer=False)
    assert r.cost >= lp.cost - 1e-6


def test_budget_is_not_supported() -> None:
    with pytest.raises(ValueError):
        LpTemplate(prepare(StaffingProblem.model_validate(ladder(1, 1e5, budget=1e9))))
