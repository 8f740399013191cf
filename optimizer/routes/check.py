"""Independent referee of a routes solution.

:func:`check_routes` re-verifies a :class:`~optimizer.model.routes.RoutesSolution` against its
:class:`~optimizer.model.routes.RoutesProblem` from scratch, following the semantics in the module
docstring of :mod:`optimizer.model.routes`. It shares no code with the solver: travel comes straight
from :class:`~optimizer.travel.TravelModel`, every total and the objective are recomputed from the
stops. Used by the tests, the benchmarks (to check our solver and every peer) and anyone who wants a
second opinion on a plan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from optimizer.model.routes import Outlet, Rep, Route, RoutesProblem, RoutesSolution, RoutesTotals
from optimizer.travel import TravelModel


@dataclass
class RouteCheck:
    """Outcome of :func:`check_routes`.

    Parameters
    ----------
    violations
        One plain-language line per broken rule, naming the route (rep, day), the stop and
        outlet where relevant, the constraint and by how much.
    totals
        Totals recomputed from the routes (never copied from the solution).
    objective
        Objective recomputed per the problem's ``objective``.
    """

    violations: list[str] = field(default_factory=list)
    totals: RoutesTotals | None = None
    objective: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no rule is broken."""
        return not self.violations


def _differs(reported: float, recomputed: float, tol: float) -> bool:
    """Relative comparison for sums (km, minutes) that may be added up in another order."""
    return abs(reported - recomputed) > tol * max(1.0, abs(reported), abs(recomputed))


def _f(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if abs(x) < 1e9 else f"{x:.6g}"


class _Referee:
    """Holds the look-ups of one check; not part of the public API."""

    def __init__(self, problem: RoutesProblem, tol: float) -> None:
        self.p = problem
        self.tol = tol
        self.tm = TravelModel.for_routes(problem)
        self.rep_idx = {r.id: i for i, r in enumerate(problem.reps)}
        self.out_idx = {o.id: i for i, o in enumerate(problem.outlets)}
        self.rep_days = {r.id: set(problem.rep_days(r)) for r in problem.reps}
        self.v: list[str] = []

    # -- one route -------------------------------------------------------------------------
    def route(self, rt: Route, where: str) -> tuple[float, float, float, float] | None:
        """Check one route; return its recomputed (km, travel, service, waiting) or None if unusable."""
        p, tol, v = self.p, self.tol, self.v
        if rt.rep not in self.rep_idx:
            v.append(f"{where}: unknown rep {rt.rep!r}")
            return None
        ri = self.rep_idx[rt.rep]
        rep = p.reps[ri]
        n_days = p.horizon.n_days
        if not 0 <= rt.day < n_days:
            v.append(f"{where}: day {rt.day} is outside the horizon 0..{n_days - 1}")
        elif rt.day not in self.rep_days[rep.id]:
            v.append(f"{where}: rep {rep.id} does not work on day {rt.day} ({p.horizon.day_name(rt.day)})")
        if not rt.stops:
            v.append(f"{where}: route without stops (such routes must not be listed)")
        outlets: list[Outlet] = []
        nodes = [self.tm.rep_node(ri, start=True)]
        for k, s in enumerate(rt.stops):
            if s.outlet not in self.out_idx:
                v.append(f"{where} stop {k}: unknown outlet {s.outlet!r}")
                return None
            oi = self.out_idx[s.outlet]
            outlets.append(p.outlets[oi])
            nodes.append(oi)
        nodes.append(self.tm.rep_node(ri, start=False))
        idx = np.asarray(nodes, dtype=np.int64)
        leg_km = [float(x) for x in np.diagonal(self.tm.block_km(idx[:-1], idx[1:]))]
        leg_min = [float(x) for x in np.diagonal(self.tm.block_minutes(idx[:-1], idx[1:]))]

        # shift and route limits
        sh = rep.shift
        if rt.start < sh.start - tol:
            v.append(f"{where}: starts at {_f(rt.start)} before the shift starts {_f(sh.start)} "
                     f"(by {_f(sh.start - rt.start)} min)")
        if rt.end > sh.end + tol:
            v.append(f"{where}: ends at {_f(rt.end)} after the shift ends {_f(sh.end)} (by {_f(rt.end - sh.end)} min)")
        if rep.max_route_minutes is not None and rt.end - rt.start > rep.max_route_minutes + tol:
            v.append(f"{where}: lasts {_f(rt.end - rt.start)} min > max_route_minutes {_f(rep.max_route_minutes)} "
                     f"(by {_f(rt.end - rt.start - rep.max_route_minutes)})")
        if rep.max_visits_per_day is not None and len(rt.stops) > rep.max_visits_per_day:
            v.append(f"{where}: {len(rt.stops)} visits > max_visits_per_day {rep.max_visits_per_day}")
        load = sum(o.demand for o in outlets)
        if rep.capacity is not None and load > rep.capacity + tol:
            v.append(f"{where}: load {_f(load)} > capacity {_f(rep.capacity)} (by {_f(load - rep.capacity)})")

        # per stop: skills, pinned rep, timing
        service = 0.0
        prev_end = rt.start
        for k, (s, o) in enumerate(zip(rt.stops, outlets, strict=True)):
            at = f"{where} stop {k} (outlet {o.id})"
            missing = sorted(set(o.skills) - set(rep.skills))
            if missing:
                v.append(f"{at}: rep {rep.id} lacks skill(s) {', '.join(missing)}")
            if o.rep is not None and o.rep != rep.id:
                v.append(f"{at}: outlet is pinned to rep {o.rep}")
            earliest = prev_end + leg_min[k]
            if s.arrival < earliest - tol:
                v.append(f"{at}: arrival {_f(s.arrival)} < previous end {_f(prev_end)} + travel {_f(leg_min[k])} "
                         f"= {_f(earliest)} (by {_f(earliest - s.arrival)} min)")
            if s.start < s.arrival - tol:
                v.append(f"{at}: service starts {_f(s.start)} before arrival {_f(s.arrival)} "
                         f"(by {_f(s.arrival - s.start)} min)")
            wins = p.windows(o)
            if wins and not any(a - tol <= s.start <= b + tol for a, b in wins):
                shown = ", ".join(f"[{_f(a)}, {_f(b)}]" for a, b in wins)
                v.append(f"{at}: service start {_f(s.start)} outside its time windows {shown} "
                         f"(by {_f(min(max(a - s.start, s.start - b) for a, b in wins))} min)")
            if abs(s.end - (s.start + o.service_minutes)) > tol:
                v.append(f"{at}: end {_f(s.end)} != start {_f(s.start)} + service {_f(o.service_minutes)} "
                         f"(off by {_f(s.end - s.start - o.service_minutes)} min)")
            service += o.service_minutes
            prev_end = s.end
        back = prev_end + leg_min[-1]
        if rt.end < back - tol:
            v.append(f"{where}: ends {_f(rt.end)} < last end {_f(prev_end)} + travel home {_f(leg_min[-1])} "
                     f"= {_f(back)} (by {_f(back - rt.end)} min)")

        # break
        brk_minutes = self._break(rt, rep, leg_min, where)

        km = sum(leg_km)
        travel = sum(leg_min)
        waiting = (rt.end - rt.start) - travel - service - brk_minutes
        for name, rep_val, val in (
            ("distance_km", rt.distance_km, km),
            ("travel_minutes", rt.travel_minutes, travel),
            ("service_minutes", rt.service_minutes, service),
            ("waiting_minutes", rt.waiting_minutes, waiting),
        ):
            if _differs(rep_val, val, tol):
                v.append(f"{where}: reported {name} {_f(rep_val)} != recomputed {_f(val)} (off by {_f(rep_val - val)})")
        return km, travel, service, waiting

    def _break(self, rt: Route, rep: Rep, leg_min: list[float], where: str) -> float:
        """Check the break of a route; return its minutes (0 without one)."""
        v, tol = self.v, self.tol
        b = rep.break_
        taken = rt.break_
        if b is None:
            if taken is not None:
                v.append(f"{where}: has a break but rep {rep.id} has none")
            return 0.0
        if taken is None:
            v.append(f"{where}: rep {rep.id} must take a {_f(b.minutes)} min break on every route")
            return b.minutes
        if abs((taken.end - taken.start) - b.minutes) > tol:
            v.append(f"{where}: break lasts {_f(taken.end - taken.start)} min, must be {_f(b.minutes)}")
        if taken.start < b.earliest - tol:
            v.append(f"{where}: break starts {_f(taken.start)} before earliest {_f(b.earliest)} "
                     f"(by {_f(b.earliest - taken.start)} min)")
        if taken.start > b.latest + tol:
            v.append(f"{where}: break starts {_f(taken.start)} after latest {_f(b.latest)} "
                     f"(by {_f(taken.start - b.latest)} min)")
        if taken.start < rt.start - tol or taken.end > rt.end + tol:
            v.append(f"{where}: break {_f(taken.start)}-{_f(taken.end)} is not inside the route "
                     f"{_f(rt.start)}-{_f(rt.end)}")
            return b.minutes
        # gaps between services: (gap start, gap end, travel in the gap)
        edges = [rt.start] + [x for s in rt.stops for x in (s.start, s.end)] + [rt.end]
        for g in range(len(rt.stops) + 1):
            g0, g1 = edges[2 * g], edges[2 * g + 1]
            if g0 - tol <= taken.start and taken.end <= g1 + tol:
                need = leg_min[g] + b.minutes
                if g1 - g0 < need - tol:
                    what = "route start" if g == 0 else f"stop {g - 1} end"
                    nxt = "route end" if g == len(rt.stops) else f"stop {g} start"
                    v.append(f"{where}: gap {what} {_f(g0)} -> {nxt} {_f(g1)} is {_f(g1 - g0)} min, too short for "
                             f"travel {_f(leg_min[g])} + break {_f(b.minutes)} (by {_f(need - (g1 - g0))} min)")
                return b.minutes
        hit = [k for k, s in enumerate(rt.stops) if taken.start < s.end - tol and taken.end > s.start + tol]
        v.append(f"{where}: break {_f(taken.start)}-{_f(taken.end)} overlaps the service of stop(s) "
                 f"{', '.join(map(str, hit)) or '?'}")
        return b.minutes


def check_routes(problem: RoutesProblem, solution: RoutesSolution, *, tol: float = 1e-6) -> RouteCheck:
    """Re-verify a routes solution from scratch.

    Parameters
    ----------
    problem
        The problem that was solved.
    solution
        The solution to referee.
    tol
        Absolute tolerance in minutes (and demand units) for times and limits; reported sums
        (km, minutes, objective) are compared with this relative tolerance.

    Returns
    -------
    RouteCheck
        Every violation found, and the totals and objective recomputed from the routes.
    """
    ref = _Referee(problem, tol)
    v = ref.v
    km = travel = service = waiting = 0.0
    days_of: dict[str, list[int]] = defaultdict(list)
    reps_of: dict[str, set[str]] = defaultdict(set)
    seen_routes: dict[tuple[str, int], int] = {}
    planned = 0
    opt_value = 0.0
    for n, rt in enumerate(solution.routes):
        where = f"route {n} (rep {rt.rep}, day {rt.day})"
        key = (rt.rep, rt.day)
        if key in seen_routes:
            v.append(f"{where}: rep {rt.rep} already has route {seen_routes[key]} on day {rt.day}")
        else:
            seen_routes[key] = n
        res = ref.route(rt, where)
        if res is None:
            continue
        km += res[0]
        travel += res[1]
        service += res[2]
        waiting += res[3]
        for s in rt.stops:
            o = problem.outlets[ref.out_idx[s.outlet]]
            days_of[o.id].append(rt.day)
            reps_of[o.id].add(rt.rep)
            if o.optional:
                opt_value += o.value
            else:
                planned += 1

    missing_reported: dict[str, int] = defaultdict(int)
    for u in solution.unassigned:
        if u.outlet not in ref.out_idx:
            v.append(f"unassigned: unknown outlet {u.outlet!r}")
        else:
            missing_reported[u.outlet] += u.missing_visits

    for o in problem.outlets:
        days = days_of.get(o.id, [])
        at = f"outlet {o.id}"
        dup = sorted({d for d in days if days.count(d) > 1})
        if dup:
            v.append(f"{at}: visited more than once on day(s) {', '.join(map(str, dup))}")
        made = sorted(set(days))
        allowed = problem.allowed_patterns(o)
        if len(made) > o.visits:
            v.append(f"{at}: visited on {len(made)} days {made} but needs only {o.visits} visits")
        elif o.optional:
            if made and tuple(made) not in allowed:
                v.append(f"{at}: optional outlet visited on {made}, which is not a full allowed pattern "
                         "(all its visits or none)")
        elif made:
            if len(made) == o.visits and tuple(made) not in allowed:
                v.append(f"{at}: visit days {made} are not an allowed pattern")
            elif len(made) < o.visits and not any(set(made) <= set(pat) for pat in allowed):
                v.append(f"{at}: visit days {made} are not part of any allowed pattern")
        reported_pat = solution.patterns.get(o.id)
        if reported_pat:
            if tuple(sorted(reported_pat)) not in allowed:
                v.append(f"{at}: reported pattern {sorted(reported_pat)} is not an allowed pattern")
            elif not set(made) <= set(reported_pat):
                v.append(f"{at}: visit days {made} do not follow its reported pattern {sorted(reported_pat)}")
        if problem.same_rep and len(reps_of.get(o.id, ())) > 1:
            v.append(f"{at}: visited by several reps {sorted(reps_of[o.id])} (same_rep)")
        missing = max(0, o.visits - len(made))
        got = missing_reported.get(o.id)
        if o.optional:
            if got is not None and got != missing:
                v.append(f"{at}: unassigned reports {got} missing visits, optional outlet is missing {missing}")
        elif missing and got is None:
            v.append(f"{at}: {missing} required visit(s) missing and not reported in unassigned")
        elif got is not None and got != missing:
            v.append(f"{at}: unassigned reports {got} missing visits but {missing} are missing")

    totals = RoutesTotals(
        distance_km=km,
        travel_minutes=travel,
        service_minutes=service,
        waiting_minutes=waiting,
        visits_required=sum(o.visits for o in problem.outlets if not o.optional),
        visits_planned=planned,
        optional_value=opt_value,
    )
    objective = (km if problem.objective == "distance" else travel + waiting) - opt_value

    t = solution.totals
    for name in ("distance_km", "travel_minutes", "service_minutes", "waiting_minutes", "optional_value"):
        rep_val, val = float(getattr(t, name)), float(getattr(totals, name))
        if _differs(rep_val, val, tol):
            v.append(f"totals: reported {name} {_f(rep_val)} != recomputed {_f(val)} (off by {_f(rep_val - val)})")
    for name in ("visits_required", "visits_planned"):
        if getattr(t, name) != getattr(totals, name):
            v.append(f"totals: reported {name} {getattr(t, name)} != recomputed {getattr(totals, name)}")
    if solution.objective is None:
        if solution.status in ("optimal", "feasible"):
            v.append(f"objective: missing although status is {solution.status}")
    elif _differs(solution.objective, objective, tol):
        v.append(f"objective: reported {_f(solution.objective)} != recomputed {_f(objective)} "
                 f"(off by {_f(solution.objective - objective)})")
    return RouteCheck(violations=v, totals=totals, objective=objective)


__all__ = ["RouteCheck", "check_routes"]
