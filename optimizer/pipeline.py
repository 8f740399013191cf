"""Plan -> staffing -> territories -> routes, as one job (problem kind ``pipeline``).

Stages (semantics of the input in :mod:`optimizer.model.pipeline`):

1. **Field force.** ``overrides.headcount`` if given; else the staffing solution's headcount of the
   field role (summed over directions) in ``field_month`` (default the last month); else the
   number of given reps. With ``cover_workload`` the count is raised to what the outlets' workload
   needs (:func:`optimizer.staffing.size_field_force`: weekly workload / rep minutes per week at
   ``max_utilisation``), so the routes stage is not handed an impossible week.
2. **Territories.** Units = outlets with workload ``visits per week x (service + travel estimate)``
   hours, the travel estimate being the mean minutes to the two nearest outlets (a tour visits
   neighbours). Centres are the reps' homes when as many reps as territories are given; otherwise
   the solver places them and reps are matched to territories by least total home-to-centre
   distance (Hungarian); missing reps are created at the territory centre with ``rep_defaults``.
   ``overrides.territories`` fixes the assignment (totals are recomputed, nothing is solved).
   Territories are contiguous on the outlets' Delaunay graph (they do not cross each other).
   Outlets pinned to a rep are locked units of that rep's territory inside the solve: with solver-placed
   centres, a first solve places the centres, the given reps are matched to them (home and pinned outlets
   near the centre) and a fixed-centre solve plans around the locked pins, so only a pin can stretch or
   split its territory. Pins are never moved into a finished plan (a leftover move is a safety net only).
3. **Routes.** One routes problem per territory (its outlets, its rep), solved in parallel in
   ``workers`` processes; each gets ``routes budget x workers / territories`` seconds.

The result holds every stage's output, the reps used (given and created), the links rep ->
territory -> outlets and route days, per-stage statistics and warnings.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from optimizer.errors import InternalError
from optimizer.model.common import Location
from optimizer.model.pipeline import (
    Link,
    PipelineProblem,
    PipelineSolution,
    StageStats,
    field_role_of,
)
from optimizer.model.routes import Outlet, Rep, RoutesProblem, RoutesSolution, RoutesTotals, Unassigned
from optimizer.model.staffing import StaffingSolution
from optimizer.model.territories import (
    TerritoriesProblem,
    TerritoriesSolution,
    Territory,
    TerritoryMetrics,
    TerritorySummary,
    Unit,
)
from optimizer.progress import ProgressCallback, ProgressEvent, Reporter
from optimizer.travel import TravelModel, pairwise_km

DEFAULT_TIME_LIMIT = 120.0
#: Share of a rep's available minutes the workload-based sizing plans for.
MAX_UTILISATION = 0.85
_STAGES = ("staffing", "territories", "routes")
#: Route in this process when one worker is asked for (no pool start-up cost). This needs highspy
#: pinned to the HiGHS release OR-Tools bundles (see tests/test_native_libs.py).
ROUTE_IN_PROCESS = True


# --------------------------------------------------------------------------------------------
# helpers shared with the reports and re-planning
# --------------------------------------------------------------------------------------------


def travel_estimate_minutes(problem: PipelineProblem, k: int = 2) -> np.ndarray:
    """Per outlet, the mean travel minutes to its ``k`` nearest other outlets."""
    n = len(problem.outlets)
    if n < 2:
        return np.zeros(n)
    tm = TravelModel.for_points([o.location for o in problem.outlets], problem.travel)
    k = min(k, n - 1)
    out = np.empty(n)
    step = 512  # rows at a time: no n x n matrix for large instances
    for a in range(0, n, step):
        rows = np.arange(a, min(n, a + step))
        block = tm.block_minutes(rows, np.arange(n))
        block[np.arange(len(rows)), rows] = np.inf
        out[rows] = np.sort(np.partition(block, k - 1, axis=1)[:, :k], axis=1).mean(axis=1)
    return out


def outlet_workload_hours(problem: PipelineProblem) -> dict[str, float]:
    """Weekly workload of every outlet in hours: visits per week x (service + travel estimate)."""
    travel = travel_estimate_minutes(problem)
    weeks = problem.horizon.weeks
    return {
        o.id: (o.visits / weeks) * (o.service_minutes + float(travel[i])) / 60.0
        for i, o in enumerate(problem.outlets)
    }


def rep_minutes_per_week(problem: PipelineProblem, rep: Rep | None = None) -> float:
    """Minutes a rep can spend on visits and travel in a week (shift minus break, per working day)."""
    if rep is None:
        d = problem.rep_defaults
        brk = d.break_.minutes if d.break_ is not None else 0.0
        day = d.shift.end - d.shift.start - brk
        if d.max_route_minutes is not None:
            day = min(day, d.max_route_minutes)
        return day * len(problem.horizon.days)
    brk = rep.break_.minutes if rep.break_ is not None else 0.0
    day = rep.shift.end - rep.shift.start - brk
    if rep.max_route_minutes is not None:
        day = min(day, rep.max_route_minutes)
    per_week = float(len(problem.horizon.days))
    if rep.days is not None:
        per_week = len(_rep_days(problem, rep)) / problem.horizon.weeks
    return day * per_week


def _rep_days(problem: PipelineProblem, rep: Rep) -> list[int]:
    rp = RoutesProblem.model_construct(horizon=problem.horizon, reps=[], outlets=[])
    return RoutesProblem.rep_days(rp, rep)


def routes_problem_of(problem: PipelineProblem, solution: PipelineSolution) -> RoutesProblem:
    """The combined routes problem the pipeline's plan answers: every rep, every outlet pinned to its rep.

    Used by the reports and by re-planning; ``potential`` is dropped from the outlets.
    """
    rep_of = {link.territory: link.rep for link in solution.links}
    terr = solution.territories.assignment
    outlets = []
    for o in problem.outlets:
        data = o.model_dump(by_alias=True, exclude={"potential"})
        data["rep"] = rep_of.get(terr.get(o.id, ""), o.rep)
        outlets.append(data)
    from optimizer.model import parse

    rp = parse("routes", {
        "name": problem.name,
        "horizon": problem.horizon.model_dump(),
        "objective": problem.objective,
        "reps": [r.model_dump(by_alias=True, exclude_none=True) for r in solution.reps],
        "outlets": outlets,
        "travel": problem.travel.model_dump(exclude_none=True),
        "options": problem.options.model_dump(exclude_none=True),
    })
    assert isinstance(rp, RoutesProblem)
    return rp


# --------------------------------------------------------------------------------------------
# stage 1: field force
# --------------------------------------------------------------------------------------------


def _field_force(
    problem: PipelineProblem, time_limit: float, seed: int, rep: Reporter, warnings: list[str]
) -> tuple[int, str, StaffingSolution | None, StageStats]:
    t0 = time.monotonic()
    staffing_sol: StaffingSolution | None = None
    details: dict[str, Any] = {}
    if problem.staffing is not None:
        from optimizer.staffing import solve_staffing

        def fwd(ev: ProgressEvent) -> bool:
            return rep.update("staffing", fraction=ev.fraction, message=ev.stage)

        staffing_sol = solve_staffing(problem.staffing, time_limit=max(1.0, time_limit), seed=seed, progress=fwd)
        details["staffing_status"] = staffing_sol.status
    count: int | None = None
    source = "reps"
    if problem.overrides.headcount is not None:
        count, source = problem.overrides.headcount, "override"
    elif problem.overrides.territories is not None:
        count, source = len(set(problem.overrides.territories.values())), "override"
    elif staffing_sol is not None and staffing_sol.status in ("optimal", "feasible"):
        assert problem.staffing is not None
        role = field_role_of(problem)
        rows = [r for r in staffing_sol.headcount if r.role == role]
        month = problem.field_month if problem.field_month is not None else max((r.month for r in rows), default=0)
        n = sum(r.count for r in rows if r.month == month)
        details.update(field_role=role, field_month=month, staffing_count=n)
        count, source = max(1, int(n)), "staffing"
        if n < 1:
            warnings.append(f"staffing plans no {role} in month {month}; one rep is used")
    elif problem.reps:
        count = len(problem.reps)
        if staffing_sol is not None:
            warnings.append(f"staffing found no solution ({staffing_sol.status}); the {count} given reps are used")
    if count is None:
        raise InternalError("no field-force size: the staffing problem has no solution and no reps are given")

    # workload cover
    load = outlet_workload_hours(problem)
    from optimizer.staffing import size_field_force

    per_rep = rep_minutes_per_week(problem, problem.reps[0] if problem.reps else None)
    ff = size_field_force(sum(load.values()) * 60.0, per_rep, 8.0, max_utilisation=MAX_UTILISATION)
    details.update(workload_hours_per_week=round(sum(load.values()), 2), workload_reps=ff.reps,
                   rep_minutes_per_week=per_rep)
    if source != "override" and problem.cover_workload and ff.reps > count:
        warnings.append(f"{source} gives {count} field reps but the outlets' workload needs {ff.reps} "
                        f"at {MAX_UTILISATION:.0%} utilisation; using {ff.reps}")
        count = ff.reps
        details["raised_to_cover_workload"] = True
    elif ff.reps > count:
        warnings.append(f"{count} field reps for a workload that needs about {ff.reps}: expect unplanned visits")
    elif count > ff.reps and per_rep > 0:
        # the revenue plan asks for more reps than the outlets' visit policy keeps busy: say so, the planner
        # either raises visit frequencies (the plan's visit volume) or accepts idle capacity
        busy = sum(load.values()) * 60.0 / (count * per_rep)
        details["expected_utilisation"] = round(busy, 3)
        if busy < 0.75:
            warnings.append(f"{source} gives {count} field reps but the outlets' visit policy keeps only about "
                            f"{ff.reps} busy (expected utilisation {busy:.0%}): raise visit frequencies to deliver "
                            "the plan's visit volume, or set overrides.headcount")
    count = min(count, len(problem.outlets))
    stats = StageStats(status=staffing_sol.status if staffing_sol else "skipped",
                       runtime_s=round(time.monotonic() - t0, 3), source=source, details=details)
    return count, source, staffing_sol, stats


# --------------------------------------------------------------------------------------------
# stage 2: territories
# --------------------------------------------------------------------------------------------


def _choose_reps(problem: PipelineProblem, count: int, warnings: list[str]) -> list[Rep] | None:
    """The given reps that get a territory when there are at least ``count`` of them (pinned ones first)."""
    reps = problem.reps or []
    if len(reps) < count:
        return None
    if len(reps) == count:
        return list(reps)
    pinned = {o.rep for o in problem.outlets if o.rep is not None}
    order = sorted(range(len(reps)), key=lambda i: (reps[i].id not in pinned, i))
    keep = sorted(order[:count])
    dropped = [reps[i].id for i in order[count:]]
    warnings.append(f"{len(reps)} reps given but {count} are needed; without a territory: {', '.join(dropped)}")
    return [reps[i] for i in keep]


def _summaries(
    problem: PipelineProblem, assignment: dict[str, str], load: dict[str, float], centres: dict[str, Location]
) -> TerritoriesSolution:
    """Totals and metrics of a fixed assignment (overrides), recomputed like the territories solver does."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, o in enumerate(problem.outlets):
        members[assignment[o.id]].append(i)
    sums = []
    geo = problem.travel.metric == "haversine"
    metric = "haversine" if geo else "euclidean"
    coords = np.array([o.location.coords() for o in problem.outlets])
    total_disp = 0.0
    for t in sorted(members):
        idx = members[t]
        c = centres[t]
        km = pairwise_km(coords[idx], np.array([c.coords()]), metric)[:, 0]  # type: ignore[arg-type]
        if geo:
            km = km * problem.travel.detour
        w = np.array([load[problem.outlets[i].id] for i in idx])
        disp = float(np.sum(w * km))
        total_disp += disp
        sums.append(TerritorySummary(id=t, center=c, units=len(idx), workload=float(w.sum()),
                                     potential=float(sum(problem.outlets[i].potential for i in idx)),
                                     dispersion=disp, diameter_km=float(km.max() * 2) if len(km) else 0.0))

    def dev(vals: list[float]) -> float:
        m = sum(vals) / len(vals)
        return max(abs(v - m) for v in vals) / m if m > 0 else 0.0

    metrics = TerritoryMetrics(
        workload_max_dev=dev([s.workload for s in sums]), potential_max_dev=dev([s.potential for s in sums]),
        units_max_dev=dev([float(s.units) for s in sums]), dispersion=total_disp,
    )
    return TerritoriesSolution(status="feasible", objective=total_disp, assignment=dict(assignment), territories=sums,
                               metrics=metrics, stats={"source": "override"})


def _medoid(problem: PipelineProblem, idx: list[int]) -> Location:
    coords = np.array([problem.outlets[i].location.coords() for i in idx])
    metric = "haversine" if problem.travel.metric == "haversine" else "euclidean"
    d = pairwise_km(coords, coords, metric)  # type: ignore[arg-type]
    return problem.outlets[idx[int(np.argmin(d.sum(axis=1)))]].location


def _pin_territories(
    problem: PipelineProblem,
    free: TerritoriesSolution,
    pins: dict[str, list[Location]],
    count: int,
    solve: Any,
    time_limit: float,
) -> TerritoriesSolution:
    """Re-solve ``free``'s territories with its centres fixed and the pinned outlets locked.

    Given reps are matched to the free territories by least (home + pinned outlets) to centre km;
    a matched territory takes the rep's id so its pins are locked units in it; the rest keep ids
    ``T<k>`` (new reps are created there). The solver plans the balance and compactness around the pins
    instead of the pins being moved into a finished plan.
    """
    reps = list(problem.reps or [])
    metric = "haversine" if problem.travel.metric == "haversine" else "euclidean"
    centres = [t.center for t in free.territories]
    if any(c is None for c in centres) or not reps:
        return free
    cxy = np.array([c.coords() for c in centres if c is not None])
    cost = np.zeros((len(reps), len(cxy)))
    for i, r in enumerate(reps):
        pts = np.array([r.start.coords()] + [p.coords() for p in pins.get(r.id, [])])
        cost[i] = pairwise_km(pts, cxy, metric).sum(axis=0)  # type: ignore[arg-type]
    rows, cols = linear_sum_assignment(cost)
    label = {int(c): reps[int(r)].id for r, c in zip(rows, cols, strict=True)}
    rep_ids = {r.id for r in reps}
    extra = iter(f"T{k}" for k in range(1, count + len(reps) + 1) if f"T{k}" not in rep_ids)
    terrs = [Territory(id=label[t] if t in label else next(extra), center=centres[t]) for t in range(len(cxy))]
    pinnable = {t.id for t in terrs if t.id in pins}
    sol: TerritoriesSolution = solve(terrs, pinnable, time_limit)
    sol.stats["centres_from"] = "free-centre solve, pinned outlets locked in a fixed-centre re-solve"
    return sol


def _territories(
    problem: PipelineProblem,
    count: int,
    load: dict[str, float],
    time_limit: float,
    seed: int,
    rep: Reporter,
    warnings: list[str],
) -> tuple[TerritoriesSolution, dict[str, Rep], list[str], StageStats]:
    """Solve (or take) the territories and link a rep to each; returns (solution, territory -> rep, created, stats)."""
    t0 = time.monotonic()
    chosen = _choose_reps(problem, count, warnings)
    rep_ids = {r.id for r in problem.reps or []}
    if problem.overrides.territories is not None:
        assignment = dict(problem.overrides.territories)
        members: dict[str, list[int]] = defaultdict(list)
        for i, o in enumerate(problem.outlets):
            members[assignment[o.id]].append(i)
        given = {r.id: r for r in problem.reps or []}
        centres = {t: (given[t].start if t in given else _medoid(problem, idx)) for t, idx in members.items()}
        sol = _summaries(problem, assignment, load, centres)
        stats = StageStats(status="fixed", runtime_s=0.0, source="override")
    else:
        from optimizer.territories import solve_territories

        balance = dict(problem.balance)
        if not any(o.potential > 0 for o in problem.outlets):
            balance.pop("potential", None)

        def fwd(ev: ProgressEvent) -> bool:
            return rep.update("territories", fraction=ev.fraction, best=None, message=ev.stage)

        def solve(territories: list[Territory] | None, pinnable: set[str], limit: float) -> TerritoriesSolution:
            units = []
            for o in problem.outlets:
                pin = o.rep if o.rep is not None and o.rep in pinnable else None
                units.append(Unit(id=o.id, location=o.location, workload=load[o.id], potential=o.potential,
                                  current=pin, locked=pin is not None, segment=o.segment))
            kw: dict[str, Any] = {"territories": territories} if territories is not None else {"count": count}
            # contiguity on the outlets' Delaunay graph: territories do not cross (only pins may split one)
            tp = TerritoriesProblem(name=problem.name, units=units, balance=balance, travel=problem.travel,
                                    contiguity=True, options={"seed": seed}, **kw)  # type: ignore[arg-type]
            return solve_territories(tp, time_limit=max(1.0, limit), seed=seed, progress=fwd)

        pins: dict[str, list[Location]] = defaultdict(list)
        for o in problem.outlets:
            if o.rep is not None and o.rep in rep_ids:
                pins[o.rep].append(o.location)
        if chosen is not None:
            sol = solve([Territory(id=r.id, center=r.start) for r in chosen], {r.id for r in chosen}, time_limit)
        elif not pins:
            sol = solve(None, set(), time_limit)
        else:
            # centres chosen by the solver, then given reps matched to them (home and pinned outlets near
            # the centre), then a fixed-centre solve with every pinned outlet locked in its rep's territory
            free_sol = solve(None, set(), 0.7 * time_limit)
            sol = _pin_territories(problem, free_sol, pins, count, solve, time_limit - (time.monotonic() - t0))
        for v in sol.violations:
            warnings.append(f"territories: {v.message}")
        stats = StageStats(status=sol.status, runtime_s=round(time.monotonic() - t0, 3), source="solver",
                           details={"workload_max_dev": sol.metrics.workload_max_dev,
                                    "potential_max_dev": sol.metrics.potential_max_dev})
    # link reps to territories
    tids = [t.id for t in sol.territories]
    centre = {t.id: t.center for t in sol.territories}
    rep_of: dict[str, Rep] = {}
    created: list[str] = []
    if all(t in rep_ids for t in tids):
        given = {r.id: r for r in problem.reps or []}
        rep_of = {t: given[t] for t in tids}
    else:
        pool = [r for r in (problem.reps or []) if r.id not in tids]
        free = [t for t in tids if t not in rep_ids]
        given = {r.id: r for r in problem.reps or []}
        rep_of = {t: given[t] for t in tids if t in rep_ids}
        if pool and free:
            metric = "haversine" if problem.travel.metric == "haversine" else "euclidean"
            a = np.array([r.start.coords() for r in pool])
            b = np.array([(centre[t] or _medoid(problem, [0])).coords() for t in free])
            rows, cols = linear_sum_assignment(pairwise_km(a, b, metric))  # type: ignore[arg-type]
            for ri, ci in zip(rows, cols, strict=True):
                rep_of[free[ci]] = pool[ri]
        d = problem.rep_defaults
        taken = set(rep_ids)
        k = 0
        for t in free:
            if t in rep_of:
                continue
            k += 1
            while f"NEW{k}" in taken:
                k += 1
            rid = f"NEW{k}"
            taken.add(rid)
            home = centre[t]
            if home is None:
                idx = [i for i, o in enumerate(problem.outlets) if sol.assignment[o.id] == t]
                home = _medoid(problem, idx)
            rep_of[t] = Rep.model_validate({
                "id": rid, "start": home.model_dump(exclude_none=True), "shift": d.shift.model_dump(),
                **({"break": d.break_.model_dump()} if d.break_ is not None else {}),
                **({"max_visits_per_day": d.max_visits_per_day} if d.max_visits_per_day else {}),
                **({"max_route_minutes": d.max_route_minutes} if d.max_route_minutes else {}),
                "attributes": {"created": True, "territory": t},
            })
            created.append(rid)
        if created:
            warnings.append(f"{len(created)} reps created at territory centres: {', '.join(created)}")
    # outlets pinned to a rep follow that rep
    terr_of_rep = {r.id: t for t, r in rep_of.items()}
    moved = []
    assignment = dict(sol.assignment)
    for o in problem.outlets:
        if o.rep is not None and o.rep in terr_of_rep and assignment[o.id] != terr_of_rep[o.rep]:
            assignment[o.id] = terr_of_rep[o.rep]
            moved.append(o.id)
    if moved:
        sol = sol.model_copy(update={"assignment": assignment})
        warnings.append(f"{len(moved)} outlets pinned to a rep were moved into that rep's territory")
    stats = stats.model_copy(update={"runtime_s": round(time.monotonic() - t0, 3)})
    return sol, rep_of, created, stats


# --------------------------------------------------------------------------------------------
# stage 3: routes, in parallel
# --------------------------------------------------------------------------------------------


def _solve_routes_task(problem: RoutesProblem, time_limit: float, seed: int) -> RoutesSolution:
    """Worker entry point (top level so that it pickles)."""
    from optimizer.routes import solve_routes

    result: RoutesSolution = solve_routes(problem, time_limit=time_limit, seed=seed)
    return result


def _territory_problems(
    problem: PipelineProblem, sol: TerritoriesSolution, rep_of: dict[str, Rep]
) -> dict[str, RoutesProblem]:
    out: dict[str, RoutesProblem] = {}
    by_terr: dict[str, list[Outlet]] = defaultdict(list)
    for o in problem.outlets:
        data = o.model_dump(by_alias=True, exclude={"potential"})
        t = sol.assignment[o.id]
        data["rep"] = None  # one rep per problem: pins are implied
        by_terr[t].append(Outlet.model_validate(data))
    for t in sorted(by_terr):
        r = rep_of[t]
        out[t] = RoutesProblem(
            name=f"{problem.name or 'pipeline'}: territory {t}",
            horizon=problem.horizon, objective=problem.objective, reps=[r], outlets=by_terr[t],
            travel=problem.travel, options=problem.options,
        )
    return out


def _unplanned(p: RoutesProblem, reason: str) -> RoutesSolution:
    req = sum(o.visits for o in p.outlets if not o.optional)
    return RoutesSolution(
        status="no_solution", objective=None,
        totals=RoutesTotals(distance_km=0.0, travel_minutes=0.0, service_minutes=0.0, visits_required=req,
                            visits_planned=0),
        routes=[], unassigned=[Unassigned(outlet=o.id, missing_visits=o.visits, reason=reason)
                               for o in p.outlets if not o.optional],
    )


def _routes(
    problems: dict[str, RoutesProblem], workers: int, budget: float, seed: int, rep: Reporter
) -> tuple[dict[str, RoutesSolution], StageStats]:
    t0 = time.monotonic()
    n = len(problems)
    results: dict[str, RoutesSolution] = {}
    # territories with more work get more time: shares proportional to required visits
    weight = {t: max(1, sum(o.visits for o in p.outlets)) for t, p in problems.items()}
    total_w = sum(weight.values())
    lanes = max(1, min(workers, n))

    def limit_for(t: str) -> float:
        return max(1.0, budget * lanes * weight[t] / total_w * 0.95)

    order = sorted(problems, key=lambda t: -weight[t])  # longest first balances the lanes
    if lanes == 1 and ROUTE_IN_PROCESS:
        for k, t in enumerate(order):
            if rep.stop_requested:
                results[t] = _unplanned(problems[t], "stopped before this territory was routed")
                continue
            from optimizer.routes import solve_routes

            def fwd(ev: ProgressEvent, k: int = k) -> bool:
                return rep.update("routes", fraction=(k + (ev.fraction or 0.0)) / n, best=None,
                                  message=f"territory {k + 1}/{n}")

            results[t] = solve_routes(problems[t], time_limit=limit_for(t), seed=seed, progress=fwd)
            rep.update("routes", fraction=(k + 1) / n, message=f"{k + 1}/{n} territories routed", force=True)
    else:
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=lanes, mp_context=ctx) as pool:
            futs: dict[Future[RoutesSolution], str] = {
                pool.submit(_solve_routes_task, problems[t], limit_for(t), seed): t for t in order
            }
            pending = set(futs)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for f in done:
                    t = futs[f]
                    try:
                        results[t] = f.result()
                    except BrokenProcessPool:
                        # e.g. a script without a __main__ guard under spawn: route it here instead
                        results[t] = _solve_routes_task(problems[t], limit_for(t) / lanes, seed)
                    except Exception as exc:  # a failed territory must not sink the others
                        results[t] = _unplanned(problems[t], f"routing failed: {type(exc).__name__}: {exc}")
                frac = (len(results) + 0.5 * min(len(pending), lanes)
                        * min(1.0, (time.monotonic() - t0) / max(1.0, budget))) / n
                if not rep.update("routes", fraction=min(1.0, frac), message=f"{len(results)}/{n} territories routed",
                                  force=bool(done)):
                    for f2 in pending:
                        f2.cancel()
                    for f2 in list(pending):
                        if f2.cancelled():
                            pending.discard(f2)
                            why = "stopped before this territory was routed"
                            results[futs[f2]] = _unplanned(problems[futs[f2]], why)
    statuses = {t: s.status for t, s in results.items()}
    stats = StageStats(status=_combine_status(list(statuses.values())), runtime_s=round(time.monotonic() - t0, 3),
                       source="solver", details={"territories": n, "workers": lanes, "status_per_territory": statuses})
    return results, stats


def _combine_status(statuses: list[str]) -> str:
    if not statuses:
        return "no_solution"
    if all(s == "optimal" for s in statuses):
        return "optimal"
    if any(s in ("infeasible", "no_solution") for s in statuses):
        return "feasible" if any(s in ("optimal", "feasible") for s in statuses) else "no_solution"
    return "feasible"


def _merge(results: dict[str, RoutesSolution], rep_order: list[str]) -> RoutesSolution:
    routes = sorted((r for s in results.values() for r in s.routes),
                    key=lambda r: (rep_order.index(r.rep) if r.rep in rep_order else len(rep_order), r.day))
    sols = list(results.values())
    t = RoutesTotals(
        distance_km=sum(s.totals.distance_km for s in sols),
        travel_minutes=sum(s.totals.travel_minutes for s in sols),
        service_minutes=sum(s.totals.service_minutes for s in sols),
        waiting_minutes=sum(s.totals.waiting_minutes for s in sols),
        visits_required=sum(s.totals.visits_required for s in sols),
        visits_planned=sum(s.totals.visits_planned for s in sols),
        optional_value=sum(s.totals.optional_value for s in sols),
    )
    objs = [s.objective for s in sols]
    patterns: dict[str, list[int]] = {}
    for s in sols:
        patterns.update(s.patterns)
    status = _combine_status([s.status for s in sols])
    return RoutesSolution(
        status=status,  # type: ignore[arg-type]
        objective=None if any(o is None for o in objs) else float(sum(o for o in objs if o is not None)),
        totals=t, routes=routes, unassigned=[u for s in sols for u in s.unassigned], patterns=patterns,
        stats={"territories": {k: s.stats for k, s in results.items()}},
    )


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def solve_pipeline(
    problem: PipelineProblem,
    *,
    time_limit: float | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> PipelineSolution:
    """Run staffing -> territories -> routes and link the results.

    Parameters
    ----------
    problem
        A validated :class:`~optimizer.model.pipeline.PipelineProblem`.
    time_limit
        Seconds for the whole job (default: ``options.time_limit_s`` or 120), split between the
        stages by ``time_split``; time a stage leaves unused goes to the next one.
    seed
        Seed of every stage (same seed, same input -> same answer, up to the time limits).
    progress
        Receives events whose ``stage`` is ``staffing``, ``territories`` or ``routes`` and whose
        ``fraction`` is the share of that stage done; return False to stop (stages not yet run
        return what they have: unrouted territories list their visits as unassigned).

    Returns
    -------
    PipelineSolution
        Every stage's output and the links rep -> territory -> routes.
    """
    t0 = time.monotonic()
    limit = time_limit if time_limit is not None else (problem.options.time_limit_s or DEFAULT_TIME_LIMIT)
    rep = Reporter(progress, limit, min_interval=0.25)
    split = problem.time_split
    shares = {"staffing": split.staffing if problem.staffing is not None else 0.0,
              "territories": split.territories if problem.overrides.territories is None else 0.0,
              "routes": split.routes}
    tot = sum(shares.values())
    warnings: list[str] = []
    stages: dict[str, StageStats] = {}

    def budget(stage: str) -> float:
        """The stage's share of the time still left, among the stages still to run."""
        rest = _STAGES[_STAGES.index(stage):]
        left = sum(shares[s] for s in rest)
        return rep.time_left() * (shares[stage] / left if left > 0 else 0.0) if tot > 0 else 0.0

    rep.update("staffing", fraction=0.0, message="sizing the field force", force=True)
    count, source, staffing_sol, stages["staffing"] = _field_force(problem, budget("staffing"), seed, rep, warnings)
    rep.update("staffing", fraction=1.0, message=f"{count} field reps ({source})", force=True)

    load = outlet_workload_hours(problem)
    rep.update("territories", fraction=0.0, message=f"{count} territories", force=True)
    terr_sol, rep_of, created, stages["territories"] = _territories(
        problem, count, load, budget("territories"), seed, rep, warnings
    )
    rep.update("territories", fraction=1.0, message=f"{len(terr_sol.territories)} territories", force=True)

    problems = _territory_problems(problem, terr_sol, rep_of)
    rep.update("routes", fraction=0.0, message=f"{len(problems)} territories to route", force=True)
    results, stages["routes"] = _routes(problems, problem.workers, max(1.0, budget("routes")), seed, rep)
    rep.update("routes", fraction=1.0, message="done", force=True)

    reps_used = [rep_of[t] for t in sorted(rep_of, key=lambda t: _natural(rep_of[t].id))]
    order = [r.id for r in reps_used]
    routes = _merge(results, order)
    links = []
    for t in sorted(rep_of, key=lambda t: order.index(rep_of[t].id)):
        r = rep_of[t]
        members = [o.id for o in problem.outlets if terr_sol.assignment[o.id] == t]
        sol_t = results.get(t)
        links.append(Link(
            rep=r.id, territory=t, outlets=members,
            days=sorted({rt.day for rt in (sol_t.routes if sol_t else [])}),
            workload=round(sum(load[o] for o in members), 4),
            potential=sum(o.potential for o in problem.outlets if terr_sol.assignment[o.id] == t),
            visits_planned=sol_t.totals.visits_planned if sol_t else 0,
            visits_required=sol_t.totals.visits_required if sol_t else 0,
            created=r.id in created,
        ))
    if routes.unassigned:
        miss = sum(u.missing_visits for u in routes.unassigned)
        warnings.append(f"{miss} required visits could not be planned (see routes.unassigned)")
    return PipelineSolution(
        status=routes.status, objective=routes.objective, headcount=count,
        headcount_source=source,  # type: ignore[arg-type]
        staffing=staffing_sol, territories=terr_sol, routes=routes, reps=reps_used, links=links,
        workload={k: round(v, 4) for k, v in load.items()}, stages=stages, warnings=warnings,
        stats={"runtime_s": round(time.monotonic() - t0, 3), "time_limit_s": limit, "seed": seed},
    )


def _natural(s: str) -> tuple[Any, ...]:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s))


__all__ = [
    "outlet_workload_hours",
    "rep_minutes_per_week",
    "routes_problem_of",
    "solve_pipeline",
    "travel_estimate_minutes",
]
