"""Re-planning: next week's plan from this week's plan and what actually happened.

Approach (pin, then free only what is affected)
-----------------------------------------------
The "penalty on moving a visit" is realised as a hard preference: every visit that is not
affected is **pinned** to its rep (``outlet.rep``) and its days (``patterns`` = the one set of days
it has now), so it stays on its day and rep, and the solver is warm-started from this week's routes
(``solve_routes(..., initial=plan)``): the kept visits are in the routes from the start, in their old
order, and the search never drops a planned required visit, so it only re-sequences each day and
inserts the affected visits where they fit. Affected outlets are freed as little as possible:

* a visit on a day its rep is off (``absences``) is affected: the outlet keeps its rep and its
  other visit days, and may take any allowed pattern that holds those days and avoids the rep's
  days off (so only the lost visit moves, to another day of the same rep);
* when no such pattern exists the outlet may take any allowed pattern on its rep's working days;
* affected outlets are made ``optional`` with a large ``value`` (:data:`AFFECTED_VALUE` per visit),
  so they are placed wherever they fit; if the search still lets one push out a kept visit, the
  affected outlets on that route are taken out and the week is solved again (at most three solves,
  each with a third of the time limit); affected visits that are not placed are reported in
  ``unplaced`` (their visits are the follow-up list for the week);
* added outlets are free (default patterns, any rep) and placed like affected ones (below); closed
  outlets are dropped.

Missed visits (planned visits without a check-in, or listed as missed) go to the missed-visit
report for follow-up calls; they do not change next week's schedule (the outlet keeps its
regular visits).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import Field

from optimizer.errors import ErrorItem, InputError
from optimizer.model import parse
from optimizer.model.common import Base, Id, fmt_time
from optimizer.model.routes import Outlet, RoutesProblem, RoutesSolution
from optimizer.progress import ProgressCallback

#: Objective value of placing one affected visit (the objective is in minutes or km).
AFFECTED_VALUE = 10_000.0


class MissedVisit(Base):
    """A planned visit with no check-in: to follow up by phone."""

    outlet: Id
    rep: Id
    day: int
    day_name: str
    planned_arrival: str
    name: str = ""
    address: str = ""
    reason: str = "no check-in"


class MovedVisit(Base):
    """An outlet whose visit days or rep changed in the new plan."""

    outlet: Id
    old_rep: Id | None
    old_days: list[int]
    new_rep: Id | None
    new_days: list[int]
    reason: str


class ReplanResult(Base):
    """Next week's plan, the missed-visit report and what moved."""

    problem: RoutesProblem
    solution: RoutesSolution
    missed: list[MissedVisit]
    kept_visits: int
    moved: list[MovedVisit] = Field(default_factory=list)
    unplaced: list[str] = Field(default_factory=list)
    stats: dict[str, Any] = Field(default_factory=dict)


class ReplanEvents(Base):
    """What happened this week and what changes next week (the input of ``salesplan replan``).

    ``checkins``: ``[outlet, day]`` of every visit made (a planned visit without one is missed);
    or ``missed``: ``[outlet, day]`` reported missed. ``absences``: rep -> day indices off next
    week. ``added``: new outlets (routes outlet objects). ``closed``: ids of closed outlets.
    """

    checkins: list[tuple[Id, int]] | None = None
    missed: list[tuple[Id, int]] = Field(default_factory=list)
    absences: dict[str, list[int]] = Field(default_factory=dict)
    added: list[Outlet] = Field(default_factory=list)
    closed: list[Id] = Field(default_factory=list)


def current_schedule(plan: RoutesSolution) -> dict[str, tuple[str, list[int]]]:
    """Outlet -> (rep, sorted visit days) in a plan (the first rep found when several visit it)."""
    rep: dict[str, str] = {}
    days: dict[str, set[int]] = defaultdict(set)
    for r in plan.routes:
        for s in r.stops:
            rep.setdefault(s.outlet, r.rep)
            days[s.outlet].add(r.day)
    return {o: (rep[o], sorted(days[o])) for o in rep}


def missed_visits(
    problem: RoutesProblem,
    plan: RoutesSolution,
    *,
    checkins: Iterable[tuple[str, int]] | None = None,
    missed: Iterable[tuple[str, int]] | None = None,
) -> list[MissedVisit]:
    """Planned visits that did not happen.

    Parameters
    ----------
    problem, plan
        The week's problem and plan.
    checkins
        ``(outlet, day)`` of every visit made; a planned visit without one is missed.
    missed
        ``(outlet, day)`` reported missed (used when ``checkins`` is None).

    Returns
    -------
    list of MissedVisit
        In plan order (rep, day, sequence).
    """
    outlets = {o.id: o for o in problem.outlets}
    done = set(checkins) if checkins is not None else None
    flagged = set(missed or [])
    out = []
    for r in plan.routes:
        for s in r.stops:
            key = (s.outlet, r.day)
            if (done is not None and key not in done) or (done is None and key in flagged):
                o = outlets.get(s.outlet)
                attrs = o.attributes if o is not None else {}
                out.append(MissedVisit(outlet=s.outlet, rep=r.rep, day=r.day,
                                       day_name=problem.horizon.day_name(r.day), planned_arrival=fmt_time(s.arrival),
                                       name=str(attrs.get("name", "")), address=str(attrs.get("address", "")),
                                       reason="no check-in" if done is not None else "reported missed"))
    return out


def replan(
    problem: RoutesProblem,
    plan: RoutesSolution,
    *,
    checkins: Iterable[tuple[str, int]] | None = None,
    missed: Iterable[tuple[str, int]] | None = None,
    absences: Mapping[str, Sequence[int]] | None = None,
    added: Sequence[Outlet | dict[str, Any]] = (),
    closed: Iterable[str] = (),
    time_limit: float = 30.0,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> ReplanResult:
    """Next week's plan that keeps as much of ``plan`` as possible, and the missed-visit report.

    Parameters
    ----------
    problem, plan
        This week's routes problem and plan (the plan repeats every horizon).
    checkins, missed
        What happened this week, see :func:`missed_visits`.
    absences
        Rep -> horizon day indices the rep is off next week (e.g. sick on day 2).
    added
        New outlets (routes ``Outlet`` objects or their JSON).
    closed
        Ids of outlets that closed.
    time_limit, seed, progress
        Passed to the routes solver.

    Returns
    -------
    ReplanResult
        The new problem and plan, the missed visits, what moved and what could not be placed.

    Raises
    ------
    InputError
        Unknown reps, outlets or days, naming each.
    """
    from optimizer.routes import solve_routes

    absences = {k: list(v) for k, v in (absences or {}).items()}
    closed = set(closed)
    reps = {r.id: r for r in problem.reps}
    ids = {o.id for o in problem.outlets}
    n_days = problem.horizon.n_days
    errs = [ErrorItem(f"absences.{r}", f"unknown rep {r!r}") for r in absences if r not in reps]
    errs += [ErrorItem(f"absences.{r}", f"day {d} is outside 0..{n_days - 1}")
             for r, ds in absences.items() for d in ds if not 0 <= d < n_days]
    errs += [ErrorItem("closed", f"unknown outlet {c!r}") for c in sorted(closed - ids)]
    if errs:
        raise InputError(errs)
    report = missed_visits(problem, plan, checkins=checkins, missed=missed)
    sched = current_schedule(plan)

    def working(rep_id: str) -> set[int]:
        return set(problem.rep_days(reps[rep_id])) - set(absences.get(rep_id, []))

    outlets: list[dict[str, Any]] = []
    affected: dict[str, str] = {}
    kept = 0
    for o in problem.outlets:
        if o.id in closed:
            continue
        data = o.model_dump(by_alias=True, exclude_none=True)
        if o.id not in sched:
            outlets.append(data)  # was not planned: leave it free
            continue
        rep_id, days = sched[o.id]
        off = set(absences.get(rep_id, []))
        lost = [d for d in days if d in off]
        data["rep"] = rep_id
        if not lost and len(days) == o.visits:
            data["patterns"] = [days]
            kept += len(days)
        else:
            keep = [d for d in days if d not in off]
            ok_days = working(rep_id)
            allowed = [list(p) for p in problem.allowed_patterns(o) if set(p) <= ok_days]
            holding = [p for p in allowed if set(keep) <= set(p)]
            pats = holding or allowed
            if pats:
                data["patterns"] = pats
            else:  # the rep cannot make these visits any more: any rep may
                data.pop("rep", None)
                data.pop("patterns", None)
            if not o.optional:
                # the kept visits of other outlets come first: an affected outlet is placed only where
                # there is room, worth far more than any detour so that it is placed whenever it fits
                data["optional"] = True
                data["value"] = AFFECTED_VALUE * o.visits
            if lost:
                affected[o.id] = "rep off on " + ", ".join(problem.horizon.day_name(d) for d in lost)
            else:
                affected[o.id] = "fewer visits planned than required"
        outlets.append(data)
    # affected outlets last: construction heuristics place outlets in order, kept ones first
    outlets = [d for d in outlets if d["id"] not in affected] + [d for d in outlets if d["id"] in affected]
    for a in added:
        data = a.model_dump(by_alias=True, exclude_none=True) if isinstance(a, Outlet) else dict(a)
        if not data.get("optional"):
            data["optional"] = True
            data["value"] = AFFECTED_VALUE * int(data.get("visits", 1))
        affected[str(data.get("id"))] = "new outlet"
        outlets.append(data)
    rep_data = []
    for r in problem.reps:
        d = r.model_dump(by_alias=True, exclude_none=True)
        if absences.get(r.id):
            d["days"] = sorted(working(r.id))
        rep_data.append(d)
    base = problem.model_dump(by_alias=True, exclude_none=True, exclude={"reps", "outlets"})
    kept_visits = {(o, r, d) for o, (r, days) in sched.items() if o not in affected and o not in closed for d in days}
    dropped: set[str] = set()
    attempts = 0
    while True:
        attempts += 1
        new_p = parse("routes", {**base, "reps": rep_data, "outlets": [d for d in outlets if d["id"] not in dropped]})
        assert isinstance(new_p, RoutesProblem)
        sol = solve_routes(new_p, time_limit=time_limit / 3, seed=seed, progress=progress, initial=plan)
        got = {(st.outlet, r.rep, r.day) for r in sol.routes for st in r.stops}
        lost_kept = kept_visits - got
        if not lost_kept or attempts == 3:
            break
        # the search let an affected outlet take a kept visit's place: take the affected outlets off
        # the routes that lost a kept visit (after a second failure, all of them) and solve again
        hit = {(r, d) for _, r, d in lost_kept}
        culprits = {o for (o, r, d) in got if o in affected and (r, d) in hit}
        dropped |= culprits if attempts == 1 and culprits else set(affected)
    if lost_kept and not closed:
        sol = _keep_old_routes(new_p, plan, absences, sol)
        lost_kept = kept_visits - {(st.outlet, r.rep, r.day) for r in sol.routes for st in r.stops}
    new_sched = current_schedule(sol)
    moved = []
    for oid, why in affected.items():
        old = sched.get(oid)
        new = new_sched.get(oid)
        moved.append(MovedVisit(outlet=oid, old_rep=old[0] if old else None, old_days=old[1] if old else [],
                                new_rep=new[0] if new else None, new_days=new[1] if new else [], reason=why))
    unplaced = sorted({u.outlet for u in sol.unassigned} | {o for o in affected if o not in new_sched})
    return ReplanResult(problem=new_p, solution=sol, missed=report, kept_visits=kept, moved=moved, unplaced=unplaced,
                        stats={"affected_outlets": len(affected), "closed": len(closed), "added": len(added),
                               "solves": attempts, "kept_visits_lost": len(lost_kept)})


def _keep_old_routes(
    p: RoutesProblem, plan: RoutesSolution, absences: Mapping[str, Sequence[int]], fallback: RoutesSolution
) -> RoutesSolution:
    """Last resort: this week's routes minus the days off (the timing is unchanged, so still valid)."""
    from optimizer.model.routes import Unassigned
    from optimizer.routes.check import check_routes

    known = {o.id for o in p.outlets}
    routes = [r for r in plan.routes if r.day not in set(absences.get(r.rep, []))
              and all(st.outlet in known for st in r.stops)]
    count: dict[str, int] = defaultdict(int)
    for r in routes:
        for st in r.stops:
            count[st.outlet] += 1
    why = "not re-placed after the absence"
    unassigned = [Unassigned(outlet=o.id, missing_visits=o.visits - count[o.id], reason=why)
                  for o in p.outlets if not o.optional and count[o.id] < o.visits]
    draft = RoutesSolution(status="feasible", objective=None, totals=plan.totals, routes=routes, unassigned=unassigned,
                           stats={"fallback": "previous routes kept"})
    chk = check_routes(p, draft)
    if not chk.ok or chk.totals is None:
        return fallback
    return draft.model_copy(update={"totals": chk.totals, "objective": chk.objective})


__all__ = ["MissedVisit", "MovedVisit", "ReplanResult", "current_schedule", "missed_visits", "replan"]
