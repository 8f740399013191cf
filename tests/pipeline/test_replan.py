"""Re-planning: a rep off one day and 5 missed visits; everything else stays on its day and rep."""

from __future__ import annotations

import pytest

from optimizer.datagen import routes_instance
from optimizer.errors import InputError
from optimizer.model import parse
from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.replan import current_schedule, replan
from optimizer.routes import solve_routes
from optimizer.routes.check import check_routes


@pytest.fixture(scope="module")
def week() -> tuple[RoutesProblem, RoutesSolution]:
    p = parse("routes", routes_instance(n_outlets=60, n_reps=2, weeks=1, layout="city", seed=4))
    assert isinstance(p, RoutesProblem)
    sol = solve_routes(p, time_limit=4.0, seed=0)
    assert check_routes(p, sol).ok
    return p, sol


def _visits(sol: RoutesSolution) -> set[tuple[str, str, int]]:
    return {(s.outlet, r.rep, r.day) for r in sol.routes for s in r.stops}


def test_sick_day_and_missed_visits(week: tuple[RoutesProblem, RoutesSolution]) -> None:
    p, sol = week
    old = _visits(sol)
    sick_rep, sick_day = "R1", 1
    lost = {v for v in old if v[1] == sick_rep and v[2] == sick_day}
    assert lost, "fixture: the rep must have visits on the sick day"
    planned = sorted((o, d) for o, _, d in old)
    missed = planned[::7][:5]
    checkins = [v for v in planned if v not in missed]
    res = replan(p, sol, checkins=checkins, absences={sick_rep: [sick_day]}, time_limit=4.0, seed=0)

    assert sorted((m.outlet, m.day) for m in res.missed) == sorted(missed)
    rep_of = {(o, d): r for o, r, d in old}
    assert all(m.rep == rep_of[(m.outlet, m.day)] and m.reason == "no check-in" for m in res.missed)

    chk = check_routes(res.problem, res.solution)
    assert chk.ok, chk.violations
    new = _visits(res.solution)
    assert not any(r == sick_rep and d == sick_day for _, r, d in new)
    # every other visit keeps its day and rep
    assert old - lost <= new, res.stats
    # each lost visit moved to another day of the same rep, or is reported
    unplaced = set(res.unplaced)
    for o, r, _ in lost:
        moved_to = {d for oo, rr, d in new if oo == o and rr == r} - {d for oo, rr, d in old - lost if oo == o}
        assert bool(moved_to) != (o in unplaced)
    assert {m.outlet for m in res.moved} == {o for o, _, _ in lost}
    assert res.kept_visits == len(old) - sum(
        1 for o, _, _ in old if o in {m.outlet for m in res.moved}
    )


def test_closed_and_added_outlets(week: tuple[RoutesProblem, RoutesSolution]) -> None:
    p, sol = week
    sched = current_schedule(sol)
    gone = sorted(sched)[0]
    new_outlet = {"id": "NEWSHOP", "location": p.outlets[0].location.model_dump(exclude_none=True),
                  "visits": 1, "service_minutes": 10}
    res = replan(p, sol, closed=[gone], added=[new_outlet], time_limit=3.0, seed=0)
    new = current_schedule(res.solution)
    assert gone not in new
    assert "NEWSHOP" in new or "NEWSHOP" in res.unplaced
    for o, (rep, days) in sched.items():
        if o != gone:
            assert new[o] == (rep, days)
    assert res.missed == []


def test_bad_replan_input_names_every_problem(week: tuple[RoutesProblem, RoutesSolution]) -> None:
    p, sol = week
    with pytest.raises(InputError) as ei:
        replan(p, sol, absences={"nobody": [0], "R1": [9]}, closed=["nope"])
    paths = {e.path for e in ei.value.errors}
    assert paths == {"absences.nobody", "absences.R1", "closed"}
