"""How the routes solver scales on generated field-sales instances.

Instances come from :func:`optimizer.datagen.routes_instance` (clustered city outlets, A/B/C/D
visit frequencies, opening hours incl. lunch closures, lunch breaks, pinned key accounts, optional
prospects), sized to about ``--visits`` required visits per horizon with one rep per
``--visits-per-rep-day`` x working days. Each size runs in a fresh child process, which records:

* time to the first feasible plan (first progress event carrying a best objective),
* the objective after the limit, visits left unassigned, and the checker's verdict,
* peak memory: ``ru_maxrss`` of the child (and separately of its worker processes).

Usage::

    python benchmarks/routes_scale.py --sizes 500,2000,10000 --time-limit 60
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results_md import machine, table, write_section

from optimizer.datagen import routes_instance
from optimizer.model import parse
from optimizer.model.routes import RoutesProblem
from optimizer.progress import ProgressEvent
from optimizer.routes.check import check_routes


def sized_instance(visits: int, weeks: int, per_rep_day: int, seed: int) -> dict[str, Any]:
    """Instance data with about ``visits`` required visits per horizon."""

    def required(d: dict[str, Any]) -> int:
        return sum(o["visits"] for o in d["outlets"] if not o.get("optional"))

    def reps_for(v: int) -> int:
        return max(1, math.ceil(v / (per_rep_day * 5 * weeks)))

    n = visits
    data = routes_instance(n_outlets=n, n_reps=reps_for(visits), weeks=weeks, seed=seed)
    for _ in range(2):  # visits per outlet depend on the segment mix: rescale the outlet count
        n = max(10, round(n * visits / max(1, required(data))))
        data = routes_instance(n_outlets=n, n_reps=reps_for(visits), weeks=weeks, seed=seed)
    return data


def child(visits: int, weeks: int, per_rep_day: int, time_limit: float, seed: int) -> dict[str, Any]:
    """Generate, solve and check one size; runs inside its own process."""
    from optimizer.routes import solve_routes

    t0 = time.monotonic()
    data = sized_instance(visits, weeks, per_rep_day, seed)
    problem = parse("routes", data)
    assert isinstance(problem, RoutesProblem)
    t_gen = time.monotonic() - t0
    first: list[tuple[float, float]] = []
    events: list[tuple[float, float | None, str]] = []

    def progress(ev: ProgressEvent) -> bool:
        events.append((ev.elapsed, ev.best, ev.stage))
        if ev.best is not None and not first:
            first.append((ev.elapsed, ev.best))
        return True

    t1 = time.monotonic()
    sol = solve_routes(problem, time_limit=time_limit, seed=seed, progress=progress)
    t_solve = time.monotonic() - t1
    t2 = time.monotonic()
    check = check_routes(problem, sol)
    t_check = time.monotonic() - t2
    assert check.totals is not None
    kib = 1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0
    return {
        "visits": visits,
        "outlets": len(problem.outlets),
        "reps": len(problem.reps),
        "weeks": weeks,
        "required_visits": check.totals.visits_required,
        "gen_s": t_gen,
        "first_feasible_s": first[0][0] if first else None,
        "first_objective": first[0][1] if first else None,
        "solve_s": t_solve,
        "status": sol.status,
        "objective": sol.objective,
        "objective_checked": check.objective,
        "unassigned": check.totals.visits_required - check.totals.visits_planned,
        "violations": len(check.violations),
        "first_violation": check.violations[0] if check.violations else "",
        "check_s": t_check,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib,
        "workers_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib,
        "events": len(events),
    }


def run_size(args: argparse.Namespace, visits: int) -> dict[str, Any]:
    """Run one size in a child process (fresh memory accounting); a crash or timeout is recorded."""
    cmd = [sys.executable, __file__, "--child", str(visits), "--time-limit", str(args.time_limit),
           "--weeks", str(args.weeks), "--visits-per-rep-day", str(args.visits_per_rep_day), "--seed", str(args.seed)]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.time_limit * 3 + 600, check=False)
    except subprocess.TimeoutExpired:
        return {"visits": visits, "error": f"child timed out after {time.monotonic() - t0:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"visits": visits, "error": f"exit {proc.returncode}: {tail}"[:200]}
    out: dict[str, Any] = json.loads(lines[-1])
    out["wall_s"] = time.monotonic() - t0
    return out


def fmt(v: Any, digits: int = 1) -> str:
    """Table cell: floats rounded, ``-`` for None."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def report(rows: list[dict[str, Any]], args: argparse.Namespace, command: str) -> str:
    """Markdown section."""
    body: list[list[object]] = []
    for r in rows:
        if "error" in r:
            body.append([r["visits"], "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", r["error"]])
            continue
        ok = "yes" if r["violations"] == 0 else f"NO ({r['violations']}: {r['first_violation'][:60]})"
        body.append([r["required_visits"], r["outlets"], r["reps"], fmt(r["first_feasible_s"]),
                     fmt(r.get("first_objective")), fmt(r["solve_s"]),
                     r["status"], fmt(r["objective"]), r["unassigned"], ok, fmt(r["rss_mb"], 0),
                     fmt(r["workers_rss_mb"], 0)])
    return "\n".join([
        f"## {args.section}: generated field-sales instances",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine()}  ",
        f"Time limit {args.time_limit:g} s per size, seed {args.seed}, {args.weeks}-week horizon (Mon-Fri), "
        f"about {args.visits_per_rep_day} visits per rep-day; instances from `optimizer.datagen.routes_instance` "
        "(city layout, haversine at 30 km/h with detour 1.3, lunch breaks, opening hours, pinned key accounts, "
        "optional prospects). Each size ran in its own process; the solver may use both cores. "
        "'first feasible' = elapsed time of the first progress event carrying a best objective; "
        "'checked' = the independent checker found no violation; objective = travel + waiting minutes "
        "minus prospect value. Peak RSS of the solving process and, separately, of its largest worker.",
        "",
        table(["required visits", "outlets", "reps", "first feasible s", "first objective", "solve s", "status",
               "objective (min)", "unassigned visits", "checked", "peak RSS MB", "worker peak RSS MB"], body),
    ])


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="500,2000,10000", help="required visits per horizon, comma-separated")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per size (default 60)")
    ap.add_argument("--weeks", type=int, default=1, help="horizon weeks (1-4)")
    ap.add_argument("--visits-per-rep-day", type=int, default=14, help="sizes the rep count")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true", help="print only; do not write RESULTS.md")
    ap.add_argument("--section", default="routes_scale", help="RESULTS.md section to write (default routes_scale)")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.weeks, args.visits_per_rep_day, args.time_limit, args.seed)))
        return 0
    command = "python benchmarks/routes_scale.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    rows: list[dict[str, Any]] = []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        r = run_size(args, size)
        rows.append(r)
        print(json.dumps(r), flush=True)
        if not args.no_write:
            write_section(args.section, report(rows, args, command))
    print(report(rows, args, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
