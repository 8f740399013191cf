"""The staffing MILP in PuLP (semantics in :mod:`optimizer.model.staffing`).

One builder serves every use: ``min_cost`` under a hard plan, ``max_revenue`` under a budget, and
``shortfall`` (the plan made soft: least total shortfall, used to diagnose unreachable plans). A
``relax`` set switches constraint families off for what-if diagnosis: ``"budget"``, ``"ramp"``,
``"lag"``, ``"hiring"`` (every hiring limit), ``"hiring:<role>"``, ``"max_headcount:<role>"``.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pulp

from optimizer.errors import InternalError
from optimizer.staffing.prep import SHARED, Prepared, structure_pairs
from optimizer.staffing.tighten import floors, raise_for_structure

# PuLP 3.3 announces its 4.0 API on every variable and solver object; the calls we make are supported
for _msg in ("Constructing LpVariable", "PULP_CBC_CMD is deprecated", "Using LpProblem.constraints"):
    warnings.filterwarnings("ignore", message=_msg, category=DeprecationWarning)

Mode = Literal["min_cost", "max_revenue", "shortfall"]
Key = tuple[str, str]


@dataclass
class Choice:
    """The headcount sequences a group of ``(role, group)`` keys may take together (a restricted master).

    Attributes
    ----------
    keys
        ``(role, direction)`` keys fixed together by a column.
    columns
        Each column: one ``(T,)`` integer headcount array per key.
    group
        The direction the keys belong to.
    implied
        Role id -> per column ``(T,)`` least headcount of that role when the column is chosen (e.g.
        ``ceil(am / span)`` heads): rows ``n[role, group][t] >= sum_j pick_j x low_j[t]``.
    ranges
        Role id -> per column ``(T,)`` least and most headcount of that role (rows as for ``implied``, both ways).
    rates, bounds
        When ``bounds`` is given: the direction's cost with its roles' monthly costs raised by ``rates``
        (as in ``rated_cuts``) is at least ``sum_j pick_j x bounds[j]`` (a valid lower bound per column).
    """

    keys: list[Key]
    columns: list[list[np.ndarray]]
    group: str
    implied: dict[str, list[np.ndarray]] = field(default_factory=dict)
    ranges: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = field(default_factory=dict)
    """Role id -> per column ``(T,)`` least and most headcount of that role when the column is chosen."""
    rates: dict[str, Any] = field(default_factory=dict)
    bounds: list[float] | None = None


def highs_available() -> bool:
    """True when highspy (HiGHS) can be used through PuLP."""
    try:
        return bool(pulp.HiGHS(msg=False).available())
    except Exception:  # pragma: no cover - depends on the installation
        return False


def pick_solver(name: str) -> str:
    """Resolve ``auto`` (CBC; HiGHS through highspy is used when asked and installed)."""
    if name == "auto":
        # measured on our instances: CBC is faster than HiGHS 1.15 on these small MILPs
        return "cbc"
    return name


@dataclass
class MilpResult:
    """Values of one MILP solve (arrays over months).

    Attributes
    ----------
    status
        ``optimal``, ``feasible`` (time limit hit with a solution), ``infeasible`` or ``no_solution``.
    n, h, b, eff
        Headcount (positions), new hires (growth), expected back-fill hires of leavers and effective
        (ramp-weighted) headcount per ``(role, group)``.
    v
        Per direction, a ``(stages, T)`` array of funnel volumes.
    cap
        Per direction, a ``(stages, T)`` array of capacity available to each stage (inf: unlimited).
    rev
        ``(D, T)`` revenue.
    lower_bound
        A proven lower bound on the cost when one is known (``min_cost`` solved through
        :func:`optimizer.staffing.bounds.decompose`: the LP relaxation with per-direction cuts).
    """

    status: str
    objective: float | None = None
    cost: float = 0.0
    n: dict[Key, np.ndarray] = field(default_factory=dict)
    h: dict[Key, np.ndarray] = field(default_factory=dict)
    eff: dict[Key, np.ndarray] = field(default_factory=dict)
    b: dict[Key, np.ndarray] = field(default_factory=dict)
    v: list[np.ndarray] = field(default_factory=list)
    cap: list[np.ndarray] = field(default_factory=list)
    rev: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    shortfall: float = 0.0
    runtime: float = 0.0
    solver: str = ""
    method: str = "exact"
    plan_duals: dict[str, float] = field(default_factory=dict)
    lower_bound: float | None = None
    struct_duals: dict[tuple[int, int], float] = field(default_factory=dict)
    """LP only: ``(structure index, month)`` -> dual of a shared role's span/support row, in cost per head."""

    @property
    def ok(self) -> bool:
        """True when a solution was found."""
        return self.status in ("optimal", "feasible")


def _val(x: pulp.LpVariable | pulp.LpAffineExpression | float) -> float:
    if isinstance(x, int | float):
        return float(x)
    v = x.value() if isinstance(x, pulp.LpAffineExpression) else x.varValue
    return float(v or 0.0)


def _back(nv: list[pulp.LpVariable], a: float, current: float, t: int) -> tuple[dict[pulp.LpVariable, float], float]:
    """Expected back-fill hires of month ``t``: ``a x n[t-1]`` (``a x current`` in the first month)."""
    if a <= 0:
        return {}, 0.0
    if t == 0:
        return {}, a * current
    return {nv[t - 1]: a}, 0.0


def _row(m: pulp.LpProblem, name: str) -> Any:
    """Constraint by name, or None."""
    try:
        return m.get_constraint_by_name(name)
    except (KeyError, ValueError):
        return None


def solve_milp(
    prep: Prepared,
    *,
    mode: Mode = "min_cost",
    plan_factor: np.ndarray | None = None,
    relax: Iterable[str] = (),
    budget: float | None = None,
    revenue_floor: float | None = None,
    shortfall_cap: float | None = None,
    time_limit: float | None = None,
    solver: str = "auto",
    seed: int = 0,
    gap: float = 1e-7,
    integer: bool = True,
    deal_targets: np.ndarray | None = None,
    int_months: int | None = None,
    fix: dict[Key, tuple[np.ndarray, np.ndarray]] | None = None,
    hire_slack: bool = False,
    hire_room: dict[str, np.ndarray] | None = None,
    capture: dict[str, Any] | None = None,
    rated_cuts: Sequence[tuple[dict[str, float], dict[str, float]]] = (),
    warm: MilpResult | None = None,
    free_tail: bool = False,
    tighten: bool = False,
    month_costs: dict[Key, np.ndarray] | None = None,
    choices: Sequence[Choice] = (),
) -> MilpResult:
    """Build and solve the staffing MILP.

    Parameters
    ----------
    prep
        Prepared problem data.
    mode
        ``min_cost`` (hard plan), ``max_revenue`` (no plan; most total revenue) or ``shortfall``
        (soft plan; least total shortfall).
    plan_factor
        ``(D,)`` multipliers of each direction's plan (service-level sizing, shadow prices).
    relax
        Constraint families to switch off (see the module docstring).
    budget
        Cap on total cost (default: the problem's ``budget``; ignored when ``"budget"`` is relaxed).
    revenue_floor, shortfall_cap
        Second lexicographic stage: keep total revenue at least / total shortfall at most this
        and minimise cost.
    time_limit
        Seconds for the MILP solver.
    solver
        ``auto``, ``cbc`` or ``highs``.
    seed
        Random seed given to HiGHS.
    gap
        Relative MIP gap.
    integer
        False solves the LP relaxation (headcounts fractional).
    deal_targets
        ``(D, T)`` least deals (last-stage volume) per direction and activity month, used by the
        LP-guided heuristic of :func:`solve_min_cost`.
    hire_room
        Role id -> ``(T,)`` hires per month held back from the role's hiring limit (rounding room asked
        for by the repair loop of :func:`round_up`); on top of ``hire_slack``.
    capture
        When given, the PuLP model (``"model"``) and its headcount / hire variables (``"n"``, ``"h"``)
        are stored in it and nothing is solved (status ``no_solution``); :mod:`optimizer.staffing.lpfast`
        turns the model into a re-usable HiGHS LP.
    rated_cuts
        Valid inequalities (``min_cost``), each ``(rates, {direction id: bound})``: a lower bound on a
        direction's cost with its roles' monthly costs raised by the shared-role ``rates``
        (:func:`optimizer.staffing.bounds.shared_rates`), e.g.
        :attr:`optimizer.staffing.bounds.Decomposition.rated_cuts`; a rate may be a ``(T,)`` array (a price
        per month, :func:`optimizer.staffing.bounds.month_price_cuts`).
    warm
        A feasible staffing (e.g. fix-and-relax) given to the solver as a MIP start (headcount and hires).
    free_tail
        Experimental variant (not the documented semantics): in the months whose deals would book
        after the horizon, volumes are 0 and producers' capacity rows are dropped, so a negative
        effective headcount (ramp-up loss of earlier back-fill) no longer forces a position there.
    tighten
        Raise the integer headcounts' lower bounds to :func:`optimizer.staffing.tighten.floors` (valid for
        every integer staffing; with ``integer=False`` the LP is then a stronger bound of the MILP, not the
        plain relaxation).
    month_costs
        ``(role, group)`` -> ``(T,)`` extra cost per head and month added to the objective only (the reported
        ``cost`` stays the model's): prices of a Lagrangian subproblem
        (:func:`optimizer.staffing.bounds.month_price_cuts`).
    choices
        Restrictions to listed headcount sequences (:class:`Choice`, one binary per column, exactly one
        chosen): the master problem of :mod:`optimizer.staffing.proof`. An empty column list makes the model
        infeasible.

    Returns
    -------
    MilpResult
        Solution values and status.
    """
    t0 = time.monotonic()
    p = prep.problem
    T, D = prep.T, len(prep.dirs)
    relaxed = set(relax)
    factor = np.ones(D) if plan_factor is None else np.asarray(plan_factor, dtype=float)
    plan = prep.plan * factor[:, None]
    if budget is None and "budget" not in relaxed:
        budget = p.budget
    if "budget" in relaxed:
        budget = None
    cat = "Integer" if integer else "Continuous"
    low: dict[Key, np.ndarray] = {}
    if tighten:
        low = floors(prep, relax=relaxed, free_tail=free_tail)
    m = pulp.LpProblem("staffing", pulp.LpMaximize if mode == "max_revenue" else pulp.LpMinimize)

    n: dict[Key, list[pulp.LpVariable]] = {}
    h: dict[Key, list[pulp.LpVariable]] = {}
    eff_d: dict[Key, list[tuple[dict[pulp.LpVariable, float], float]]] = {}
    cats_of: dict[Key, list[str]] = {}
    bf: dict[Key, list[pulp.LpAffineExpression]] = {}
    cost_c: dict[pulp.LpVariable, float] = {}
    cost_k = [0.0]
    for rid, role in prep.roles.items():
        a = role.attrition
        ramp = [1.0] * len(role.ramp) if "ramp" in relaxed else list(role.ramp)
        maxh: float | None = None if ("hiring" in relaxed or f"hiring:{rid}" in relaxed) else role.max_hires_per_month
        if maxh is not None and hire_slack:
            # room kept for rounding up: at most one more hire per group, plus its back-fill
            maxh = max(0.0, maxh - len(prep.groups[rid]) * (1 + a))
        maxh_t: list[float | None] = [maxh] * T
        if maxh is not None and hire_room is not None and rid in hire_room:
            maxh_t = [max(0.0, maxh - float(hire_room[rid][t])) for t in range(T)]
        maxn = None if f"max_headcount:{rid}" in relaxed else role.max_headcount
        for g in prep.groups[rid]:
            key = (rid, g)
            tag = f"{rid}|{g}".replace(" ", "_")
            cats = [cat if int_months is None or t < int_months else "Continuous" for t in range(T)]
            nv = [pulp.LpVariable(f"n[{tag}|{t}]", role.min_headcount, maxn, cat=cats[t]) for t in range(T)]
            if key in low:
                for t in range(T if int_months is None else min(T, int_months)):
                    nv[t].lowBound = max(float(role.min_headcount), float(low[key][t]))
            hv = [
                # integer although the least hires max(0, n[t] - n[t-1]) are integer anyway: CBC proves
                # infeasible plans (hiring limits) in a second with integer hires and not in 30 s without
                pulp.LpVariable(f"h[{tag}|{t}]", 0, maxh_t[t], cat=cats[t])
                for t in range(T)
            ]
            if fix is not None and key in fix:
                for t, (fn, fh) in enumerate(zip(*fix[key], strict=True)):
                    nv[t].lowBound = nv[t].upBound = float(fn)
                    hv[t].lowBound = hv[t].upBound = float(fh)
            cur = float(prep.current[key])
            prev: pulp.LpVariable | float = cur
            for t in range(T):
                m += nv[t] <= prev + hv[t], f"flow[{tag}|{t}]"
                prev = nv[t]
            n[key], h[key] = nv, hv
            cats_of[key] = cats
            # expressions built from coefficient dicts: pulp's operator overloading is the slow part here
            back = [_back(nv, a, cur, t) for t in range(T)]  # expected back-fill hires of leavers
            bf[key] = [pulp.LpAffineExpression(c, constant=k0) for c, k0 in back]
            eff_d[key] = []
            for t in range(T):
                coefs: dict[pulp.LpVariable, float] = {nv[t]: 1.0}
                const = 0.0
                for k, rk in enumerate(ramp):
                    if t - k < 0 or rk >= 1:
                        continue
                    c = 1.0 - rk
                    coefs[hv[t - k]] = coefs.get(hv[t - k], 0.0) - c
                    bc, bk = back[t - k]
                    for var, val in bc.items():
                        coefs[var] = coefs.get(var, 0.0) - c * val
                    const -= c * bk
                eff_d[key].append((coefs, const))
            extra = month_costs.get(key) if month_costs is not None else None
            for t in range(T):
                cost_c[nv[t]] = cost_c.get(nv[t], 0.0) + role.monthly_cost + (0.0 if extra is None else extra[t])
                cost_c[hv[t]] = cost_c.get(hv[t], 0.0) + role.hiring_cost
                bc, bk = back[t]
                for var, val in bc.items():
                    cost_c[var] = cost_c.get(var, 0.0) + role.hiring_cost * val
                cost_k[0] += role.hiring_cost * bk
        if maxh is not None and (len(prep.groups[rid]) > 1 or a > 0):
            for t in range(T):
                lim: dict[pulp.LpVariable, float] = {}
                lim_k = 0.0
                for g in prep.groups[rid]:
                    lim[h[(rid, g)][t]] = 1.0
                    bc, bk = _back(n[(rid, g)], a, float(prep.current[(rid, g)]), t)
                    for var, val in bc.items():
                        lim[var] = lim.get(var, 0.0) + val
                    lim_k += bk
                m += pulp.LpAffineExpression(lim, constant=lim_k) <= maxh_t[t], f"hire_limit[{rid}|{t}]"
    eff = {key: [pulp.LpAffineExpression(c, constant=k0) for c, k0 in rows] for key, rows in eff_d.items()}
    cut_scale = 1.0 / max(1.0, max(r.monthly_cost for r in prep.roles.values()))

    def dir_cost(rates: dict[str, Any], did: str) -> tuple[dict[pulp.LpVariable, float], float]:
        """Cost of direction ``did``'s roles in ``rates`` (each role's monthly cost raised by its rate), scaled."""
        cc: dict[pulp.LpVariable, float] = {}
        ck = 0.0
        for rid, w in rates.items():
            role = prep.roles[rid]
            nv, hv = n[(rid, did)], h[(rid, did)]
            for t in range(T):
                wt = float(w[t]) if isinstance(w, np.ndarray) else w  # a month-by-month price
                cc[nv[t]] = cc.get(nv[t], 0.0) + (role.monthly_cost + wt) * cut_scale
                cc[hv[t]] = cc.get(hv[t], 0.0) + role.hiring_cost * cut_scale
                bc, bk = _back(nv, role.attrition, float(prep.current[(rid, did)]), t)
                for var, val in bc.items():
                    cc[var] = cc.get(var, 0.0) + role.hiring_cost * val * cut_scale
                ck += role.hiring_cost * bk * cut_scale
        return cc, ck

    if mode == "min_cost":
        for ci, (rates, cuts_) in enumerate(rated_cuts):
            for did, z in cuts_.items():
                cc, ck = dir_cost(rates, did)
                m += pulp.LpAffineExpression(cc, constant=ck) >= z * cut_scale * (1 - 1e-9), f"dir_cut{ci}[{did}]"
    lam: list[list[pulp.LpVariable]] = []
    for ci, ch in enumerate(choices):
        lam.append([pulp.LpVariable(f"pick[{ci}|{j}]", 0, 1, cat="Integer" if integer else "Continuous")
                    for j in range(len(ch.columns))])
        m += pulp.lpSum(lam[ci]) == 1, f"pick_one[{ci}]"
        for i, key in enumerate(ch.keys):
            for t in range(T):
                pick = {x: float(col[i][t]) for x, col in zip(lam[ci], ch.columns, strict=True) if col[i][t] != 0}
                pick[n[key][t]] = pick.get(n[key][t], 0.0) - 1.0
                m += pulp.LpAffineExpression(pick) == 0, f"pick_n[{ci}|{i}|{t}]"
        for rid, lows in ch.implied.items():
            for t in range(T):
                imp = {x: float(lw[t]) for x, lw in zip(lam[ci], lows, strict=True) if lw[t] != 0}
                if imp:
                    imp[n[(rid, ch.group)][t]] = -1.0
                    m += pulp.LpAffineExpression(imp) <= 0, f"pick_imp[{ci}|{rid}|{t}]"
        for rid, (los, his) in ch.ranges.items():
            for t in range(T):
                lo_e = {x: float(lw[t]) for x, lw in zip(lam[ci], los, strict=True) if lw[t] != 0}
                lo_e[n[(rid, ch.group)][t]] = -1.0
                m += pulp.LpAffineExpression(lo_e) <= 0, f"pick_lo[{ci}|{rid}|{t}]"
                hi_e = {x: float(hw[t]) for x, hw in zip(lam[ci], his, strict=True) if hw[t] != 0}
                hi_e[n[(rid, ch.group)][t]] = -1.0
                m += pulp.LpAffineExpression(hi_e) >= 0, f"pick_hi[{ci}|{rid}|{t}]"
        if ch.bounds is not None and mode == "min_cost":
            cc, ck = dir_cost(ch.rates, ch.group)
            for x, lb in zip(lam[ci], ch.bounds, strict=True):
                cc[x] = cc.get(x, 0.0) - float(lb) * cut_scale
            m += pulp.LpAffineExpression(cc, constant=ck) >= 0, f"pick_cost[{ci}]"
    if warm is not None and warm.ok and integer:
        for ci, ch in enumerate(choices):
            for x, col in zip(lam[ci], ch.columns, strict=True):
                same = all(key in warm.n and np.array_equal(np.asarray(c, dtype=float), warm.n[key])
                           for key, c in zip(ch.keys, col, strict=True))
                x.setInitialValue(1.0 if same else 0.0)
        for key, nv in n.items():
            if key in warm.n:
                for t in range(T):
                    nv[t].setInitialValue(float(warm.n[key][t]))
                    h[key][t].setInitialValue(float(warm.h[key][t]))

    for idx, rid, other, ratio, _kind in structure_pairs(prep):
        for t in range(T):
            if prep.roles[rid].scope == "shared":
                m += ratio * n[(rid, SHARED)][t] >= pulp.lpSum(n[(other, g)][t] for g in prep.groups[other]), (
                    f"struct[{idx}|{t}]"
                )
            else:
                for g in prep.groups[rid]:
                    m += ratio * n[(rid, g)][t] >= n[(other, g)][t], f"struct[{idx}|{g}|{t}]"

    # funnel
    v: list[list[list[pulp.LpVariable]]] = []
    y: dict[tuple[int, int], list[pulp.LpVariable]] = {}
    deals_expr: list[list[pulp.LpAffineExpression | float]] = []
    for d, direction in enumerate(p.directions):
        stages = direction.funnel
        vd = [[pulp.LpVariable(f"v[{d}|{k}|{t}]", 0) for t in range(T)] for k in range(len(stages))]
        ib = prep.inbound_index[d]
        dead = T - (0 if "lag" in relaxed else direction.cycle_months) if free_tail else T
        for t in range(dead, T):
            for k in range(len(stages)):
                vd[k][t].upBound = 0.0
        for k, st in enumerate(stages):
            for t in range(T):
                inflow = direction.inbound_per_month if k == ib else 0.0
                if k > 0:
                    m += vd[k][t] <= st.rate * vd[k - 1][t] + inflow, f"conv[{d}|{k}|{t}]"
                elif st.stage not in prep.producers:
                    m += vd[k][t] <= inflow, f"inbound[{d}|{t}]"
            prods = prep.producers.get(st.stage, [])
            if not prods:
                continue
            dir_prods = [r for r in prods if prep.roles[r].scope == "direction"]
            has_shared = any(prep.roles[r].scope == "shared" for r in prods)
            if has_shared:
                y[(d, k)] = [pulp.LpVariable(f"y[{d}|{k}|{t}]", 0) for t in range(T)]
            for t in range(dead):
                capc: dict[pulp.LpVariable, float] = {vd[k][t]: 1.0}
                capk = 0.0
                for r in dir_prods:
                    per = prep.roles[r].produces.per_month  # type: ignore[union-attr]
                    ec, ek = eff_d[(r, direction.id)][t]
                    for var, val in ec.items():
                        capc[var] = capc.get(var, 0.0) - per * val
                    capk -= per * ek
                if has_shared:
                    capc[y[(d, k)][t]] = -1.0
                m += pulp.LpAffineExpression(capc, constant=capk) <= 0, f"cap[{d}|{k}|{t}]"
        if deal_targets is not None:
            for t in range(T):
                if deal_targets[d, t] > 1e-9:
                    m += vd[-1][t] >= float(deal_targets[d, t]), f"target[{d}|{t}]"
        v.append(vd)
        lag = 0 if "lag" in relaxed else direction.cycle_months
        last = vd[-1]
        # deals booked in month t (rows are written in deal units: money / avg_deal keeps the matrix well scaled)
        deals_expr.append([last[t - lag] if t - lag >= 0 else 0.0 for t in range(T)])
    stage_names = sorted({p.directions[dk[0]].funnel[dk[1]].stage for dk in y})
    for sname in stage_names:
        shared_ids = [r for r in prep.producers[sname] if prep.roles[r].scope == "shared"]
        keys = [dk for dk in y if p.directions[dk[0]].funnel[dk[1]].stage == sname]
        for t in range(T):
            m += pulp.lpSum(y[dk][t] for dk in keys) <= pulp.lpSum(
                prep.roles[r].produces.per_month * eff[(r, SHARED)][t]  # type: ignore[union-attr]
                for r in shared_ids
            ), f"shared_cap[{sname}|{t}]"

    total_cost = pulp.LpAffineExpression(cost_c, constant=cost_k[0])
    deal = np.array([dd.avg_deal for dd in p.directions])
    money = float(deal.max())  # revenue rows and objectives are in units of the largest deal
    total_rev_scaled = pulp.lpSum(deal[d] / money * deals_expr[d][t] for d in range(D) for t in range(T))
    base_scaled = float(prep.base.sum()) / money
    short: list[tuple[pulp.LpVariable, float]] = []
    for d in range(D):
        need = (plan[d] - prep.base[d]) / deal[d]
        if p.plan_basis == "horizon":
            lhs = pulp.lpSum(deals_expr[d])
            if mode == "min_cost":
                m += lhs >= float(need.sum()), f"plan[{d}]"
            elif mode == "shortfall":
                s = pulp.LpVariable(f"s[{d}]", 0)
                short.append((s, float(deal[d])))
                m += lhs + s >= float(need.sum()), f"plan[{d}]"
        else:
            for t in range(T):
                if mode == "min_cost":
                    m += pulp.lpSum([deals_expr[d][t]]) >= float(need[t]), f"plan[{d}|{t}]"
                elif mode == "shortfall":
                    s = pulp.LpVariable(f"s[{d}|{t}]", 0)
                    short.append((s, float(deal[d])))
                    m += pulp.lpSum([deals_expr[d][t]]) + s >= float(need[t]), f"plan[{d}|{t}]"
    cost_scale = 1.0 / max(1.0, max(r.monthly_cost for r in prep.roles.values()))
    if budget is not None:
        m += cost_scale * total_cost <= cost_scale * budget, "budget"
    if revenue_floor is not None:
        m += total_rev_scaled >= revenue_floor / money - base_scaled, "revenue_floor"
    short_scaled = pulp.lpSum(w / money * sv for sv, w in short)
    if shortfall_cap is not None:
        m += short_scaled <= shortfall_cap / money, "shortfall_cap"
    if mode == "max_revenue" and revenue_floor is None:
        m.setObjective(total_rev_scaled)
    elif mode == "shortfall" and shortfall_cap is None:
        m.sense = pulp.LpMinimize
        m.setObjective(short_scaled)
    else:
        m.sense = pulp.LpMinimize
        m.setObjective(cost_scale * total_cost)

    if capture is not None:
        capture.update(model=m, n=n, h=h, v=v)
        return MilpResult("no_solution", method="captured")
    name = pick_solver(solver)
    if name == "highs" and not highs_available():
        name = "cbc"
    tl = None if time_limit is None else max(0.5, float(time_limit))
    if name == "highs":
        cmd: pulp.LpSolver = pulp.HiGHS(msg=False, mip=integer, timeLimit=tl, gapRel=gap, threads=1,
                                        warmStart=warm is not None,
                                        random_seed=seed)
    else:
        cmd = pulp.PULP_CBC_CMD(msg=False, mip=integer, timeLimit=tl, gapRel=gap, threads=1,
                                warmStart=warm is not None and integer)
    try:
        m.solve(cmd)
    except pulp.PulpSolverError as exc:  # pragma: no cover - solver crash
        raise InternalError(f"MILP solver failed: {exc}") from exc
    runtime = time.monotonic() - t0
    sol_status = m.sol_status
    if m.status == pulp.LpStatusInfeasible or sol_status == pulp.LpSolutionInfeasible:
        return MilpResult("infeasible", runtime=runtime, solver=name)
    if sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        if m.status == pulp.LpStatusOptimal:
            sol_status = pulp.LpSolutionOptimal
        else:
            return MilpResult("no_solution", runtime=runtime, solver=name)
    status = "optimal" if sol_status == pulp.LpSolutionOptimal else "feasible"

    res = MilpResult(status, solver=name, runtime=runtime)
    for key in n:
        rnd = round if integer else float
        res.n[key] = np.array([rnd(_val(x)) for x in n[key]], dtype=float)
        res.h[key] = np.array([rnd(_val(x)) for x in h[key]], dtype=float)
        if integer:
            prev_n = np.concatenate([[float(prep.current[key])], res.n[key][:-1]])
            least = np.maximum(0.0, res.n[key] - prev_n)
            ints = np.array([c == "Integer" for c in cats_of[key]])
            res.h[key] = np.where(ints, least, np.array([_val(x) for x in h[key]]))
        role = prep.roles[key[0]]
        ramp = [1.0] * len(role.ramp) if "ramp" in relaxed else list(role.ramp)
        nn = res.n[key]
        prevn = np.concatenate([[float(prep.current[key])], nn[:-1]])
        res.b[key] = role.attrition * prevn
        effv = nn.copy()
        for k, rk in enumerate(ramp):
            if k < T:
                effv[k:] -= (1 - rk) * (res.h[key][: T - k] + res.b[key][: T - k])
        res.eff[key] = effv
    res.cost = float(
        sum(
            prep.roles[r].monthly_cost * res.n[(r, g)].sum()
            + prep.roles[r].hiring_cost * (res.h[(r, g)].sum() + res.b[(r, g)].sum())
            for (r, g) in res.n
        )
    )
    for d, direction in enumerate(p.directions):
        res.v.append(np.array([[max(0.0, _val(x)) for x in row] for row in v[d]]))
        capd = np.full((len(direction.funnel), T), np.inf)
        for k, fs in enumerate(direction.funnel):
            prods = prep.producers.get(fs.stage, [])
            if not prods:
                continue
            capv: np.ndarray = np.zeros(T)
            for rid in prods:
                per = prep.roles[rid].produces.per_month  # type: ignore[union-attr]
                if prep.roles[rid].scope == "direction":
                    capv = capv + per * res.eff[(rid, direction.id)]
            if (d, k) in y:
                capv = capv + np.array([max(0.0, _val(x)) for x in y[(d, k)]])
            capd[k] = capv
        res.cap.append(capd)
    # shared capacity not used by any direction is handed out in proportion to use (for the Monte Carlo)
    for sname in stage_names:
        shared_ids = [r for r in prep.producers[sname] if prep.roles[r].scope == "shared"]
        total = np.zeros(T)
        for rid in shared_ids:
            total += prep.roles[rid].produces.per_month * res.eff[(rid, SHARED)]  # type: ignore[union-attr]
        keys = [dk for dk in y if p.directions[dk[0]].funnel[dk[1]].stage == sname]
        used = np.array([[max(0.0, _val(x)) for x in y[dk]] for dk in keys])
        spare = np.maximum(0.0, total - used.sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(used.sum(axis=0) > 0, used / np.maximum(used.sum(axis=0), 1e-12), 1.0 / len(keys))
        for i, (d, k) in enumerate(keys):
            res.cap[d][k] += spare * share[i]
    res.rev = np.zeros((D, T))
    for d, direction in enumerate(p.directions):
        lag = 0 if "lag" in relaxed else direction.cycle_months
        res.rev[d] = prep.base[d].copy()
        if lag < T:
            res.rev[d, lag:] += direction.avg_deal * res.v[d][-1][: T - lag]
    res.shortfall = float(sum(w * _val(sv) for sv, w in short))
    if not integer:
        for d in range(D):
            row = _row(m, f"plan_{d}_")
            if row is not None and row.pi is not None:
                # d cost / d (deals) in scaled units -> cost per currency unit of plan
                res.plan_duals[p.directions[d].id] = float(row.pi) / cost_scale / float(deal[d])
        for idx, rid, _other, _ratio, _kind in structure_pairs(prep):
            if prep.roles[rid].scope == "shared":
                for t in range(T):
                    row = _row(m, f"struct_{idx}|{t}_")
                    if row is not None and row.pi is not None:
                        res.struct_duals[(idx, t)] = float(row.pi) / cost_scale
        row = _row(m, "budget")
        if row is not None and row.pi is not None and mode == "max_revenue":
            res.plan_duals["budget"] = float(row.pi) * money * cost_scale
    with contextlib.suppress(TypeError):
        res.objective = float(pulp.value(m.objective))  # scaled; callers use cost / rev / shortfall
    if name == "highs" and integer and mode == "min_cost" and res.objective is not None and month_costs is None:
        # HiGHS's proven dual bound, in cost units (same offset as the objective it reports)
        with contextlib.suppress(Exception):
            info = m.solverModel.getInfo()
            if np.isfinite(info.mip_dual_bound) and np.isfinite(info.objective_function_value):
                res.lower_bound = res.cost - (info.objective_function_value - info.mip_dual_bound) / cost_scale
    return res


def solve_best(
    prep: Prepared,
    *,
    mode: Mode = "min_cost",
    exact: bool = True,
    fast: bool = False,
    time_limit: float | None = None,
    exact_time_limit: float | None = 20.0,
    lns_time_limit: float | None = 30.0,
    exact_after_lns: float | None = 5.0,
    workers: int = 2,
    on_best: Callable[[MilpResult, float | None], bool] | None = None,
    **kw: Any,
) -> MilpResult:
    """Best staffing for ``mode``: a heuristic first, then the exact MILP with a time cap.

    For plain ``min_cost`` with several directions and direction-scoped producers the heuristic is
    the per-direction decomposition (:func:`optimizer.staffing.bounds.decompose`), whose bounds also
    become valid inequalities of the exact MILP and give ``lower_bound`` (the LP with those cuts and the
    headcount floors), then a large-neighbourhood search within ``lns_time_limit``
    (:func:`optimizer.staffing.bounds.search_directions`: pairs of directions re-solved exactly with the
    shared roles, largest directions first, ``workers`` side by side; then single directions; then
    triples when there are more than three directions and time is left). The exact MILP then starts from
    the heuristic's staffing (MIP start). Otherwise fix-and-relax. The cap is 30 s (was 12 s): on three
    other 12 x 6 x 7 instances (seeds 1-3) the longer search ends 0.02-0.15 % cheaper for about 18 s more,
    on seed 0 it changes nothing.

    The exact MILP carries the headcount floors of :mod:`optimizer.staffing.tighten` (``tighten=True``).
    It has a weak LP bound (many small roundings: a head per direction, one support
    person per few sellers, ramp coupling months) and CBC/HiGHS can take minutes to find a good
    integer answer on a year x several directions. So a heuristic runs first; the exact MILP then runs for
    ``exact_time_limit`` seconds (``exact_after_lns`` after the decomposition and its search, whose answer
    it rarely improves on large instances while it proves small ones in well under a second) and is kept
    when it does better.

    Parameters
    ----------
    prep
        Prepared problem.
    exact
        Run the exact MILP after the heuristic (scenario sweeps switch it off).
    fast
        Try :func:`round_up` (two LPs) before fix-and-relax (``min_cost`` only; sweeps, searches).
    time_limit
        Seconds for everything: no phase starts after it; a running solve gets at most what is left (at
        least half a second).
    exact_time_limit
        Cap on the exact MILP's seconds (None: the whole ``time_limit``).
    lns_time_limit
        Cap on the seconds of :func:`optimizer.staffing.bounds.improve_by_direction` after the
        decomposition (0: skip it).
    exact_after_lns
        Cap on the exact MILP's seconds after the decomposition path (None: ``exact_time_limit``).
    workers
        Neighbourhoods of the search solved side by side (threads; each MILP is a solver process).
    on_best
        Called with each new best staffing and the best lower bound known; returning False stops the
        search (the best staffing so far is returned, the exact MILP is skipped).
    **kw
        Passed to :func:`solve_milp` (``plan_factor``, ``solver``, ``seed``, ``gap``, ...).

    Returns
    -------
    MilpResult
        ``optimal`` only when the exact MILP proved it; ``stats`` tells which answer was kept.
    """
    t0 = time.monotonic()
    stop = [False]

    def left(cap: float | None = None) -> float | None:
        rem = None if time_limit is None else max(0.5, time_limit - (time.monotonic() - t0))
        if cap is None:
            return rem
        return cap if rem is None else min(cap, rem)

    def out_of_time() -> bool:
        return stop[0] or (time_limit is not None and time.monotonic() - t0 >= time_limit)

    def tell(r: MilpResult, lb: float | None) -> bool:
        if on_best is not None and r.ok and on_best(r, lb) is False:
            stop[0] = True
        return not stop[0]

    heur = MilpResult("no_solution")
    if fast and mode == "min_cost" and kw.get("revenue_floor") is None:
        heur = round_up(prep, time_limit=left(), **kw)
        if heur.status == "infeasible":
            return heur
    cuts: list[tuple[dict[str, float], dict[str, float]]] = []
    bound: float | None = None
    cap_exact = exact_time_limit
    if not heur.ok and exact and _decomposable(prep, mode, kw):
        from optimizer.staffing.bounds import decompose, search_directions

        dec = decompose(prep, time_limit=left(), **kw)
        if dec.result.status == "infeasible":
            return dec.result
        heur, cuts = dec.result, dec.rated_cuts
        if cuts:
            lb = solve_milp(prep, mode=mode, integer=False, rated_cuts=cuts, time_limit=left(), tighten=True, **kw)
            bound = lb.cost if lb.status == "optimal" else None
        tell(heur, bound)
        if heur.ok and (lns_time_limit is None or lns_time_limit > 0) and not out_of_time():
            cap_exact = exact_after_lns if exact_after_lns is not None else exact_time_limit
            # CBC runs as a process per MILP, so threads overlap them; HiGHS runs in process: one at a time
            width = workers if pick_solver(kw.get("solver", "auto")) == "cbc" else 1
            heur = search_directions(prep, heur, time_limit=left(lns_time_limit), workers=width, cuts=cuts,
                                     on_step=lambda r: tell(r, bound), **kw)
    if not heur.ok:
        heur = fix_and_relax(prep, mode=mode, time_limit=left(), **kw)
        if heur.status == "no_solution" and mode == "min_cost" and not fast and kw.get("revenue_floor") is None:
            heur = round_up(prep, time_limit=left(), **kw)  # e.g. out of time
        tell(heur, bound)
    heur.lower_bound = bound
    if heur.status == "infeasible" or (not exact and heur.ok) or (heur.ok and out_of_time()):
        return heur
    full = solve_milp(prep, mode=mode, time_limit=left(cap_exact), rated_cuts=cuts,
                      warm=heur if heur.ok else None, tighten=True, **kw)
    full.method = "exact" + (" (direction cuts, MIP start)" if cuts else "")
    known = [b for b in (bound, full.lower_bound) if b is not None]  # the cuts' LP, HiGHS's dual bound
    full.lower_bound = full.cost if full.status == "optimal" else (max(known) if known else None)
    if not heur.ok:
        return full
    if full.status == "optimal" or (full.ok and _score(full, mode, kw) <= _score(heur, mode, kw) + 1e-9):
        tell(full, full.lower_bound)
        return full
    return heur


def _decomposable(prep: Prepared, mode: Mode, kw: dict[str, Any]) -> bool:
    """Per-direction decomposition applies: plain ``min_cost``, several directions, no shared producer or budget."""
    from optimizer.staffing.bounds import applicable

    plain = not any(kw.get(k) for k in ("relax", "revenue_floor", "shortfall_cap", "deal_targets", "fix", "int_months",
                                        "budget", "hire_slack", "hire_room"))
    return mode == "min_cost" and plain and kw.get("integer", True) and applicable(prep)


def _score(r: MilpResult, mode: Mode, kw: dict[str, Any]) -> float:
    """Objective of a result, smaller is better (the mode's primary one unless a second stage is set)."""
    if mode == "max_revenue" and kw.get("revenue_floor") is None:
        return -float(r.rev.sum())
    if mode == "shortfall" and kw.get("shortfall_cap") is None:
        return r.shortfall
    return r.cost


def fix_and_relax(
    prep: Prepared, *, mode: Mode = "min_cost", window: int = 1, time_limit: float | None = None, **kw: Any
) -> MilpResult:
    """Rolling-horizon fix-and-relax (any ``mode``).

    Month by month: months ``< t + window`` are integer, later months continuous; solve, fix the
    integer headcount and hires of month ``t``, move on. Each solve has few integer variables. The
    last solve has every month integer and fixed but the final window, so its answer is feasible for
    the full problem.

    Parameters
    ----------
    prep
        Prepared problem.
    window
        Months kept integer ahead of the fixed ones.
    time_limit
        Seconds for all the solves.
    **kw
        Passed to :func:`solve_milp`.

    Returns
    -------
    MilpResult
        Status ``feasible`` (``optimal`` only when the problem has one window), or the status of the
        first failing step (``infeasible`` means even the relaxation fails).
    """
    t0 = time.monotonic()
    T = prep.T
    fix: dict[Key, tuple[np.ndarray, np.ndarray]] = {}
    res = MilpResult("no_solution")
    kw = {k: v for k, v in kw.items() if k not in ("int_months", "fix")}
    last = max(1, T - window + 1)
    for t in range(last):
        rem = None if time_limit is None else max(0.5, time_limit - (time.monotonic() - t0))
        late = time_limit is not None and time.monotonic() - t0 > time_limit and t < last - 1
        # out of time: make every remaining month integer in this one (final) solve
        res = solve_milp(prep, mode=mode, int_months=T if late else min(T, t + window), fix=fix, time_limit=rem, **kw)
        if not res.ok:
            if t == 0 or res.status != "infeasible":
                return res
            # fixing earlier months made it infeasible (hiring limits): fall back to the exact model
            full = solve_milp(prep, mode=mode, time_limit=rem, **kw)
            full.method = "exact (fix-and-relax got stuck)"
            return full
        fix = {key: (res.n[key][: t + 1].copy(), res.h[key][: t + 1].copy()) for key in res.n}
        if late:
            break
    res.runtime = time.monotonic() - t0
    res.method = "fix-and-relax"
    if window < T:
        res.status = "feasible"
    return res


def round_up(prep: Prepared, *, time_limit: float | None = None,
             margins: Sequence[tuple[float, bool]] = ((0.0, False),),
             lp_solve: Callable[[np.ndarray, dict[str, np.ndarray]], MilpResult] | None = None,
             repairs: int = 8,
             **kw: Any) -> MilpResult:
    """Fast ``min_cost`` heuristic: LP relaxation, headcount rounded up, checked, repaired through the LP.

    Rounds every fractional headcount of the LP answer up (hires = the increases; managers and
    support lifted to their ratios), then checks the integer staffing with the model's own rules
    (:func:`staffing_volumes`, or the LP of the volumes when a producer is shared). Rounding can fail
    in two ways, and each is repaired by re-solving the LP with the failure priced in, then rounding
    again (at most ``repairs`` times):

    * a hiring limit broken in some months (the rounded hires plus their back-fill exceed it): those
      months' limits are lowered in the LP by the excess (``hire_room``), so the LP hires earlier or
      elsewhere;
    * a direction's plan missed (the extra hires' ramp-up costs capacity): that direction's plan is
      raised in the LP by its shortfall (at least 0.5 %).

    Each repair is one LP solve (milliseconds with :class:`optimizer.staffing.lpfast.LpTemplate`),
    so the method stays the one of choice for large scenario sweeps; status ``no_solution`` when
    the repairs run out (use :func:`fix_and_relax` then), ``infeasible`` when the LP relaxation of
    the problem itself is infeasible.

    Parameters
    ----------
    prep
        Prepared problem.
    time_limit
        Seconds.
    margins
        ``(plan margin, hiring room)`` starting points tried in turn, each followed by its repairs;
        hiring room keeps one hire plus its back-fill per group under every limit.
    lp_solve
        Solves the LP relaxation for ``(plan_factor, hire_room)`` instead of building the PuLP model
        (a re-used :class:`optimizer.staffing.lpfast.LpTemplate` in sweeps); only ``n`` is read.
    repairs
        LP re-solves allowed after each starting point.
    **kw
        Passed to :func:`solve_milp`.

    Returns
    -------
    MilpResult
        ``feasible`` staffing, or ``infeasible`` (LP relaxation infeasible) / ``no_solution``.
    """
    t0 = time.monotonic()
    T, D = prep.T, len(prep.dirs)
    base = np.ones(D) if kw.get("plan_factor") is None else np.asarray(kw["plan_factor"], dtype=float)
    kw = {k: v for k, v in kw.items() if k not in ("plan_factor", "integer", "fix", "mode", "hire_room", "hire_slack")}
    solver_free = _no_shared_producers(prep) and not kw.get("relax") and kw.get("budget") is None
    limited = {rid: float(r.max_hires_per_month) for rid, r in prep.roles.items()
               if r.max_hires_per_month is not None and not ("hiring" in set(kw.get("relax", ()))
                                                             or f"hiring:{rid}" in set(kw.get("relax", ())))}
    lps = 0
    for i, (mg, slack) in enumerate(margins):
        factor = base * (1 + mg)
        room: dict[str, np.ndarray] = {}
        if slack:
            room = {rid: np.full(T, len(prep.groups[rid]) * (1 + prep.roles[rid].attrition)) for rid in limited}
        tries = 0
        for _rep in range(repairs + 1):
            if time_limit is not None and lps > 0 and time.monotonic() - t0 > time_limit:
                return MilpResult("no_solution", method="lp-round-up out of time", runtime=time.monotonic() - t0)
            rem = None if time_limit is None else max(0.5, time_limit - (time.monotonic() - t0))
            lps += 1
            if lp_solve is not None:
                lp = lp_solve(factor, room)
            else:
                lp = solve_milp(prep, mode="min_cost", integer=False, plan_factor=factor, time_limit=rem,
                                hire_room=room, **kw)
            if not lp.ok:
                if i == 0 and _rep == 0:
                    return lp  # the LP relaxation itself: infeasible (or no answer)
                break
            n_int = _round_and_lift(prep, lp.n)
            fix = {key: (nv, _least_hires(prep, key, nv)) for key, nv in n_int.items()}
            excess = _hire_excess(prep, n_int, fix, limited)
            if excess:
                # the LP's own hires in those months, less what the rounding added on top of the limit (and
                # half a hire more per failed try: the LP can move a fraction that rounds up the same)
                tries += 1
                for rid, ex in excess.items():
                    used = _hires_total(prep, rid, lp.n, lp.h)
                    cap = np.where(ex > 0, used - ex - 0.5 * (tries - 1), np.inf)
                    room[rid] = np.maximum(room.get(rid, np.zeros(T)), limited[rid] - cap)
                continue
            if solver_free:
                res = staffing_volumes(prep, n_int, {k: v[1] for k, v in fix.items()}, base, check_plan=False)
                short = _shortfall(prep, res, base) if res.ok else None
                if res.ok and short is not None and not np.any(short > 0):
                    res.status = "feasible"
                elif res.ok and short is not None:
                    # plan missed by the rounding: raise those plans in the LP by what is missing
                    plan = prep.plan.sum(axis=1) * base
                    factor = factor * (1 + np.where(short > 0, np.maximum(short / np.maximum(plan, 1e-9), 0.005), 0))
                    continue
                else:
                    break
            else:
                res = solve_milp(prep, mode="min_cost", integer=False, fix=fix, plan_factor=base, time_limit=rem, **kw)
                if not res.ok:
                    factor = factor * 1.01
                    continue
            res.status = "feasible"
            res.method = f"lp-round-up ({lps} LP{'s' if lps > 1 else ''})"
            res.runtime = time.monotonic() - t0
            return res
    return MilpResult("no_solution", method="lp-round-up failed", runtime=time.monotonic() - t0)


def _round_and_lift(prep: Prepared, n: dict[Key, np.ndarray]) -> dict[Key, np.ndarray]:
    """Headcounts rounded up, producers kept at a non-negative effective headcount, managers and support lifted.

    Rounding the months before a drop up adds hires and back-fill whose ramp-up loss can exceed a small
    headcount kept afterwards (capacity below zero, which the model forbids): such months get one
    more position until it holds.
    """
    n_int = {key: np.ceil(nv - 1e-6) for key, nv in n.items()}
    producers = {r for rs in prep.producers.values() for r in rs}
    for _ in range(4 * len(prep.roles) + prep.T):
        changed = False
        for key, nv in n_int.items():
            role = prep.roles[key[0]]
            if key[0] not in producers or not role.ramp:
                continue
            eff = _effective(prep, key, nv, _least_hires(prep, key, nv))
            bad = np.flatnonzero(eff < -1e-9)
            if bad.size:
                nv[bad[0]] += 1.0
                changed = True
        changed = raise_for_structure(prep, n_int) or changed
        if not changed:
            break
    return n_int


def _effective(prep: Prepared, key: Key, nv: np.ndarray, hv: np.ndarray) -> np.ndarray:
    """Effective (ramp-weighted) headcount of a group for headcount ``nv`` and growth hires ``hv``."""
    role = prep.roles[key[0]]
    prevn = np.concatenate([[float(prep.current[key])], nv[:-1]])
    back = role.attrition * prevn
    eff = nv.astype(float).copy()
    for k, rk in enumerate(role.ramp):
        if k < prep.T:
            eff[k:] -= (1 - rk) * (hv[: prep.T - k] + back[: prep.T - k])
    return eff


def _least_hires(prep: Prepared, key: Key, nv: np.ndarray) -> np.ndarray:
    prev = np.concatenate([[float(prep.current[key])], nv[:-1]])
    return np.asarray(np.maximum(0.0, nv - prev))


def _hire_excess(prep: Prepared, n: dict[Key, np.ndarray], fix: dict[Key, tuple[np.ndarray, np.ndarray]],
                 limited: dict[str, float]) -> dict[str, np.ndarray]:
    """Role id -> ``(T,)`` hires (growth + back-fill) above the role's limit, for roles over it in some month."""
    out: dict[str, np.ndarray] = {}
    for rid, maxh in limited.items():
        ex = _hires_total(prep, rid, n, {k: v[1] for k, v in fix.items()}) - maxh
        if np.any(ex > 1e-6):
            out[rid] = np.where(ex > 1e-6, ex + 1e-3, 0.0)
    return out


def _hires_total(prep: Prepared, rid: str, n: dict[Key, np.ndarray], h: dict[Key, np.ndarray]) -> np.ndarray:
    """``(T,)`` hires (growth + back-fill) of role ``rid`` over its groups."""
    a = prep.roles[rid].attrition
    tot = np.zeros(prep.T)
    for g in prep.groups[rid]:
        prev = np.concatenate([[float(prep.current[(rid, g)])], n[(rid, g)][:-1]])
        tot += h[(rid, g)] + a * prev
    return tot


def _shortfall(prep: Prepared, res: MilpResult, plan_factor: np.ndarray) -> np.ndarray:
    """``(D,)`` revenue missing to each direction's plan (monthly basis: summed over the short months)."""
    plan = prep.plan * np.asarray(plan_factor, dtype=float)[:, None]
    tol = 1e-6 * np.maximum(1.0, plan.sum(axis=1))
    if prep.problem.plan_basis == "horizon":
        gap = plan.sum(axis=1) - res.rev.sum(axis=1)
    else:
        gap = np.maximum(0.0, plan - res.rev).sum(axis=1)
    return np.where(gap > tol, gap, 0.0)


def _no_shared_producers(prep: Prepared) -> bool:
    return all(prep.roles[r].scope == "direction" for rs in prep.producers.values() for r in rs)


def staffing_volumes(
    prep: Prepared, n: dict[Key, np.ndarray], h: dict[Key, np.ndarray], plan_factor: np.ndarray | None = None,
    *, check_plan: bool = True,
) -> MilpResult:
    """Evaluate a fixed integer staffing without a solver (no shared producing roles).

    With headcount and hires fixed and every producing role sized per direction, the largest funnel
    volumes are found month by month, stage by stage: ``v_k = min(capacity_k, rate_k v_(k-1) +
    inbound_k)``, so the plan holds exactly when it holds for these volumes (the LP of the volumes has
    this componentwise-largest point). Structure, hiring and headcount limits are checked too.

    Parameters
    ----------
    prep
        Prepared problem (every producer must be a direction role).
    n, h
        Headcount and growth hires per ``(role, group)``.
    plan_factor
        Plan multipliers per direction.
    check_plan
        False skips the plan rows (the caller reads the revenue ``rev``; everything else is checked).

    Returns
    -------
    MilpResult
        ``feasible`` with the values, or ``infeasible`` when a constraint fails.
    """
    p = prep.problem
    T, D = prep.T, len(prep.dirs)
    factor = np.ones(D) if plan_factor is None else np.asarray(plan_factor, dtype=float)
    res = MilpResult("feasible", method="evaluated")
    tol = 1e-6
    for key, nv in n.items():
        role = prep.roles[key[0]]
        hv = h[key]
        prevn = np.concatenate([[float(prep.current[key])], nv[:-1]])
        if np.any(nv > prevn + hv + tol) or np.any(nv < role.min_headcount - tol):
            return MilpResult("infeasible")
        if role.max_headcount is not None and np.any(nv > role.max_headcount + tol):
            return MilpResult("infeasible")
        res.n[key], res.h[key] = nv.astype(float), hv.astype(float)
        res.b[key] = role.attrition * prevn
        effv = nv.astype(float).copy()
        for k, rk in enumerate(role.ramp):
            if k < T:
                effv[k:] -= (1 - rk) * (hv[: T - k] + res.b[key][: T - k])
        res.eff[key] = effv
    for rid, role in prep.roles.items():
        if role.max_hires_per_month is not None:
            tot = np.sum([res.h[(rid, g)] + res.b[(rid, g)] for g in prep.groups[rid]], axis=0)
            if np.any(tot > role.max_hires_per_month + tol):
                return MilpResult("infeasible")
    for _i, rid, other, ratio, _kind in structure_pairs(prep):
        for g in prep.groups[rid]:
            managed = (np.sum([res.n[(other, o)] for o in prep.groups[other]], axis=0) if g == SHARED
                       else res.n[(other, g)])
            if np.any(ratio * res.n[(rid, g)] < managed - tol):
                return MilpResult("infeasible")
    res.rev = np.zeros((D, T))
    for d, direction in enumerate(p.directions):
        ib = prep.inbound_index[d]
        vd = np.zeros((len(direction.funnel), T))
        capd = np.full((len(direction.funnel), T), np.inf)
        for k, st in enumerate(direction.funnel):
            prods = prep.producers.get(st.stage, [])
            if prods:
                capd[k] = np.sum([prep.roles[r].produces.per_month * res.eff[(r, direction.id)]  # type: ignore[union-attr]
                                  for r in prods], axis=0)
                if np.any(capd[k] < -tol):
                    return MilpResult("infeasible")  # as in the LP: volume >= 0 needs capacity >= 0
            inflow = direction.inbound_per_month if k == ib else 0.0
            upstream = inflow + (st.rate * vd[k - 1] if k > 0 else (np.inf if prods else 0.0))
            vd[k] = np.maximum(0.0, np.minimum(capd[k], upstream))
        res.v.append(vd)
        res.cap.append(capd)
        lag = direction.cycle_months
        res.rev[d] = prep.base[d].copy()
        if lag < T:
            res.rev[d, lag:] += direction.avg_deal * vd[-1][: T - lag]
        plan = prep.plan[d] * factor[d]
        scale = tol * max(1.0, float(plan.sum()))
        if not check_plan:
            pass
        elif p.plan_basis == "horizon":
            if res.rev[d].sum() < plan.sum() - scale:
                return MilpResult("infeasible")
        elif np.any(res.rev[d] < plan - scale):
            return MilpResult("infeasible")
    res.cost = float(sum(
        prep.roles[r].monthly_cost * res.n[(r, g)].sum()
        + prep.roles[r].hiring_cost * (res.h[(r, g)].sum() + res.b[(r, g)].sum())
        for (r, g) in res.n
    ))
    if p.budget is not None and res.cost > p.budget + tol:
        return MilpResult("infeasible")
    return res
