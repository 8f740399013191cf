"""``salesplan demo``: the full pipeline on the embedded demo data, with its outputs written to a folder.

The input is ``datasets/demo/pipeline.json``: the demo city's 440 outlets (from
``datasets/demo/routes.json``, potential = yearly revenue), its 6 reps and a field-sales plan
(director -> supervisors -> field reps producing visits -> orders). Staffing sizes the field force,
territories split the outlets, routes plan each rep's week; then route sheets (CSV + Excel),
GeoJSON, an HTML and a PNG map and a one-page summary are written to ``out_dir``.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from optimizer.model import parse
from optimizer.model.pipeline import PipelineProblem
from optimizer.paths import DEMO_DIR
from optimizer.progress import ProgressEvent

#: Whole-pipeline seconds when ``--time-limit`` is not given (the demo must finish well under 3 minutes).
DEMO_TIME_LIMIT = 75.0


class StageBars:
    """Rich progress bars, one per pipeline stage, fed by pipeline progress events."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description:<12}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[message]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {
            s: self.progress.add_task(s, total=1.0, message="", start=False)
            for s in ("staffing", "territories", "routes")
        }

    def __call__(self, ev: ProgressEvent) -> bool:
        task = self.tasks.get(ev.stage)
        if task is None:
            return True
        self.progress.start_task(task)
        best = "" if ev.best is None else f"best {ev.best:,.2f}  "
        self.progress.update(task, completed=min(1.0, ev.fraction or 0.0), message=(best + ev.message)[:60])
        return True


def run_demo(out_dir: Path, *, console: Console, time_limit: float | None = None) -> dict[str, Path]:
    """Run the pipeline on the demo data and write every output into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder for the outputs (created when missing).
    console
        Where to print progress and the table of outputs.
    time_limit
        Seconds for the whole pipeline (default :data:`DEMO_TIME_LIMIT`).

    Returns
    -------
    dict
        Output label -> path.
    """
    from optimizer.pipeline import routes_problem_of, solve_pipeline
    from optimizer.report import write_reports

    path = DEMO_DIR / "pipeline.json"
    problem = parse("pipeline", path, source=path.name)
    assert isinstance(problem, PipelineProblem)
    limit = time_limit if time_limit is not None else DEMO_TIME_LIMIT
    console.print(f"[bold]salesplan demo[/]: {len(problem.outlets)} outlets, {len(problem.reps or [])} reps given, "
                  f"time limit {limit:.0f} s")
    bars = StageBars(console)
    with bars.progress:
        sol = solve_pipeline(problem, time_limit=limit, seed=problem.options.seed, progress=bars)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "solution.json").write_text(sol.model_dump_json(indent=1, by_alias=True) + "\n", encoding="utf-8")
    rp = routes_problem_of(problem, sol)
    facts = [("field reps", f"{sol.headcount} (from {sol.headcount_source})")]
    if sol.staffing is not None:
        facts.append(("staffing cost", f"{sol.staffing.cost:,.0f} over the plan horizon"))
    facts.append(("runtime", f"{sol.stats.get('runtime_s', 0):.1f} s"))
    written = write_reports(
        rp, sol.routes, out_dir, territories=sol.territories,
        rep_of_territory={link.territory: link.rep for link in sol.links},
        title=problem.name, facts=facts, notes=sol.warnings,
    )
    written = {"solution (JSON)": out_dir / "solution.json", **written}
    t = Table(title="demo outputs")
    t.add_column("output")
    t.add_column("where")
    for label, p in written.items():
        t.add_row(label, str(p))
    console.print(t)
    tot = sol.routes.totals
    console.print(f"status [bold]{sol.status}[/]: {sol.headcount} reps, {tot.visits_planned}/{tot.visits_required} "
                  f"visits planned, {tot.distance_km:,.0f} km, {len(sol.warnings)} warnings")
    return written
