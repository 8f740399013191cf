"""``solve_routes``: weekly (1-4 week cyclic) periodic routing of field reps.

Stages
------
1. ``prepare``: eligibility of reps per outlet; outlets nobody can serve go to ``unassigned``
   with the reason.
2. ``groups``: with ``same_rep`` and multi-visit outlets (or on large instances) each outlet is
   given to one rep (capacitated, geographic) and every rep is solved on its own; otherwise all
   reps share one group and every day is a multi-vehicle VRP.
3. ``construct``: periodic cheapest insertion, choosing each outlet's day pattern by the exact
   insertion cost of all its visits (every route re-timed exactly).
4. ``routing``: each (group, day) is re-optimised by OR-Tools routing (time dimension, breaks,
   several windows, guided local search) or by PyVRP where the day needs neither breaks nor
   several windows; two worker processes run days in parallel (or two seeds of a single day).
   A shared-fleet group whose one-visit outlets have a choice of days (Cordeau PVRP) is routed
   as one horizon-wide PyVRP instance instead (:mod:`optimizer.routes.periodvrp`), which picks
   those days and the routes together.
   This includes one-rep groups (Cordeau p03/p06/p09: one vehicle a day, where the days of
   one-visit outlets are the routes of a CVRP).
5. ``improve``: until the time limit, pattern moves (take an outlet out, re-insert it on its best
   allowed pattern; swap the patterns of two nearby outlets; keep a move when the objective
   drops) alternate with re-routing the changed days. On whole-horizon groups each round starts
   with pattern kicks where few outlets (<= 20 %) have a pattern choice: a few nearby multi-visit
   outlets get a new random pattern and a short horizon-wide PyVRP run judges it, in place of the
   insertion-based moves (which seldom change those patterns once the days are packed). On the
   other whole-horizon groups with multi-visit outlets, once the moves stall (or after
   ``KICK_AFTER_ROUNDS`` rounds) the rounds switch to day-judged pattern moves: a change chosen by
   its capacity-relaxed estimate (removal gains against cheapest insertions) is kept only when
   re-routing the days it touches (day VRP, both cores) lowers the total.

Experiments measured no better and removed: relaxed whole-horizon VRP, penalised pattern annealing,
joint region re-assignment (GAP MIP), shuffled multi-start (see git history and RESULTS.md
routes_cordeau_followup).

Warm start (``initial``, used by re-planning): the given routes are kept in their order as far as
they are feasible before the construction inserts the rest. A planned required visit is never
given up: every move and every re-routing is accepted only when the count of planned required
visits does not drop (``MISS`` per missing visit outweighs any cost or optional value), and
pinned outlets (one rep, one pattern) are inserted before all others.

Determinism: the construction and the moves are deterministic for a seed; the routing backends
stop on wall-clock limits, so runs that end on the limit (not on convergence) can differ. Small
instances converge and give identical results for the same seed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from optimizer.model.routes import BreakTaken, Route, RoutesProblem, RoutesSolution, RoutesTotals, Stop, Unassigned
from optimizer.progress import ProgressCallback, Reporter
from optimizer.routes.dayvrp import DayInput, pyvrp_applicable, solve_day_ortools, solve_day_pyvrp
from optimizer.routes.periodic import MISS, Plan
from optimizer.routes.periodvrp import PeriodInput, period_applicable, solve_period_pyvrp
from optimizer.routes.prep import Group, make_groups, prepare
from optimizer.travel import TravelModel

#: Prize (objective units) offered to a backend for a missing required visit.
MISSING_PRIZE = 1e5
#: Share of the search time for the first routing when the pattern search follows (0.8 measured
#: no better on p12/p10 at 60 s).
ROUTING_SHARE = 0.45
#: Pattern kicks on whole-horizon groups with few multi-visit outlets (see KICK_ONLY_FRACTION):
#: a few nearby outlets get a new random pattern and a short whole-horizon VRP judges it, beside
#: a candidate without a kick.
KICKS = True
#: Seconds of whole-horizon VRP per kick: at least this, else visits / KICK_VISITS_PER_SECOND.
KICK_MIN_SECONDS = 1.5
#: Groups where at most this share of the outlets have several visits and a pattern choice get
#: the kicks in place of the moves (p12 at 60 s: 2.7-6.8 % against 8.3-9.6 % without). Elsewhere
#: the insertion-based moves and ruin & recreate run alone: kicks only took p10 to 13.1 %, kicks
#: before the moves measured 6.5-7.9 % on p10 and 7.9 % on pr10 against 6.5-6.6 % and 6.7 % without.
KICK_ONLY_FRACTION = 0.2
#: On the other whole-horizon groups with multi-visit outlets, the moves and ruin & recreate stop
#: once a round improved nothing (p02 stalled from 49 s of 60) or after KICK_AFTER_ROUNDS rounds.
#: False keeps the moves to the end (the path before; 60 s, 2 seeds on p02/p05/p10/pr05/pr08/pr09/pr10:
#: mean 5.07 % against 4.56 % with it, the gain nearly all on pr10, the others within noise).
KICK_AFTER_STALL = True
KICK_AFTER_ROUNDS = 2
#: Those groups then get pattern changes chosen with capacity relaxed (:meth:`Plan.relaxed_deltas`)
#: and judged by re-routing the days they touch (:func:`day_judged_moves`); False: random kicks
#: judged by the horizon-wide VRP instead (p02 at 60 s: 5.41 % against 5.02 %, 0 of 11 kept).
GUIDED_MOVES = True
#: Seconds of day-judged pattern moves per round (at most a tenth of the time limit).
GUIDED_SLICE_S = 6.0
#: A change is drawn among this many best estimated ones (not yet tried on the current plan).
GUIDED_TOP = 3
#: Seconds of day VRP per judged day: at least GUIDED_MIN_DAY_S, else clients / GUIDED_CLIENTS_PER_S.
GUIDED_MIN_DAY_S = 0.2
GUIDED_CLIENTS_PER_S = 150.0
KICK_VISITS_PER_SECOND = 75.0


def _workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def day_input(plan: Plan, d: int) -> tuple[DayInput, list[int], list[int]] | None:
    """The day-``d`` VRP of a plan: planned visits (required) plus missing visits of that day.

    Returns the input, the group-local outlet of each client and the vehicle of each position.
    """
    g = plan.g
    ks = sorted(plan.by_day.get(d, []))
    if not ks:
        return None
    planned = [o for k in ks for o in plan.routes[(k, d)]]
    extra = [
        o
        for o in range(g.n)
        if not g.optional[o]
        and d in (plan.pattern[o] or ())
        and d not in plan.where[o]
        and any(k in g.eligible[o] for k in ks)
    ]
    clients = planned + extra
    if not clients:
        return None
    nodes = list(clients)
    vspecs = []
    for k in ks:
        v = g.vehicles[(k, d)]
        vspecs.append((v, len(nodes), len(nodes) + 1))
        nodes += [v.start_node, v.end_node]
    import numpy as np

    idx = np.asarray(nodes)
    from dataclasses import replace

    c = len(clients)
    pos = {o: i for i, o in enumerate(clients)}
    allowed: list[list[int] | None] = []
    for o in clients:
        al = [i for i, k in enumerate(ks) if k in g.eligible[o]]
        allowed.append(None if len(al) == len(ks) else al)
    n_planned = len(planned)
    prize: list[float | None] = [None] * n_planned + [MISSING_PRIZE] * (c - n_planned)
    initial = [[pos[o] for o in plan.routes[(k, d)]] for k in ks]
    di = DayInput(
        tmat=g.tmat[np.ix_(idx, idx)],
        kmat=g.kmat[np.ix_(idx, idx)],
        service=[g.service[n] for n in nodes],
        demand=[g.demand[n] for n in nodes],
        windows=[g.windows[n] for n in nodes],
        n_clients=c,
        vehicles=[replace(v, start_node=s, end_node=e) for v, s, e in vspecs],
        prize=prize,
        objective=g.objective,
        allowed=allowed,
        initial=initial,
    )
    return di, clients, ks


def period_input(plan: Plan) -> PeriodInput | None:
    """The whole horizon of a shared-fleet group as one VRP, or None when it does not apply.

    It applies when every outlet may use every vehicle of the group, no rep has a break, every
    outlet has at most one window, and some outlet has a choice of days (else days are
    independent and the per-day sub-problems are the same thing, smaller).
    """
    g = plan.g
    n_rep = len(g.reps)
    if not period_applicable(g.vehicles, g.windows[: g.n]):
        return None
    if any(len(g.eligible[o]) != n_rep for o in range(g.n)):
        return None
    outs: list[int] = []
    days_of: list[list[int]] = []
    choice: list[bool] = []
    prize: list[float | None] = []
    any_choice = False
    for o in range(g.n):
        if g.visits[o] == 1 and len(g.patterns[o]) > 1:
            ds = sorted({p[0] for p in g.patterns[o] if p[0] in plan.by_day})
            if not ds:
                continue
            outs.append(o)
            days_of.append(ds)
            choice.append(True)
            any_choice = True
            if g.optional[o]:
                prize.append(g.value[o])
            else:
                prize.append(None if plan.where[o] else MISSING_PRIZE)
            continue
        pat = plan.pattern[o]
        if g.optional[o]:
            if not plan.where[o] or pat is None:
                continue  # an optional outlet with several visits: all or none, left to the periodic search
            prize.append(None)
        elif pat is None:
            continue
        else:
            prize.append(None if plan.missing(o) == 0 else MISSING_PRIZE)
        outs.append(o)
        days_of.append([d for d in pat if d in plan.by_day])
        choice.append(False)
    if not any_choice:
        return None
    return PeriodInput(
        tmat=g.tmat, kmat=g.kmat, service=g.service, demand=g.demand, windows=g.windows, outlets=outs,
        days_of=days_of, choice=choice, prize=prize, vehicles=g.vehicles, objective=g.objective,
        initial={kd: list(seq) for kd, seq in plan.routes.items() if seq},
    )


def _timed_routes(
    plan: Plan, routes: dict[tuple[int, int], list[int]]
) -> dict[tuple[int, int], tuple[list[int], Any]] | None:
    """Each (rep, day) sequence with its exact timing, or None when one of them is infeasible."""
    timed: dict[tuple[int, int], tuple[list[int], Any]] = {}
    for kd, seq in routes.items():
        s = plan.timed(kd[0], kd[1], seq) if seq else None
        if seq and s is None:
            return None
        timed[kd] = (seq, s)
    return timed


def adopt_period(plan: Plan, routes: dict[tuple[int, int], list[int]] | None) -> bool:
    """Take a whole-horizon solution if every route is exactly feasible and the total improves."""
    if routes is None:
        return False
    g = plan.g
    days: dict[int, set[int]] = {}
    for (_k, d), seq in routes.items():
        for o in seq:
            if d in days.setdefault(o, set()):
                return False
            days[o].add(d)
    new_pat: dict[int, tuple[int, ...]] = {}
    for o, ds in days.items():
        pat = tuple(sorted(ds))
        if g.visits[o] == 1 and pat in g.patterns[o]:
            new_pat[o] = pat
        elif plan.pattern[o] is not None and set(pat) <= set(plan.pattern[o] or ()):
            new_pat[o] = plan.pattern[o]  # type: ignore[assignment]
        else:
            return False
        if g.optional[o] and len(pat) != g.visits[o]:
            return False
    timed = _timed_routes(plan, routes)
    if timed is None:
        return False
    before = plan.total()
    snap = plan.snapshot()
    for kd in plan.routes:
        seq, s = timed.get(kd, ([], None))
        plan.set_route(kd[0], kd[1], seq, s)
    for o, pat in new_pat.items():
        plan.pattern[o] = pat
    for o in range(g.n):
        if not plan.where[o] and g.optional[o] and o not in new_pat:
            plan.pattern[o] = None
    if plan.total() < before - 1e-6:
        return True
    plan.restore(snap)
    return False


def kick_candidates(plan: Plan, rng: random.Random, max_size: int = 3) -> list[int]:
    """A multi-visit outlet with a pattern choice and up to ``max_size - 1`` of its nearest such outlets."""
    g = plan.g
    pool = [o for o in range(g.n) if g.visits[o] > 1 and len(g.patterns[o]) > 1 and not g.optional[o]
            and plan.pattern[o] is not None]
    if not pool:
        return []
    o = pool[rng.randrange(len(pool))]
    size = rng.randint(1, max_size)
    near = sorted(pool, key=lambda x: float(plan.cmat[o, x]))
    return near[:size]


def apply_kick(plan: Plan, outs: list[int], rng: random.Random) -> bool:
    """Give ``outs`` a new random pattern (the first outlet's for all where allowed); visits that
    do not fit stay missing for the whole-horizon VRP to insert. False (no change) if nothing moved."""
    g = plan.g
    first = outs[0]
    alts = [p for p in g.patterns[first] if p != plan.pattern[first]]
    if not alts:
        return False
    target = alts[rng.randrange(len(alts))]
    moved = False
    for o in outs:
        p = target if target in g.patterns[o] else g.patterns[o][rng.randrange(len(g.patterns[o]))]
        if p == plan.pattern[o] or not plan.remove(o):
            continue
        plan.place(o, only=[p])
        plan.pattern[o] = p  # also when no visit fits: the whole-horizon VRP gets them all
        moved = True
    return moved


def day_judged_moves(plan: Plan, runner: Any, rep: Reporter, margin: float, until: float, seed: int,
                     tabu: set[tuple[int, tuple[int, ...]]]) -> tuple[int, int]:
    """Pattern changes of multi-visit outlets, each judged by re-routing the days it touches.

    A change is drawn among the :data:`GUIDED_TOP` best by :meth:`Plan.relaxed_deltas` (capacity
    ignored) that were not tried on the current plan (``tabu``), applied with exact insertion
    where the visits fit (the others wait on their new days), and every day it touches is
    re-routed by the day VRP (both cores); it is kept only when all visits are planned and the
    total drops. Runs until ``until``; returns (kept, tried).
    """
    kept = tried = 0
    last = 0.0  # seconds of the last judged change: no new one that would overrun the limit
    while not rep.should_stop and time.monotonic() + last < until and rep.time_left() > margin + 0.3 + 2 * last:
        t_move = time.monotonic()
        cands = [m for m in plan.relaxed_deltas() if (m[1], m[2]) not in tabu]
        if not cands:
            break
        _d, o, p = cands[plan.rng.randrange(min(GUIDED_TOP, len(cands)))]
        tabu.add((o, p))
        old_days = set(plan.where[o])
        before, snap = plan.total(), plan.snapshot()
        tried += 1
        if not plan.remove(o):
            last = time.monotonic() - t_move
            continue
        for d in p:
            ins = plan.best_insertion(o, d)
            if ins is not None:
                plan.apply(o, d, ins)
        plan.pattern[o] = p
        days = sorted(old_days ^ set(p)) or sorted(p)
        jobs: list[tuple[Any, float, int, str]] = []
        meta: list[tuple[int, list[int], list[int]]] = []
        for d in days:
            built = day_input(plan, d)
            if built is None:
                continue
            di, clients, ks = built
            jobs.append((di, max(GUIDED_MIN_DAY_S, di.n_clients / GUIDED_CLIENTS_PER_S), seed + tried, "auto"))
            meta.append((d, clients, ks))
        for (d, clients, ks), (_u, routes) in zip(meta, runner.map(jobs), strict=True):
            adopt_day(plan, d, clients, ks, routes)
        if plan.total() < before - 1e-6 and plan.missing(o) == 0:
            kept += 1
            tabu.clear()
        else:
            plan.restore(snap)
        last = time.monotonic() - t_move
    return kept, tried


def run_job(job: tuple[Any, float, int, str]) -> tuple[str, Any]:
    """Run a day (:class:`DayInput`) or a whole-horizon (:class:`PeriodInput`) sub-problem."""
    inp, time_limit, seed, backend = job
    if isinstance(inp, PeriodInput):
        return "pyvrp-period", solve_period_pyvrp(inp, time_limit, seed)
    return run_day(inp, time_limit, seed, backend)


def run_day(di: DayInput, time_limit: float, seed: int, backend: str) -> tuple[str, list[list[int]] | None]:
    """Solve one day with the chosen backend (``auto``: PyVRP when it applies, else OR-Tools)."""
    use_pyvrp = backend == "pyvrp" or (backend == "auto" and pyvrp_applicable(di))
    if use_pyvrp and pyvrp_applicable(di):
        try:
            res = solve_day_pyvrp(di, time_limit, seed)
            if res is not None:
                return "pyvrp", res
        except Exception:
            pass
    return "ortools", solve_day_ortools(di, time_limit, seed)


def adopt_day(plan: Plan, d: int, clients: list[int], ks: list[int], routes: list[list[int]] | None) -> bool:
    """Take a backend's routes for day ``d`` if they are exactly feasible and better."""
    if routes is None:
        return False
    g = plan.g
    new: dict[int, tuple[list[int], Any]] = {}
    for pos_k, k in enumerate(ks):
        seq = [clients[i] for i in routes[pos_k]]
        if any(k not in g.eligible[o] for o in seq):
            return False
        s = plan.timed(k, d, seq) if seq else None
        if seq and s is None:
            return False
        new[k] = (seq, s)
    old_cost = sum(plan.cost_of[(k, d)] for k in ks)
    old_n = sum(len(plan.routes[(k, d)]) for k in ks)
    new_cost = sum(plan.route_cost(s) for _, s in new.values())
    new_set = {o for seq, _ in new.values() for o in seq}
    old_set = {o for k in ks for o in plan.routes[(k, d)]}
    if not old_set <= new_set:  # never lose a planned visit
        return False
    gained = len(new_set) - old_n
    if MISS * -gained + new_cost >= old_cost - 1e-6:
        return False
    for k, (seq, s) in new.items():
        plan.set_route(k, d, seq, s)
    return True


def _assemble(
    problem: RoutesProblem, groups: list[Group], plans: list[Plan], rejected: dict[int, tuple[int, str]]
) -> tuple[list[Route], list[Unassigned], dict[str, list[int]], RoutesTotals, float]:
    routes: list[Route] = []
    opt_value = 0.0
    planned = 0
    km = travel = service = waiting = 0.0
    patterns: dict[str, list[int]] = {}
    unassigned: list[Unassigned] = []
    for g, plan in zip(groups, plans, strict=True):
        for (k, d), seq in sorted(plan.routes.items(), key=lambda x: (g.reps[x[0][0]], x[0][1])):
            s = plan.sched[(k, d)]
            if not seq or s is None:
                continue
            rep = problem.reps[g.reps[k]]
            stops = [
                Stop(outlet=problem.outlets[g.outlets[o]].id, arrival=a, start=st, end=en)
                for o, (a, st, en) in zip(seq, s.stops, strict=True)
            ]
            routes.append(
                Route(
                    rep=rep.id,
                    day=d,
                    stops=stops,
                    start=s.start,
                    end=s.end,
                    distance_km=s.distance_km,
                    travel_minutes=s.travel_minutes,
                    service_minutes=s.service_minutes,
                    waiting_minutes=s.waiting_minutes,
                    break_=BreakTaken(start=s.brk[0], end=s.brk[1]) if s.brk else None,
                )
            )
            km += s.distance_km
            travel += s.travel_minutes
            service += s.service_minutes
            waiting += s.waiting_minutes
            for o in seq:
                if g.optional[o]:
                    opt_value += g.value[o]
                else:
                    planned += 1
        for o in range(g.n):
            out = problem.outlets[g.outlets[o]]
            pat = plan.pattern[o]
            if plan.where[o] and pat is not None:
                patterns[out.id] = list(pat)
            miss = plan.missing(o)
            if miss > 0:
                got = len(plan.where[o])
                unassigned.append(
                    Unassigned(
                        outlet=out.id,
                        missing_visits=miss,
                        reason=(
                            "time limit reached before this outlet could be planned (give more time)"
                            if o in plan.skipped and not got
                            else f"no room: {got} of {out.visits} visits fit; on every allowed pattern the routes "
                            "of the eligible reps are full (shift, route length, break, time windows, capacity or "
                            "visit limit)"
                        ),
                    )
                )
    for i, (miss, reason) in sorted(rejected.items()):
        unassigned.append(Unassigned(outlet=problem.outlets[i].id, missing_visits=miss, reason=reason))
    routes.sort(key=lambda r: (r.rep, r.day))
    totals = RoutesTotals(
        distance_km=km,
        travel_minutes=travel,
        service_minutes=service,
        waiting_minutes=waiting,
        visits_required=sum(o.visits for o in problem.outlets if not o.optional),
        visits_planned=planned,
        optional_value=opt_value,
    )
    obj = (km if problem.objective == "distance" else travel + waiting) - opt_value
    return routes, unassigned, patterns, totals, obj


def _initial_owners(problem: RoutesProblem, initial: RoutesSolution) -> dict[int, int]:
    """Outlet index -> rep index of the first route of ``initial`` that visits it."""
    o_idx = {o.id: i for i, o in enumerate(problem.outlets)}
    r_idx = {r.id: i for i, r in enumerate(problem.reps)}
    out: dict[int, int] = {}
    for r in initial.routes:
        if r.rep not in r_idx:
            continue
        for st in r.stops:
            if st.outlet in o_idx:
                out.setdefault(o_idx[st.outlet], r_idx[r.rep])
    return out


def _initial_routes(problem: RoutesProblem, g: Group, initial: RoutesSolution) -> dict[tuple[int, int], list[int]]:
    """The routes of ``initial`` in a group's local numbering (unknown reps, outlets, days left out)."""
    local_o = {problem.outlets[gi].id: lo for lo, gi in enumerate(g.outlets)}
    local_r = {problem.reps[gr].id: k for k, gr in enumerate(g.reps)}
    out: dict[tuple[int, int], list[int]] = {}
    for r in initial.routes:
        k = local_r.get(r.rep)
        if k is None or (k, r.day) not in g.vehicles:
            continue
        out[(k, r.day)] = [local_o[st.outlet] for st in r.stops if st.outlet in local_o]
    return out


def _construct(plan: Plan, deadline: float) -> Plan:
    plan.construct(deadline)
    return plan


class _Runner:
    """Runs day sub-problems, in two worker processes when that pays off."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: Executor | None = None

    def map(self, jobs: list[tuple[Any, float, int, str]]) -> list[tuple[str, Any]]:
        if self.workers <= 1 or len(jobs) <= 1:
            return [run_job(j) for j in jobs]
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("fork"))
        futs: list[Future[tuple[str, Any]]] = [self.pool.submit(run_job, j) for j in jobs]
        return [f.result() for f in futs]

    def construct(self, plans: list[Plan], deadline: float) -> list[Plan]:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("fork"))
        return list(self.pool.map(_construct, plans, [deadline] * len(plans), chunksize=1))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def solve_routes(
    problem: RoutesProblem,
    *,
    time_limit: float = 30.0,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    backend: str = "auto",
    workers: int | None = None,
    initial: RoutesSolution | None = None,
) -> RoutesSolution:
    """Plan every rep's routes for each day of the (cyclic) horizon.

    Parameters
    ----------
    problem
        The routes problem (see :mod:`optimizer.model.routes` for the exact semantics).
    time_limit
        Seconds for the whole solve (the result comes back within about a second of it).
    seed
        Seed of the construction order, the moves and the PyVRP backend.
    progress
        Called with :class:`~optimizer.progress.ProgressEvent` s; returning False stops the
        solve early with the best plan so far.
    backend
        Day routing backend: ``"auto"`` (PyVRP where a day has no breaks and at most one window
        per outlet, else OR-Tools), ``"ortools"`` or ``"pyvrp"``.
    workers
        Worker processes for day routing (default: up to 2).
    initial
        A plan to start from (e.g. last week's, for re-planning): its routes are kept, in their
        order, as far as they are feasible for ``problem`` (outlets and reps matched by id, days by
        index); the visits it lacks are then inserted. Visits it plans are never dropped by the
        search in favour of others (a required visit outweighs any cost or optional value).

    Returns
    -------
    RoutesSolution
        Routes with exact times, totals and objective recomputed from them, the pattern of every
        outlet, the visits that could not be planned with the reason, and solver statistics.
    """
    t_start = time.monotonic()
    rep = Reporter(progress, time_limit)
    stages: dict[str, float] = {}

    def mark(name: str, t0: float) -> float:
        now = time.monotonic()
        stages[name] = stages.get(name, 0.0) + now - t0
        return now

    t0 = time.monotonic()
    rep.update("prepare", force=True, message="checking reps and outlets")
    tm = TravelModel.for_routes(problem)
    prep = prepare(problem, tm)
    preferred = _initial_owners(problem, initial) if initial is not None else None
    groups = make_groups(problem, tm, prep, seed, preferred)
    t0 = mark("prepare", t0)
    rep.update("construct", force=True, message=f"{len(groups)} group(s)")
    plans = [Plan(g, seed + i) for i, g in enumerate(groups)]
    if initial is not None:
        for p in plans:
            p.warm_start(_initial_routes(problem, p.g, initial))
    nw = workers if workers is not None else _workers()
    runner = _Runner(nw)
    # construction gets at most half the time; groups are independent (two processes)
    deadline = time.monotonic() + max(0.5 * rep.time_left(), 0.1)
    if len(plans) > 1 and nw > 1:
        plans = runner.construct(plans, deadline)
    else:
        for i, p in enumerate(plans):
            p.construct(deadline)
            if not rep.update("construct", fraction=(i + 1) / len(plans)):
                break

    def current() -> float:
        return sum(p.objective() for p in plans)

    def n_missing() -> int:
        return sum(p.missing(o) for p in plans for o in range(p.g.n))

    t0 = mark("construct", t0)
    first_solution_s = time.monotonic() - t_start
    rep.update("construct", best=current(), force=True, message=f"missing visits {n_missing()}")

    backends: dict[str, int] = {}
    n_sub = 0
    multi_pattern = any(len(g.patterns[o]) > 1 for g in groups for o in range(g.n))
    # shared-fleet groups with a day choice are routed as one horizon-wide VRP (PyVRP)
    period_groups = {gi for gi, p in enumerate(plans) if backend != "ortools" and period_input(p) is not None}
    # the horizon-wide VRP chooses the day of one-visit outlets itself: the pattern search is
    # needed only for outlets it cannot re-pattern
    multi_pattern = any(
        len(g.patterns[o]) > 1 and not (gi in period_groups and g.visits[o] == 1)
        for gi, g in enumerate(groups)
        for o in range(g.n)
    )
    margin = min(1.0, 0.05 * time_limit)
    n_kicks = [0, 0]  # kept, tried
    n_guided = [0, 0]  # kept, tried

    def route_days(days: list[tuple[int, int]], budget: float) -> None:
        nonlocal n_sub
        jobs: list[tuple[Any, float, int, str]] = []
        meta: list[tuple[int, int, list[int], list[int]]] = []
        done_groups: set[int] = set()
        for gi, d in days:
            if gi in period_groups:
                if gi not in done_groups and backend != "ortools":
                    done_groups.add(gi)
                    pi = period_input(plans[gi])
                    if pi is not None:
                        jobs.append((pi, float(sum(len(x) for x in pi.days_of)), seed, backend))
                        meta.append((gi, -1, [], []))
                        continue
                elif gi in done_groups:
                    continue
            built = day_input(plans[gi], d)
            if built is None:
                continue
            di, clients, ks = built
            jobs.append((di, di.n_clients, seed, backend))
            meta.append((gi, d, clients, ks))
        if not jobs or budget <= 0.05:
            return
        if len(jobs) == 1 and nw > 1:
            # one big day (Solomon): two seeds in parallel, keep the better
            di = jobs[0][0]
            jobs = [(di, budget, seed, backend), (di, budget, seed + 1, backend)]
            meta = meta * 2
        else:
            total = sum(j[1] for j in jobs) or 1.0
            wall = budget * min(nw, len(jobs))
            jobs = [(j[0], max(0.05, wall * j[1] / total), j[2], j[3]) for j in jobs]
        results = runner.map(jobs)
        n_sub += len(jobs)
        for (gi, d, clients, ks), (used, routes) in zip(meta, results, strict=True):
            backends[used] = backends.get(used, 0) + 1
            if d < 0:
                adopt_period(plans[gi], routes)
            else:
                adopt_day(plans[gi], d, clients, ks, routes)

    try:
        all_days = [(gi, d) for gi, g in enumerate(groups) for d in g.days]
        if not rep.should_stop:
            left = rep.time_left() - margin
            share = ROUTING_SHARE if multi_pattern else 1.0
            rep.update("routing", best=current(), force=True, message=f"{len(all_days)} day sub-problems")
            route_days(all_days, left * share)
            t0 = mark("routing", t0)
            rep.update("routing", best=current(), force=True)
        rounds = 0
        # few outlets with a pattern choice: the kicks alone (the moves rarely find anything there);
        # with many, the kicks took time from the moves for no gain (p10, pr10), so none there
        n_choice = {gi: sum(groups[gi].visits[o] > 1 and len(groups[gi].patterns[o]) > 1 for o in range(groups[gi].n))
                    for gi in period_groups}
        kick_groups = {gi for gi, c in n_choice.items() if KICKS and 0 < c <= KICK_ONLY_FRACTION * groups[gi].n}
        kick_only = kick_groups
        # groups with many pattern choices: day-judged moves once a round of moves and ruin & recreate found nothing
        stall_groups = {gi for gi, c in n_choice.items() if KICK_AFTER_STALL and gi not in kick_groups and c > 0}
        guided_groups: set[int] = set()
        tabu: dict[int, set[tuple[int, tuple[int, ...]]]] = {gi: set() for gi in range(len(plans))}
        while multi_pattern and not rep.should_stop and rep.time_left() > margin + 0.2:
            rounds += 1
            before = {gi: {kd: list(s) for kd, s in p.routes.items()} for gi, p in enumerate(plans)}
            improved = 0
            # pattern kicks of whole-horizon groups, each judged by a short whole-horizon VRP
            for gi in sorted(kick_groups):
                p = plans[gi]
                t_eval = max(KICK_MIN_SECONDS, sum(p.g.visits) / KICK_VISITS_PER_SECOND)
                if rep.time_left() - margin < t_eval + 0.3:
                    break
                base_total, base = p.total(), p.snapshot()
                states: list[tuple[object, ...]] = []
                kick_jobs: list[tuple[Any, float, int, str]] = []
                for c in range(nw):
                    if c == 0:  # one candidate without a kick: the routing itself keeps improving
                        pi = period_input(p)
                        if pi is not None:
                            states.append(p.snapshot())
                            kick_jobs.append((pi, t_eval, seed + 31 * rounds, backend))
                    elif apply_kick(p, kick_candidates(p, p.rng), p.rng):
                        pi = period_input(p)
                        if pi is not None:
                            states.append(p.snapshot())
                            kick_jobs.append((pi, t_eval, seed + 31 * rounds + c, backend))
                    p.restore(base)
                    base = p.snapshot()
                if not kick_jobs:
                    continue
                kick_res = runner.map(kick_jobs)
                n_sub += len(kick_jobs)
                n_kicks[1] += len(kick_jobs) - 1
                best_state, best_total = None, base_total
                for st, (_u, rts) in zip(states, kick_res, strict=True):
                    p.restore(st)
                    adopt_period(p, rts)
                    if p.total() < best_total - 1e-6:
                        best_total, best_state = p.total(), p.snapshot()
                p.restore(best_state if best_state is not None else base)
                if best_state is not None:
                    improved += 1
                    n_kicks[0] += 1
                rep.update("improve", best=current())
            # pattern changes judged by re-routing the days they touch
            for gi in sorted(guided_groups):
                until = time.monotonic() + max(1.0, min(GUIDED_SLICE_S, 0.1 * time_limit))
                k_ok, k_tried = day_judged_moves(plans[gi], runner, rep, margin, until, seed + rounds, tabu[gi])
                improved += k_ok
                n_guided[0] += k_ok
                n_guided[1] += k_tried
                rep.update("improve", best=current())
            for gi, p in enumerate(plans):
                if gi in kick_only:
                    continue
                order = list(range(p.g.n))
                p.rng.shuffle(order)
                for o in order:
                    if rep.should_stop or rep.time_left() <= margin:
                        break
                    if gi in period_groups and p.g.visits[o] == 1 and not p.missing(o) and not p.g.optional[o]:
                        continue  # the horizon-wide VRP chooses its day
                    if len(p.g.patterns[o]) > 1 or p.missing(o) > 0 or p.g.optional[o]:
                        improved += p.try_move(o)
                        if p.g.visits[o] > 1:
                            for x in p.swap_candidates(o):
                                improved += p.swap_patterns(o, x)
                    rep.update("improve", best=current())
            # ruin & recreate over related outlets until the next re-routing
            lns_until = time.monotonic() + max(0.5, min(5.0, 0.1 * time_limit))
            lns_plans = [p for gi, p in enumerate(plans) if gi not in kick_only]
            while lns_plans and not rep.should_stop and rep.time_left() > margin and time.monotonic() < lns_until:
                for p in lns_plans:
                    q = max(2, min(30, p.g.n // 10 + p.rng.randrange(1, 6)))
                    improved += p.ruin_recreate(q)
                rep.update("improve", best=current())
            changed = [
                (gi, d)
                for gi, p in enumerate(plans)
                if gi not in kick_only or gi in guided_groups
                for d in {kd[1] for kd, s in p.routes.items() if s != before[gi][kd]}
            ]
            left = rep.time_left() - margin
            if changed and left > 0.3:
                route_days(sorted(changed), min(left, max(0.5, left * 0.3)))
            rep.update("improve", best=current(), force=True, message=f"round {rounds}: {improved} moves")
            if stall_groups:
                # after a round without improvement or KICK_AFTER_ROUNDS rounds
                ready = {gi for gi in stall_groups if not improved or rounds >= KICK_AFTER_ROUNDS}
                if GUIDED_MOVES:
                    guided_groups = guided_groups | ready
                else:
                    kick_groups = kick_groups | ready
                kick_only = kick_only | ready
                stall_groups = stall_groups - ready
        stages["improve"] = time.monotonic() - t0
    finally:
        runner.close()

    routes, unassigned, patterns, totals, obj = _assemble(problem, groups, plans, prep.rejected)
    has_any = bool(routes) or not problem.outlets
    status = "feasible" if has_any or totals.visits_required == 0 else "no_solution"
    if not routes and totals.visits_required > 0:
        status = "no_solution"
    runtime = time.monotonic() - t_start
    rep.update("done", best=obj, force=True, fraction=1.0)
    return RoutesSolution(
        status=status,  # type: ignore[arg-type]
        objective=obj,
        totals=totals,
        routes=routes,
        unassigned=unassigned,
        patterns=patterns,
        stats={
            "runtime_s": round(runtime, 3),
            "stages_s": {k: round(v, 3) for k, v in stages.items()},
            "first_solution_s": round(first_solution_s, 3),
            "groups": len(groups),
            "subproblems": n_sub,
            "backend": backends,
            "workers": nw,
            "seed": seed,
            "stopped_early": rep.stop_requested,
            "kicks": {"kept": n_kicks[0], "tried": n_kicks[1]},
            "day_judged_moves": {"kept": n_guided[0], "tried": n_guided[1]},
        },
    )


__all__ = ["solve_routes"]
