"""Per-check tests of the domain model on hand-built cases: each cross-field rule fires, and only when it should."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from optimizer.errors import InputError
from optimizer.model import errors_from_validation, parse
from optimizer.model.routes import RoutesProblem, default_patterns

DATA = Path(__file__).parents[1] / "data"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _errors(kind: str, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InputError) as ei:
        parse(kind, data)
    out: dict[str, str] = {}
    for e in ei.value.errors:  # several messages on one path are joined with " | "
        out[e.path] = f"{out[e.path]} | {e.message}" if e.path in out else e.message
    return out


@pytest.fixture
def routes() -> dict[str, Any]:
    return _load("routes_valid")


def test_base_problem_is_valid_and_frozen(routes: dict[str, Any]) -> None:
    p = parse("routes", routes)
    assert isinstance(p, RoutesProblem)
    assert p.reps[0].shift.start == 8 * 60 + 30  # "HH:MM" parsed to minutes
    assert p.reps[0].break_ is not None and p.reps[0].break_.minutes == 30
    with pytest.raises(ValidationError):
        p.name = "changed"  # type: ignore[misc]


def test_integer_ids_become_strings(routes: dict[str, Any]) -> None:
    routes["outlets"][0]["id"] = 17
    routes["reps"][0]["id"] = 3
    routes["outlets"][0]["rep"] = 3
    p = parse("routes", routes)
    assert p.outlets[0].id == "17" and p.outlets[0].rep == "3"  # type: ignore[attr-defined]


def test_window_open_equal_close_and_after(routes: dict[str, Any]) -> None:
    routes["outlets"][0]["time_windows"] = [["10:00", "10:00"], [600, 540]]
    errs = _errors("routes", routes)
    assert errs["outlets[0].time_windows[0]"] == "opens and closes at 10:00"
    assert errs["outlets[0].time_windows[1]"] == "opens 10:00 after it closes 09:00"


def test_visits_equal_to_days_is_fine_one_more_is_not(routes: dict[str, Any]) -> None:
    routes["outlets"][0]["visits"] = 5
    parse("routes", routes)
    routes["outlets"][0]["visits"] = 6
    assert "5 working days" in _errors("routes", routes)["outlets[0].visits"]


def test_pinned_outlet_visits_count_the_rep_days(routes: dict[str, Any]) -> None:
    routes["reps"][1]["days"] = ["mon", "wed"]
    routes["outlets"][1]["rep"] = "R2"
    routes["outlets"][1]["visits"] = 2
    parse("routes", routes)
    routes["outlets"][1]["visits"] = 3
    assert "rep 'R2' works only 2 working days" in _errors("routes", routes)["outlets[1].visits"]


def test_rep_days_outside_horizon(routes: dict[str, Any]) -> None:
    routes["reps"][0]["days"] = [0, 5, "sun"]
    errs = _errors("routes", routes)
    assert errs["reps[0].days[1]"] == "day 5 is outside the horizon 0..4"
    assert errs["reps[0].days[2]"] == "'sun' is not a day of the horizon"
    assert "reps[0].days" not in errs  # day 0 is still a working day


def test_duplicate_horizon_day(routes: dict[str, Any]) -> None:
    routes["horizon"]["days"] = ["mon", "mon", "tue"]
    assert _errors("routes", routes)["horizon.days"] == "a day is listed twice"


def test_patterns_checks(routes: dict[str, Any]) -> None:
    routes["outlets"][0]["patterns"] = [[0, 2], [1, 1], [3, 5, 1]]
    errs = _errors("routes", routes)
    assert "outlets[0].patterns[0]" not in errs
    assert errs["outlets[0].patterns[1]"] == "a day appears twice | has 1 days but the outlet needs 2 visits"
    assert errs["outlets[0].patterns[2]"] == (
        "has 3 days but the outlet needs 2 visits | day 5 is outside the horizon 0..4"
    )
    routes["outlets"][0]["patterns"] = []
    assert "empty list" in _errors("routes", routes)["outlets[0].patterns"]


def test_break_checks(routes: dict[str, Any]) -> None:
    routes["reps"][0]["break"] = {"earliest": "14:00", "latest": "12:00", "minutes": 30}
    assert "is after latest" in _errors("routes", routes)["reps[0].break"]
    routes["reps"][0]["break"] = {"earliest": "12:00", "latest": "17:10", "minutes": 30}
    assert "does not fit in the shift" in _errors("routes", routes)["reps[0].break"]
    routes["reps"][0]["break"] = {"earliest": "12:00", "latest": "17:00", "minutes": 30}  # ends at 17:30 sharp
    parse("routes", routes)


def test_shift_too_short_boundary() -> None:
    base: dict[str, Any] = {
        "reps": [{"id": "r", "start": {"x": 0, "y": 0}, "shift": {"start": 0, "end": 30}}],
        "outlets": [{"id": "o", "location": {"x": 10, "y": 0}, "service_minutes": 10}],
        "travel": {"metric": "euclidean", "speed": 1},
    }
    parse("routes", base)  # 10 there + 10 service + 10 back = 30 = the shift
    tight = copy.deepcopy(base)
    tight["reps"][0]["shift"]["end"] = 29
    assert "too few for any visit" in _errors("routes", tight)["reps[0].shift"]
    capped = copy.deepcopy(base)
    capped["reps"][0]["max_route_minutes"] = 20
    assert "reps[0].shift" in _errors("routes", capped)


def test_location_kind_must_suit_the_metric(routes: dict[str, Any]) -> None:
    routes["travel"] = {"metric": "euclidean"}
    errs = _errors("routes", routes)
    assert errs["outlets[0].location"] == "travel metric euclidean needs x/y"
    assert errs["reps[1].start"] == "travel metric euclidean needs x/y"


def test_matrix_checks() -> None:
    data = _load("routes_valid_matrix")
    parse("routes", data)
    dup = copy.deepcopy(data)
    dup["travel"]["matrix"]["ids"][4] = "R1"
    errs = _errors("routes", dup)
    assert errs["travel.matrix.ids[4]"] == "duplicate id 'R1'"
    assert errs["reps[1].id"] == "'R2' is missing from travel.matrix.ids"
    rows = copy.deepcopy(data)
    rows["travel"]["matrix"]["minutes"].pop()
    assert errs_has(rows, "travel.matrix.minutes", "has 4 rows but there are 5 ids")
    clash = copy.deepcopy(data)
    clash["outlets"][2]["id"] = "R1"
    clash["travel"]["matrix"]["ids"][2] = "R9"
    assert "also a rep id" in _errors("routes", clash)["outlets[2].id"]
    neg = copy.deepcopy(data)
    neg["travel"]["matrix"]["minutes"][0][1] = -4
    assert "travel.matrix.minutes[0][1]" in _errors("routes", neg)


def errs_has(data: dict[str, Any], path: str, msg: str) -> bool:
    return _errors("routes", data).get(path) == msg


def test_metric_matrix_needs_a_matrix(routes: dict[str, Any]) -> None:
    routes["travel"] = {"metric": "matrix"}
    assert "needs a 'matrix' object" in _errors("routes", routes)["travel"]


def test_location_messages(routes: dict[str, Any]) -> None:
    routes["outlets"][0]["location"] = {"lat": 55.7, "lon": 37.6, "x": 1}
    routes["outlets"][1]["location"] = {}
    routes["outlets"][2]["location"] = "Red Square"
    errs = _errors("routes", routes)
    assert errs["outlets[0].location"] == "give either lat/lon or x/y, not both"
    assert errs["outlets[1].location"] == "a location needs lat/lon or x/y"
    assert errs["outlets[2].location"].startswith("must be a location object")


def test_bad_time_strings(routes: dict[str, Any]) -> None:
    routes["reps"][0]["shift"]["start"] = "8.30"
    routes["reps"][1]["shift"]["end"] = -5
    routes["outlets"][0]["time_windows"][0][0] = True
    errs = _errors("routes", routes)
    assert "is not a time" in errs["reps[0].shift.start"]
    assert "cannot be negative" in errs["reps[1].shift.end"]
    assert "true/false" in errs["outlets[0].time_windows[0][0]"]


def test_errors_from_validation_without_data_drops_union_tags() -> None:
    with pytest.raises(ValidationError) as ei:
        RoutesProblem.model_validate(
            {"reps": [{"id": "r", "start": {"lat": 1, "lon": 1}, "days": [1.5]}], "outlets": []}
        )
    items = errors_from_validation(ei.value)
    assert [i.path for i in items] == ["reps[0].days[0]"]
    assert items[0].message.startswith("matches none of the allowed forms")


def test_default_patterns_are_even_and_cyclic() -> None:
    for n_days, visits in [(5, 1), (5, 2), (10, 3), (20, 4), (20, 2), (10, 10)]:
        pats = default_patterns(n_days, visits)
        assert pats, (n_days, visits)
        target = n_days / visits
        for p in pats:
            assert len(set(p)) == visits and all(0 <= d < n_days for d in p)
            gaps = [(p[(k + 1) % visits] - p[k]) % n_days or n_days for k in range(visits)]
            assert all(target - 1 - 1e-9 <= g <= target + 1 + 1e-9 for g in gaps)
    assert len(default_patterns(5, 1)) == 5
    assert default_patterns(5, 6) == []
    same = default_patterns(20, 2, days_per_week=5, same_weekday=True)
    assert same and all(len({d % 5 for d in p}) == 1 for p in same)


def test_problem_level_helpers(routes: dict[str, Any]) -> None:
    routes["reps"][1]["days"] = ["tue", 4]
    routes["outlets"][0]["time_windows"] = [["14:00", "15:00"], ["09:00", "12:00"], ["11:00", "13:00"]]
    p = parse("routes", routes)
    assert isinstance(p, RoutesProblem)
    assert p.rep_days(p.reps[1]) == [1, 4] and p.rep_days(p.reps[0]) == [0, 1, 2, 3, 4]
    assert p.windows(p.outlets[0]) == [(540.0, 780.0), (840.0, 900.0)]
    assert p.outlets[0].patterns is None
    assert p.allowed_patterns(p.outlets[0]) == default_patterns(5, p.outlets[0].visits)


# -- territories -----------------------------------------------------------------------------


@pytest.fixture
def territories() -> dict[str, Any]:
    return _load("territories_valid")


def test_territories_checks(territories: dict[str, Any]) -> None:
    parse("territories", territories)
    t = copy.deepcopy(territories)
    t["count"] = 3
    assert "differs from the 2 territories" in _errors("territories", t)["count"]
    t = copy.deepcopy(territories)
    del t["territories"]
    assert _errors("territories", t)["territories"] == "give either territories or count"
    t = copy.deepcopy(territories)
    t["units"][0]["current"] = None
    t["units"][0]["locked"] = True
    assert "locked unit needs" in _errors("territories", t)["units[0].locked"]
    t = copy.deepcopy(territories)
    t["territories"][1]["id"] = "T1"
    errs = _errors("territories", t)
    assert errs["territories[1].id"] == "duplicate territory id 'T1'"
    t = copy.deepcopy(territories)
    t["territories"][0]["center"] = {"lat": 55.7, "lon": 37.6}
    parse("territories", t)  # mixed given and chosen centres are valid (issue #4)
    t["territories"][1]["center"] = {"x": 1.0, "y": 2.0}
    assert "needs lat/lon" in _errors("territories", t)["territories[1].center"]
    t = copy.deepcopy(territories)
    t["adjacency"] = [["U1", "U9"]]
    assert _errors("territories", t)["adjacency[0][1]"] == "unknown unit 'U9'"
    t = copy.deepcopy(territories)
    t["count"] = 5
    del t["territories"]
    for u in t["units"]:
        u.pop("current")
    assert "5 territories for only 3 units" in _errors("territories", t)["count"]


# -- staffing --------------------------------------------------------------------------------


@pytest.fixture
def staffing() -> dict[str, Any]:
    return _load("staffing_valid")


def test_staffing_checks(staffing: dict[str, Any]) -> None:
    parse("staffing", staffing)
    s = copy.deepcopy(staffing)
    s["structure"].append({"role": "boss", "supports": "am", "ratio": 4})
    assert _errors("staffing", s)["structure[1].role"] == "unknown role 'boss'"
    s = copy.deepcopy(staffing)
    s["directions"][0]["funnel"].append({"stage": "deal", "rate": 0.5})
    assert "appears twice" in _errors("staffing", s)["directions[0].funnel"]
    s = copy.deepcopy(staffing)
    s["objective"] = "max_revenue"
    assert "needs a budget" in _errors("staffing", s)["budget"]
    s = copy.deepcopy(staffing)
    s["roles"][0]["current"] = {"retail": 1, "space": 2}
    assert _errors("staffing", s)["roles[0].current.space"] == "unknown direction 'space'"
    s = copy.deepcopy(staffing)
    s["directions"][0]["funnel"][1]["rate"] = 1.5
    assert "at most 1" in _errors("staffing", s)["directions[0].funnel[1].rate"]
    s = copy.deepcopy(staffing)
    s["roles"][1]["monthly_cost"] = -1
    assert "at least 0" in _errors("staffing", s)["roles[1].monthly_cost"]
