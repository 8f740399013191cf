"""Experimental free-tail variant and HiGHS's dual bound: relations that must hold on small cases."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.model.staffing import StaffingProblem
from optimizer.staffing.examples import synthetic
from optimizer.staffing.milp import solve_milp
from optimizer.staffing.prep import prepare

from .conftest import ladder


def test_free_tail_is_a_relaxation_of_the_documented_model() -> None:
    prep = prepare(synthetic(2, 4, seed=0, plan_scale=0.5))
    assert min(d.cycle_months for d in prep.problem.directions) >= 1
    std = solve_milp(prep, solver="cbc")
    free = solve_milp(prep, solver="cbc", free_tail=True)
    assert std.status == free.status == "optimal"
    assert free.cost <= std.cost + 1e-6
    # no volume in the months whose deals book after the horizon
    for d, direction in enumerate(prep.problem.directions):
        assert np.all(free.v[d][:, prep.T - direction.cycle_months:] <= 1e-9)


def test_free_tail_changes_nothing_without_cycle_lag() -> None:
    prep = prepare(StaffingProblem.model_validate(ladder(3, 400_000.0)))
    std = solve_milp(prep, solver="cbc")
    free = solve_milp(prep, solver="cbc", free_tail=True)
    assert std.status == free.status == "optimal"
    assert free.cost == pytest.approx(std.cost)


def test_highs_dual_bound_brackets_the_optimum() -> None:
    prep = prepare(synthetic(2, 4, seed=0, plan_scale=0.5))
    exact = solve_milp(prep, solver="cbc")
    lp = solve_milp(prep, solver="cbc", integer=False)
    r = solve_milp(prep, solver="highs", gap=1e-9)
    assert r.status == "optimal" and exact.status == "optimal"
    assert r.cost == pytest.approx(exact.cost, rel=1e-6)
    assert r.lower_bound is not None
    assert lp.cost - 1e-6 <= r.lower_bound <= r.cost + 1e-6
    assert r.lower_bound == pytest.approx(r.cost, rel=1e-6)  # proven optimal: the bound meets the cost
