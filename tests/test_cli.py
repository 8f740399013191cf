"""The ``salesplan`` command: validate, schema, demo, generate; exit codes and error output."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.paths import DEMO_DIR

DATA = Path(__file__).parent / "data"
runner = CliRunner()

#: defect file -> the JSON paths `salesplan validate` must name.
DEFECTS: dict[str, list[str]] = {
    "routes_window_opens_after_close": ["outlets[1].time_windows[0]"],
    "routes_duplicate_outlet_id": ["outlets[2].id"],
    "routes_duplicate_rep_id": ["reps[1].id"],
    "routes_unknown_rep": ["outlets[0].rep"],
    "routes_shift_too_short": ["reps[1].shift"],
    "routes_visits_exceed_days": ["outlets[0].visits"],
    "routes_pattern_outside_horizon": ["outlets[0].patterns[0]"],
    "routes_pattern_wrong_size": ["outlets[0].patterns[0]"],
    "routes_negative_demand": ["outlets[0].demand"],
    "routes_negative_service": ["outlets[2].service_minutes"],
    "routes_bad_time": ["outlets[1].time_windows[0][1]"],
    "routes_location_out_of_range": ["outlets[1].location.lat"],
    "routes_location_incomplete": ["outlets[2].location"],
    "routes_unknown_field": ["outlets[0].servce_minutes"],
    "routes_break_outside_shift": ["reps[0].break"],
    "routes_matrix_not_square": ["travel.matrix.minutes[1]"],
    "routes_matrix_missing_id": ["outlets[1].id"],
    "routes_many_defects": [
        "outlets[2].id",
        "reps[0].shift",
        "reps[1].days[0]",
        "reps[1].days",
        "outlets[0].rep",
        "outlets[0].visits",
        "outlets[1].time_windows[0]",
        "outlets[1].patterns[0]",
    ],
    "routes_many_type_defects": [
        "horizon.weeks",
        "reps[0].shift.start",
        "reps[1].max_visits_per_day",
        "outlets[0].demand",
        "outlets[1].service_minutes",
        "outlets[2].location.lng",
        "travel.speed_kmh",
    ],
    "routes_type_and_cross_defects": [
        "reps[1].max_visits_per_day",
        "outlets[0].demand",
        "outlets[1].time_windows[0]",
        "outlets[2].rep",
    ],
    "territories_negative_workload": ["units[0].workload"],
    "territories_negative_potential": ["units[1].potential"],
    "territories_unknown_territory": ["units[1].current"],
    "territories_duplicate_unit": ["units[2].id"],
    "staffing_unknown_role": ["structure[0].manages"],
    "staffing_duplicate_role": ["roles[1].id"],
    "staffing_plan_wrong_length": ["directions[0].plan"],
    "staffing_unknown_activity": ["roles[1].produces.activity"],
}
KINDS = ("routes", "territories", "staffing")


def _kind(name: str) -> str:
    return name.split("_", 1)[0]


def _error_paths(output: str) -> list[str]:
    """Paths of the ``  - path: message`` lines printed by the CLI."""
    return [line[4:].split(": ", 1)[0] for line in output.splitlines() if line.startswith("  - ")]


def test_every_defect_file_is_checked() -> None:
    files = {p.stem for p in DATA.glob("*.json") if _kind(p.stem) in KINDS and "_valid" not in p.stem}
    assert files == set(DEFECTS)


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_file_exits_2_naming_the_field(name: str) -> None:
    res = runner.invoke(app, ["validate", _kind(name), str(DATA / f"{name}.json")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    printed = _error_paths(res.stderr)
    for path in DEFECTS[name]:
        assert path in printed, f"{path} not named in:\n{res.stderr}"


def test_many_defects_lists_every_error_at_once() -> None:
    res = runner.invoke(app, ["validate", "routes", str(DATA / "routes_many_defects.json")])
    assert res.exit_code == 2
    printed = _error_paths(res.stderr)
    assert set(DEFECTS["routes_many_defects"]) <= set(printed)
    assert "outlets[1].time_windows[0]: opens 18:00 after it closes 09:00" in res.stderr


@pytest.mark.parametrize("name", ["routes_valid", "routes_valid_matrix", "territories_valid", "staffing_valid"])
def test_valid_file_exits_0(name: str) -> None:
    res = runner.invoke(app, ["validate", _kind(name), str(DATA / f"{name}.json")])
    assert res.exit_code == 0, res.output
    assert "valid" in res.stdout


@pytest.mark.parametrize("kind", KINDS)
def test_demo_files_validate(kind: str) -> None:
    res = runner.invoke(app, ["validate", kind, str(DEMO_DIR / f"{kind}.json")])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("kind", KINDS)
def test_demo_files_match_the_printed_schema(kind: str) -> None:
    res = runner.invoke(app, ["schema", kind])
    assert res.exit_code == 0
    schema = json.loads(res.stdout)
    validator = jsonschema.Draft202012Validator(schema)
    data = json.loads((DEMO_DIR / f"{kind}.json").read_text(encoding="utf-8"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []
    # the schema is not vacuous: it rejects a misspelt field and a wrong type
    first_list = next(k for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict))
    bad = json.loads(json.dumps(data))
    bad[first_list][0]["no_such_field"] = 1
    assert not validator.is_valid(bad)
    bad = json.loads(json.dumps(data))
    bad[first_list][0]["id"] = [1, 2]
    assert not validator.is_valid(bad)


def test_schema_of_unknown_kind_is_a_usage_error() -> None:
    res = runner.invoke(app, ["schema", "nonsense"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_invalid_json_exits_2_without_traceback() -> None:
    res = runner.invoke(app, ["validate", "routes", str(DATA / "not_json.json")])
    assert res.exit_code == 2
    assert "not valid JSON" in res.stderr
    assert "Traceback" not in res.output


def test_missing_file_exits_2_without_traceback(tmp_path: Path) -> None:
    res = runner.invoke(app, ["validate", "routes", str(tmp_path / "nope.json")])
    assert res.exit_code == 2
    assert "cannot read nope.json" in res.stderr
    assert "Traceback" not in res.output


def test_non_object_json_exits_2(tmp_path: Path) -> None:
    f = tmp_path / "list.json"
    f.write_text("[1, 2, 3]", encoding="utf-8")
    res = runner.invoke(app, ["validate", "routes", str(f)])
    assert res.exit_code == 2
    assert "JSON object" in res.stderr


def test_generate_writes_deterministic_valid_files(tmp_path: Path) -> None:
    args = ["--outlets", "60", "--reps", "3", "--weeks", "2", "--seed", "5"]
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert runner.invoke(app, ["generate", "routes", "-o", str(a), *args]).exit_code == 0
    assert runner.invoke(app, ["generate", "routes", "-o", str(b), *args]).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    other = ["--outlets", "60", "--reps", "3", "--weeks", "2", "--seed", "6"]
    assert runner.invoke(app, ["generate", "routes", "-o", str(c), *other]).exit_code == 0
    assert a.read_bytes() != c.read_bytes()
    assert runner.invoke(app, ["validate", "routes", str(a)]).exit_code == 0
    data = json.loads(a.read_text(encoding="utf-8"))
    assert len(data["outlets"]) == 60 and len(data["reps"]) == 3 and data["horizon"]["weeks"] == 2


def test_generate_demo_folder(tmp_path: Path) -> None:
    res = runner.invoke(app, ["generate", "demo", "-o", str(tmp_path), "--outlets", "50", "--reps", "2"])
    assert res.exit_code == 0, res.output
    for kind in KINDS:
        assert runner.invoke(app, ["validate", kind, str(tmp_path / f"{kind}.json")]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (["generate", "routes", "--outlets", "0"], "n_outlets"),
        (["generate", "routes", "--reps", "500", "--outlets", "10"], "n_reps"),
        (["generate", "routes", "--weeks", "9"], "weeks"),
        (["generate", "routes", "--layout", "moon"], "layout"),
        (["generate", "galaxy"], "kind"),
    ],
)
def test_generate_bad_arguments_exit_2(tmp_path: Path, args: list[str], path: str) -> None:
    res = runner.invoke(app, [*args, "-o", str(tmp_path / "x.json")])
    assert res.exit_code == 2, res.output
    assert path in _error_paths(res.stderr)
    assert not (tmp_path / "x.json").exists()
