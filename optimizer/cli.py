"""The ``salesplan`` command.

Exit codes: 0 solved (feasible/optimal) or valid, 2 bad input, 3 infeasible or no solution,
1 internal error. Errors print every problem found, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from optimizer.errors import InfeasibleError, InputError, SalesplanError
from optimizer.progress import ProgressEvent

app = typer.Typer(
    help="salesplan: staffing, territories and weekly field routes for sales organisations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


class Kind(StrEnum):
    """Problem kinds."""

    routes = "routes"
    territories = "territories"
    staffing = "staffing"
    pipeline = "pipeline"


class Fmt(StrEnum):
    """Input formats of ``solve routes``."""

    json = "json"
    solomon = "solomon"
    cordeau_pvrp = "cordeau-pvrp"


def _fail(exc: BaseException) -> None:
    """Print an error the user can act on and exit with its code."""
    if isinstance(exc, InputError):
        err.print(f"[bold red]invalid input[/] {exc.source or ''}".rstrip())
        for e in exc.errors:  # one problem per line, never wrapped (paths stay greppable)
            err.print(Text.assemble(("  - ", "red"), str(e)), highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    if isinstance(exc, InfeasibleError):
        err.print(f"[bold red]infeasible:[/] {exc}", highlight=False)
        for d in exc.diagnosis:
            err.print(f"  - {d}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(3)
    if isinstance(exc, SalesplanError):
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(exc.exit_code)
    err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", highlight=False)
    err.print("Please report this with the input that caused it.")
    raise typer.Exit(1)


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:  # every error leaves as a message and an exit code
        _fail(exc)


def _load(kind: str, path: Path) -> BaseModel:
    from optimizer.model import parse

    return parse(kind, path, source=path.name)


@app.command()
def validate(
    kind: Annotated[Kind, typer.Argument(help="problem kind")],
    problem: Annotated[Path, typer.Argument(help="problem JSON file")],
) -> None:
    """Validate a problem file: exit 0 when valid, 2 with every problem listed when not."""

    def run() -> None:
        p = _load(kind.value, problem)
        out.print(f"[green]valid[/] {kind.value} problem{_describe(p)}")

    _guard(run)


def _describe(p: Any) -> str:
    parts = []
    for name in ("outlets", "reps", "units", "directions", "roles"):
        v = getattr(p, name, None)
        if isinstance(v, list):
            parts.append(f"{len(v)} {name}")
    return f": {', '.join(parts)}" if parts else ""


@app.command()
def schema(kind: Annotated[Kind, typer.Argument(help="problem kind")]) -> None:
    """Print the JSON Schema of a problem kind."""

    def run() -> None:
        from optimizer.model import json_schema

        sys.stdout.write(json.dumps(json_schema(kind.value), indent=2) + "\n")

    _guard(run)


class _Bar:
    """Rich progress bar fed by solver progress events (best objective so far)."""

    def __init__(self, time_limit: float | None) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.fields[stage]:<10}"),
            BarColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        )
        self.time_limit = time_limit
        self.task = self.progress.add_task("solve", total=1.0, stage="start", best="-")

    def __call__(self, ev: ProgressEvent) -> bool:
        frac = ev.fraction
        if frac is None and self.time_limit:
            frac = min(1.0, ev.elapsed / self.time_limit)
        best = "-" if ev.best is None else f"{ev.best:,.2f}"
        self.progress.update(self.task, completed=frac or 0.0, stage=ev.stage, best=best)
        return True


@app.command()
def solve(
    kind: Annotated[Kind, typer.Argument(help="problem kind")],
    problem: Annotated[Path, typer.Argument(help="problem file (JSON, or a benchmark format)")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the solution JSON here")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="seconds")] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    fmt: Annotated[Fmt, typer.Option("--format", help="input format (routes only)")] = Fmt.json,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Solve a problem and write its solution (exit 3 when no feasible solution was found)."""

    def run() -> None:
        from optimizer.solve import solve as do_solve

        if fmt is not Fmt.json:
            if kind is not Kind.routes:
                raise InputError([_item("--format", "benchmark formats are for routes only")])
            from optimizer.io.benchmarks import read_routes_benchmark

            p: BaseModel = read_routes_benchmark(problem, fmt.value)
        else:
            p = _load(kind.value, problem)
        limit = time_limit
        if limit is None:
            opts = getattr(p, "options", None)
            limit = getattr(opts, "time_limit_s", None)
        from optimizer.demo import StageBars

        bar: _Bar | StageBars | None = None
        if not quiet:
            # a pipeline runs three solvers one after the other: one bar per stage
            bar = StageBars(err) if kind is Kind.pipeline else _Bar(limit)
        if bar is not None:
            with bar.progress:
                sol = do_solve(kind.value, p, time_limit=time_limit, seed=seed, progress=bar)
        else:
            sol = do_solve(kind.value, p, time_limit=time_limit, seed=seed)
        text = sol.model_dump_json(indent=2, by_alias=True)
        if output is not None:
            output.write_text(text + "\n", encoding="utf-8")
        else:
            sys.stdout.write(text + "\n")
        status = getattr(sol, "status", "feasible")
        _summary(kind.value, sol, output)
        if status in ("infeasible", "no_solution"):
            raise typer.Exit(3)

    _guard(run)


def _item(path: str, msg: str) -> Any:
    from optimizer.errors import ErrorItem

    return ErrorItem(path, msg)


def _summary(kind: str, sol: Any, output: Path | None) -> None:
    t = Table(show_header=False, box=None)
    t.add_row("status", str(getattr(sol, "status", "?")))
    obj = getattr(sol, "objective", None)
    t.add_row("objective", "-" if obj is None else f"{obj:,.2f}")
    unassigned = getattr(sol, "unassigned", None)
    if unassigned is not None:
        t.add_row("unassigned", str(sum(u.missing_visits for u in unassigned)))
    if output is not None:
        t.add_row("written", str(output))
    err.print(t)


@app.command()
def replan(
    problem: Annotated[Path, typer.Argument(help="this week's routes problem (JSON)")],
    plan: Annotated[Path, typer.Argument(help="this week's routes solution (JSON)")],
    events: Annotated[
        Path | None, typer.Option("--events", help="JSON: checkins or missed, absences, added, closed outlets")
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="next week's plan (JSON)")] = Path("replan.json"),
    missed_csv: Annotated[Path | None, typer.Option("--missed-csv", help="missed-visit report (CSV)")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds")] = 30.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Next week's plan keeping as much of this week's as possible, and the missed-visit report."""

    def run() -> None:
        import csv

        from pydantic import ValidationError

        from optimizer.errors import InputError as _InputError
        from optimizer.model import errors_from_validation, load_json
        from optimizer.model.routes import RoutesProblem, RoutesSolution
        from optimizer.replan import ReplanEvents
        from optimizer.replan import replan as do_replan

        p = _load("routes", problem)
        assert isinstance(p, RoutesProblem)
        raw_plan = load_json(plan)
        raw_events = load_json(events) if events is not None else {}
        try:
            sol = RoutesSolution.model_validate(raw_plan)
        except ValidationError as exc:
            raise _InputError(errors_from_validation(exc, data=raw_plan), plan.name) from None
        try:
            ev = ReplanEvents.model_validate(raw_events)
        except ValidationError as exc:
            raise _InputError(errors_from_validation(exc, data=raw_events), events.name if events else None) from None
        bar = _Bar(time_limit)
        with bar.progress:
            res = do_replan(
                p, sol, checkins=ev.checkins, missed=ev.missed, absences=ev.absences, added=ev.added,
                closed=ev.closed, time_limit=time_limit, seed=seed, progress=bar,
            )
        output.write_text(res.model_dump_json(indent=2, by_alias=True) + "\n", encoding="utf-8")
        if missed_csv is not None:
            with missed_csv.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["outlet", "name", "address", "rep", "day", "day_name", "planned_arrival", "reason"])
                for m in res.missed:
                    w.writerow([m.outlet, m.name, m.address, m.rep, m.day, m.day_name, m.planned_arrival, m.reason])
        t = res.solution.totals
        err.print(
            f"kept {res.kept_visits} visits, moved {len(res.moved)} outlets, {len(res.unplaced)} unplaced, "
            f"{len(res.missed)} missed visits to follow up; {t.visits_planned}/{t.visits_required} planned -> {output}"
        )
        if res.solution.status in ("infeasible", "no_solution"):
            raise typer.Exit(3)

    _guard(run)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="where to write the outputs")] = Path("demo-output"),
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="seconds per stage")] = None,
) -> None:
    """Run the main job on the embedded demo data and write its outputs to ``--out``."""

    def run() -> None:
        from optimizer.demo import run_demo

        run_demo(out_dir, console=out, time_limit=time_limit)

    _guard(run)


@app.command()
def generate(
    kind: Annotated[str, typer.Argument(help="routes | territories | staffing | demo")],
    output: Annotated[Path, typer.Option("-o", "--output", help="file (or folder for demo)")],
    outlets: Annotated[int, typer.Option(help="outlets / units")] = 400,
    reps: Annotated[int, typer.Option(help="reps / territories")] = 6,
    weeks: Annotated[int, typer.Option(help="horizon weeks (routes)")] = 1,
    layout: Annotated[str, typer.Option(help="city | region")] = "city",
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Generate a realistic instance (deterministic per seed)."""

    def run() -> None:
        from optimizer.datagen import write

        written = write(kind, output, n=outlets, reps=reps, weeks=weeks, layout=layout, seed=seed)
        for w in written:
            out.print(f"wrote {w}")

    _guard(run)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int | None, typer.Option(
        help="HTTP server processes (default SALESPLAN_SERVER_WORKERS, 1); with more, a supervisor runs the one "
             "dispatcher")] = None,
) -> None:
    """Start the jobs API (settings from SALESPLAN_* environment variables)."""

    def run() -> None:
        from api.main import serve as run_server

        run_server(host=host, port=port, workers=workers)

    _guard(run)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    ctx: typer.Context,
    suite: Annotated[str, typer.Argument(help="benchmark suite, e.g. routes-bks, territories, staffing-scenarios")],
) -> None:
    """Run a benchmark suite from ``benchmarks/`` (extra arguments are passed on)."""

    def run() -> None:
        from optimizer.benchrun import run_suite

        raise typer.Exit(run_suite(suite, list(ctx.args)))

    _guard(run)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
