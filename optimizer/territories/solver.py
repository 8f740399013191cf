"""``solve_territories``: balanced, compact territories with locks, move caps, contiguity and a Pareto front.

Strategy
--------
* Fixed centres (``territories[].center`` or per-unit ``distances``): exact MIP (HiGHS) when the
  instance has at most ``EXACT_FIXED_MAX_PAIRS`` unit/territory pairs, else the balanced allocation
  LP, rounded, repaired and improved by shift/swap local search.
* Centres chosen by the solver: exact p-median-with-balance MIP for tiny instances without a current
  alignment; else, without a current alignment, vertex substitution on the balanced transport flow
  (:mod:`optimizer.territories.centres`: global flow up to ``FLOW_SEARCH_MAX_PAIRS`` unit/territory
  pairs, neighbourhood flows above); with a current alignment (locks, move caps and costs), Hess
  location-allocation followed by iterated local search on the centres (:mod:`optimizer.territories.locate`).
* Mixed centres (some territories with a given ``center``, the others without): the chosen-centre
  search above with the given centres pinned (never substituted, closed or re-centred; the k-means
  start moves only the free centres), or, on tiny instances without a current alignment, an exact MIP
  with the given centres as always-open territories (:func:`optimizer.territories.locate.pmedian_mixed_exact`).
* Multi-start (opt-in): with centres chosen by the solver, ``workers`` searches run in parallel processes
  with seeds derived from ``seed``, until the same deadline, and the best answer is kept
  (:mod:`optimizer.territories.parallel`). The default is one search: on a quiet 2-core machine two
  searches changed the dispersion by -0.04 % to +0.04 % on the clustered n500/n2000 instances at 10 s /
  30 s for twice the CPU (benchmarks/RESULTS.md, ``territories_multistart``).
* Contiguity: detached pieces are handed to a neighbouring territory, then balance is repaired and
  the local search continues with contiguity-preserving moves only.

Status semantics
----------------
``optimal``: the exact model proved optimality and every tolerance is met. ``feasible``: an
assignment of every unit is returned; if some tolerance or cap could not be met, ``violations`` says
which and by how much (the returned assignment is the closest found). ``no_solution`` is not used:
a (possibly violating) assignment always exists because locks never conflict.

Lower bound
-----------
``lower_bound`` is a *valid* bound only where stated in ``stats["bound_kind"]``: with fixed centres,
the allocation LP over all unit/territory pairs (contiguity ignored); with chosen centres, the Lagrangian
relaxation of the p-median-with-balance LP (:mod:`optimizer.territories.bound`, about 10 % of the time
limit; valid at every iterate, at most the LP value; with mixed centres the given ones are always-open
territories of that LP) or a proven-optimal exact solve.
``stats["lp_final_centres"]`` is the LP value of the allocation
to the returned centres: a bound for those centres only, not for the problem.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from optimizer.errors import InternalError
from optimizer.model.common import Location
from optimizer.model.territories import (
    ParetoPoint,
    TerritoriesProblem,
    TerritoriesSolution,
    TerritoryMetrics,
    TerritorySummary,
    ToleranceViolation,
)
from optimizer.progress import ProgressCallback, Reporter
from optimizer.territories.alloc import State, cost_matrix, solve_allocation
from optimizer.territories.bound import bound_applicable, lagrangian_bound
from optimizer.territories.contiguity import repair_contiguity
from optimizer.territories.evaluate import components, diameters, evaluate, medoids, unit_distances
from optimizer.territories.instance import FloatArray, Instance, IntArray, build_instance
from optimizer.territories.locate import pmedian_exact, pmedian_mixed_exact
from optimizer.territories.parallel import multi_start

DEFAULT_TIME_LIMIT = 30.0
EXACT_FIXED_MAX_PAIRS = 20_000
EXACT_PMEDIAN_MAX_UNITS = 24
FULL_LP_MAX_PAIRS = 400_000
FLOW_SEARCH_MAX_PAIRS = 100_000
BOUND_MAX_UNITS = 5_000
BOUND_TIME_SHARE = 0.1
PARETO_GRID = 18
SEARCH_WAIT_SHARE = 0.85


def _fallback(inst: Instance, cost: FloatArray) -> IntArray:
    """Start when the LP finds nothing: current territory where known, else the cheapest."""
    a = np.argmin(cost, axis=1).astype(np.int64)
    has = inst.current >= 0
    a[has] = inst.current[has]
    return a


def _solve_fixed(inst: Instance, rep: Reporter, stats: dict[str, object]) -> tuple[IntArray, bool]:
    assert inst.dist is not None
    cost = cost_matrix(inst, inst.dist)
    pairs = inst.n * inst.k
    proven = False
    a: IntArray | None = None
    if pairs <= EXACT_FIXED_MAX_PAIRS:
        res = solve_allocation(inst, cost, integral=True, time_limit=max(0.2, rep.time_left() * 0.7))
        stats["method"] = "exact MIP (HiGHS)"
        if res.assign is not None and (res.assign >= 0).all():
            a, proven = res.assign, res.optimal
    if a is None:
        kk = None if pairs <= FULL_LP_MAX_PAIRS else 12
        res = solve_allocation(inst, cost, integral=False, kk=kk, time_limit=max(0.2, rep.time_left() * 0.5))
        stats.setdefault("method", "balanced allocation LP + repair + local search")
        a = res.assign if res.assign is not None and (res.assign >= 0).all() else _fallback(inst, cost)
    st = State(inst, a, cost)
    if not proven:
        st.repair_balance()
        st.local_search(deadline_check=lambda: rep.should_stop)
    return st.a, proven


def _solve_free(inst: Instance, rep: Reporter, rng: np.random.Generator, stats: dict[str, object], *,
                seed: int = 0, workers: int = 1) -> tuple[IntArray, IntArray, bool]:
    if inst.n <= EXACT_PMEDIAN_MAX_UNITS and not (inst.current >= 0).any() and inst.max_moved is None:
        if inst.mixed:  # (None when the free territories' ranges differ: then the search below)
            a, m, proven = pmedian_mixed_exact(inst, max(0.2, rep.time_left() * 0.7))
            if a is not None and m is not None:
                stats["method"] = "exact p-median with balance and fixed centres (HiGHS)"
                return a, m, proven
        else:
            a, proven = pmedian_exact(inst, max(0.2, rep.time_left() * 0.7))
            if a is not None:
                stats["method"] = "exact p-median with balance (HiGHS)"
                return a, medoids(inst, a), proven
    stats["method"] = "Hess location-allocation + iterated local search"

    def on_best(v: float) -> bool:
        return rep.update("improve", best=v, force=True)

    kk = None if inst.k <= 12 else 10
    # keep some of the budget for contiguity repair, the bound LP and the metrics
    budget = None if rep.time_limit is None else 0.75 * rep.time_limit
    deadline = None if budget is None else rep.t0 + budget

    def stop() -> bool:
        return rep.should_stop or (budget is not None and rep.elapsed() > budget)

    kw: dict[str, object] = {"kk": kk}
    if inst.n * inst.k <= FLOW_SEARCH_MAX_PAIRS and not (inst.current >= 0).any():
        stats["method"] = "vertex substitution on the balanced transport flow + Hess re-centring (iterated)"
        kind = "centre"
    elif not (inst.current >= 0).any():
        stats["method"] = ("Hess on the balanced transport flow + vertex substitution on territory neighbourhoods "
                           "(large instance)")
        kind = "large"
        # about 40 % of the search budget on Hess starts, the rest on substitution around the best
        if budget is not None:
            kw["t_starts"] = rep.t0 + rep.elapsed() + 0.4 * max(0.0, budget - rep.elapsed())
    else:
        kind = "locate"
    # a child's answer is taken until 85 % of the time limit (the rest is for the bound and the metrics)
    wait_until = None if rep.time_limit is None else rep.t0 + SEARCH_WAIT_SHARE * rep.time_limit
    ms = multi_start(kind, inst, rng, seed, stop, lambda: rep.stop_requested, on_best, deadline=deadline,
                     workers=workers, kw=kw, wait_until=wait_until)
    if inst.mixed:
        stats["method"] = f"{stats['method']}; given centres pinned"
    stats["descents"] = ms.best.runs  # of the winning search: one substitution search / Hess start per descent
    stats["searches"] = ms.started
    if ms.started > 1:
        stats["search_objectives"] = [round(v, 6) for v in ms.objectives]
        stats["search_winner"] = ms.winner
        stats["search_cpu_s"] = round(ms.cpu_s, 3)
        stats["search_start_method"] = ms.start_method
    return ms.best.a, ms.best.med, False


def _pareto(inst: Instance, dist: FloatArray, rep: Reporter, exact: bool) -> list[ParetoPoint]:
    """Dispersion vs disruption front by the epsilon-constraint method (exact MIP when ``exact``).

    Disruption is the workload moved when ``move_cost_basis`` is ``"workload"``, else units moved.
    """
    has = inst.current >= 0
    if not has.any():
        return []
    by_w = bool(np.any(inst.move_size != 1.0)) or inst.max_workload_moved is not None
    size = inst.measures[:, 0] if by_w else np.ones(inst.n)
    dcost = inst.wt[:, None] * dist
    disr = np.zeros_like(dcost)
    disr[has] = size[has, None]
    disr[np.flatnonzero(has), inst.current[has]] = 0.0
    base = dataclasses.replace(inst, move_cost=np.zeros(inst.n))
    pts: list[ParetoPoint] = []
    rows = np.arange(inst.n)
    full_lp = inst.n * inst.k <= FULL_LP_MAX_PAIRS

    def capkw(cap_: float | None) -> dict[str, float | None]:
        return {"max_wmoved": cap_} if by_w else {"max_moved": cap_}

    def lexi(first: FloatArray, second: FloatArray, cap_: float | None) -> IntArray | None:
        """Exact: minimise ``first``, then ``second`` without worsening ``first``."""
        tl = max(0.2, min(10.0, rep.time_left() / 4))
        r1 = solve_allocation(base, first, integral=True, time_limit=tl, **capkw(cap_))  # type: ignore[arg-type]
        if r1.assign is None or r1.value is None or (r1.assign < 0).any():
            return None
        ub = r1.value + 1e-7 * (1 + abs(r1.value))
        r2 = solve_allocation(base, second, integral=True, time_limit=tl, extra=(first, ub),
                              **capkw(cap_))  # type: ignore[arg-type]
        return r2.assign if r2.assign is not None and (r2.assign >= 0).all() else r1.assign

    def heur(cap_: float | None) -> IntArray | None:
        lim = (dataclasses.replace(base, max_workload_moved=cap_) if by_w
               else dataclasses.replace(base, max_moved=cap_))
        r = solve_allocation(lim, dcost, integral=False, kk=None if full_lp else 12,
                             time_limit=max(0.2, min(10.0, rep.time_left() / 4)))
        a = r.assign if r.assign is not None and (r.assign >= 0).all() else _fallback(inst, dcost)
        st = State(lim, a, dcost)
        st.repair_balance()
        st.local_search(rounds=10)
        return st.a if st.violation() <= 1e-9 else None

    def add(a: IntArray | None) -> float | None:
        if a is None:
            return None
        mask = (inst.current >= 0) & (a != inst.current)
        pts.append(ParetoPoint(moved=int(mask.sum()), workload_moved=round(float(inst.measures[mask, 0].sum()), 9),
                               dispersion=round(float(dcost[rows, a].sum()), 9),
                               assignment={inst.ids[i]: inst.tids[a[i]] for i in range(inst.n)}
                               if inst.n <= 200 else None))
        return float(disr[rows, a].sum())

    if exact:  # one HiGHS model re-solved per point, warm-started (optimizer/territories/pareto.py)
        from optimizer.territories.pareto import exact_front

        for fp in exact_front(inst, dcost, size, time_left=rep.time_left, should_stop=lambda: rep.should_stop):
            add(fp.assign)
        hi_m = lo_m = None
    else:
        hi_m = add(heur(None))
        lo_m = add(heur(0.0))
    if hi_m is not None and lo_m is not None and hi_m > lo_m:
        for f in np.linspace(0.0, 1.0, PARETO_GRID + 2)[1:-1]:
            if rep.should_stop:
                break
            cap = lo_m + f * (hi_m - lo_m)
            add(lexi(dcost, disr, cap) if exact else heur(cap))
    # keep the non-dominated points, sorted by disruption
    key = (lambda p: p.workload_moved) if by_w else (lambda p: float(p.moved))
    pts.sort(key=lambda p: (key(p), p.dispersion))
    front: list[ParetoPoint] = []
    for p in pts:
        if not front or p.dispersion < front[-1].dispersion - 1e-9:
            front.append(p)
    return front


def _loc(inst: Instance, pt: FloatArray) -> Location | None:
    if not np.isfinite(pt).all():
        return None
    if inst.metric == "haversine":
        return Location(lat=float(pt[0]), lon=float(pt[1]))
    return Location(x=float(pt[0]), y=float(pt[1]))


def solve_territories(
    problem: TerritoriesProblem,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
) -> TerritoriesSolution:
    """Split units into balanced, compact territories.

    Parameters
    ----------
    problem
        A validated :class:`~optimizer.model.territories.TerritoriesProblem`.
    time_limit
        Seconds for the whole solve (the free-centre search uses all of it; exact models stop
        earlier when proven).
    seed
        Random seed; the same seed and input give the same answer (up to the time limit cutting
        the iterated local search at a different descent).
    progress
        Callback receiving :class:`~optimizer.progress.ProgressEvent`; return False to stop early.
    workers
        Parallel searches for chosen centres (:mod:`optimizer.territories.parallel`; default 1, a single
        search in this process): each runs for the whole search budget with its own seed derived from
        ``seed`` and the best answer is kept (measured no better than one search, for twice the CPU).

    Returns
    -------
    TerritoriesSolution
        Assignment, per-territory totals, metrics recomputed from the assignment, violated
        tolerances, the lower bound (see the module notes) and, if asked, the Pareto front.
    """
    t0 = time.monotonic()
    rep = Reporter(progress, time_limit)
    try:
        inst = build_instance(problem)
    except Exception as exc:  # pragma: no cover - validated input should always build
        raise InternalError(f"could not build the territories instance: {exc}") from exc
    rng = np.random.default_rng(seed)
    stats: dict[str, object] = {"units": inst.n, "territories": inst.k}
    if inst.fixed_mask is not None:
        stats["fixed_centres"] = int(inst.fixed_mask.sum())
    rep.update("start", force=True, message=f"{inst.n} units, {inst.k} territories")
    med: IntArray | None = None
    if inst.fixed:
        a, proven = _solve_fixed(inst, rep, stats)
    else:
        a, med, proven = _solve_free(inst, rep, rng, stats, seed=seed,
                                     workers=1 if workers is None else max(1, int(workers)))

    def centre_dist(m: IntArray | None) -> FloatArray:
        if inst.dist is not None:
            return inst.dist
        assert m is not None
        return inst.km(slice(None), inst.cpts(m))

    if inst.contiguity:
        med = medoids(inst, a, med) if inst.dist is None else None
        cost = cost_matrix(inst, centre_dist(med))
        anchors = med if med is not None else np.argmin(centre_dist(None), axis=0).astype(np.int64)
        st = State(inst, a, cost, contig=True)
        before = st.a.copy()
        repair_contiguity(st, anchors)
        # the balance repair may run past the deadline by a little: an unbalanced answer is worse
        st.repair_balance(stop=lambda: rep.time_left() <= 0 and rep.elapsed() > 1.1 * (rep.time_limit or 0))
        st.local_search(rounds=20, deadline_check=lambda: rep.should_stop)
        repair_contiguity(st, anchors)
        if not np.array_equal(before, st.a):
            proven = False
        a = st.a
    ev = evaluate(inst, a, med)
    med = ev.med
    dist_now = centre_dist(med)

    # bound
    lower: float | None = None

    def wrap_up(cap: float) -> float:
        """Seconds for a closing LP: up to ``cap`` and the time left (+5 s), 1 s after a stop request."""
        return 1.0 if rep.stop_requested else max(1.0, min(cap, rep.time_left() + 5))

    pairs = inst.n * inst.k
    if inst.fixed:
        if pairs <= FULL_LP_MAX_PAIRS:
            lp = solve_allocation(inst, cost_matrix(inst, dist_now), integral=False, kk=None,
                                  time_limit=wrap_up(60.0))
            lower = lp.value
            stats["bound_kind"] = "allocation LP over all unit/territory pairs: valid lower bound (contiguity ignored)"
        else:
            stats["bound_kind"] = "none: too many pairs for the full LP"
        if proven:
            lower = ev.objective
    else:
        if pairs <= FULL_LP_MAX_PAIRS:
            lp = solve_allocation(inst, cost_matrix(inst, dist_now), integral=False, kk=None,
                                  time_limit=wrap_up(60.0))
            stats["lp_final_centres"] = lp.value
        if proven:
            lower = ev.objective
            stats["bound_kind"] = "exact p-median MIP proved optimal" + (" (given centres fixed)" if inst.mixed else "")
        elif bound_applicable(inst) and inst.n <= BOUND_MAX_UNITS:
            budget = max(0.2, min(BOUND_TIME_SHARE * (rep.time_limit or DEFAULT_TIME_LIMIT), rep.time_left()))
            if rep.stop_requested:  # the user asked to stop: a quick bound only
                budget = 0.2
            lb = lagrangian_bound(inst, time_limit=budget, upper=ev.objective)
            if lb is not None and np.isfinite(lb.value):
                lower = min(lb.value, ev.objective)
                stats["bound_kind"] = ("Lagrangian relaxation of the p-median-with-balance LP, every unit a candidate "
                                       "centre (valid; contiguity, locks and other measures relaxed)"
                                       + ("; given centres as always-open territories" if inst.mixed else ""))
                stats["bound_iterations"] = lb.iterations
        if "bound_kind" not in stats:
            stats["bound_kind"] = ("none valid for chosen centres (the Lagrangian bound runs up to "
                                   f"{BOUND_MAX_UNITS} units); lp_final_centres bounds the allocation to the "
                                   "returned centres only")
    pareto: list[ParetoPoint] = []
    if problem.pareto:
        rep.update("pareto", force=True)
        pareto = _pareto(inst, dist_now, rep, exact=pairs <= EXACT_FIXED_MAX_PAIRS)

    # metrics and summaries, all recomputed from the assignment
    w = inst.measures[:, 0]
    dispersion_t = np.bincount(a, weights=w * ev.udist, minlength=inst.k)
    diam = diameters(inst, a)
    comp = components(inst, a)
    cpts = inst.centers if inst.centers is not None else (
        inst.cpts(med) if med is not None else np.full((inst.k, 2), np.nan))
    given = (inst.fixed_mask if inst.fixed_mask is not None
             else np.full(inst.k, inst.fixed))  # centre (or distances to it) given by the problem
    summaries = [
        TerritorySummary(id=inst.tids[t], center=_loc(inst, cpts[t]), center_fixed=bool(given[t]),
                         units=int(ev.loads[t, 2]),
                         workload=float(ev.loads[t, 0]), potential=float(ev.loads[t, 1]),
                         dispersion=float(dispersion_t[t]), diameter_km=float(diam[t]), connected=bool(comp[t] <= 1))
        for t in range(inst.k)
    ]
    metrics = TerritoryMetrics(
        workload_max_dev=float(ev.dev[0]), potential_max_dev=float(ev.dev[1]), units_max_dev=float(ev.dev[2]),
        dispersion=float(w @ ev.udist), diameter_km=float(diam.max(initial=0.0)),
        disconnected=int((comp > 1).sum()), moved=ev.moved, workload_moved=ev.workload_moved,
        distance_sum=float(ev.udist.sum()),
    )
    violations = _violations(inst, problem, ev, comp)
    status = "optimal" if proven and not violations else "feasible"
    stats["runtime_s"] = round(time.monotonic() - t0, 3)
    stats["seed"] = seed
    rep.update("done", best=ev.objective, bound=lower, force=True)
    return TerritoriesSolution(
        status=status, objective=ev.objective,
        assignment={inst.ids[i]: inst.tids[a[i]] for i in range(inst.n)},
        territories=summaries, metrics=metrics, lower_bound=lower, violations=violations,
        pareto=pareto, stats=stats,
    )


def _violations(inst: Instance, problem: TerritoriesProblem, ev: object, comp: IntArray) -> list[ToleranceViolation]:
    from optimizer.territories.evaluate import Evaluation

    assert isinstance(ev, Evaluation)
    out: list[ToleranceViolation] = []
    for j, name in enumerate(("workload", "potential", "units")):
        if name in inst.tol and ev.dev[j] > inst.tol[name] + 1e-9:
            out.append(ToleranceViolation(constraint=f"balance.{name}", limit=inst.tol[name], achieved=float(ev.dev[j]),
                                          message=f"{name} deviates {ev.dev[j]:.2%} from the mean "
                                                  f"(tolerance {inst.tol[name]:.2%})"))
    for t, terr in enumerate(problem.territories or []):
        if terr.capacity is not None and ev.loads[t, 0] > terr.capacity + 1e-9:
            out.append(ToleranceViolation(constraint=f"territories[{t}].capacity", limit=terr.capacity,
                                          achieved=float(ev.loads[t, 0]),
                                          message=f"workload {ev.loads[t, 0]:.2f} over capacity {terr.capacity:.2f}"))
    if inst.max_moved is not None and ev.moved > inst.max_moved + 1e-9:
        out.append(ToleranceViolation(constraint="max_moved", limit=inst.max_moved, achieved=ev.moved,
                                      message=f"{ev.moved} units moved, cap {inst.max_moved:g}"))
    if inst.max_workload_moved is not None and ev.workload_moved > inst.max_workload_moved + 1e-9:
        out.append(ToleranceViolation(constraint="max_workload_moved", limit=inst.max_workload_moved,
                                      achieved=ev.workload_moved,
                                      message=f"workload moved {ev.workload_moved:.4g}, cap "
                                              f"{inst.max_workload_moved:.4g}"))
    if inst.contiguity and (comp > 1).any():
        out.append(ToleranceViolation(constraint="contiguity", limit=0, achieved=float((comp > 1).sum()),
                                      message=f"{int((comp > 1).sum())} territories are not connected"))
    return out


__all__ = ["solve_territories", "unit_distances"]
