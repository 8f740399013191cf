"""Pipeline end to end on a small instance: links consistent, plan checked, reports match."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from optimizer.datagen import routes_instance
from optimizer.errors import InputError
from optimizer.model import parse
from optimizer.model.pipeline import PipelineProblem
from optimizer.pipeline import routes_problem_of, solve_pipeline
from optimizer.report import write_reports
from optimizer.routes.check import check_routes


def _problem(**extra: object) -> PipelineProblem:
    d = routes_instance(n_outlets=60, n_reps=2, weeks=1, layout="city", seed=5)
    outlets = [{k: v for k, v in o.items() if k != "rep"} for o in d["outlets"]]
    data = {"name": "small", "horizon": d["horizon"], "outlets": outlets, "travel": d["travel"],
            "rep_defaults": {"shift": d["reps"][0]["shift"]}, "workers": 1, **extra}
    p = parse("pipeline", data)
    assert isinstance(p, PipelineProblem)
    return p


def test_pipeline_without_reps_creates_them_and_links_everything(tmp_path: Path) -> None:
    p = _problem(overrides={"headcount": 2})
    sol = solve_pipeline(p, time_limit=8.0, seed=0)
    assert sol.headcount == 2 and sol.headcount_source == "override"
    assert sorted(r.id for r in sol.reps) == ["NEW1", "NEW2"] and all(link.created for link in sol.links)
    owners = Counter(o for link in sol.links for o in link.outlets)
    assert set(owners) == {o.id for o in p.outlets} and max(owners.values()) == 1
    rp = routes_problem_of(p, sol)
    chk = check_routes(rp, sol.routes)
    assert chk.ok, chk.violations[:5]
    terr_of_rep = {link.rep: set(link.outlets) for link in sol.links}
    for r in sol.routes.routes:
        assert {s.outlet for s in r.stops} <= terr_of_rep[r.rep]
    out = write_reports(rp, sol.routes, tmp_path, territories=sol.territories,
                        rep_of_territory={link.territory: link.rep for link in sol.links})
    assert out["map (PNG)"].stat().st_size > 0


def test_fixed_territories_override_is_respected() -> None:
    p0 = _problem(overrides={"headcount": 2})
    fixed = {o.id: ("A" if o.location.lon is not None and o.location.lon < 0 else "B") for o in p0.outlets}
    fixed[p0.outlets[0].id] = "A"
    fixed[p0.outlets[1].id] = "B"
    p = _problem(overrides={"territories": fixed})
    sol = solve_pipeline(p, time_limit=6.0, seed=0)
    assert sol.territories.assignment == fixed
    assert sol.stages["territories"].source == "override"


def test_bad_overrides_are_all_reported() -> None:
    with pytest.raises(InputError) as ei:
        _problem(overrides={"headcount": 3, "territories": {"nope": "A"}})
    paths = {e.path for e in ei.value.errors}
    assert {"overrides.territories.nope", "overrides.territories", "overrides.headcount"} <= paths


def test_idle_field_force_is_reported() -> None:
    """The demo's revenue plan sizes more reps than its outlets' visit policy keeps busy: the planner is told."""
    from optimizer.paths import DEMO_DIR
    from optimizer.pipeline import _field_force, outlet_workload_hours, rep_minutes_per_week
    from optimizer.progress import Reporter

    p = parse("pipeline", (DEMO_DIR / "pipeline.json").read_text(encoding="utf-8"))
    assert isinstance(p, PipelineProblem)
    warnings: list[str] = []
    count, source, _sol, stats = _field_force(p, 10.0, 0, Reporter(None, time_limit=10.0), warnings)
    hours = sum(outlet_workload_hours(p).values())
    busy = hours * 60.0 / (count * rep_minutes_per_week(p, p.reps[0] if p.reps else None))
    assert source == "staffing" and busy < 0.75
    assert stats.details["expected_utilisation"] == pytest.approx(busy, abs=1e-3)
    assert any("keeps only about" in w and f"{busy:.0%}" in w for w in warnings), warnings
