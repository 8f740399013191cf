"""The instance generator: determinism, validity, and the documented realism rules."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from optimizer import datagen
from optimizer.datagen import (
    DEMO,
    OUTLET_TYPES,
    SEGMENT_CUTOFFS,
    SERVICE_MINUTES,
    dumps,
    estimate_utilisation,
    routes_instance,
    staffing_instance,
    territories_instance,
    visits_for,
)
from optimizer.errors import InputError
from optimizer.model import parse
from optimizer.paths import DEMO_DIR
from optimizer.travel import haversine_km


def _pts(items: list[dict[str, Any]], key: str = "location") -> np.ndarray:
    return np.array([[it[key]["lat"], it[key]["lon"]] for it in items])


def _hhmm(s: str) -> int:
    h, m = s.split(":")
    return int(h) * 60 + int(m)


@pytest.mark.parametrize("layout", ["city", "region"])
def test_same_seed_same_json_other_seed_differs(layout: str) -> None:
    for make in (
        lambda s: routes_instance(120, 3, 2, layout, s),  # type: ignore[arg-type]
        lambda s: territories_instance(120, 3, s, layout),  # type: ignore[arg-type]
        lambda s: staffing_instance(12, 3, s),
    ):
        assert dumps(make(11)) == dumps(make(11))
        assert dumps(make(11)) != dumps(make(12))


@pytest.mark.parametrize("layout", ["city", "region"])
@pytest.mark.parametrize("weeks", [1, 2, 4])
def test_routes_instances_validate(layout: str, weeks: int) -> None:
    for seed in range(2):
        p = parse("routes", routes_instance(150, 4, weeks, layout, seed))  # type: ignore[arg-type]
        assert len(p.outlets) == 150 and len(p.reps) == 4  # type: ignore[attr-defined]


def test_segments_follow_cumulative_revenue_cutoffs() -> None:
    d = routes_instance(300, 4, 1, "city", 3)
    rev = np.array([o["attributes"]["revenue"] for o in d["outlets"]])
    order = np.argsort(-rev, kind="stable")
    before = (np.cumsum(rev[order]) - rev[order]) / rev.sum()
    expected = {}
    for idx, share in zip(order, before, strict=True):
        expected[int(idx)] = "ABCD"[int(np.searchsorted(np.array(SEGMENT_CUTOFFS), share, side="right"))]
    for i, o in enumerate(d["outlets"]):
        if o["segment"] != "prospect":
            assert o["segment"] == expected[i], (i, o["segment"], expected[i])
    # Pareto: the A outlets are few but make at least half the revenue
    a = [i for i in range(len(rev)) if expected[i] == "A"]
    assert 0 < len(a) < 0.2 * len(rev)
    assert rev[a].sum() >= 0.5 * rev.sum()


@pytest.mark.parametrize(
    ("weeks", "want"),
    [
        (1, {"A": 2, "B": 1, "C": 1, "D": 1}),
        (2, {"A": 4, "B": 2, "C": 1, "D": 1}),
        (4, {"A": 8, "B": 4, "C": 2, "D": 1}),
    ],
)
def test_visit_policy_and_service_by_segment(weeks: int, want: dict[str, int]) -> None:
    assert {s: visits_for(s, weeks) for s in "ABCD"} == want
    d = routes_instance(200, 4, weeks, "city", 1)
    for o in d["outlets"]:
        seg = o["segment"]
        assert o["service_minutes"] == SERVICE_MINUTES[seg]
        if seg == "prospect":
            assert o["optional"] is True and o["visits"] == 1 and 20 <= o["value"] <= 60
        else:
            assert o["visits"] == want[seg]
            assert "optional" not in o


def test_opening_hours_by_type_and_lunch_closures() -> None:
    d = routes_instance(300, 4, 1, "city", 2)
    types = {o["attributes"]["type"] for o in d["outlets"]}
    assert {"pharmacy", "traditional"} <= types
    for o in d["outlets"]:
        assert [tuple(w) for w in o["time_windows"]] == OUTLET_TYPES[o["attributes"]["type"]][1]
        for a, b in o["time_windows"]:
            assert _hhmm(a) < _hhmm(b)
    assert any(len(o["time_windows"]) == 2 for o in d["outlets"])


def test_reps_shifts_breaks_and_pinned_key_accounts() -> None:
    d = routes_instance(400, 5, 1, "city", 4)
    homes = _pts(d["reps"], "start")
    for r in d["reps"]:
        assert r["shift"] == {"start": "08:30", "end": "17:30"}
        b = r["break"]
        assert b["minutes"] in (30, 45)
        assert _hhmm(b["earliest"]) == 12 * 60 and _hhmm(b["latest"]) + b["minutes"] == 14 * 60
    pinned = [o for o in d["outlets"] if "rep" in o]
    assert pinned, "some key accounts are pinned"
    ids = [r["id"] for r in d["reps"]]
    for o in pinned:
        assert o["segment"] in ("A", "B")
        dist = haversine_km(homes[:, 0], homes[:, 1], o["location"]["lat"], o["location"]["lon"])
        assert o["rep"] == ids[int(np.argmin(dist))]


@pytest.mark.parametrize(("layout", "max_span", "min_span"), [("city", 62.0, 15.0), ("region", 330.0, 40.0)])
def test_geography(layout: str, max_span: float, min_span: float) -> None:
    d = routes_instance(300, 4, 1, layout, 5)  # type: ignore[arg-type]
    pts = _pts(d["outlets"])
    dist = haversine_km(pts[:, None, 0], pts[:, None, 1], pts[None, :, 0], pts[None, :, 1])
    assert min_span < dist.max() <= max_span
    # clustered, not uniform: the median nearest neighbour is far closer than in a uniform spread
    np.fill_diagonal(dist, np.inf)
    nn = np.median(dist.min(axis=1))
    assert nn < 0.05 * dist[np.isfinite(dist)].max()
    # reps live among their outlets
    homes = _pts(d["reps"], "start")
    to_home = haversine_km(homes[:, None, 0], homes[:, None, 1], pts[None, :, 0], pts[None, :, 1])
    assert (to_home.min(axis=1) < 0.1 * max_span).all()
    assert d["travel"]["speed_kmh"] == (30.0 if layout == "city" else 50.0) and d["travel"]["detour"] == 1.3


def test_demo_files_are_the_generator_output() -> None:
    """The committed demo set is what ``python datasets/generate.py`` writes today."""
    n, reps, weeks, layout, seed = (DEMO[k] for k in ("n_outlets", "n_reps", "weeks", "layout", "seed"))
    want = {
        "routes": routes_instance(n, reps, weeks, layout, seed),
        "territories": territories_instance(n, reps, seed, layout),
        "staffing": staffing_instance(12, 3, seed),
    }
    for kind, data in want.items():
        assert (DEMO_DIR / f"{kind}.json").read_text(encoding="utf-8") == dumps(data), kind


def test_demo_is_sized_for_the_reps() -> None:
    d = json.loads((DEMO_DIR / "routes.json").read_text(encoding="utf-8"))
    util = estimate_utilisation(d)
    assert 0.5 <= util <= 0.85
    # doubling the outlets must raise the estimate (the estimate responds to the workload)
    more = routes_instance(2 * DEMO["n_outlets"], DEMO["n_reps"], 1, "city", DEMO["seed"])
    assert estimate_utilisation(more) > util + 0.3


def test_territories_units_are_the_routes_outlets() -> None:
    r = routes_instance(200, 4, 1, "region", 8)
    t = territories_instance(200, 4, 8, "region")
    p = parse("territories", t)
    np.testing.assert_array_equal(_pts(r["outlets"]), _pts(t["units"]))
    tids = {x["id"] for x in t["territories"]}
    assert len(tids) == 4 and all(u["current"] in tids for u in t["units"])
    assert all(x["center"] is not None for x in t["territories"])
    per_week = dict(datagen.VISITS_PER_WEEK)
    for u in t["units"]:
        want = per_week[u["segment"]] * (SERVICE_MINUTES[u["segment"]] + 10.0) / 60.0
        assert u["workload"] == pytest.approx(want, abs=1e-3)
        assert u["potential"] > 0
    # today's alignment is unbalanced (that is what the territory solver is for)
    load = {tid: 0.0 for tid in tids}
    for u in t["units"]:
        load[u["current"]] += u["workload"]
    mean = sum(load.values()) / len(load)
    assert max(abs(v - mean) / mean for v in load.values()) > p.balance["workload"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("months", "n_dir"), [(1, 1), (12, 3), (24, 5)])
def test_staffing_instance_validates_with_five_levels(months: int, n_dir: int) -> None:
    d = staffing_instance(months, n_dir, seed=months)
    p = parse("staffing", d)
    levels = {r["id"]: r["level"] for r in d["roles"]}
    assert sorted(levels.values()) == [1, 2, 3, 4, 5]
    assert {r["id"] for r in d["roles"] if r.get("scope") == "shared"} == {"commercial_director"}
    for direction in d["directions"]:
        assert len(direction["plan"]) == months and len(direction["base_revenue"]) == months
        stages = [s["stage"] for s in direction["funnel"]]
        assert stages == ["call", "conversation", "meeting", "proposal", "deal"]
        assert 1 / 40 <= direction["funnel"][1]["rate"] <= 1 / 25  # cold call -> conversation ~ 1/30
    assert len(p.directions) == n_dir  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda: routes_instance(0, 1), "n_outlets"),
        (lambda: routes_instance(5, 6), "n_reps"),
        (lambda: routes_instance(10, 2, weeks=5), "weeks"),
        (lambda: routes_instance(10, 2, layout="moon"), "layout"),  # type: ignore[arg-type]
        (lambda: territories_instance(10, 0), "n_territories"),
        (lambda: staffing_instance(0, 3), "months"),
        (lambda: staffing_instance(12, 9), "n_directions"),
    ],
)
def test_bad_arguments_raise_input_error(call: Any, path: str) -> None:
    with pytest.raises(InputError) as ei:
        call()
    assert path in [e.path for e in ei.value.errors]
