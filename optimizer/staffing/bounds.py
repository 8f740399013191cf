"""Per-direction lower bounds that tighten the exact staffing MILP.

Directions are coupled only through shared roles (and hiring limits over all directions). For
``min_cost`` with direction-scoped producers, dropping that coupling gives one small MILP per
direction: the direction's own roles, each role's monthly cost raised by what the shared roles
that manage or support it cost per managed head at least (``monthly_cost / span``), its hiring
limit kept (a relaxation: one direction's hires are part of the total). Its optimum ``z_d`` is a
lower bound on the direction's part of any feasible staffing, so

    cost of direction d's roles + sum over its roles of (shared monthly cost per head) x headcount >= z_d

is a valid inequality of the full MILP. The LP relaxation does not see it: in the LP a small direction
runs on 0.9 account managers and 0.2 solution engineers; the cut carries each direction's integer
rounding into the bound, which leaves the solver only the shared roles' rounding to close.

Any rates >= 0 give a valid cut (``solve_milp(rated_cuts=...)`` takes several families). By default a
shared role the LP keeps at its ``min_headcount`` with room to spare (:func:`idle_shared`, e.g. one
commercial director over six heads at span 8) is left unpriced: priced per head, it lets the LP meet a
direction's cut with extra heads that cost the director nothing (measured on the 12 x 6 x 7 benchmark:
cut LP bound 4,763,421 with it, 4,808,793 without; about 4.809 M is the decomposition's convex-hull
bound, since month-by-month Lagrangian prices and other rate families did not move it further).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizer.model.staffing import SpanRule, StaffingProblem
from optimizer.staffing.milp import Key, MilpResult, solve_milp
from optimizer.staffing.prep import SHARED, Prepared, prepare, structure_pairs


def shared_rates(prep: Prepared, skip: frozenset[str] = frozenset()) -> dict[str, float]:
    """Per direction role, the monthly cost of shared roles that manage or support one head of it, at least.

    Parameters
    ----------
    prep
        Prepared problem.
    skip
        Shared roles left out (priced at 0): any choice of rates >= 0 gives a valid cut, and a role
        held at its ``min_headcount`` anyway (a director over few heads) is better left out, since
        pricing it per head lets the LP "pay" a direction's cut with heads that cost the director nothing.

    Returns
    -------
    dict
        Direction role id -> rate per head and month.
    """
    out: dict[str, float] = {rid: 0.0 for rid, r in prep.roles.items() if r.scope == "direction"}
    for _i, rid, other, ratio, _kind in structure_pairs(prep):
        if prep.roles[rid].scope == "shared" and other in out and rid not in skip:
            out[other] += prep.roles[rid].monthly_cost / ratio
    return out


def applicable(prep: Prepared) -> bool:
    """True when the bounds are valid: no shared producer, no budget, at least two directions."""
    p = prep.problem
    shared_prod = any(prep.roles[r].scope == "shared" for rs in prep.producers.values() for r in rs)
    return not shared_prod and p.budget is None and len(prep.dirs) > 1


def direction_problem(prep: Prepared, d: int, rates: dict[str, float] | None = None) -> StaffingProblem:
    """The relaxed one-direction problem of direction ``d`` (see the module docstring).

    ``rates`` (default :func:`shared_rates`) are added to the direction roles' monthly costs.
    """
    p = prep.problem
    did = prep.dirs[d]
    extra = shared_rates(prep) if rates is None else rates
    data = p.model_dump(exclude_none=True)
    data["directions"] = [data["directions"][d]]
    data.pop("plan_total", None)
    data["directions"][0].pop("share", None)
    if "plan" not in data["directions"][0]:
        data["directions"][0]["plan"] = float(prep.plan[d].sum())
    roles = []
    for r in data["roles"]:
        if r.get("scope", "direction") != "direction":
            continue
        r["monthly_cost"] += extra[r["id"]]
        if isinstance(r.get("current"), dict):
            r["current"] = {did: r["current"].get(did, 0)}
        roles.append(r)
    keep = {r["id"] for r in roles}
    data["roles"] = roles
    structure = []
    for rule, raw in zip(p.structure, data["structure"], strict=True):
        other = rule.manages if isinstance(rule, SpanRule) else rule.supports
        if rule.role in keep and other in keep:
            structure.append(raw)
    data["structure"] = structure
    data.pop("service_level", None)
    return StaffingProblem.model_validate(data)


@dataclass
class Decomposition:
    """Outcome of :func:`decompose`.

    Attributes
    ----------
    result
        The combined staffing (``feasible``), or the failing status.
    cuts
        Direction id -> proven lower bound ``z_d`` (only directions whose small MILP was solved to
        the requested gap; the bound is its cost x ``(1 - gap)``).
    """

    result: MilpResult
    cuts: dict[str, float] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)
    """Shared-role rates the direction problems (and so the cuts) were priced with."""

    @property
    def rated_cuts(self) -> list[tuple[dict[str, float], dict[str, float]]]:
        """The cuts in the form :func:`optimizer.staffing.milp.solve_milp` ``rated_cuts`` takes."""
        return [(self.rates, self.cuts)] if self.cuts else []


def idle_shared(prep: Prepared, **kw: Any) -> frozenset[str]:
    """Shared managers / support roles that the LP relaxation keeps at their ``min_headcount`` with room to spare.

    Such a role (a commercial director with a floor of one over six heads at span 8) costs nothing more per
    managed head, so its :func:`shared_rates` price only weakens the per-direction cuts: with it, the LP
    can meet a direction's cut with extra heads that the director pays nothing for (measured on the
    12 x 6 x 7 instance: cut LP bound 4,763,421 with the director priced, 4,808,793 without). Any rates
    give valid cuts, so this LP-based choice only decides which valid cuts are added.

    Parameters
    ----------
    prep
        Prepared problem.
    **kw
        ``solver``, ``plan_factor``.

    Returns
    -------
    frozenset
        Shared role ids to leave out of the rates.
    """
    opts = {k: kw[k] for k in ("solver", "plan_factor") if k in kw}
    lp = solve_milp(prep, mode="min_cost", integer=False, **opts)
    if not lp.ok:
        return frozenset()
    out = set()
    for _i, rid, other, ratio, _kind in structure_pairs(prep):
        role = prep.roles[rid]
        if role.scope != "shared" or role.min_headcount <= 0 or (rid, SHARED) not in lp.n:
            continue
        managed = np.sum([lp.n[(other, g)] for g in prep.groups[other]], axis=0)
        nv = lp.n[(rid, SHARED)]
        if np.all(nv <= role.min_headcount + 1e-6) and np.all(ratio * nv >= managed + 1e-6):
            out.add(rid)
    return frozenset(out)


def decompose(prep: Prepared, *, time_limit: float | None = None, gap: float = 1e-4, **kw: Any) -> Decomposition:
    """Per-direction MILPs, then the shared roles sized for their combined staffing.

    Each direction's relaxed problem (:func:`direction_problem`) is solved on its own; its
    headcount and hires are fixed in the full model, which then only sizes the shared roles and the
    volumes (a small MILP). The result is feasible for the full problem (``feasible``); it can
    miss the optimum only by the shared roles' rounding and the coupling the relaxation drops. The
    small MILPs' optima are lower bounds for :func:`optimizer.staffing.milp.solve_milp` ``rated_cuts``.

    Parameters
    ----------
    prep
        Prepared problem; see :func:`applicable`.
    time_limit
        Seconds for everything.
    gap
        Relative MIP gap of the small MILPs.
    **kw
        ``solver``, ``seed``, ``plan_factor`` (others are ignored); ``rates`` (default
        :func:`shared_rates` without the :func:`idle_shared` roles) prices the shared roles.

    Returns
    -------
    Decomposition
        The combined staffing and the per-direction bounds.
    """
    t0 = time.monotonic()
    pf = kw.get("plan_factor")
    opts = {k: kw[k] for k in ("solver", "seed") if k in kw}
    fix: dict[Key, tuple[np.ndarray, np.ndarray]] = {}
    cuts: dict[str, float] = {}

    def left() -> float | None:
        return None if time_limit is None else max(0.5, time_limit - (time.monotonic() - t0))

    rates = kw.get("rates")
    if rates is None:
        rates = shared_rates(prep, idle_shared(prep, **opts, plan_factor=pf))
    subs = [prepare(direction_problem(prep, d, rates)) for d in range(len(prep.dirs))]
    sols: list[MilpResult] = []

    def solve_dir(d: int, room: dict[str, np.ndarray] | None = None) -> MilpResult:
        return solve_milp(subs[d], mode="min_cost", time_limit=left(), gap=gap, hire_room=room,
                          plan_factor=None if pf is None else np.array([float(pf[d])]), **opts)

    for d, did in enumerate(prep.dirs):
        r = solve_dir(d)
        if r.status == "optimal":
            cuts[did] = r.cost * (1 - gap)
        if not r.ok:
            # infeasible alone means infeasible in the full problem too (a relaxation)
            return Decomposition(MilpResult(r.status, method="decomposition", runtime=time.monotonic() - t0), cuts,
                                 rates)
        sols.append(r)
    caps: dict[str, np.ndarray] = {}
    for _round in range(4):
        # each direction may use a whole hiring limit on its own; when together they go over one, the month's
        # limit is split in proportion to what each direction asked for and the directions asking are re-solved
        # (the first round's optima stay the cuts: the split problems are no relaxation)
        again = _split_hiring(prep, sols, caps)
        if not again:
            break
        failed = False
        for d in again:
            room = {rid: prep.roles[rid].max_hires_per_month - c[d] for rid, c in caps.items()}  # type: ignore[operator]
            r = solve_dir(d, room)
            failed = not r.ok
            if failed:
                break
            sols[d] = r
        if failed:
            break
    for r in sols:
        for key in r.n:
            fix[key] = (r.n[key], r.h[key])
    full = solve_milp(prep, mode="min_cost", fix=fix, time_limit=left(), gap=gap, plan_factor=pf, **opts)
    full.method = "decomposition"
    full.runtime = time.monotonic() - t0
    if full.status == "optimal":
        full.status = "feasible"
    elif full.status == "infeasible":
        full.status = "no_solution"  # e.g. hiring limits over all directions: not a proof of infeasibility
    return Decomposition(full, cuts, rates)


def _split_hiring(prep: Prepared, sols: Sequence[MilpResult], caps: dict[str, np.ndarray]) -> list[int]:
    """Split hiring limits the directions' staffings together break; directions to re-solve.

    ``caps[role]`` is a ``(D, T)`` array of each direction's share of the role's monthly limit (hires
    plus expected back-fill of leavers), updated in place: in a month whose total goes over the limit,
    each direction gets the limit in proportion to its own hires there.
    """
    D = len(prep.dirs)
    redo: set[int] = set()
    for rid, role in prep.roles.items():
        lim = role.max_hires_per_month
        if lim is None or role.scope != "direction" or D < 2:
            continue
        use = np.zeros((D, prep.T))
        for d, did in enumerate(prep.dirs):
            key = (rid, did)
            if key not in sols[d].n:
                continue
            nv = sols[d].n[key]
            prev = np.concatenate([[float(prep.current[key])], nv[:-1]])
            use[d] = sols[d].h[key] + role.attrition * prev
        total = use.sum(axis=0)
        over = total > lim + 1e-6
        if not over.any():
            continue
        cap = caps.setdefault(rid, np.full((D, prep.T), float(lim)))
        cap[:, over] = lim * use[:, over] / total[over]
        redo.update(d for d in range(D) if np.any(use[d, over] > cap[d, over] + 1e-9))
    return sorted(redo)


def direction_order(prep: Prepared) -> list[str]:
    """Direction ids, largest plan first (ties: problem order)."""
    total = prep.plan.sum(axis=1)
    return [prep.dirs[d] for d in sorted(range(len(prep.dirs)), key=lambda d: (-float(total[d]), d))]


def improve_by_direction(prep: Prepared, start: MilpResult, *, time_limit: float | None = None, sweeps: int = 2,
                         step_limit: float = 5.0, group: int = 1, workers: int = 1, largest_first: bool = False,
                         on_step: Callable[[MilpResult], bool] | None = None, **kw: Any) -> MilpResult:
    """Large-neighbourhood search: re-optimise one direction's roles with the shared roles, the rest fixed.

    The decomposition sizes each direction on its own, with shared managers and support priced per
    head; their integer rounding (a telesales supervisor per 8 telesales over all directions, each
    month) is then paid on whatever totals come out. Here each direction in turn is re-solved
    exactly together with the shared roles while every other direction's staffing stays fixed, so
    a direction can shift heads between months to fill the shared roles' rounding slack. Every step
    is a MILP of the full model (feasible answers only) started from the incumbent; it never makes
    the cost worse.

    With ``workers > 1`` the neighbourhoods are taken ``workers`` at a time: each of a batch is solved from
    the same incumbent in its own thread (each MILP is a solver process, so they run side by side), then
    the cheapest improving answer of the batch (the first in order on ties) becomes the incumbent. The
    sequence of incumbents does not depend on which thread finishes first.

    Parameters
    ----------
    prep
        Prepared problem (see :func:`applicable`).
    start
        A feasible staffing (e.g. :func:`decompose`'s).
    time_limit
        Seconds for the whole search.
    sweeps
        Passes over the directions (stops early after a pass without improvement).
    step_limit
        Seconds per direction's MILP.
    group
        Directions re-solved together in one step: 1 (each direction in turn) or more (every combination
        of ``group`` directions; on the 12 x 6 x 7 benchmark pairs found 4,820,775 where single directions
        stop at 4,824,231, at about 15 x 2-10 s of CBC).
    workers
        Neighbourhoods solved side by side (threads, one solver process each).
    largest_first
        Take the directions in :func:`direction_order` (largest plan first), so the combinations with the
        largest directions, which have the most heads to shift between months, come first.
    on_step
        Called with each new incumbent; returning False stops the search (a stop request).
    **kw
        ``solver``, ``seed``, ``plan_factor``, ``cuts`` (``rated_cuts`` for every step's MILP).

    Returns
    -------
    MilpResult
        The best staffing found (``feasible``; method tells how many steps improved it).
    """
    t0 = time.monotonic()
    opts = {k: kw[k] for k in ("solver", "seed", "plan_factor") if k in kw}
    shared = {rid for rid, r in prep.roles.items() if r.scope == "shared"}
    cur = start
    better = 0
    names = direction_order(prep) if largest_first else list(prep.dirs)
    hoods = list(itertools.combinations(names, max(1, min(group, len(names)))))
    width = max(1, workers)
    stopped = False

    def step(dids: tuple[str, ...], inc: MilpResult, limit: float) -> MilpResult:
        fix = {key: (inc.n[key], inc.h[key]) for key in inc.n if key[0] not in shared and key[1] not in dids}
        # floors and the direction cuts are valid for the whole model, so for each neighbourhood too
        return solve_milp(prep, mode="min_cost", fix=fix, warm=inc, gap=1e-6, time_limit=limit, tighten=True,
                          rated_cuts=kw.get("cuts", ()), **opts)

    with ThreadPoolExecutor(max_workers=width) if width > 1 else contextlib.nullcontext() as pool:
        for _sweep in range(sweeps):
            gained = False
            for b in range(0, len(hoods), width):
                left = None if time_limit is None else time_limit - (time.monotonic() - t0)
                if left is not None and left < 0.2:
                    stopped = True
                    break
                limit = step_limit if left is None else min(step_limit, left)
                batch = hoods[b:b + width]
                if pool is None:
                    outs = [step(batch[0], cur, limit)]
                else:
                    outs = list(pool.map(lambda dids, inc=cur, lim=limit: step(dids, inc, lim), batch))
                good = [r for r in outs if r.ok and r.cost < cur.cost - 1e-6 * max(1.0, cur.cost)]
                if good:
                    cur = min(good, key=lambda r: r.cost)  # min keeps the first of equal costs
                    gained = True
                    better += 1
                    if on_step is not None and on_step(cur) is False:
                        stopped = True
                        break
            if not gained or stopped:
                break
    if cur is not start:
        cur.status = "feasible"
        groups = "" if group == 1 else f", groups of {group}"
        cur.method = f"decomposition + direction LNS ({better} improving steps{groups})"
        cur.runtime = time.monotonic() - t0
    return cur


def search_directions(prep: Prepared, start: MilpResult, *, time_limit: float | None = 30.0, workers: int = 2,
                      on_step: Callable[[MilpResult], bool] | None = None, **kw: Any) -> MilpResult:
    """The product's search after :func:`decompose`: pairs, then single directions, then triples.

    Every step is :func:`improve_by_direction`, all within one ``time_limit``:

    1. pairs of directions (largest plans first, 8 s per MILP, one pass; more than two directions). The
       decomposition's directions are each at their own optimum and the cost left is the shared pools'
       monthly rounding, which two directions shifting heads together can fill (on the 12 x 6 x 7
       benchmark the pair of finance and manufacturing goes from 4,835,757 to 4,820,775 in one step,
       where single directions stop at 4,824,231);
    2. single directions in what is left, when more than a second is left;
    3. triples of directions (largest plans first, 10 s per MILP, one pass; more than three
       directions, so a triple is not the whole problem) when more than two seconds are left. On
       synthetic 4 x 6 instances (seeds 0 and 2) pairs and singles stop 0.14 % / 0.21 % above the
       proven optimum and the triples reach it; on 4 x 8 / 5 x 8 / 4 x 10 / 5 x 10 / 6 x 8 (seed 0) they
       take 0.03-0.17 % off. On the 12 x 6 x 7 benchmark the pairs use the whole default cap.

    Parameters
    ----------
    prep
        Prepared problem (see :func:`applicable`).
    start
        A feasible staffing (e.g. :func:`decompose`'s).
    time_limit
        Seconds for the whole search (None: no limit; each pass still stops after a pass without gain).
    workers
        Neighbourhoods solved side by side (threads; one solver process each; use 1 with an in-process
        solver).
    on_step
        Called with each new incumbent; returning False stops the search.
    **kw
        As for :func:`improve_by_direction` (``solver``, ``seed``, ``plan_factor``, ``cuts``).

    Returns
    -------
    MilpResult
        The best staffing found (``start`` itself when nothing improved it).
    """
    t0 = time.monotonic()
    stopped = [False]

    def rest() -> float | None:
        return None if time_limit is None else max(0.0, time_limit - (time.monotonic() - t0))

    def step(r: MilpResult) -> bool:
        if on_step is not None and on_step(r) is False:
            stopped[0] = True
        return not stopped[0]

    def room(need: float) -> bool:
        r_left = rest()
        return cur.ok and not stopped[0] and (r_left is None or r_left > need)

    cur = start
    n_dirs = len(prep.dirs)
    if n_dirs > 2 and room(0.2):
        cur = improve_by_direction(prep, cur, time_limit=rest(), group=2, sweeps=1, step_limit=8.0,
                                   workers=workers, largest_first=True, on_step=step, **kw)
    if room(1.0):
        cur = improve_by_direction(prep, cur, time_limit=rest(), workers=workers, on_step=step, **kw)
    if n_dirs > 3 and room(2.0):
        cur = improve_by_direction(prep, cur, time_limit=rest(), group=3, sweeps=1, step_limit=10.0,
                                   workers=workers, largest_first=True, on_step=step, **kw)
    return cur


def month_price_cuts(prep: Prepared, cuts: Sequence[tuple[dict[str, Any], dict[str, float]]], *, gap: float = 1e-9,
                     time_limit: float | None = None, **kw: Any) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """One round of per-direction cuts priced month by month (a Kelley / Lagrangian step).

    The LP relaxation with ``cuts`` and the headcount floors prices each shared role's span/support row
    per month (its dual); a direction role managed or supported by shared roles is then priced, in month
    ``t``, at the sum of those duals. Each direction's own MILP (:func:`direction_problem` with no flat
    rates, :func:`optimizer.staffing.milp.solve_milp` ``month_costs``) at those prices gives a bound
    ``z_d``; ``cost of direction d's roles + sum_t price_t x headcount_t >= z_d`` is valid for any prices
    (the direction problem is a relaxation of the direction's part), so the family is added to ``cuts``.
    On the 12 x 6 x 7 benchmark it lifts the cut LP from 4,808,669 to 4,809,953; further rounds at the
    LP's new duals did not move it (the duals stay the same).

    Parameters
    ----------
    prep
        Prepared problem (see :func:`applicable`).
    cuts
        Families already known (e.g. :attr:`Decomposition.rated_cuts`).
    gap
        Relative MIP gap of the direction MILPs (bounds are scaled by ``1 - gap``).
    time_limit
        Seconds per direction MILP.
    **kw
        ``solver``, ``plan_factor``.

    Returns
    -------
    list
        ``cuts`` plus the new family when every direction's MILP was solved to optimality.
    """
    opts = {k: kw[k] for k in ("solver",) if k in kw}
    pf = kw.get("plan_factor")
    out = list(cuts)
    lp = solve_milp(prep, mode="min_cost", integer=False, rated_cuts=out, tighten=True, plan_factor=pf, **opts)
    if not lp.ok:
        return out
    T = prep.T
    price: dict[str, np.ndarray] = {rid: np.zeros(T) for rid, r in prep.roles.items() if r.scope == "direction"}
    for idx, rid, other, _ratio, _kind in structure_pairs(prep):
        if prep.roles[rid].scope == "shared" and other in price:
            for t in range(T):
                price[other][t] += max(0.0, lp.struct_duals.get((idx, t), 0.0))
    zero = {rid: 0.0 for rid in price}
    family: dict[str, float] = {}
    for d, did in enumerate(prep.dirs):
        sub = prepare(direction_problem(prep, d, zero))
        r = solve_milp(sub, mode="min_cost", gap=gap, tighten=True, time_limit=time_limit,
                       month_costs={(rid, did): pr for rid, pr in price.items()},
                       plan_factor=None if pf is None else np.array([float(pf[d])]), **opts)
        if r.status != "optimal":
            return out
        z = r.cost + sum(float(pr @ r.n[(rid, did)]) for rid, pr in price.items())
        family[did] = z * (1 - gap)
    out.append(({rid: pr.copy() for rid, pr in price.items()}, family))
    return out
