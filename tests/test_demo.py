"""``salesplan demo`` end to end: every file it writes agrees with the plan it reports."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook
from rich.console import Console

from optimizer.demo import run_demo
from optimizer.model import parse
from optimizer.model.pipeline import PipelineProblem, PipelineSolution
from optimizer.paths import DEMO_DIR
from optimizer.pipeline import routes_problem_of
from optimizer.routes.check import check_routes


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PipelineProblem, PipelineSolution, str]:
    out = tmp_path_factory.mktemp("demo")
    buf = io.StringIO()
    run_demo(out, console=Console(file=buf, width=120), time_limit=25)
    problem = parse("pipeline", DEMO_DIR / "pipeline.json")
    assert isinstance(problem, PipelineProblem)
    sol = PipelineSolution.model_validate_json((out / "solution.json").read_text(encoding="utf-8"))
    return out, problem, sol, buf.getvalue()


def test_demo_plan_is_feasible_and_complete(demo: tuple[Path, PipelineProblem, PipelineSolution, str]) -> None:
    out, problem, sol, printed = demo
    rp = routes_problem_of(problem, sol)
    report = check_routes(rp, sol.routes)
    assert report.ok, report.violations[:5]
    assert report.totals.visits_planned == sol.routes.totals.visits_planned
    assert report.totals.distance_km == pytest.approx(sol.routes.totals.distance_km, rel=1e-6)
    # every outlet is in exactly one territory, and every territory has a rep
    assert set(sol.territories.assignment) == {o.id for o in problem.outlets}
    assert {link.territory for link in sol.links} == {t.id for t in sol.territories.territories}
    assert str(out / "summary.md") in printed.replace("\n", "")


def test_demo_sheets_hold_every_planned_visit_once(demo: tuple[Path, PipelineProblem, PipelineSolution, str]) -> None:
    out, _, sol, _ = demo
    planned = Counter((r.rep, r.day, s.outlet) for r in sol.routes.routes for s in r.stops)
    rows = []
    for f in sorted((out / "route_sheets").glob("*.csv")):
        if f.name == "days.csv":
            continue
        with f.open(encoding="utf-8") as fh:
            rows += list(csv.DictReader(fh))
    seen = Counter((r["rep"], int(r["day"]), r["outlet"]) for r in rows)
    assert seen == planned
    km = sum(float(r["km_from_previous"]) for r in rows)
    with (out / "route_sheets" / "days.csv").open(encoding="utf-8") as fh:
        days = list(csv.DictReader(fh))
    km += sum(float(d["return_km"]) for d in days)
    assert km == pytest.approx(sol.routes.totals.distance_km, abs=0.01 * len(rows) + 0.1)
    wb = load_workbook(out / "route_sheets.xlsx", read_only=True)
    reps = {r.rep for r in sol.routes.routes}
    xl_rows = sum(max(0, (ws.max_row or 1) - 1) for ws in wb.worksheets if ws.title in reps)
    assert xl_rows == sum(planned.values())


def test_demo_maps_geojson_and_summary(demo: tuple[Path, PipelineProblem, PipelineSolution, str]) -> None:
    out, _, sol, _ = demo
    gj = json.loads((out / "plan.geojson").read_text(encoding="utf-8"))
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) >= len(sol.routes.routes)
    png = (out / "map.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert "leaflet" in (out / "map.html").read_text(encoding="utf-8").lower()
    summary = (out / "summary.md").read_text(encoding="utf-8")
    t = sol.routes.totals
    assert f"{t.visits_planned} / {t.visits_required}" in summary
