"""Proof of optimality for plain ``min_cost`` staffing: Lagrangian prices, column enumeration, exact master.

Directions are coupled only through shared roles (span/support rows ``ratio x n[shared, t] >= sum_d
n[role, d, t]``) and hiring limits over all directions. Write a staffing as ``x = (x_1..x_D, s)``: ``x_d`` the
integer plan of direction ``d``'s own roles, ``s`` the shared roles. Take prices ``u[i, t] >= 0`` on the shared
span/support rows ``i`` (LP duals of the cut LP, :func:`optimizer.staffing.bounds.month_price_cuts`, shaved by
``1e-6`` so that no price sits above its row's break-even by rounding) and 0 on every other coupling row.
For every feasible staffing

    cost(x) >= cost(x) - sum_{i,t} u[i,t] (ratio_i n[shared_i, t] - sum_d n[role_i, d, t])
             = sum_d rc_d(x_d) + rc_S(s),

with ``rc_d(x_d) = cost_d(x_d) + sum_{i,t} u[i,t] n[role_i, d, t]`` (the direction's own cost, its roles priced
per head and month) and ``rc_S(s) = cost_S(s) - sum_{i,t} u[i,t] ratio_i n[shared_i, t]``. Let ``z_d <=
min rc_d`` over the direction's relaxed problem (:func:`optimizer.staffing.bounds.direction_problem` without
flat rates: its own hiring limit and headcount floors kept, both valid for its part of any staffing) and
``z_S <= min rc_S`` over the shared roles' own rows (an LP). ``L = sum_d z_d + z_S`` is a lower bound on the
optimum. For any staffing with ``cost(x) <= UB``, since every ``rc_e(x_e) - z_e >= 0``,

    rc_d(x_d) - z_d <= sum_e (rc_e(x_e) - z_e) + (rc_S(s) - z_S) <= cost(x) - L <= UB - L         (*)

so ``rc_d(x_d) <= thr_d = z_d + UB - L`` for every direction at once. A direction's plan is summarised by the
sequences of a few *enumerated* roles (default: its producers the prices leave unpriced, e.g. account managers,
whose 1-or-2-per-month choices make the MILP hard). :func:`enumerate_direction` lists every integer sequence
``a`` whose LP bound ``LB_d(a) = min {rc_d : LP of the direction problem with the enumerated roles fixed to a}``
is at most ``thr_d``: a depth-first search over (month, role), each node an LP (HiGHS, in process) with the
earlier months fixed, pruned when the LP exceeds ``thr_d`` (fixing more never lowers it); the values tried in a
month run outward from the LP's own value and stop at the first one above ``thr_d`` or infeasible, since the
LP value is convex in one fixed variable (the bounds ``ceil(a / ratio)`` a fixed value puts on the direction's
managers and support are a step in it, so the stop is decided on the LP without them). As
``LB_d(a) <= rc_d(x_d)`` for the plan's own sequence, (*) says the sequence of every staffing at least as good as
``UB`` is listed.

The *master* is the full MILP (:func:`optimizer.staffing.milp.solve_milp`, every role integer, floors and the
decomposition's cuts) with each direction's enumerated roles restricted to the listed sequences
(:class:`optimizer.staffing.milp.Choice`: one binary per column, plus ``rc_d >= sum_j pick_j LB_d(a_j)`` and the
managers / support the column implies, both valid). It contains every staffing at least as good as ``UB`` (the
starting staffing among them), so its optimum, when the solver proves it, is the optimum of the full problem:
the certificate is ``L <= optimum = master optimum <= UB`` with the column counts. Hiring limits over all
directions stay in the master as rows; they only need price 0 in (*). Two optional tightenings keep that
property: ``exact_columns`` replaces ``LB_d(a)`` by the direction MILP's optimum with the column fixed (and drops
columns above ``thr_d``), ``track`` bounds a priced role (telesales) per column and month by every value whose LP
stays within ``thr_d`` (outside it the direction is above its threshold, so the staffing above ``UB``).

Measured on the 12 x 6 x 7 benchmark (``benchmarks/staffing.py``, 240 s): prices and ``L`` = 4,809,953 in about
8 s, 288 account-manager sequences listed in 4 s (159 left after their exact optima, 44 s), but the master
(telesales per direction and month against the shared pools' monthly rounding) is not closed by HiGHS in 185 s;
its dual bound 4,814,769 is still a valid bound (gap to 4,820,775: 0.22 % -> 0.125 %; 4,817,116, 0.076 %,
with ``track`` in 600 s). Listing telesales
sequences too explodes (retail alone: more than 5,500 within the threshold after 100,000 LPs). The 3 x 6 and
4 x 8 instances are proven in 5 and 24 s.

Numerical caveats: ``z_d`` come from CBC at relative gap 1e-9 (scaled by ``1 - 1e-8``), the LPs from HiGHS at
its default tolerances; thresholds carry an absolute margin of ``1e-6 x UB``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import pulp

from optimizer.staffing.lpfast import highs_from_pulp
from optimizer.staffing.milp import Choice, Key, MilpResult, solve_milp
from optimizer.staffing.prep import SHARED, Prepared, prepare, structure_pairs
from optimizer.staffing.tighten import floors

SHAVE = 1e-6
"""Relative amount the LP duals are lowered by before use as prices (any prices >= 0 are valid)."""
Z_SCALE = 1.0 - 1e-8
"""Factor on the direction MILPs' optima (solved at relative gap 1e-9) to make them lower bounds."""


@dataclass
class Proof:
    """Outcome of :func:`prove`.

    Attributes
    ----------
    status
        ``proven`` (``result`` is optimal), ``not_proven`` (``reason`` says where it stopped).
    result
        The best staffing known at the end (the master's optimum when proven).
    lower_bound
        Lagrangian bound ``L`` (a valid lower bound on the optimum).
    upper_bound
        Cost of the staffing the enumeration was run against (``UB``).
    columns
        Direction id -> sequences listed for its enumerated roles.
    nodes
        LPs solved by the enumeration.
    roles
        Enumerated roles.
    reason
        Why the proof stopped (empty when proven).
    seconds
        Wall seconds per step.
    """

    status: str
    result: MilpResult
    lower_bound: float = float("-inf")
    upper_bound: float = float("inf")
    columns: dict[str, int] = field(default_factory=dict)
    nodes: int = 0
    roles: list[str] = field(default_factory=list)
    reason: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    master_bound: float | None = None
    """The master's proven dual bound when it was not closed (HiGHS only)."""
    kept: dict[str, int] = field(default_factory=dict)
    """With ``exact_columns``: direction id -> columns left after their exact optima were checked."""
    prices: Prices = field(default_factory=dict)
    """The prices ``u`` used."""
    z: dict[str, float] = field(default_factory=dict)
    """Direction id -> ``z_d``, and ``"*"`` -> ``z_S``."""

    @property
    def proven(self) -> bool:
        """True when ``result`` is proven optimal."""
        return self.status == "proven"


Prices = dict[tuple[int, int], float]


def row_prices(prep: Prepared, duals: Prices, shave: float = SHAVE) -> Prices:
    """Prices ``u[i, t] >= 0`` of the shared span/support rows over direction roles, from LP duals.

    Parameters
    ----------
    prep
        Prepared problem.
    duals
        ``(structure index, month)`` -> dual of a shared role's span/support row (``MilpResult.struct_duals``).
    shave
        Relative reduction of every dual (keeps the shared roles' priced problem bounded despite rounding).

    Returns
    -------
    dict
        ``(structure index, month)`` -> price (rows among shared roles are not priced).
    """
    out: Prices = {}
    for idx, rid, other, _ratio, _kind in structure_pairs(prep):
        if prep.roles[rid].scope == "shared" and prep.roles[other].scope == "direction":
            for t in range(prep.T):
                out[(idx, t)] = max(0.0, duals.get((idx, t), 0.0)) * (1.0 - shave)
    return out


def role_prices(prep: Prepared, u: Prices) -> dict[str, np.ndarray]:
    """Price per head and month of each direction role: the sum of ``u`` over the shared rows that rule it."""
    price = {rid: np.zeros(prep.T) for rid, r in prep.roles.items() if r.scope == "direction"}
    for idx, _rid, other, _ratio, _kind in structure_pairs(prep):
        if other in price:
            for t in range(prep.T):
                price[other][t] += u.get((idx, t), 0.0)
    return price


def shared_bound(prep: Prepared, u: Prices) -> float | None:
    """``z_S``: least priced cost of the shared roles on their own rows (an LP, so a lower bound).

    Each shared role keeps its flow, back-fill, floors (:func:`optimizer.staffing.tighten.floors`), limits and
    the span/support rows among shared roles; a shared role whose row ``i`` rules a direction role earns
    ``ratio_i x u[i, t]`` per head in month ``t``. Returns None when the LP is not solved to optimality
    (e.g. unbounded: prices above break-even).
    """
    low = floors(prep)
    m = pulp.LpProblem("shared_bound", pulp.LpMinimize)
    cost: dict[pulp.LpVariable, float] = {}
    const = 0.0
    n: dict[str, list[pulp.LpVariable]] = {}
    T = prep.T
    for rid, role in prep.roles.items():
        if role.scope != "shared":
            continue
        key = (rid, SHARED)
        nv = [pulp.LpVariable(f"n_{rid}_{t}", max(float(role.min_headcount), float(low[key][t])),
                              role.max_headcount) for t in range(T)]
        hv = [pulp.LpVariable(f"h_{rid}_{t}", 0) for t in range(T)]
        n[rid] = nv
        cur = float(prep.current[key])
        a = role.attrition
        for t in range(T):
            prev: Any = cur if t == 0 else nv[t - 1]
            m += nv[t] <= prev + hv[t], f"flow_{rid}_{t}"
            cost[nv[t]] = cost.get(nv[t], 0.0) + role.monthly_cost
            cost[hv[t]] = cost.get(hv[t], 0.0) + role.hiring_cost
            if t == 0:
                const += role.hiring_cost * a * cur
            else:
                cost[nv[t - 1]] = cost.get(nv[t - 1], 0.0) + role.hiring_cost * a
            if role.max_hires_per_month is not None:
                m += hv[t] + a * prev <= role.max_hires_per_month, f"hires_{rid}_{t}"
    for idx, rid, other, ratio, _kind in structure_pairs(prep):
        if prep.roles[rid].scope != "shared":
            continue
        for t in range(T):
            if other in n:
                m += ratio * n[rid][t] >= n[other][t], f"struct_{idx}_{t}"
            else:
                cost[n[rid][t]] = cost.get(n[rid][t], 0.0) - ratio * u.get((idx, t), 0.0)
    if not n:
        return 0.0
    m += pulp.LpAffineExpression(cost, constant=const)
    m.solve(pulp.HiGHS(msg=False, threads=1))
    if m.status != pulp.LpStatusOptimal:
        return None
    return float(pulp.value(m.objective))


class _DirLp:
    """The LP relaxation of one direction's priced problem, re-solved in process with bounds changed."""

    def __init__(self, sub: Prepared, price: dict[Key, np.ndarray], roles: Sequence[str]) -> None:
        cap: dict[str, Any] = {}
        solve_milp(sub, mode="min_cost", integer=False, tighten=True, month_costs=price, capture=cap)
        m: pulp.LpProblem = cap["model"]
        did = sub.dirs[0]
        self.highs, col, _rows = highs_from_pulp(m)
        lp = self.highs.getLp()
        self.lo, self.up = np.array(lp.col_lower_), np.array(lp.col_upper_)
        obj = m.objective
        self.offset = float(obj.constant)
        self.scale = max(1.0, max(r.monthly_cost for r in sub.roles.values()))  # as solve_milp's cost_scale
        self.cols = {rid: [col[v.name] for v in cap["n"][(rid, did)]] for rid in roles}
        self.all_cols = {rid: [col[v.name] for v in cap["n"][(rid, did)]] for rid in sub.roles}
        # direction roles whose span/support rule rules an enumerated role: n[rid] >= ceil(n[other] / ratio)
        self.ruled: list[tuple[str, str, list[int], float]] = [
            (rid, other, [col[v.name] for v in cap["n"][(rid, did)]], ratio)
            for _i, rid, other, ratio, _k in structure_pairs(sub) if other in self.cols and rid not in self.cols
        ]
        self.solves = 0

    def bounds(self, fixed: dict[str, list[float]], skip: tuple[str, int] | None = None,
               pin: tuple[int, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        lo, up = self.lo.copy(), self.up.copy()
        if pin is not None:
            lo[pin[0]] = up[pin[0]] = pin[1]
        for rid, vals in fixed.items():
            for t, v in enumerate(vals):
                j = self.cols[rid][t]
                lo[j] = up[j] = v
        for _rid, other, cols, ratio in self.ruled:
            for t, v in enumerate(fixed.get(other, [])):
                if (other, t) != skip:
                    lo[cols[t]] = max(lo[cols[t]], math.ceil(v / ratio - 1e-9))
        return lo, up

    def solve(self, fixed: dict[str, list[float]], skip: tuple[str, int] | None = None,
              pin: tuple[int, float] | None = None) -> tuple[float, np.ndarray | None]:
        """LP value in cost units (inf when infeasible) and the solution.

        ``skip``: the ``(role, month)`` whose ``ceil(value / ratio)`` bounds on its managers are left out (then the
        value is convex in that fixed value, which the scan of :func:`enumerate_direction` relies on).
        """
        lo, up = self.bounds(fixed, skip, pin)
        if np.any(lo > up + 1e-9):
            return math.inf, None
        self.highs.changeColsBounds(len(lo), np.arange(len(lo), dtype=np.int32), lo, up)
        self.highs.clearSolver()
        self.highs.run()
        self.solves += 1
        st = self.highs.getModelStatus()
        if st == highspy.HighsModelStatus.kInfeasible:
            return math.inf, None
        if st != highspy.HighsModelStatus.kOptimal:
            raise _Stop(f"direction LP status {self.highs.modelStatusToString(st)}")
        val = (self.highs.getInfo().objective_function_value + self.offset) * self.scale
        return val, np.asarray(self.highs.getSolution().col_value)


class _Stop(Exception):
    """The enumeration cannot go on (node cap, time, an LP not solved)."""


@dataclass
class Columns:
    """Sequences listed by :func:`enumerate_direction` for one direction."""

    roles: list[str]
    columns: list[list[np.ndarray]]
    bounds: list[float]
    implied: dict[str, list[np.ndarray]]
    nodes: int
    ranges: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = field(default_factory=dict)


def enumerate_direction(sub: Prepared, price: dict[str, np.ndarray], roles: Sequence[str], threshold: float, *,
                        max_nodes: int = 200_000, deadline: float | None = None,
                        track: Sequence[str] = ()) -> Columns:
    """Every integer sequence of ``roles`` whose LP bound of the priced direction problem is ``<= threshold``.

    Parameters
    ----------
    sub
        The direction's relaxed problem (one direction, :func:`optimizer.staffing.bounds.direction_problem`).
    price
        Role id -> ``(T,)`` price per head and month added to its cost.
    roles
        Direction roles whose sequences are enumerated.
    threshold
        ``thr_d`` of the module docstring.
    max_nodes
        LPs allowed before giving up (raises ``RuntimeError``).
    deadline
        ``time.monotonic()`` value after which it gives up (raises ``RuntimeError``).
    track
        Other roles whose headcount range is recorded per column and month: every integer value ``v`` with
        the LP (column fixed, that month's headcount fixed to ``v``) within ``threshold`` (an interval, the LP
        being convex in ``v``), so a staffing within the threshold has its headcount there.

    Returns
    -------
    Columns
        The sequences, the LP bound of each (``LB_d(a)``) and the least headcount each implies for the roles
        that manage or support an enumerated role.
    """
    did = sub.dirs[0]
    lp = _DirLp(sub, {(rid, did): pr for rid, pr in price.items()}, roles)
    T = sub.T
    order = [(t, rid) for t in range(T) for rid in roles]
    found: list[tuple[dict[str, list[float]], float]] = []

    ranges: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {rid: ([], []) for rid in track}

    def value_range(fixed: dict[str, list[float]], j: int, here: float) -> tuple[float, float]:
        """Least and most integer value of column ``j`` (other values fixed) with the LP within the threshold."""
        out = []
        start = math.ceil(here - 1e-7)
        for step, v0 in ((1, start), (-1, start - 1)):
            v, last = v0, None
            while lp.lo[j] - 1e-9 <= v <= lp.up[j] + 1e-9 and lp.solve(fixed, pin=(j, float(v)))[0] <= threshold:
                last = v
                v += step
            out.append(last)
        hi = float(out[0]) if out[0] is not None else float(start - 1)
        lo = float(out[1]) if out[1] is not None else float(start)
        return lo, hi

    def node(fixed: dict[str, list[float]], depth: int, val: float, x: np.ndarray) -> None:
        if depth == len(order):
            found.append(({k: list(v) for k, v in fixed.items()}, val))
            for rid2 in track:
                rg = [value_range(fixed, lp.all_cols[rid2][t], float(x[lp.all_cols[rid2][t]])) for t in range(T)]
                ranges[rid2][0].append(np.array([a for a, _b in rg]))
                ranges[rid2][1].append(np.array([b for _a, b in rg]))
            return
        if lp.solves > max_nodes:
            raise _Stop(f"more than {max_nodes} LPs")
        if deadline is not None and time.monotonic() > deadline:
            raise _Stop("out of time")
        t, rid = order[depth]
        here = float(x[lp.cols[rid][t]])
        start = math.ceil(here - 1e-7)
        for step, v0 in ((1, start), (-1, start - 1)):
            v = v0
            while v >= lp.lo[lp.cols[rid][t]] - 1e-9 and v <= lp.up[lp.cols[rid][t]] + 1e-9:
                fixed[rid].append(float(v))
                val2, x2 = lp.solve(fixed)
                if val2 <= threshold and x2 is not None:
                    node(fixed, depth + 1, val2, x2)
                elif lp.ruled and lp.solve(fixed, skip=(rid, t))[0] <= threshold:
                    # above the threshold only through the managers' ceil(v / ratio), a step in v: values further
                    # out may be below it again, so go on (the LP without that step is convex in v)
                    fixed[rid].pop()
                    v += step
                    continue
                fixed[rid].pop()
                if val2 > threshold:
                    break  # the LP without the step is above too, and convex in v: every value further out is worse
                v += step

    fixed0: dict[str, list[float]] = {rid: [] for rid in roles}
    val0, x0 = lp.solve(fixed0)
    if x0 is not None and val0 <= threshold:
        try:
            node(fixed0, 0, val0, x0)
        except _Stop as exc:
            raise RuntimeError(f"{did}: {exc} ({len(found)} columns so far)") from exc
    columns = [[np.asarray(f[rid], dtype=float) for rid in roles] for f, _v in found]
    implied: dict[str, list[np.ndarray]] = {}
    for rid, other, _cols, ratio in lp.ruled:
        lows = [np.ceil(np.asarray(f[other], dtype=float) / ratio - 1e-9) for f, _v in found]
        implied[rid] = [np.maximum(implied[rid][j], lw) for j, lw in enumerate(lows)] if rid in implied else lows
    return Columns(list(roles), columns, [v for _f, v in found], implied, lp.solves, ranges)


def _column_optima(sub: Prepared, price: dict[str, np.ndarray], ch: Choice, *, solver: str, workers: int,
                   deadline: float | None) -> list[float | None]:
    """Per column, ``g_d(a)``: the direction MILP's optimum with the column fixed (inf: infeasible; None: unknown)."""
    did = ch.group

    def one(col: list[np.ndarray]) -> float | None:
        if deadline is not None and time.monotonic() > deadline:
            return None
        one_col = Choice(keys=list(ch.keys), columns=[col], group=did)
        r = solve_milp(sub, mode="min_cost", gap=1e-9, tighten=True, solver=solver, choices=[one_col],
                       month_costs={(rid, did): pr for rid, pr in price.items()},
                       time_limit=None if deadline is None else max(0.5, deadline - time.monotonic()))
        if r.status == "infeasible":
            return math.inf
        if r.status != "optimal":
            return None
        return (r.cost + sum(float(pr @ r.n[(rid, did)]) for rid, pr in price.items())) * Z_SCALE

    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        return list(ex.map(one, ch.columns))


def slack_split(prep: Prepared, r: MilpResult, u: Prices, z: dict[str, float]) -> dict[str, float]:
    """Where a staffing's distance to the Lagrangian bound goes: the three non-negative terms of (*).

    ``cost - L = sum_d (rc_d - z_d) + (rc_S - z_S) + sum_{i,t} u[i,t] x (row slack)``: each direction's
    priced cost above its own optimum, the shared roles' priced cost above theirs, and the shared rows'
    unused span/support paid at the prices (the monthly rounding of the shared pools).

    Parameters
    ----------
    prep
        Prepared problem.
    r
        A staffing.
    u, z
        :attr:`Proof.prices` and :attr:`Proof.z`.

    Returns
    -------
    dict
        Direction id -> its slack, ``"shared"``, ``"rounding"``, ``"total"`` (= cost - L up to the bounds'
        scaling) and ``"gap"`` (cost - L).
    """
    price = role_prices(prep, u)
    T = prep.T

    def own(key: Key, w: np.ndarray) -> float:
        role = prep.roles[key[0]]
        nv = r.n[key]
        prev = np.concatenate([[float(prep.current[key])], nv[:-1]])
        hires = float(r.h[key].sum() + role.attrition * prev.sum())
        return float((role.monthly_cost + w) @ nv) + role.hiring_cost * hires

    out: dict[str, float] = {}
    for did in prep.dirs:
        out[did] = sum(own((rid, did), price[rid]) for rid in price) - z[did]
    shared_rc = 0.0
    rounding = 0.0
    for idx, rid, other, ratio, _k in structure_pairs(prep):
        if (idx, 0) not in u:
            continue
        ut = np.array([u[(idx, t)] for t in range(T)])
        managed = np.sum([r.n[(other, g)] for g in prep.groups[other]], axis=0)
        rounding += float(ut @ (ratio * r.n[(rid, SHARED)] - managed))
        shared_rc -= float(ratio * ut @ r.n[(rid, SHARED)])
    for rid, role in prep.roles.items():
        if role.scope == "shared":
            shared_rc += own((rid, SHARED), np.zeros(T))
    out["shared"] = shared_rc - z[SHARED]
    out["rounding"] = rounding
    out["total"] = sum(out[d] for d in prep.dirs) + out["shared"] + rounding
    out["gap"] = r.cost - sum(z.values())
    return out


def default_roles(prep: Prepared, price: dict[str, np.ndarray]) -> list[str]:
    """Direction-scoped producers that no shared role prices (e.g. account managers)."""
    out = []
    for rs in prep.producers.values():
        for rid in rs:
            if prep.roles[rid].scope == "direction" and not np.any(price.get(rid, np.zeros(1)) > 0) and rid not in out:
                out.append(rid)
    return out


def prove(prep: Prepared, start: MilpResult, *, cuts: Sequence[tuple[dict[str, Any], dict[str, float]]] | None = None,
          roles: Sequence[str] | None = None, solver: str = "cbc", time_limit: float | None = None,
          max_nodes: int = 200_000, workers: int = 1, exact_columns: bool = False,
          master_solver: str | None = None, track: Sequence[str] | bool = False) -> Proof:
    """Prove ``start`` optimal, or find and prove a better staffing (see the module docstring).

    Parameters
    ----------
    prep
        Prepared ``min_cost`` problem where :func:`optimizer.staffing.bounds.applicable` holds.
    start
        A feasible staffing; its cost is ``UB``.
    cuts
        Valid direction cut families (``rated_cuts``); default: the decomposition's and one month-priced round
        (:func:`optimizer.staffing.bounds.month_price_cuts`). Their LP gives the prices.
    roles
        Direction roles to enumerate (default :func:`default_roles`).
    solver
        MILP solver of the direction problems and the master.
    time_limit
        Seconds for everything (the master gets what is left).
    max_nodes
        LPs allowed per direction's enumeration.
    workers
        Threads running the direction MILPs side by side (each is a solver process).
    exact_columns
        Replace each column's LP bound by the optimum of the direction's MILP with the column fixed
        (``rc_d >= g_d(a)``, still a valid bound): columns above ``thr_d`` or infeasible are dropped.
    master_solver
        Solver of the master (default ``solver``); with ``highs`` its proven dual bound, when the master is not
        closed in time, still gives a valid lower bound ``min(UB, master bound)`` on the optimum.
    track
        Direction roles whose headcount range per column and month is recorded (:func:`enumerate_direction`)
        and written into the master (``True``: the roles the prices charge, e.g. telesales). A staffing outside
        a range has a direction above its threshold, so costs more than ``UB`` by (*): the master keeps every
        staffing at least as good as the start.

    Returns
    -------
    Proof
        ``proven`` with the optimum, or ``not_proven`` with the reason and the best staffing known.
    """
    from optimizer.staffing.bounds import applicable, decompose, direction_problem, month_price_cuts

    t0 = time.monotonic()
    secs: dict[str, float] = {}
    workers = workers if solver == "cbc" else 1  # HiGHS runs in process: one at a time

    def left() -> float | None:
        return None if time_limit is None else max(0.5, time_limit - (time.monotonic() - t0))

    def stop(reason: str, **kw: Any) -> Proof:
        secs["total"] = round(time.monotonic() - t0, 3)
        return Proof("not_proven", start, upper_bound=start.cost, reason=reason, seconds=secs, **kw)

    if not start.ok:
        return stop("no feasible staffing to start from")
    if not applicable(prep) or prep.problem.objective != "min_cost":
        return stop("not a plain min_cost problem with several directions and direction-scoped producers")
    ub = float(start.cost)
    if cuts is None:
        dec = decompose(prep, solver=solver, time_limit=left())
        cuts = month_price_cuts(prep, dec.rated_cuts, solver=solver, time_limit=left())
        secs["cuts"] = round(time.monotonic() - t0, 3)
    lp = solve_milp(prep, mode="min_cost", integer=False, rated_cuts=cuts, tighten=True, solver=solver)
    if lp.status != "optimal":
        return stop("the cut LP was not solved")
    u = row_prices(prep, lp.struct_duals)
    price = role_prices(prep, u)
    zero = {rid: 0.0 for rid in price}
    subs = [prepare(direction_problem(prep, d, zero)) for d in range(len(prep.dirs))]

    def z_of(d: int) -> float | None:
        did = prep.dirs[d]
        r = solve_milp(subs[d], mode="min_cost", gap=1e-9, tighten=True, solver=solver, time_limit=left(),
                       month_costs={(rid, did): pr for rid, pr in price.items()})
        if r.status != "optimal":
            return None
        return (r.cost + sum(float(pr @ r.n[(rid, did)]) for rid, pr in price.items())) * Z_SCALE

    t1 = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as ex:
        zs = list(ex.map(z_of, range(len(prep.dirs))))
    z_s = shared_bound(prep, u)
    secs["prices"] = round(time.monotonic() - t1, 3)
    if any(z is None for z in zs) or z_s is None:
        return stop("a priced direction MILP or the shared LP was not solved to optimality")
    zd = [float(z) for z in zs if z is not None]
    lower = sum(zd) + z_s
    margin = 1e-6 * max(1.0, abs(ub))
    enum_roles = list(roles) if roles is not None else default_roles(prep, price)
    if track is True:
        tracked = [rid for rid, pr in price.items() if np.any(pr > 0) and rid not in enum_roles]
    else:
        tracked = [] if track is False else [rid for rid in track if rid not in enum_roles]
    choices: list[Choice] = []
    counts: dict[str, int] = {}
    nodes = 0
    t1 = time.monotonic()
    deadline = None if time_limit is None else t0 + time_limit
    rates_all = {rid: price[rid] for rid in price}
    if enum_roles:
        for d, did in enumerate(prep.dirs):
            thr = ub - (lower - zd[d]) + margin
            try:
                cols = enumerate_direction(subs[d], price, enum_roles, thr, max_nodes=max_nodes, deadline=deadline,
                                           track=tracked)
            except RuntimeError as exc:
                secs["enumeration"] = round(time.monotonic() - t1, 3)
                return stop(f"enumeration stopped: {exc}", lower_bound=lower, nodes=nodes, roles=enum_roles,
                            columns=counts)
            nodes += cols.nodes
            counts[did] = len(cols.columns)
            choices.append(Choice(keys=[(rid, did) for rid in enum_roles], columns=cols.columns, group=did,
                                  implied=cols.implied, rates=rates_all, ranges=cols.ranges,
                                  bounds=[b - margin for b in cols.bounds]))
    secs["enumeration"] = round(time.monotonic() - t1, 3)
    kept: dict[str, int] = {}
    if exact_columns and choices:
        t1 = time.monotonic()
        for d, ch in enumerate(choices):
            thr = ub - (lower - zd[d]) + margin
            gs = _column_optima(subs[d], price, ch, solver=solver, workers=workers, deadline=deadline)
            keep = [j for j, g in enumerate(gs) if g is None or g <= thr]
            assert ch.bounds is not None
            ch.bounds = [b if g is None else max(b, g - margin) for b, g in zip(ch.bounds, gs, strict=True)]
            ch.bounds = [ch.bounds[j] for j in keep]
            ch.columns = [ch.columns[j] for j in keep]
            ch.implied = {rid: [lows[j] for j in keep] for rid, lows in ch.implied.items()}
            ch.ranges = {rid: ([lo[j] for j in keep], [hi[j] for j in keep]) for rid, (lo, hi) in ch.ranges.items()}
            kept[ch.group] = len(keep)
        secs["column_optima"] = round(time.monotonic() - t1, 3)
    t1 = time.monotonic()
    master = solve_milp(prep, mode="min_cost", gap=1e-9, tighten=True, rated_cuts=cuts, choices=choices,
                        warm=start, solver=master_solver or solver, time_limit=left())
    secs["master"] = round(time.monotonic() - t1, 3)
    secs["total"] = round(time.monotonic() - t0, 3)
    info: dict[str, Any] = {"lower_bound": lower, "upper_bound": ub, "columns": counts, "nodes": nodes,
                            "roles": enum_roles, "seconds": secs, "kept": kept, "prices": u,
                            "z": {**dict(zip(prep.dirs, zd, strict=True)), SHARED: z_s}}
    if master.status != "optimal":
        best = master if master.ok and master.cost < ub else start
        if master.ok and master.lower_bound is not None:
            # every staffing at least as good as UB is in the master: min(UB, its dual bound) bounds the optimum
            info["lower_bound"] = max(lower, min(ub, master.lower_bound))
            info["master_bound"] = master.lower_bound
        return Proof("not_proven", best, reason=f"master MILP {master.status} within the time limit", **info)
    if master.cost > ub + margin:
        return Proof("not_proven", start, reason=f"master optimum {master.cost:,.2f} above the start (tolerances)",
                     **info)
    master.method = "proof: Lagrangian column enumeration + exact master"
    master.lower_bound = master.cost
    return Proof("proven", master, **info)
