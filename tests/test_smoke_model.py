"""Smoke tests of the domain model entry points."""

from __future__ import annotations

import pytest

from optimizer.errors import InputError
from optimizer.model import json_schema, kinds, parse


def test_every_kind_has_a_schema() -> None:
    for kind in ("routes", "territories", "staffing"):
        assert kind in kinds()
        assert json_schema(kind)["type"] == "object"


def test_all_errors_reported_at_once() -> None:
    with pytest.raises(InputError) as ei:
        parse(
            "routes",
            {
                "reps": [{"id": "r1", "start": {"lat": 55.75, "lon": 37.6}}],
                "outlets": [
                    {"id": "o1", "location": {"lat": 55.7, "lon": 37.6}, "visits": 7,
                     "time_windows": [["18:00", "09:00"]], "rep": "zz"},
                    {"id": "o1", "location": {"lat": 55.7, "lon": 37.6}},
                ],
            },
        )
    paths = {e.path for e in ei.value.errors}
    assert {"outlets[1].id", "outlets[0].time_windows[0]", "outlets[0].rep", "outlets[0].visits"} <= paths
    msgs = [str(e) for e in ei.value.errors]
    assert "outlets[0].time_windows[0]: opens 18:00 after it closes 09:00" in msgs
