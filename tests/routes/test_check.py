"""The independent route checker on hand-built solutions: one valid plan, then one defect per rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from optimizer.model import parse
from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.routes.check import RouteCheck, check_routes


def problem_data() -> dict[str, Any]:
    """Depot at the origin; A at distance 5, B 5 beyond A (10 from the depot), C 10 away, D unvisited."""
    return {
        "horizon": {"weeks": 1, "days": ["mon", "tue", "wed", "thu", "fri"]},
        "travel": {"metric": "euclidean", "speed": 1},
        "reps": [
            {
                "id": "r1",
                "start": {"x": 0, "y": 0},
                "shift": {"start": 0, "end": 1000},
                "days": [0, 1, 2, 3],
                "break": {"earliest": 100, "latest": 200, "minutes": 30},
                "capacity": 10,
                "max_visits_per_day": 3,
                "max_route_minutes": 500,
                "skills": ["fridge"],
            },
            {"id": "r2", "start": {"x": 0, "y": 0}, "shift": {"start": 0, "end": 1000}},
        ],
        "outlets": [
            {"id": "A", "location": {"x": 3, "y": 4}, "visits": 2, "patterns": [[0, 2], [1, 3]],
             "service_minutes": 10, "time_windows": [[0, 50]], "demand": 4, "skills": ["fridge"]},
            {"id": "B", "location": {"x": 6, "y": 8}, "service_minutes": 10, "demand": 3, "rep": "r1"},
            {"id": "C", "location": {"x": 0, "y": 10}, "service_minutes": 5, "optional": True, "value": 7},
            {"id": "D", "location": {"x": -6, "y": -8}, "service_minutes": 5},
        ],
    }


def stop(outlet: str, arrival: float, start: float, end: float) -> dict[str, Any]:
    return {"outlet": outlet, "arrival": arrival, "start": start, "end": end}


def solution_data() -> dict[str, Any]:
    """A valid plan whose every number was worked out by hand."""
    return {
        "status": "feasible",
        "objective": 198.0,  # travel 50 + waiting 155 - optional value 7
        "totals": {"distance_km": 50.0, "travel_minutes": 50.0, "service_minutes": 35.0,
                   "waiting_minutes": 155.0, "visits_required": 4, "visits_planned": 3, "optional_value": 7.0},
        "routes": [
            {"rep": "r1", "day": 0, "start": 0, "end": 140,
             "stops": [stop("A", 5, 5, 15), stop("B", 20, 20, 30)],
             "distance_km": 20.0, "travel_minutes": 20.0, "service_minutes": 20.0, "waiting_minutes": 70.0,
             "break": {"start": 100, "end": 130}},
            {"rep": "r1", "day": 2, "start": 0, "end": 135,
             "stops": [stop("A", 5, 5, 15)],
             "distance_km": 10.0, "travel_minutes": 10.0, "service_minutes": 10.0, "waiting_minutes": 85.0,
             "break": {"start": 100, "end": 130}},
            {"rep": "r2", "day": 4, "start": 0, "end": 25,
             "stops": [stop("C", 10, 10, 15)],
             "distance_km": 20.0, "travel_minutes": 20.0, "service_minutes": 5.0, "waiting_minutes": 0.0},
        ],
        "unassigned": [{"outlet": "D", "missing_visits": 1, "reason": "kept out on purpose"}],
    }


def run(sol: dict[str, Any], prob: dict[str, Any] | None = None) -> RouteCheck:
    p = parse("routes", prob or problem_data())
    assert isinstance(p, RoutesProblem)
    return check_routes(p, RoutesSolution.model_validate(sol))


def has(check: RouteCheck, *needles: str) -> bool:
    """True when one violation line contains every needle."""
    return any(all(n in line for n in needles) for line in check.violations)


def test_valid_plan_passes_and_totals_are_recomputed() -> None:
    c = run(solution_data())
    assert c.ok, c.violations
    assert c.totals is not None
    assert c.totals.distance_km == pytest.approx(50.0)
    assert c.totals.travel_minutes == pytest.approx(50.0)
    assert c.totals.service_minutes == pytest.approx(35.0)
    assert c.totals.waiting_minutes == pytest.approx(155.0)
    assert (c.totals.visits_required, c.totals.visits_planned) == (4, 3)
    assert c.totals.optional_value == pytest.approx(7.0)
    assert c.objective == pytest.approx(198.0)


def test_distance_objective_is_km_minus_value() -> None:
    prob = problem_data()
    prob["objective"] = "distance"
    sol = solution_data()
    sol["objective"] = 43.0
    c = run(sol, prob)
    assert c.ok, c.violations
    assert c.objective == pytest.approx(43.0)


def test_totals_do_not_trust_the_solution() -> None:
    sol = solution_data()
    sol["totals"]["distance_km"] = 1.0
    sol["routes"][0]["distance_km"] = 1.0
    c = run(sol)
    assert c.totals is not None and c.totals.distance_km == pytest.approx(50.0)
    assert has(c, "route 0", "distance_km", "recomputed 20")
    assert has(c, "totals", "distance_km", "recomputed 50")


def mutate(path: list[Any], value: Any, sol: dict[str, Any] | None = None) -> dict[str, Any]:
    sol = copy.deepcopy(sol or solution_data())
    node: Any = sol
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return sol


# (description, mutation of the valid solution, needles of the violation it must raise)
CASES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("arrival before previous end + travel", mutate(["routes", 0, "stops", 1, "arrival"], 19.0),
     ("stop 1 (outlet B)", "arrival 19", "by 1 min")),
    ("service before arrival", mutate(["routes", 0, "stops", 1, "start"], 19.5),
     ("stop 1 (outlet B)", "before arrival")),
    ("start outside window",
     mutate(["routes", 1, "stops", 0], stop("A", 5, 60, 70)),
     ("route 1", "outlet A", "outside its time windows", "by 10 min")),
    ("end != start + service", mutate(["routes", 0, "stops", 0, "end"], 14.0),
     ("stop 0 (outlet A)", "!= start 5 + service 10")),
    ("route starts before the shift", mutate(["routes", 2, "start"], -5.0),
     ("route 2", "before the shift starts", "by 5 min")),
    ("route ends after the shift", mutate(["routes", 2, "end"], 1010.0),
     ("route 2", "after the shift ends", "by 10 min")),
    ("route ends before travel home", mutate(["routes", 2, "end"], 20.0),
     ("route 2", "travel home", "by 5 min")),
    ("rep does not work that day", mutate(["routes", 1, "day"], 4),
     ("route 1", "does not work on day 4")),
    ("day outside horizon", mutate(["routes", 2, "day"], 5), ("route 2", "outside the horizon")),
    ("missing break", mutate(["routes", 1, "break"], None), ("route 1", "must take a 30 min break")),
    ("break too early", mutate(["routes", 1, "break"], {"start": 90, "end": 120}),
     ("route 1", "before earliest", "by 10 min")),
    ("break after latest",
     mutate(["routes", 1, "break"], {"start": 201, "end": 231}, mutate(["routes", 1, "end"], 300)),
     ("route 1", "after latest", "by 1 min")),
    ("break of wrong length", mutate(["routes", 1, "break"], {"start": 100, "end": 120}),
     ("route 1", "break lasts 20 min, must be 30")),
    ("break outside the route", mutate(["routes", 1, "break"], {"start": 120, "end": 150}),
     ("route 1", "not inside the route")),
    ("break on a rep without one", mutate(["routes", 2, "break"], {"start": 15, "end": 16}),
     ("route 2", "has a break but rep r2 has none")),
    ("pinned outlet visited by another rep",
     mutate(["routes", 2, "stops"], [stop("C", 10, 10, 15), stop("B", 17.211102550927976, 17.211102550927976,
                                                                  27.211102550927976)]),
     ("outlet B", "pinned to rep r1")),
    ("outlet twice on one day",
     mutate(["routes", 0, "stops"], [stop("A", 5, 5, 15), stop("A", 15, 15, 25), stop("B", 30, 30, 40)]),
     ("outlet A", "more than once on day(s) 0")),
    ("days not an allowed pattern", mutate(["routes", 1, "day"], 1), ("outlet A", "not an allowed pattern")),
    ("required visit silently dropped", mutate(["unassigned"], []),
     ("outlet D", "not reported in unassigned")),
    ("unassigned count wrong", mutate(["unassigned", 0, "missing_visits"], 2),
     ("outlet D", "reports 2 missing visits but 1")),
    ("unassigned unknown outlet",
     mutate(["unassigned"], [{"outlet": "D", "missing_visits": 1, "reason": "x"},
                             {"outlet": "ZZ", "missing_visits": 1, "reason": "x"}]),
     ("unknown outlet 'ZZ'",)),
    ("unknown outlet in a route", mutate(["routes", 2, "stops", 0, "outlet"], "ZZ"),
     ("route 2 (rep r2, day 4) stop 0", "unknown outlet")),
    ("unknown rep", mutate(["routes", 2, "rep"], "r9"), ("unknown rep 'r9'",)),
    ("two routes of one rep on one day",
     mutate(["routes"], [*solution_data()["routes"], solution_data()["routes"][2] | {"stops": [stop("D", 10, 10, 15)]}],
            mutate(["unassigned"], [])),
     ("route 3", "already has route 2 on day 4")),
    ("route waiting misreported", mutate(["routes", 0, "waiting_minutes"], 60.0),
     ("route 0", "waiting_minutes 60", "recomputed 70")),
    ("route travel misreported", mutate(["routes", 0, "travel_minutes"], 21.0), ("route 0", "travel_minutes 21")),
    ("route service misreported", mutate(["routes", 0, "service_minutes"], 0.0), ("route 0", "service_minutes 0")),
    ("totals misreported", mutate(["totals", "visits_planned"], 4), ("totals", "visits_planned 4 != recomputed 3")),
    ("optional value misreported", mutate(["totals", "optional_value"], 0.0), ("totals", "optional_value 0")),
    ("objective misreported", mutate(["objective"], 205.0), ("objective", "reported 205 != recomputed 198")),
    ("objective missing", mutate(["objective"], None), ("objective", "missing")),
    ("empty route listed",
     mutate(["routes"], [*solution_data()["routes"], {"rep": "r2", "day": 0, "start": 0, "end": 0, "stops": [],
                                                     "distance_km": 0, "travel_minutes": 0}]),
     ("route 3", "without stops")),
]


@pytest.mark.parametrize(("label", "sol", "needles"), CASES, ids=[c[0] for c in CASES])
def test_checker_catches(label: str, sol: dict[str, Any], needles: tuple[str, ...]) -> None:
    c = run(sol)
    assert not c.ok
    assert has(c, *needles), c.violations


def test_break_overlapping_a_service() -> None:
    prob = problem_data()
    prob["reps"][0]["break"] = {"earliest": 40, "latest": 200, "minutes": 30}
    # A served 45-55 on day 2 while the break runs 40-70
    sol = mutate(["routes", 1, "break"], {"start": 40, "end": 70})
    sol = mutate(["routes", 1, "stops", 0], stop("A", 5, 45, 55), sol)
    c = run(sol, prob)
    assert has(c, "route 1", "overlaps the service of stop(s) 0"), c.violations


def test_gap_must_hold_travel_and_break() -> None:
    prob = problem_data()
    prob["reps"][0]["break"] = {"earliest": 10, "latest": 200, "minutes": 30}
    # A ends at 15; the break 15-45 and the 5 min home leave the route end at 50 at the earliest
    sol = mutate(["routes", 1, "break"], {"start": 15, "end": 45}, mutate(["routes", 1, "end"], 49.0))
    c = run(sol, prob)
    assert has(c, "route 1", "too short for travel 5 + break 30", "by 1 min"), c.violations
    sol = mutate(["routes", 1, "end"], 50.0, sol)
    assert not has(run(sol, prob), "too short")


def test_capacity_visits_and_duration_limits() -> None:
    prob = problem_data()
    prob["reps"][0].update(capacity=6, max_visits_per_day=1, max_route_minutes=120)
    c = run(solution_data(), prob)
    assert has(c, "route 0", "load 7 > capacity 6", "by 1")
    assert has(c, "route 0", "2 visits > max_visits_per_day 1")
    assert has(c, "route 0", "lasts 140 min > max_route_minutes 120", "by 20")
    assert has(c, "route 1", "lasts 135 min > max_route_minutes 120", "by 15")
    assert not has(c, "route 2")


def test_skills() -> None:
    prob = problem_data()
    prob["reps"][0]["skills"] = []
    c = run(solution_data(), prob)
    assert has(c, "route 0 (rep r1, day 0) stop 0 (outlet A)", "lacks skill(s) fridge")
    assert has(c, "route 1 (rep r1, day 2) stop 0 (outlet A)", "lacks skill(s) fridge")


def test_same_rep() -> None:
    prob = problem_data()
    prob["outlets"][0]["skills"] = []
    # day 2 by r2 (no break, so the route ends 30 min earlier with the same waiting)
    sol = mutate(["routes", 1], solution_data()["routes"][1] | {"rep": "r2", "break": None, "end": 105})
    assert has(run(sol, prob), "outlet A", "several reps ['r1', 'r2']")
    prob["same_rep"] = False
    assert run(sol, prob).ok


def test_optional_all_or_nothing() -> None:
    prob = problem_data()
    prob["outlets"][2]["visits"] = 2
    c = run(solution_data(), prob)
    assert has(c, "outlet C", "optional outlet visited on [4]", "all its visits or none")


def test_too_many_visits() -> None:
    sol = mutate(["routes"], [*solution_data()["routes"][:2],
                              solution_data()["routes"][0] | {"day": 1}, solution_data()["routes"][2]])
    c = run(sol)
    assert has(c, "outlet A", "visited on 3 days [0, 1, 2] but needs only 2")


def test_partial_visits_must_fit_a_pattern() -> None:
    base = solution_data()
    # A only on day 0, one visit reported missing: {0} is part of the pattern [0, 2]
    sol = mutate(["routes"], [base["routes"][0], base["routes"][2]])
    sol["unassigned"].append({"outlet": "A", "missing_visits": 1, "reason": "no time"})
    c = run(sol)
    assert not has(c, "outlet A"), c.violations
    # A only on day 4: in no allowed pattern of A
    a_day4 = {"rep": "r2", "day": 4, "start": 0, "end": 20, "stops": [stop("A", 5, 5, 15)],
              "distance_km": 10.0, "travel_minutes": 10.0, "service_minutes": 10.0, "waiting_minutes": 0.0}
    sol = mutate(["routes"], [base["routes"][0] | {"stops": [stop("B", 10, 10, 20)], "end": 130, "waiting_minutes": 70,
                                                   "service_minutes": 10}, a_day4])
    sol["unassigned"].append({"outlet": "A", "missing_visits": 1, "reason": "no time"})
    c = run(sol)
    assert has(c, "outlet A", "visit days [4] are not part of any allowed pattern"), c.violations
    assert not has(c, "route 0"), c.violations


def test_reported_pattern_must_be_allowed_and_followed() -> None:
    sol = solution_data()
    sol["patterns"] = {"A": [1, 3]}
    assert has(run(sol), "outlet A", "do not follow its reported pattern [1, 3]")
    sol["patterns"] = {"A": [0, 4]}
    assert has(run(sol), "outlet A", "reported pattern [0, 4] is not an allowed pattern")
    sol["patterns"] = {"A": [0, 2]}
    assert run(sol).ok
