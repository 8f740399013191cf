"""Input validation names every bad field; field-force sizing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optimizer.errors import InputError
from optimizer.model import parse
from optimizer.model.staffing import StaffingProblem
from optimizer.paths import REPO_ROOT
from optimizer.staffing import outlet_workload_minutes, size_field_force

from .conftest import ladder


def test_all_bad_fields_named_at_once() -> None:
    data = ladder(2, 100_000.0)
    data["directions"].append(dict(data["directions"][0], inbound_stage="nope"))
    data["roles"][2]["produces"] = {"activity": "demos", "per_month": 5}
    data["roles"][0]["current"] = {"A": 1}
    data["structure"].append({"role": "ghost", "manages": "head", "span": 3})
    data["structure"].append({"role": "head", "manages": "director", "span": 3})
    with pytest.raises(InputError) as ei:
        parse("staffing", data)
    paths = {e.path for e in ei.value.errors}
    assert {
        "directions[1].id",
        "directions[1].inbound_stage",
        "roles[2].produces.activity",
        "roles[0].current",
        "structure[3].role",
        "structure[4].role",
    } <= paths


def test_first_stage_needs_a_producer_or_inbound() -> None:
    data = ladder(1, 1.0)
    data["roles"][3].pop("produces")
    with pytest.raises(InputError) as ei:
        parse("staffing", data)
    assert [e.path for e in ei.value.errors] == ["directions[0].funnel[0].stage"]


def test_type_errors_have_paths() -> None:
    data = ladder(1, 1.0)
    data["months"] = 0
    data["roles"][1]["attrition"] = 1.5
    with pytest.raises(InputError) as ei:
        parse("staffing", data)
    assert {"months", "roles[1].attrition"} <= {e.path for e in ei.value.errors}


def test_example_problem_is_valid() -> None:
    path = Path(REPO_ROOT) / "datasets" / "staffing" / "example.json"
    p = StaffingProblem.model_validate(json.loads(path.read_text()))
    assert len(p.directions) == 3 and len(p.roles) == 7


def test_field_force_from_outlet_workload() -> None:
    # 40 outlets weekly x (20 service + 10 travel) + 60 outlets fortnightly x (30 + 15)
    work = outlet_workload_minutes([1] * 40 + [0.5] * 60, [20] * 40 + [30] * 60, [10] * 40 + [15] * 60)
    assert work == pytest.approx(40 * 30 + 30 * 45)
    ff = size_field_force(work, 5 * 480 * 0.5, supervisor_span=2)
    assert ff.reps == 3  # 2550 / 1200 -> 2.125 -> 3
    assert ff.supervisors == 2
    assert ff.utilisation == pytest.approx(2550 / 3600)
    assert size_field_force(2400, 1200, 8).reps == 2  # exact multiple: no extra rep


def test_field_force_bad_arguments_all_named() -> None:
    with pytest.raises(InputError) as ei:
        size_field_force(-1, 0, 0)
    assert [e.path for e in ei.value.errors] == [
        "total_visit_minutes_per_week", "minutes_per_rep_per_week", "supervisor_span"]
