"""The staffing MILP in PuLP (semantics in :mod:`optimizer.model.staffing`).

One builder serves every use: ``min_cost`` under a hard plan, ``max_revenue`` under a budget, and
``shortfall`` (the plan made soft: least total shortfall, used to diagnose unreachable plans). A
``relax`` set switches constraint families off for what-if diagnosis: ``"budget"``, ``"ramp"``,
``"lag"``, ``"hiring"`` (every hiring limit), ``"hiring:<role>"``, ``"max_headcount:<role>"``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pulp

from optimizer.errors import InternalError
from optimizer.staffing.prep import SHARED, Prepared, structure_pairs

Mode = Literal["min_cost", "max_revenue", "shortfall"]
Key = tuple[str, str]


def highs_available() -> bool:
    """True when highspy (HiGHS) can be used through PuLP."""
    try:
        return bool(pulp.HiGHS(msg=False).available())
    except Exception:  # pragma: no cover - depends on the installation
        return False


def pick_solver(name: str) -> str:
    """Resolve ``auto`` to ``highs`` when highspy is installed, else ``cbc``."""
    if name == "auto":
        return "highs" if highs_available() else "cbc"
    return name


@dataclass
class MilpResult:
    """Values of one MILP solve (arrays over months).

    Attributes
    ----------
    status
        ``optimal``, ``feasible`` (time limit hit with a solution), ``infeasible`` or ``no_solution``.
    n, h, eff
        Headcount, hires and effective (ramp-weighted) headcount per ``(role, group)``.
    v
        Per direction, a ``(stages, T)`` array of funnel volumes.
    cap
        Per direction, a ``(stages, T)`` array of capacity available to each stage (inf: unlimited).
    rev
        ``(D, T)`` revenue.
    """

    status: str
    objective: float | None = None
    cost: float = 0.0
    n: dict[Key, np.ndarray] = field(default_factory=dict)
    h: dict[Key, np.ndarray] = field(default_factory=dict)
    eff: dict[Key, np.ndarray] = field(default_factory=dict)
    v: list[np.ndarray] = field(default_factory=list)
    cap: list[np.ndarray] = field(default_factory=list)
    rev: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    shortfall: float = 0.0
    runtime: float = 0.0
    solver: str = ""

    @property
    def ok(self) -> bool:
        """True when a solution was found."""
        return self.status in ("optimal", "feasible")


def _val(x: pulp.LpVariable | pulp.LpAffineExpression | float) -> float:
    if isinstance(x, int | float):
        return float(x)
    v = x.value() if isinstance(x, pulp.LpAffineExpression) else x.varValue
    return float(v or 0.0)


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
    m = pulp.LpProblem("staffing", pulp.LpMaximize if mode == "max_revenue" else pulp.LpMinimize)

    n: dict[Key, list[pulp.LpVariable]] = {}
    h: dict[Key, list[pulp.LpVariable]] = {}
    eff: dict[Key, list[pulp.LpAffineExpression]] = {}
    cost_terms: list[pulp.LpAffineExpression] = []
    for rid, role in prep.roles.items():
        a = role.attrition
        ramp = [1.0] * len(role.ramp) if "ramp" in relaxed else list(role.ramp)
        maxh = None if ("hiring" in relaxed or f"hiring:{rid}" in relaxed) else role.max_hires_per_month
        maxn = None if f"max_headcount:{rid}" in relaxed else role.max_headcount
        for g in prep.groups[rid]:
            key = (rid, g)
            tag = f"{rid}|{g}".replace(" ", "_")
            nv = [pulp.LpVariable(f"n[{tag}|{t}]", role.min_headcount, maxn, cat="Integer") for t in range(T)]
            hv = [
                pulp.LpVariable(f"h[{tag}|{t}]", 0, maxh if maxh is not None else None, cat="Integer")
                for t in range(T)
            ]
            ev = [pulp.LpVariable(f"e[{tag}|{t}]", 0) for t in range(T)]
            xv = [pulp.LpVariable(f"x[{tag}|{t}]", 0) for t in range(T)]
            prev: pulp.LpAffineExpression | float = float(prep.current[key])
            for t in range(T):
                m += ev[t] == (1 - a) * prev + hv[t] - xv[t], f"flow[{tag}|{t}]"
                m += nv[t] - ev[t] <= 0.5, f"round_hi[{tag}|{t}]"
                m += ev[t] - nv[t] <= 0.5, f"round_lo[{tag}|{t}]"
                prev = ev[t]
            n[key], h[key] = nv, hv
            eff[key] = [
                nv[t]
                - pulp.lpSum(
                    (1.0 - ramp[k]) * (1 - a) ** k * hv[t - k] for k in range(len(ramp)) if t - k >= 0 and ramp[k] < 1
                )
                for t in range(T)
            ]
            cost_terms.append(pulp.lpSum(role.monthly_cost * nv[t] + role.hiring_cost * hv[t] for t in range(T)))
        if maxh is not None and len(prep.groups[rid]) > 1:
            for t in range(T):
                m += pulp.lpSum(h[(rid, g)][t] for g in prep.groups[rid]) <= maxh, f"hire_limit[{rid}|{t}]"

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
    rev_expr: list[list[pulp.LpAffineExpression]] = []
    for d, direction in enumerate(p.directions):
        stages = direction.funnel
        vd = [[pulp.LpVariable(f"v[{d}|{k}|{t}]", 0) for t in range(T)] for k in range(len(stages))]
        ib = prep.inbound_index[d]
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
            for t in range(T):
                cap = pulp.lpSum(
                    prep.roles[r].produces.per_month * eff[(r, direction.id)][t]  # type: ignore[union-attr]
                    for r in dir_prods
                )
                if has_shared:
                    cap = cap + y[(d, k)][t]
                m += vd[k][t] <= cap, f"cap[{d}|{k}|{t}]"
        v.append(vd)
        lag = 0 if "lag" in relaxed else direction.cycle_months
        last = vd[-1]
        rev_expr.append(
            [
                prep.base[d, t] + (direction.avg_deal * last[t - lag] if t - lag >= 0 else 0.0)
                for t in range(T)
            ]
        )
    stage_names = sorted({p.directions[dk[0]].funnel[dk[1]].stage for dk in y})
    for sname in stage_names:
        shared_ids = [r for r in prep.producers[sname] if prep.roles[r].scope == "shared"]
        keys = [dk for dk in y if p.directions[dk[0]].funnel[dk[1]].stage == sname]
        for t in range(T):
            m += pulp.lpSum(y[dk][t] for dk in keys) <= pulp.lpSum(
                prep.roles[r].produces.per_month * eff[(r, SHARED)][t]  # type: ignore[union-attr]
                for r in shared_ids
            ), f"shared_cap[{sname}|{t}]"

    total_cost = pulp.lpSum(cost_terms)
    total_rev = pulp.lpSum(rev_expr[d][t] for d in range(D) for t in range(T))
    short: list[pulp.LpVariable] = []
    for d in range(D):
        if p.plan_basis == "horizon":
            lhs = pulp.lpSum(rev_expr[d])
            if mode == "min_cost":
                m += lhs >= float(plan[d].sum()), f"plan[{d}]"
            elif mode == "shortfall":
                s = pulp.LpVariable(f"s[{d}]", 0)
                short.append(s)
                m += lhs + s >= float(plan[d].sum()), f"plan[{d}]"
        else:
            for t in range(T):
                if mode == "min_cost":
                    m += rev_expr[d][t] >= float(plan[d, t]), f"plan[{d}|{t}]"
                elif mode == "shortfall":
                    s = pulp.LpVariable(f"s[{d}|{t}]", 0)
                    short.append(s)
                    m += rev_expr[d][t] + s >= float(plan[d, t]), f"plan[{d}|{t}]"
    if budget is not None:
        m += total_cost <= budget, "budget"

    if revenue_floor is not None:
        m += total_rev >= revenue_floor, "revenue_floor"
    if shortfall_cap is not None:
        m += pulp.lpSum(short) <= shortfall_cap, "shortfall_cap"
    if mode == "max_revenue" and revenue_floor is None:
        m.setObjective(total_rev)
    elif mode == "shortfall" and shortfall_cap is None:
        m.sense = pulp.LpMinimize
        m.setObjective(pulp.lpSum(short))
    else:
        m.sense = pulp.LpMinimize
        m.setObjective(total_cost)

    name = pick_solver(solver)
    tl = None if time_limit is None else max(0.5, float(time_limit))
    if name == "highs":
        cmd: pulp.LpSolver = pulp.HiGHS(msg=False, timeLimit=tl, gapRel=gap, threads=1, random_seed=seed)
    else:
        cmd = pulp.PULP_CBC_CMD(msg=False, timeLimit=tl, gapRel=gap, threads=1)
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
        res.n[key] = np.array([round(_val(x)) for x in n[key]], dtype=float)
        res.h[key] = np.array([round(_val(x)) for x in h[key]], dtype=float)
        role = prep.roles[key[0]]
        ramp = [1.0] * len(role.ramp) if "ramp" in relaxed else list(role.ramp)
        effv = res.n[key].copy()
        for k, rk in enumerate(ramp):
            if k < T:
                effv[k:] -= (1 - rk) * (1 - role.attrition) ** k * res.h[key][: T - k]
        res.eff[key] = effv
    res.cost = float(
        sum(
            prep.roles[r].monthly_cost * res.n[(r, g)].sum() + prep.roles[r].hiring_cost * res.h[(r, g)].sum()
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
            c = np.zeros(T)
            for rid in prods:
                per = prep.roles[rid].produces.per_month  # type: ignore[union-attr]
                if prep.roles[rid].scope == "direction":
                    c += per * res.eff[(rid, direction.id)]
            if (d, k) in y:
                c += np.array([max(0.0, _val(x)) for x in y[(d, k)]])
            capd[k] = c
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
    res.shortfall = float(sum(_val(s) for s in short))
    with contextlib.suppress(TypeError):
        res.objective = float(pulp.value(m.objective))
    return res
