"""Routing benchmark against published best-known solutions and peer solvers.

Solomon VRPTW (56 instances, 100 customers; distance-only BKS ``distonly_distance``) and Cordeau
PVRP (p01-p32, pr01-pr10; BKS from ``bks.csv``), read from ``shared_datasets()`` with
:mod:`optimizer.io.benchmarks`. Solvers, run one after the other with the same time limit:

* ``salesplan``: :func:`optimizer.routes.solve_routes` (may use both cores for day routing);
* ``ortools``: a plain OR-Tools VRPTW model (PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH), Solomon only;
* ``pyvrp``: PyVRP 0.14 on Solomon; on Cordeau a naive periodic baseline (greedy fixed patterns,
  then PyVRP per day);
* ``vroom``: VROOM via pyvroom (exploration level 5, one thread), Solomon only.

Every result is re-timed in double precision and judged by :func:`optimizer.routes.check.check_routes`;
"feasible" means no violation and every required visit planned. Distances are unrounded euclidean.

Usage::

    python benchmarks/routes_bks.py --subset --time-limit 20
    python benchmarks/routes_bks.py --time-limit 60                  # everything (hours)
    python benchmarks/routes_bks.py --instances R1,C101,pr01 --solvers salesplan,pyvrp
    # a long run split over several invocations: finished (instance, solver) pairs are kept in a store
    python benchmarks/routes_bks.py --instances solomon --store benchmarks/results/routes_bks_solomon_60.jsonl \
        --section routes_bks_solomon_60

With ``--store FILE`` every finished (instance, solver) result is appended to a JSON-lines file together with
its time limit, seed, git commit and date; a later invocation with the same store, time limit and seed
re-uses those results instead of solving again and reports everything the store holds for the selection.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import shlex
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baselines import PeerRoutes
from baselines.retime import to_solution
from results_md import machine, table, write_section

from optimizer.io.benchmarks import read_cordeau_pvrp, read_solomon
from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.paths import shared_datasets
from optimizer.routes.check import check_routes

SOLVERS = ("salesplan", "ortools", "pyvrp", "vroom")
SUBSET = [
    "C101", "C105", "C201", "C205", "R101", "R105", "R201", "R205", "RC101", "RC105", "RC201", "RC205",
    "p01", "p04", "p06", "p09", "p14", "p21", "pr01", "pr04",
]


@dataclass
class Instance:
    """One benchmark instance and its best-known distance."""

    name: str
    group: str
    fmt: str
    path: Path
    bks: float


@dataclass
class Result:
    """One solver on one instance."""

    instance: str
    group: str
    solver: str
    bks: float
    distance: float | None = None
    vehicles: int | None = None
    feasible: bool = False
    time_s: float = 0.0
    note: str = ""
    commit: str = ""
    date: str = ""

    @property
    def gap(self) -> float | None:
        """Gap to the BKS in percent (None without a feasible result)."""
        if self.distance is None or not self.feasible:
            return None
        return 100.0 * (self.distance - self.bks) / self.bks


def catalogue() -> list[Instance]:
    """Every Solomon and Cordeau instance with its BKS."""
    root = shared_datasets()
    out: list[Instance] = []
    sol = root / "solomon-vrptw"
    with (sol / "bks.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.append(Instance(row["instance"], row["group"], "solomon", sol / "instances" / f"{row['instance']}.txt",
                                float(row["distonly_distance"])))
    cor = root / "pvrp-cordeau"
    with (cor / "bks.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row["instance"]
            out.append(Instance(name, "pr" if name.startswith("pr") else "p", "cordeau-pvrp", cor / "instances" / name,
                                float(row["bks"])))
    return out


def select(cat: list[Instance], names: list[str]) -> list[Instance]:
    """Instances by name or group (C1, R2, RC1, solomon, cordeau, p, pr)."""
    picked: list[Instance] = []
    for token in names:
        t = token.strip()
        if not t:
            continue
        low = t.lower()
        hits = [i for i in cat if i.name.lower() == low or i.group.lower() == low
                or (low == "solomon" and i.fmt == "solomon") or (low == "cordeau" and i.fmt == "cordeau-pvrp")]
        if not hits:
            raise SystemExit(f"unknown instance or group {t!r}")
        picked += [h for h in hits if h not in picked]
    return picked


def run_salesplan(problem: RoutesProblem, time_limit: float, seed: int) -> RoutesSolution:
    """Our solver with its defaults (up to 2 day-routing workers)."""
    from optimizer.routes import solve_routes

    return solve_routes(problem, time_limit=time_limit, seed=seed)


def peer(name: str, fmt: str) -> Callable[..., PeerRoutes] | None:
    """The peer function of ``name`` for a format (None: not applicable)."""
    if name == "ortools" and fmt == "solomon":
        from baselines.ortools_vrptw import solve_ortools

        return solve_ortools
    if name == "vroom" and fmt == "solomon":
        from baselines.vroom_peer import solve_vroom

        return solve_vroom
    if name == "pyvrp":
        from baselines.pyvrp_peer import solve_pyvrp, solve_pyvrp_periodic

        return solve_pyvrp if fmt == "solomon" else solve_pyvrp_periodic
    return None


def run_one(inst: Instance, problem: RoutesProblem, solver: str, time_limit: float, seed: int) -> Result | None:
    """Solve, re-check and measure one (instance, solver) pair; None when the solver does not apply."""
    res = Result(inst.name, inst.group, solver, inst.bks)
    t0 = time.monotonic()
    try:
        if solver == "salesplan":
            sol = run_salesplan(problem, time_limit, seed)
        else:
            fn = peer(solver, inst.fmt)
            if fn is None:
                return None
            routes = fn(problem, time_limit=time_limit, seed=seed)
            res.time_s = time.monotonic() - t0
            sol = to_solution(problem, routes, runtime_s=res.time_s, solver=solver)
        res.time_s = time.monotonic() - t0
    except Exception as exc:  # a crashing peer is a result, not the end of the run
        res.time_s = time.monotonic() - t0
        res.note = f"error: {type(exc).__name__}: {exc}"[:120]
        traceback.print_exc()
        return res
    check = check_routes(problem, sol)
    assert check.totals is not None
    res.distance = check.totals.distance_km if sol.routes else None
    res.vehicles = len(sol.routes)
    missing = check.totals.visits_required - check.totals.visits_planned
    res.feasible = check.ok and missing == 0 and bool(sol.routes)
    if not sol.routes:
        res.note = "no solution"
    elif missing:
        res.note = f"{missing} visits unplanned"
    if check.violations:
        res.note = (res.note + "; " if res.note else "") + f"{len(check.violations)} violations: {check.violations[0]}"
        res.note = res.note[:160]
    return res


def git_commit() -> str:
    """Short commit of the working tree, with ``+dirty`` when it has uncommitted changes ('' outside git)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "optimizer", "benchmarks/baselines"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return head + ("+dirty" if dirty else "")


def load_store(path: Path, time_limit: float, seed: int) -> dict[tuple[str, str], Result]:
    """Results kept in a store for this time limit and seed, by (instance, solver); the last record wins."""
    out: dict[tuple[str, str], Result] = {}
    if not path.exists():
        return out
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.pop("time_limit") != time_limit or rec.pop("seed") != seed:
                continue
            out[(rec["instance"], rec["solver"])] = Result(**rec)
    return out


def append_store(path: Path, r: Result, time_limit: float, seed: int) -> None:
    """Append one finished result to the store."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rec = {**r.__dict__, "time_limit": time_limit, "seed": seed}
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec) + "\n")


def fmt_opt(v: float | None, digits: int = 2) -> str:
    """Number with thousands separators, ``-`` for None."""
    return "-" if v is None else f"{v:,.{digits}f}"


def report(results: list[Result], solvers: list[str], args: argparse.Namespace, command: str, done: bool) -> str:
    """Markdown section: setup, per-group summary, per-instance table."""
    groups = list(dict.fromkeys(r.group for r in results))
    summary_rows: list[list[object]] = []
    for scope in [*groups, "all Solomon", "all Cordeau"]:
        if scope == "all Solomon":
            sel = [r for r in results if not r.group.startswith("p")]
        elif scope == "all Cordeau":
            sel = [r for r in results if r.group.startswith("p")]
        else:
            sel = [r for r in results if r.group == scope]
        for s in solvers:
            rs = [r for r in sel if r.solver == s]
            if not rs:
                continue
            gaps = [g for r in rs if (g := r.gap) is not None]
            summary_rows.append([scope, s, len(rs), sum(r.feasible for r in rs),
                                 fmt_opt(statistics.mean(gaps) if gaps else None),
                                 fmt_opt(max(gaps) if gaps else None),
                                 fmt_opt(statistics.mean(r.time_s for r in rs), 1)])
    rows: list[list[object]] = [[r.instance, r.group, fmt_opt(r.bks), r.solver, fmt_opt(r.distance), fmt_opt(r.gap),
             "-" if r.vehicles is None else r.vehicles, "yes" if r.feasible else "NO", fmt_opt(r.time_s, 1),
             r.note.replace("|", "/")] for r in results]
    n_inst = len({r.instance for r in results})
    scope_txt = "the quick `--subset`" if args.subset else "the selected instances"
    provenance = ""
    if args.store:
        dates = sorted({r.date[:10] for r in results if r.date})
        commits = sorted({r.commit for r in results if r.commit})
        provenance = (f" Results accumulated in the store `{args.store}` over the dates {', '.join(dates)} "
                      f"(commits {', '.join(commits)}); within each invocation the solvers of an instance ran "
                      "back to back; each row's date and commit are in the store.")
    lines = [
        f"## {args.section}: Solomon VRPTW and Cordeau PVRP vs best-known and peers",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine()}  ",
        f"Time limit {args.time_limit:g} s per instance per solver, seed {args.seed}; {n_inst} instances "
        f"({scope_txt}){'' if done else ' - RUN INCOMPLETE, partial results'}. "
        "Solvers ran one after the other; salesplan may use both cores (day-routing workers), the peers "
        "use one thread. Every solution was re-timed in double precision and judged by the independent "
        "checker (`optimizer.routes.check`); distances are unrounded euclidean; gap = (distance - BKS) / BKS "
        "over feasible results only. BKS: Solomon `distonly_distance` (distance-only objective, any fleet "
        "size up to 25), Cordeau `bks.csv`. On Cordeau, `pyvrp` is a naive periodic baseline (greedy fixed "
        "patterns, then PyVRP per day); OR-Tools and VROOM are VRPTW-only and not run there." + provenance,
        "",
        "Full run (hours): `python benchmarks/routes_bks.py --time-limit 60`.",
        "",
        "### Summary",
        "",
        table(["group", "solver", "runs", "feasible", "mean gap %", "max gap %", "mean time s"], summary_rows),
        "",
        "### Per instance",
        "",
        table(["instance", "group", "BKS", "solver", "distance", "gap %", "routes", "feasible", "time s", "note"],
              rows),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance per solver (default 60)")
    ap.add_argument("--instances", default="", help="comma-separated names or groups (C1, R2, p, pr, solomon, ...)")
    ap.add_argument("--subset", action="store_true", help=f"quick representative subset: {', '.join(SUBSET)}")
    ap.add_argument("--solvers", default=",".join(SOLVERS), help=f"comma-separated, from {', '.join(SOLVERS)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true", help="print only; do not write RESULTS.md")
    ap.add_argument("--section", default="routes_bks", help="RESULTS.md section to write (default routes_bks)")
    ap.add_argument("--store", default="", help="JSON-lines file keeping finished results across invocations")
    ap.add_argument("--rerun", action="store_true", help="with --store: solve again what the store already holds")
    args = ap.parse_args(argv)
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    bad = [s for s in solvers if s not in SOLVERS]
    if bad:
        ap.error(f"unknown solver(s) {bad}; use {', '.join(SOLVERS)}")
    cat = catalogue()
    names = args.instances.split(",") if args.instances else []
    if args.subset:
        names = SUBSET + names
    insts = select(cat, names) if names else cat
    command = "python benchmarks/routes_bks.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))

    store = Path(args.store) if args.store else None
    kept = load_store(store, args.time_limit, args.seed) if store else {}
    commit, started = git_commit(), dt.datetime.now().isoformat(timespec="seconds")
    results: list[Result] = []
    print(f"{'instance':<8} {'solver':<10} {'distance':>10} {'BKS':>10} {'gap%':>7} {'routes':>6} feas  time")
    for inst in insts:
        problem = read_solomon(inst.path) if inst.fmt == "solomon" else read_cordeau_pvrp(inst.path)
        for s in solvers:
            old = kept.get((inst.name, s))
            if old is not None and not args.rerun:
                results.append(old)
                print(f"{inst.name:<8} {s:<10} (kept from the store: {old.date} {old.commit})", flush=True)
                continue
            r = run_one(inst, problem, s, args.time_limit, args.seed)
            if r is None:
                continue
            r.commit, r.date = commit, started
            if store is not None:
                append_store(store, r, args.time_limit, args.seed)
            results.append(r)
            print(f"{r.instance:<8} {r.solver:<10} {fmt_opt(r.distance):>10} {fmt_opt(r.bks):>10} "
                  f"{fmt_opt(r.gap):>7} {r.vehicles if r.vehicles is not None else '-':>6} "
                  f"{'yes' if r.feasible else 'NO ':<4} {r.time_s:5.1f} {r.note}", flush=True)
        if not args.no_write:
            write_section(args.section, report(results, solvers, args, command, done=inst is insts[-1]))
    md = report(results, solvers, args, command, done=True)
    print()
    print(md.split("### Per instance")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
