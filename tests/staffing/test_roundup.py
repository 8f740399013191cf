"""LP round-up with repairs: every answer re-checked against the model, by the checker and by the MILP's rows."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.staffing.examples import synthetic
from optimizer.staffing.lpfast import LpTemplate
from optimizer.staffing.milp import MilpResult, _effective, _round_and_lift, round_up, solve_milp, staffing_volumes
from optimizer.staffing.prep import SHARED, Prepared, prepare, structure_pairs
from optimizer.staffing.sweep import Scenario, apply_scenario, grid, run_sweep

BASE = synthetic(3, 6, seed=0)


@pytest.fixture(scope="module")
def tpl() -> LpTemplate:
    return LpTemplate(prepare(BASE))


def _recheck(prep: Prepared, r: MilpResult) -> None:
    """Integer, feasible by the checker and by the PuLP model with the staffing fixed; cost recomputed."""
    for key, nv in r.n.items():
        assert np.array_equal(nv, np.round(nv)), key
        prev = np.concatenate([[float(prep.current[key])], nv[:-1]])
        assert np.all(r.h[key] >= nv - prev - 1e-9)
    chk = staffing_volumes(prep, r.n, r.h)
    assert chk.status == "feasible"
    assert chk.cost == pytest.approx(r.cost)
    fixed = solve_milp(prep, integer=False, fix={k: (r.n[k], r.h[k]) for k in r.n}, solver="cbc")
    assert fixed.ok and fixed.cost == pytest.approx(r.cost)


@pytest.mark.parametrize(("plan", "conv", "kind"), [(0.9, 0.8, "hiring limit"), (1.2, 1.0, "plan shortfall"),
                                                     (1.6, 1.0, "hiring limit")])
def test_repairs_give_feasible_staffing(tpl: LpTemplate, plan: float, conv: float, kind: str) -> None:
    # on these scenarios the first rounding breaks a hiring limit or misses a plan (the old round-up fell
    # back to CBC fix-and-relax); the repair loop re-solves the LP with that failure priced in
    sc = Scenario(plan=plan, conversion=conv)
    prep = prepare(apply_scenario(BASE, sc))
    runs = [round_up(prep, lp_solve=lambda f, room: tpl.solve(plan=plan, conversion=conv, plan_factor=f,
                                                             hire_room=room)) for _ in range(2)]
    r = runs[0]
    assert r.status == "feasible", kind
    assert not r.method.startswith("lp-round-up (1 LP)")  # a repair was needed
    assert all(np.array_equal(r.n[k], runs[1].n[k]) for k in r.n)  # same input, same answer
    _recheck(prep, r)
    assert r.cost >= solve_milp(prep, integer=False).cost - 1e-6
    # without the template (PuLP LPs, CBC) the same repairs work
    own = round_up(prep, solver="cbc")
    assert own.status == "feasible"
    _recheck(prep, own)


def test_first_rounding_really_fails_there(tpl: LpTemplate) -> None:
    # the plain rounding of the LP (no repair) is infeasible on the hiring-limit scenario
    sc = Scenario(plan=0.9, conversion=0.8)
    prep = prepare(apply_scenario(BASE, sc))
    lp = tpl.solve(plan=0.9, conversion=0.8)
    n = _round_and_lift(prep, lp.n)
    h = {k: np.maximum(0.0, nv - np.concatenate([[float(prep.current[k])], nv[:-1]])) for k, nv in n.items()}
    assert staffing_volumes(prep, n, h).status == "infeasible"
    assert round_up(prep, repairs=0, lp_solve=lambda f, room: tpl.solve(
        plan=0.9, conversion=0.8, plan_factor=f, hire_room=room)).status == "no_solution"


def test_round_and_lift_keeps_capacity_and_ratios(tpl: LpTemplate) -> None:
    for sc in grid(plan=[0.7, 1.0, 1.3], conversion=[0.9, 1.1]):
        prep = prepare(apply_scenario(BASE, sc))
        lp = tpl.solve(plan=sc.plan, conversion=sc.conversion)
        if not lp.ok:
            continue
        n = _round_and_lift(prep, lp.n)
        for key, nv in n.items():
            assert np.all(nv >= lp.n[key] - 1e-6)
            if prep.roles[key[0]].produces is not None:
                prev = np.concatenate([[float(prep.current[key])], nv[:-1]])
                assert np.all(_effective(prep, key, nv, np.maximum(0.0, nv - prev)) >= -1e-9)
        for _i, rid, other, ratio, _k in structure_pairs(prep):
            for g in prep.groups[rid]:
                managed = sum(n[(other, o)] for o in prep.groups[other]) if g == SHARED else n[(other, g)]
                assert np.all(ratio * n[(rid, g)] >= managed - 1e-9)


def test_infeasible_plan_is_reported_infeasible(tpl: LpTemplate) -> None:
    sc = Scenario(plan=1.3, conversion=0.8)
    prep = prepare(apply_scenario(BASE, sc))
    r = round_up(prep, lp_solve=lambda f, room: tpl.solve(plan=1.3, conversion=0.8, plan_factor=f, hire_room=room))
    assert r.status == "infeasible"
    assert solve_milp(prep, integer=False, solver="cbc").status == "infeasible"  # even the LP relaxation


def test_sweep_answers_are_feasible_for_their_scenario() -> None:
    scen = grid(plan=[0.8, 1.0, 1.2, 1.3], conversion=[0.8, 0.9, 1.0])
    rows = run_sweep(BASE, scen, workers=2, time_limit=10, draws=0, keep_staffing=True)
    assert [r["name"] for r in rows] == [s.name for s in scen]
    for sc, row in zip(scen, rows, strict=True):
        prep = prepare(apply_scenario(BASE, sc))
        if row["status"] == "infeasible":
            assert solve_milp(prep, integer=False, solver="cbc").status == "infeasible"
            continue
        assert row["status"] == "feasible" and row["method"].startswith("lp-round-up")  # no MILP fallback
        r = MilpResult("feasible", cost=row["cost"])
        for name, v in row["staffing"].items():
            rid, g = name.split("|")
            r.n[(rid, g)], r.h[(rid, g)] = np.array(v["n"]), np.array(v["h"])
        _recheck(prep, r)
