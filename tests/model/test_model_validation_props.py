"""Property tests of the validators: valid problems pass; each defect is reported at its path; only InputError."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from optimizer.errors import InputError
from optimizer.model import parse
from optimizer.model.common import fmt_time

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

lat = st.floats(55.6, 55.9, allow_nan=False)
lon = st.floats(37.4, 37.8, allow_nan=False)
minute = st.integers(0, 24 * 60 - 1)


@st.composite
def window(draw: st.DrawFn) -> list[Any]:
    a = draw(st.integers(6 * 60, 12 * 60))
    b = draw(st.integers(a + 30, 22 * 60))
    as_text = draw(st.booleans())
    return [fmt_time(a), fmt_time(b)] if as_text else [a, b]


@st.composite
def routes_problem(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid routes problem: reps near the outlets, wide shifts, visits within the horizon."""
    weeks = draw(st.integers(1, 2))
    days = ["mon", "tue", "wed", "thu", "fri"]
    n_days = weeks * 5
    n_reps = draw(st.integers(1, 3))
    reps = []
    for j in range(n_reps):
        rep: dict[str, Any] = {
            "id": f"R{j}",
            "start": {"lat": draw(lat), "lon": draw(lon)},
            "shift": {"start": "08:00", "end": "18:00"},
        }
        if draw(st.booleans()):
            rep["break"] = {"earliest": "12:00", "latest": "13:00", "minutes": draw(st.sampled_from([30, 45, 60]))}
        if draw(st.booleans()):
            rep["max_visits_per_day"] = draw(st.integers(1, 20))
        reps.append(rep)
    outlets = []
    for i in range(draw(st.integers(1, 8))):
        o: dict[str, Any] = {
            "id": f"O{i}",
            "location": {"lat": draw(lat), "lon": draw(lon)},
            "visits": draw(st.integers(1, n_days)),
            "service_minutes": draw(st.integers(0, 45)),
            "time_windows": draw(st.lists(window(), max_size=2)),
            "demand": draw(st.floats(0, 100, allow_nan=False)),
        }
        if draw(st.booleans()):
            o["rep"] = f"R{draw(st.integers(0, n_reps - 1))}"
        if draw(st.booleans()):
            o["optional"] = True
            o["value"] = draw(st.floats(0, 100, allow_nan=False))
        outlets.append(o)
    return {"horizon": {"weeks": weeks, "days": days}, "reps": reps, "outlets": outlets}


@SETTINGS
@given(routes_problem())
def test_random_valid_routes_problems_validate(data: dict[str, Any]) -> None:
    p = parse("routes", data)
    assert len(p.outlets) == len(data["outlets"])  # type: ignore[attr-defined]
    # the parsed problem serialises back to data that validates to the same object
    again = parse("routes", json.loads(p.model_dump_json(by_alias=True)))
    assert again == p


@SETTINGS
@given(routes_problem(), st.data())
def test_inverted_window_is_reported_at_its_path(data: dict[str, Any], d: st.DataObject) -> None:
    i = d.draw(st.integers(0, len(data["outlets"]) - 1))
    a = d.draw(st.integers(8 * 60 + 1, 20 * 60))
    b = d.draw(st.integers(6 * 60, a - 1))
    ws = data["outlets"][i]["time_windows"]
    j = len(ws)
    ws.append([fmt_time(a), fmt_time(b)])
    with pytest.raises(InputError) as ei:
        parse("routes", data)
    msgs = [str(e) for e in ei.value.errors]
    assert f"outlets[{i}].time_windows[{j}]: opens {fmt_time(a)} after it closes {fmt_time(b)}" in msgs


NEGATABLE = [
    ("outlets", "service_minutes"),
    ("outlets", "demand"),
    ("outlets", "value"),
    ("outlets", "visits"),
    ("reps", "max_visits_per_day"),
    ("reps", "capacity"),
]


@SETTINGS
@given(routes_problem(), st.data())
def test_negative_numbers_are_reported_at_their_path(data: dict[str, Any], d: st.DataObject) -> None:
    picks = d.draw(st.lists(st.sampled_from(NEGATABLE), min_size=1, max_size=4, unique=True))
    expected = set()
    for coll, field in picks:
        k = d.draw(st.integers(0, len(data[coll]) - 1))
        data[coll][k][field] = -d.draw(st.integers(1, 1000))
        expected.add(f"{coll}[{k}].{field}")
    with pytest.raises(InputError) as ei:
        parse("routes", data)
    paths = {e.path for e in ei.value.errors}
    assert expected <= paths  # every defect at once


@SETTINGS
@given(routes_problem(), st.data(), st.text("abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12))
def test_unknown_fields_are_reported_at_their_path(data: dict[str, Any], d: st.DataObject, name: str) -> None:
    where = d.draw(st.sampled_from(["top", "outlet", "rep", "location", "horizon", "shift"]))
    k = 0
    if where == "top":
        target, path = data, name
    elif where == "outlet":
        k = d.draw(st.integers(0, len(data["outlets"]) - 1))
        target, path = data["outlets"][k], f"outlets[{k}].{name}"
    elif where == "location":
        k = d.draw(st.integers(0, len(data["outlets"]) - 1))
        target, path = data["outlets"][k]["location"], f"outlets[{k}].location.{name}"
    elif where == "rep":
        target, path = data["reps"][0], f"reps[0].{name}"
    elif where == "shift":
        target, path = data["reps"][0]["shift"], f"reps[0].shift.{name}"
    else:
        target, path = data["horizon"], f"horizon.{name}"
    assume(name not in target and name not in ("break", "end") and name not in _known_fields(where))
    target[name] = 1
    with pytest.raises(InputError) as ei:
        parse("routes", data)
    assert [str(e) for e in ei.value.errors] == [f"{path}: unknown field (check the spelling)"]


def _known_fields(where: str) -> set[str]:
    from optimizer.model.common import Location
    from optimizer.model.routes import Horizon, Outlet, Rep, RoutesProblem, Shift

    classes: dict[str, type[BaseModel]] = {
        "top": RoutesProblem, "outlet": Outlet, "rep": Rep, "location": Location, "horizon": Horizon, "shift": Shift,
    }
    cls = classes[where]
    return set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.sampled_from(["08:00", "25:61", "", "mon", "R0", "O0"]),
)
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                          max_leaves=8)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routes_problem(), st.data(), json_value)
def test_any_corruption_raises_only_input_error(data: dict[str, Any], d: st.DataObject, junk: Any) -> None:
    """Replace any node of a valid problem with arbitrary JSON: the outcome is a problem or an InputError."""
    paths = _paths(data)
    path = d.draw(st.sampled_from(paths))
    bad = copy.deepcopy(data)
    node = bad
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = junk
    try:
        parse("routes", bad)
    except InputError as exc:
        assert exc.errors, "an InputError lists at least one problem"
        for e in exc.errors:
            assert e.message and isinstance(e.path, str)
            assert "function-" not in e.path and "constrained-" not in e.path and "literal[" not in e.path


@st.composite
def territories_problem(draw: st.DrawFn) -> dict[str, Any]:
    n_t = draw(st.integers(1, 3))
    tids = [f"T{j}" for j in range(n_t)]
    units = []
    for i in range(draw(st.integers(n_t, 8))):
        u: dict[str, Any] = {"id": f"U{i}", "location": {"lat": draw(lat), "lon": draw(lon)},
                             "workload": draw(st.floats(0, 40, allow_nan=False)),
                             "potential": draw(st.floats(0, 1e6, allow_nan=False))}
        if draw(st.booleans()):
            u["current"] = draw(st.sampled_from(tids))
        units.append(u)
    if draw(st.booleans()):
        return {"units": units, "territories": [{"id": t} for t in tids]}
    return {"units": [{k: v for k, v in u.items() if k != "current"} for u in units], "count": n_t}


@SETTINGS
@given(territories_problem(), st.data())
def test_territories_valid_and_negative_measures(data: dict[str, Any], d: st.DataObject) -> None:
    parse("territories", data)
    k = d.draw(st.integers(0, len(data["units"]) - 1))
    field = d.draw(st.sampled_from(["workload", "potential"]))
    data["units"][k][field] = -d.draw(st.floats(0.001, 1e6, allow_nan=False))
    with pytest.raises(InputError) as ei:
        parse("territories", data)
    assert f"units[{k}].{field}" in {e.path for e in ei.value.errors}
