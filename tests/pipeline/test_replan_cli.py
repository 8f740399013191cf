"""``salesplan replan``: files in, next week's plan and the missed-visit report out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.datagen import routes_instance
from optimizer.model import parse
from optimizer.model.routes import RoutesProblem
from optimizer.routes import solve_routes
from optimizer.routes.check import check_routes


def test_replan_cli_writes_plan_and_missed_report(tmp_path: Path) -> None:
    data = routes_instance(n_outlets=40, n_reps=2, weeks=1, seed=5)
    p = parse("routes", data)
    assert isinstance(p, RoutesProblem)
    sol = solve_routes(p, time_limit=3, seed=0)
    (tmp_path / "p.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "plan.json").write_text(sol.model_dump_json(by_alias=True), encoding="utf-8")
    visits = sorted((s.outlet, r.day) for r in sol.routes for s in r.stops)
    missed = visits[:3]
    (tmp_path / "ev.json").write_text(json.dumps({"missed": missed, "closed": [p.outlets[-1].id]}), encoding="utf-8")
    res = CliRunner().invoke(app, ["replan", str(tmp_path / "p.json"), str(tmp_path / "plan.json"), "--events",
                                   str(tmp_path / "ev.json"), "-o", str(tmp_path / "new.json"), "--missed-csv",
                                   str(tmp_path / "missed.csv"), "--time-limit", "3"])
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "new.json").read_text(encoding="utf-8"))
    new_p = parse("routes", out["problem"])
    assert isinstance(new_p, RoutesProblem)
    from optimizer.model.routes import RoutesSolution

    new_sol = RoutesSolution.model_validate(out["solution"])
    assert check_routes(new_p, new_sol).ok
    assert p.outlets[-1].id not in {o.id for o in new_p.outlets}
    with (tmp_path / "missed.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted((r["outlet"], int(r["day"])) for r in rows) == sorted(missed)


def test_replan_cli_names_bad_events(tmp_path: Path) -> None:
    data = routes_instance(n_outlets=10, n_reps=1, weeks=1, seed=1)
    (tmp_path / "p.json").write_text(json.dumps(data), encoding="utf-8")
    plan = {"status": "feasible", "objective": 0, "routes": [], "totals": {
        "distance_km": 0, "travel_minutes": 0, "service_minutes": 0, "visits_required": 0, "visits_planned": 0}}
    (tmp_path / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    (tmp_path / "ev.json").write_text(json.dumps({"absences": {"R1": ["x"]}, "closd": []}), encoding="utf-8")
    res = CliRunner().invoke(app, ["replan", str(tmp_path / "p.json"), str(tmp_path / "plan.json"), "--events",
                                   str(tmp_path / "ev.json"), "-o", str(tmp_path / "new.json")])
    assert res.exit_code == 2
    assert "absences.R1[0]" in res.output and "closd" in res.output
    assert "Traceback" not in res.output
