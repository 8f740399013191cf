"""Pre-checks, rep eligibility, outlet-to-rep assignment and the split into independent groups.

Every outlet that cannot be served at all gets a reason here (no rep with the skills, demand
above every capacity, windows outside every shift, out of reach, no pattern on working days);
the others get the reps that may serve them. The problem is then cut into *groups* (reps +
outlets + local travel matrices) that are solved independently:

* with ``same_rep`` and outlets visited more than once, or when the instance is large, each
  outlet is given to one rep (capacitated, geographic) and every rep is its own group;
* otherwise (one visit per outlet, or ``same_rep = false``) all reps share one group and each
  day is a multi-vehicle VRP (Solomon, Cordeau PVRP).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from optimizer.model.common import fmt_time
from optimizer.model.routes import RoutesProblem
from optimizer.routes.timing import VehicleSpec, schedule_route
from optimizer.travel import TravelModel

FloatArray = NDArray[np.float64]

#: Above this many outlets a shared-fleet group is split by rep territory.
MAX_SHARED_GROUP = 1500
#: Reps checked per outlet for reachability (nearest first).
REACH_CHECK_REPS = 8


@dataclass
class OutletInfo:
    """Solver view of one outlet (global indices)."""

    idx: int
    visits: int
    service: float
    demand: float
    windows: list[tuple[float, float]]
    patterns: list[tuple[int, ...]]
    eligible: list[int]
    optional: bool
    value: float


@dataclass
class Prep:
    """Result of the pre-checks."""

    outlets: list[OutletInfo]
    #: outlet index -> (missing visits, reason) for outlets that cannot be served at all.
    rejected: dict[int, tuple[int, str]]
    rep_days: list[set[int]]


@dataclass
class Group:
    """An independent sub-problem with local node numbering.

    Local nodes: outlets ``0..n-1``, rep starts ``n..n+R-1``, rep ends ``n+R..n+2R-1``.
    """

    reps: list[int]
    outlets: list[int]
    tmat: FloatArray
    kmat: FloatArray
    service: list[float]
    demand: list[float]
    windows: list[list[tuple[float, float]]]
    patterns: list[list[tuple[int, ...]]]
    eligible: list[set[int]]
    optional: list[bool]
    value: list[float]
    visits: list[int]
    days: list[int]
    vehicles: dict[tuple[int, int], VehicleSpec] = field(default_factory=dict)
    objective: str = "duration"

    @property
    def n(self) -> int:
        """Number of outlets of the group."""
        return len(self.outlets)


def _vehicle(problem: RoutesProblem, r: int, start_node: int, end_node: int) -> VehicleSpec:
    rep = problem.reps[r]
    b = rep.break_
    return VehicleSpec(
        start_node=start_node,
        end_node=end_node,
        shift_start=rep.shift.start,
        shift_end=rep.shift.end,
        brk=(b.earliest, b.latest, b.minutes) if b is not None else None,
        max_route_minutes=rep.max_route_minutes,
        max_visits=rep.max_visits_per_day,
        capacity=rep.capacity,
    )


def _rep_signature(problem: RoutesProblem, r: int) -> tuple[object, ...]:
    rep = problem.reps[r]
    return (
        rep.start.coords() if problem.travel.metric != "matrix" else rep.id,
        rep.end_location.coords() if problem.travel.metric != "matrix" else rep.id,
        rep.shift.start,
        rep.shift.end,
        (rep.break_.earliest, rep.break_.latest, rep.break_.minutes) if rep.break_ else None,
        rep.max_route_minutes,
    )


def _cap(problem: RoutesProblem, r: int) -> float:
    c = problem.reps[r].capacity
    return c if c is not None else float("inf")


def _break_minutes(problem: RoutesProblem, r: int) -> float:
    b = problem.reps[r].break_
    return b.minutes if b is not None else 0.0


def _fits_shift(problem: RoutesProblem, r: int, windows: list[tuple[float, float]], service: float) -> bool:
    """Can the service start inside a window and end inside rep ``r``'s shift (ignoring travel)?"""
    sh = problem.reps[r].shift
    if not windows:
        return service <= sh.end - sh.start + 1e-9
    return any(max(a, sh.start) <= min(b, sh.end - service) + 1e-9 for a, b in windows)


def prepare(problem: RoutesProblem, tm: TravelModel) -> Prep:
    """Eligibility of reps for each outlet, and reasons for outlets nobody can serve.

    Parameters
    ----------
    problem
        The routes problem.
    tm
        Its travel model (:meth:`TravelModel.for_routes`).

    Returns
    -------
    Prep
        Per-outlet solver data and the rejected outlets with reasons.
    """
    reps = problem.reps
    n = len(problem.outlets)
    n_rep = len(reps)
    rep_days = [set(problem.rep_days(r)) for r in reps]
    rep_pos = {r.id: i for i, r in enumerate(reps)}
    starts = [tm.rep_node(i, start=True) for i in range(n_rep)]
    ends = [tm.rep_node(i, start=False) for i in range(n_rep)]
    out_nodes = np.arange(n)
    t_out = tm.block_minutes(starts, out_nodes) if n else np.zeros((n_rep, 0))  # R x n
    t_back = tm.block_minutes(out_nodes, ends) if n else np.zeros((0, n_rep))  # n x R
    infos: list[OutletInfo] = []
    rejected: dict[int, tuple[int, str]] = {}
    reach_cache: dict[tuple[object, ...], bool] = {}
    sigs = [_rep_signature(problem, r) for r in range(n_rep)]

    for i, o in enumerate(problem.outlets):
        windows = problem.windows(o)
        need = set(o.skills)
        if o.rep is not None:
            cands = [rep_pos[o.rep]]
            lack = need - set(reps[cands[0]].skills)
            if lack:
                rejected[i] = (o.visits, f"pinned rep {o.rep} lacks skill(s) {', '.join(sorted(lack))}")
                continue
        else:
            cands = [r for r in range(n_rep) if need <= set(reps[r].skills)]
            if not cands:
                rejected[i] = (o.visits, f"no rep has the skill(s) {', '.join(sorted(need))}")
                continue
        cap_ok = [r for r in cands if o.demand <= _cap(problem, r) + 1e-9]
        if not cap_ok:
            best_cap = max(reps[r].capacity or 0.0 for r in cands)
            rejected[i] = (
                o.visits, f"demand {o.demand:g} exceeds the capacity of every eligible rep (max {best_cap:g})"
            )
            continue
        pats = problem.allowed_patterns(o)
        if problem.same_rep:
            day_ok = [r for r in cap_ok if any(set(p) <= rep_days[r] for p in pats)]
        else:
            union: set[int] = set().union(*(rep_days[r] for r in cap_ok))
            day_ok = cap_ok if any(set(p) <= union for p in pats) else []
        if not day_ok:
            rejected[i] = (o.visits, "no allowed day pattern falls on days when an eligible rep works")
            continue
        # service window inside the shift at all (ignoring travel)?
        win_ok = [r for r in day_ok if _fits_shift(problem, r, windows, o.service_minutes)]
        if not win_ok:
            ws = ", ".join(f"{fmt_time(a)}-{fmt_time(b)}" for a, b in windows) or "none"
            rejected[i] = (
                o.visits,
                f"the service ({o.service_minutes:g} min) does not fit any time window ({ws}) inside the shift "
                "of any eligible rep",
            )
            continue
        # reachability: a solo route start -> outlet -> end must be feasible (nearest reps first)
        order = sorted(win_ok, key=lambda r: float(t_out[r, i] + t_back[i, r]))
        eligible: list[int] = []
        for r in order[:REACH_CHECK_REPS] if o.rep is None else order:
            key = (sigs[r], i)
            if key not in reach_cache:
                tm3 = np.zeros((3, 3))
                tm3[1, 0] = t_out[r, i]
                tm3[0, 2] = t_back[i, r]
                v = _vehicle(problem, r, 1, 2)
                reach_cache[key] = (
                    schedule_route([0], v, tm3, tm3, [o.service_minutes, 0, 0], [windows, [], []], None) is not None
                )
            if reach_cache[key]:
                eligible.append(r)
        if not eligible:
            r0 = order[0]
            rejected[i] = (
                o.visits,
                f"out of reach: travel from the nearest eligible rep ({reps[r0].id}) takes "
                f"{t_out[r0, i]:.0f} min there and {t_back[i, r0]:.0f} min back, which with the service, the "
                "time windows and the break does not fit in the shift / route length",
            )
            continue
        # reps far down the list are still eligible when the nearest ones passed (same kind of rep)
        if o.rep is None and len(order) > REACH_CHECK_REPS:
            eligible += order[REACH_CHECK_REPS:]
        infos.append(
            OutletInfo(
                idx=i,
                visits=o.visits,
                service=o.service_minutes,
                demand=o.demand,
                windows=windows,
                patterns=pats,
                eligible=eligible,
                optional=o.optional,
                value=o.value,
            )
        )
    return Prep(infos, rejected, rep_days)


def assign_reps(
    problem: RoutesProblem, tm: TravelModel, prep: Prep, seed: int = 0, preferred: dict[int, int] | None = None
) -> dict[int, int]:
    """Give each outlet one rep: geographic, capacitated by each rep's working minutes.

    Greedy regret assignment on travel from the rep's start, followed by a few k-median style
    rounds that pull outlets toward their rep's cluster (so reps sharing a home get compact
    sectors). Outlets in ``preferred`` (outlet index -> rep index, e.g. the rep of a warm start)
    keep that rep when it is eligible. Returns outlet index -> rep index.
    """
    preferred = preferred or {}
    reps = problem.reps
    n_rep = len(reps)
    infos = prep.outlets
    if not infos:
        return {}
    idx = np.array([o.idx for o in infos])
    starts = [tm.rep_node(r, start=True) for r in range(n_rep)]
    t_home = tm.block_minutes(starts, idx)  # R x m
    # rough travel per visit: a share of the distance to the nearest other outlets
    m = len(infos)
    if m > 1:
        sample = idx if m <= 2000 else np.random.default_rng(seed).choice(idx, 2000, replace=False)
        tt = tm.block_minutes(sample, sample)
        np.fill_diagonal(tt, np.inf)
        per_visit = float(np.median(np.min(tt, axis=1))) * 1.5
    else:
        per_visit = 0.0
    work = np.array([o.visits * (o.service + per_visit) for o in infos])
    cap = np.array(
        [
            len(prep.rep_days[r])
            * min(
                reps[r].shift.end - reps[r].shift.start - _break_minutes(problem, r),
                reps[r].max_route_minutes or float("inf"),
            )
            for r in range(n_rep)
        ]
    )
    scale_cap = max(1.0, work.sum() / max(cap.sum(), 1e-9))  # overloaded: balance proportionally
    cap = cap * scale_cap
    elig = [
        [r for r in o.eligible if problem.same_rep is False or any(set(p) <= prep.rep_days[r] for p in o.patterns)]
        or o.eligible
        for o in infos
    ]
    cost = t_home.T.copy()  # m x R
    assign = np.full(m, -1)
    for _round in range(4):
        load = np.zeros(n_rep)
        # pinned / few-choice outlets first, then by decreasing work
        order = sorted(range(m), key=lambda k: (len(elig[k]), -work[k]))
        new = np.full(m, -1)
        for k in order:
            opts = elig[k]
            pref = preferred.get(int(idx[k]))
            if pref is not None and pref in opts:
                new[k] = pref
                load[pref] += work[k]
                continue
            room = [r for r in opts if load[r] + work[k] <= cap[r] + 1e-9]
            pool = room or opts
            if room:
                r_best = min(pool, key=lambda r: (cost[k, r], r))
            else:
                r_best = min(pool, key=lambda r: (load[r] / max(cap[r], 1e-9), r))
            new[k] = r_best
            load[r_best] += work[k]
        if np.array_equal(new, assign):
            break
        assign = new
        # pull toward the rep's cluster: cost = home distance + distance to the cluster medoid
        medoid = np.full(n_rep, -1)
        for r in range(n_rep):
            mem = np.flatnonzero(assign == r)
            if len(mem) == 0:
                continue
            sub = idx[mem] if len(mem) <= 400 else idx[np.random.default_rng(seed + r).choice(mem, 400, replace=False)]
            d = tm.block_minutes(sub, sub).sum(axis=1)
            medoid[r] = int(sub[int(np.argmin(d))])
        cost = t_home.T.copy() * 0.5
        for r in range(n_rep):
            if medoid[r] >= 0:
                cost[:, r] += tm.block_minutes([int(medoid[r])], idx)[0]
            else:
                cost[:, r] += t_home[r]
    return {infos[k].idx: int(assign[k]) for k in range(m)}


def build_group(
    problem: RoutesProblem, tm: TravelModel, prep: Prep, reps: list[int], outlets: list[OutletInfo]
) -> Group:
    """Local data of a group of reps and outlets (travel sub-matrices, vehicles per day)."""
    n = len(outlets)
    n_rep = len(reps)
    nodes = [o.idx for o in outlets] + [tm.rep_node(r, start=True) for r in reps]
    nodes += [tm.rep_node(r, start=False) for r in reps]
    tmat = tm.block_minutes(nodes, nodes)
    kmat = tm.block_km(nodes, nodes)
    local_rep = {r: k for k, r in enumerate(reps)}
    days = sorted(set().union(*(prep.rep_days[r] for r in reps))) if reps else []
    vehicles = {}
    for k, r in enumerate(reps):
        spec = _vehicle(problem, r, n + k, n + n_rep + k)
        for d in prep.rep_days[r]:
            vehicles[(k, d)] = spec
    pad = [0.0] * (2 * n_rep)
    return Group(
        reps=reps,
        outlets=[o.idx for o in outlets],
        tmat=tmat,
        kmat=kmat,
        service=[o.service for o in outlets] + pad,
        demand=[o.demand for o in outlets] + pad,
        windows=[list(o.windows) for o in outlets] + [[] for _ in range(2 * n_rep)],
        patterns=[list(o.patterns) for o in outlets],
        eligible=[{local_rep[r] for r in o.eligible if r in local_rep} for o in outlets],
        optional=[o.optional for o in outlets],
        value=[o.value for o in outlets],
        visits=[o.visits for o in outlets],
        days=days,
        vehicles=vehicles,
        objective=problem.objective,
    )


def make_groups(
    problem: RoutesProblem, tm: TravelModel, prep: Prep, seed: int = 0, preferred: dict[int, int] | None = None
) -> list[Group]:
    """Split the problem into independent groups (see the module docstring).

    ``preferred`` (outlet index -> rep index) is passed to :func:`assign_reps`.
    """
    infos = prep.outlets
    multi = any(o.visits > 1 for o in infos)
    split = (problem.same_rep and multi) or len(infos) > MAX_SHARED_GROUP
    if not split:
        return [build_group(problem, tm, prep, list(range(len(problem.reps))), infos)]
    owner = assign_reps(problem, tm, prep, seed, preferred)
    groups = []
    for r in range(len(problem.reps)):
        mine = [o for o in infos if owner.get(o.idx) == r]
        if mine:
            # the group's outlets may only use their rep
            mine = [
                OutletInfo(o.idx, o.visits, o.service, o.demand, o.windows,
                           [p for p in o.patterns if set(p) <= prep.rep_days[r]] or o.patterns,
                           [r], o.optional, o.value)
                for o in mine
            ]
            groups.append(build_group(problem, tm, prep, [r], mine))
    return groups
