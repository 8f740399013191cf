"""`salesplan solve staffing`: exit codes and the written solution."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from optimizer.cli import app

from .test_diagnosis import one_role


def test_cli_infeasible_plan_exits_3_with_diagnosis(tmp_path: Path) -> None:
    prob = tmp_path / "p.json"
    prob.write_text(json.dumps(one_role(50_000)))
    out = tmp_path / "s.json"
    res = CliRunner().invoke(app, ["solve", "staffing", str(prob), "-o", str(out), "-q", "--time-limit", "120"])
    assert res.exit_code == 3
    sol = json.loads(out.read_text())
    assert sol["status"] == "infeasible"
    assert sol["diagnosis"][0]["reachable"] == 30_000


def test_cli_solves_and_validates(tmp_path: Path) -> None:
    data = one_role(20_000)
    prob = tmp_path / "p.json"
    prob.write_text(json.dumps(data))
    out = tmp_path / "s.json"
    res = CliRunner().invoke(app, ["solve", "staffing", str(prob), "-o", str(out), "-q"])
    assert res.exit_code == 0
    sol = json.loads(out.read_text())
    assert sol["status"] == "optimal" and sol["objective"] == sol["cost"]
    data["roles"][0]["level"] = 0
    prob.write_text(json.dumps(data))
    res = CliRunner().invoke(app, ["validate", "staffing", str(prob)])
    assert res.exit_code == 2
