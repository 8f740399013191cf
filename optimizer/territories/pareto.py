"""Exact distance vs disruption Pareto front with fixed centres: one HiGHS model, re-solved per point.

The allocation MIP (one territory per unit, balance ranges, locks, move caps) is built once with
``highspy`` over all unit/territory pairs. The front is traced by changing only the right-hand side of
two extra rows and the objective between solves, each solve starting from the previous point's
assignment:

* the epsilon row ``sum disr[i, t] x[i, t] <= eps`` (disruption: workload or units moved from
  ``current``), scaled by :data:`EPS_ROW_SCALE` so that HiGHS's 1e-7 row tolerance does not blur
  nearby disruption levels;
* the distance row ``sum dist[i, t] x[i, t] <= d`` for the lexicographic second stage.

Each point is lexicographically optimal: ``min distance`` subject to ``disruption <= eps``, then
``min disruption`` subject to that distance, so no returned point is dominated (to the MIP gap:
relative :data:`MIP_REL_GAP`, absolute :data:`MIP_ABS_GAP`).

Three things keep the hard end of the front (the least disruption, a subset-sum-like MIP) tractable:

* exact variable fixing (:meth:`AllocationModel.excluded`): when disruption is the balanced workload
  moved, it is at least the total shortfall ``D`` below the lower bounds plus whatever leaves a short
  territory or enters any other one, so under a cap ``eps`` a unit heavier than ``eps - D`` can only move
  into a short territory (and symmetrically for the excess over the upper bounds). At the
  min-disruption end this removes ~80 % of the pairs;
* a CP-SAT primal step (:func:`cpsat_primal`) for any MIP that HiGHS has not proven in
  :data:`FIRST_NODES` nodes: rows scaled to integers with their bounds tightened by the worst rounding
  error, so its answer is exactly feasible, handed to HiGHS as the start it then proves from (HiGHS
  alone needs minutes to find the 100x10 [0.9, 1.1] least disruption, and ~1 CPU s to prove it from it);
* balance and cap rows scaled so HiGHS's 1e-7 row tolerance cannot buy a slightly unbalanced subset.

Sweeps (``mode``):

``"grid"``
    the two extremes and ``grid`` evenly spaced epsilons between them (the granularity the solver
    always had). The least disruption is solved first and the sweep runs upward from its assignment: each
    point's assignment is feasible for the next, looser epsilon and is handed to HiGHS as its first
    incumbent. The min-disruption extreme's own min-distance stage (the tightest cap) runs last, so a time
    limit cuts that point rather than the rest of the front.
``"all"``
    every non-dominated point: from the min-distance end, each next epsilon is the previous point's
    disruption minus the level resolution, so consecutive solves land on consecutive breakpoints.

Disruption levels closer than ``level_tol`` (default :data:`LEVEL_REL_TOL` x the total size that can
move) count as one level: the Pfizer 100x10 data carries workloads to 16 digits and has distinct
subset sums 1e-8 apart, far below anything a planner reads, and resolving those is what makes a
subset-sum MIP slow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import highspy
import numpy as np
import scipy.sparse as sp
from ortools.sat.python import cp_model

from optimizer.territories.alloc import _constraints, candidate_pairs
from optimizer.territories.instance import FloatArray, Instance, IntArray

#: Relative MIP gap of every solve.
MIP_REL_GAP = 1e-7
#: Absolute MIP gap of every solve (HiGHS's default 1e-6 is coarser than the level resolution).
MIP_ABS_GAP = 1e-9
#: Default disruption level resolution, relative to the total size of the units that can move.
LEVEL_REL_TOL = 1e-7
#: Most of the time left that one MIP solve may use.
SOLVE_SHARE = 0.25
#: Scale of the epsilon row (HiGHS checks rows to 1e-7 absolute).
EPS_ROW_SCALE = 1e3
#: Largest integer coefficient of a CP-SAT row (each row is scaled so its largest coefficient is this).
CP_COEF = 2**30
#: CP-SAT workers of the primal step. One worker is deterministic under a deterministic-time cap, and on
#: the Pfizer 100x10 [0.9, 1.1] min-disruption MIP it reached the optimum with less CPU (4.6-5.7 s) than two
#: workers (6 s) or two interleaved workers (not reached in 7 s).
CP_WORKERS = 1
#: Deterministic-time cap of one CP-SAT primal step (its answer then does not depend on machine load).
CP_DET_TIME = 4.0
#: Extra HiGHS options of every solve (name -> value).
HIGHS_OPTIONS: dict[str, bool | int | float | str] = {}
#: Fix to 0 the pairs that a disruption cap excludes (:meth:`AllocationModel.excluded`).
FIXING = True
#: Branch-and-bound nodes HiGHS gets alone before a solve is handed to the CP-SAT primal step (with the
#: fixing and row scaling, HiGHS alone proves most front MIPs in fewer; the step is the safety net for the
#: subset-sum-like ones, where a good start is what HiGHS lacks).
FIRST_NODES = 10000

Objective = Literal["dist", "disr"]


@dataclass
class FrontPoint:
    """One point of the front.

    Attributes
    ----------
    assign
        Territory index of each unit.
    distance, disruption
        Objective values recomputed from ``assign``.
    proven
        True when both lexicographic stages were proven optimal.
    """

    assign: IntArray
    distance: float
    disruption: float
    proven: bool


@dataclass
class FrontStats:
    """What a sweep did: MIP solves, build and solve seconds, seconds per point, completeness.

    ``cpu_s`` is the process CPU time of the sweep (all solver threads), ``nodes`` and ``lp_iterations``
    the HiGHS branch-and-bound nodes and simplex iterations summed over its solves: measures of solver
    work that do not depend on the machine's load. ``cpsat_s`` is the wall time of the CP-SAT primal steps,
    ``extreme_s`` / ``extreme_cpu_s`` the wall / CPU seconds of the min-disruption extreme (``"grid"``).
    """

    solves: int = 0
    build_s: float = 0.0
    solve_s: float = 0.0
    per_point_s: list[float] = field(default_factory=list)
    complete: bool = True
    cpu_s: float = 0.0
    nodes: int = 0
    lp_iterations: int = 0
    cpsat_s: float = 0.0
    per_point_cpu_s: list[float] = field(default_factory=list)
    extreme_s: float = 0.0
    extreme_cpu_s: float = 0.0


class AllocationModel:
    """The allocation MIP over all unit/territory pairs, built once, with movable epsilon and distance rows.

    Parameters
    ----------
    inst
        The instance (fixed centres, bounds, locks, caps; its ``move_cost`` is ignored).
    dcost
        (n x k) distance cost of giving unit ``i`` to territory ``t``.
    disr
        (n x k) disruption of giving unit ``i`` to territory ``t`` (0 for its current territory).
    max_moved, max_wmoved
        Caps on units / workload moved (the instance's caps when None).
    """

    def __init__(self, inst: Instance, dcost: FloatArray, disr: FloatArray,
                 max_moved: float | None = None, max_wmoved: float | None = None) -> None:
        self.inst = inst
        ii, tt = candidate_pairs(inst, dcost, None)
        self.ii, self.tt = ii, tt
        self.c_dist = np.ascontiguousarray(dcost[ii, tt], dtype=np.float64)
        self.c_disr = np.ascontiguousarray(disr[ii, tt], dtype=np.float64)
        A, lo, hi = _constraints(inst, ii, tt,
                                 inst.max_moved if max_moved is None else max_moved,
                                 inst.max_workload_moved if max_wmoved is None else max_wmoved)
        self.A_base, self.lo_base, self.hi_base = A.tocsr(), lo.copy(), hi.copy()
        # balance and cap rows scaled so that HiGHS's 1e-7 absolute row tolerance is ~1e-10 of their bounds:
        # near the min-disruption end a 1e-8 violation of a balance bound buys a different subset sum
        mag = np.fmax(np.where(np.isfinite(lo), np.abs(lo), 0.0), np.where(np.isfinite(hi), np.abs(hi), 0.0))
        scale = np.where(mag > 0, EPS_ROW_SCALE / np.where(mag > 0, mag, 1.0), 1.0)
        scale[:inst.n] = 1.0  # one territory per unit
        A = sp.diags(scale) @ A
        lo, hi = lo * scale, hi * scale
        A = sp.vstack([A, sp.csr_matrix(EPS_ROW_SCALE * self.c_disr[None, :]),
                       sp.csr_matrix(self.c_dist[None, :])]).tocsr()
        inf = highspy.kHighsInf
        lo = np.where(np.isfinite(lo), lo, -inf)
        hi = np.where(np.isfinite(hi), hi, inf)
        lo = np.concatenate([lo, [-inf, -inf]])
        hi = np.concatenate([hi, [inf, inf]])
        self.eps_row = A.shape[0] - 2
        self.dist_row = A.shape[0] - 1
        nv = len(ii)
        self.nv = nv
        self._cols = np.arange(nv, dtype=np.int32)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        h.setOptionValue("mip_abs_gap", MIP_ABS_GAP)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        for name, val in HIGHS_OPTIONS.items():
            h.setOptionValue(name, val)
        h.addVars(nv, np.zeros(nv), np.ones(nv))
        h.changeColsCost(nv, self._cols, self.c_dist)
        h.addRows(A.shape[0], lo, hi, A.nnz, A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data)
        h.changeColsIntegrality(nv, self._cols, np.full(nv, highspy.HighsVarType.kInteger))
        self.h = h
        self._fixing_data()
        self._ub = np.ones(nv)
        self._objective: Objective = "dist"
        self.solves = 0
        self.nodes = 0
        self.lp_iterations = 0

    def _fixing_data(self) -> None:
        """Pairs that a disruption cap excludes (see :meth:`excluded`), when disruption is a balanced measure."""
        inst = self.inst
        self._fix: tuple[FloatArray, np.ndarray, float, np.ndarray, float] | None = None
        if not (inst.current >= 0).all():
            return
        ii, tt = self.ii, self.tt
        cur = inst.current[ii]
        move = tt != cur
        for j in range(inst.measures.shape[1]):
            lo, hi = inst.lo[:, j], inst.hi[:, j]
            if not (np.isfinite(lo).any() or np.isfinite(hi).any()):
                continue
            m = inst.measures[:, j]
            if not np.array_equal(self.c_disr[move], m[ii[move]]) or (self.c_disr[~move] != 0).any():
                continue
            load = np.bincount(inst.current, weights=m, minlength=inst.k)
            need_in = np.where(np.isfinite(lo), lo - load, -np.inf)
            need_out = np.where(np.isfinite(hi), load - hi, -np.inf)
            dfc, sur = need_in > 0, need_out > 0
            a_def = move & (dfc[cur] | ~dfc[tt])
            a_sur = move & (sur[tt] | ~sur[cur])
            self._fix = (self.c_disr, a_def, float(need_in[dfc].sum()), a_sur, float(need_out[sur].sum()))
            return

    def excluded(self, cap: float) -> np.ndarray:
        """Pairs that no assignment with disruption <= ``cap`` uses (exact, when disruption is a balanced measure).

        With every unit in a current territory and disruption = the balanced measure moved, disruption
        equals the total inflow, and each territory below its lower bound needs its shortfall plus whatever
        leaves it: disruption >= D + (outflow of the short territories) + (inflow of the others), D the
        total shortfall. A unit heavier than ``cap - D`` can therefore neither leave a short territory nor
        enter another one; the same holds with outflow, the excess over the upper bounds and ``cap - E``.
        """
        if self._fix is None or not np.isfinite(cap):
            return np.zeros(self.nv, dtype=bool)
        size, a_def, d_short, a_sur, e_over = self._fix
        margin = 1e-9 * (1.0 + abs(cap))  # never exclude a pair on rounding noise
        return (a_def & (size > cap - d_short + margin)) | (a_sur & (size > cap - e_over + margin))

    def solve(self, objective: Objective, *, eps: float | None = None, dist_ub: float | None = None,
              start: IntArray | None = None, time_limit: float = 30.0,
              max_nodes: int | None = None) -> tuple[IntArray | None, bool]:
        """Minimise distance or disruption subject to ``disruption <= eps`` and ``distance <= dist_ub``.

        Parameters
        ----------
        objective
            ``"dist"`` or ``"disr"``.
        eps, dist_ub
            Right-hand sides of the epsilon and distance rows (None: free).
        start
            An assignment handed to HiGHS as its first incumbent (ignored by HiGHS if infeasible).
        time_limit
            Seconds for this solve.
        max_nodes
            Branch-and-bound node cap (None: none).

        Returns
        -------
        tuple
            ``(assignment, proven)``: the best assignment found (None if none) and whether HiGHS proved
            it optimal (or, with no assignment, proved the model infeasible).
        """
        h = self.h
        inf = highspy.kHighsInf
        if objective != self._objective:
            h.changeColsCost(self.nv, self._cols, self.c_dist if objective == "dist" else self.c_disr)
            self._objective = objective
        cap = inf if eps is None else float(eps)
        if objective == "disr" and start is not None:  # the optimum is no worse than the start
            cap = min(cap, float(self.c_disr[self.tt == start[self.ii]].sum()))
        ub = np.where(self.excluded(cap), 0.0, 1.0) if FIXING else np.ones(self.nv)
        if not np.array_equal(ub, self._ub):
            h.changeColsBounds(self.nv, self._cols, np.zeros(self.nv), ub)
            self._ub = ub
        h.changeRowBounds(self.eps_row, -inf, inf if eps is None else EPS_ROW_SCALE * float(eps))
        h.changeRowBounds(self.dist_row, -inf, inf if dist_ub is None else float(dist_ub))
        h.setOptionValue("time_limit", max(0.05, float(time_limit)))
        h.setOptionValue("mip_max_nodes", int(max_nodes) if max_nodes is not None else highspy.kHighsIInf)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = (self.tt == start[self.ii]).astype(np.float64).tolist()
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        self.solves += 1
        status = h.getModelStatus()
        info = h.getInfo()
        self.nodes += int(info.mip_node_count)
        self.lp_iterations += int(info.simplex_iteration_count)
        if info.primal_solution_status != 2:  # no feasible point
            return None, status == highspy.HighsModelStatus.kInfeasible
        x = np.asarray(h.getSolution().col_value)
        a = np.full(self.inst.n, -1, dtype=np.int64)
        sel = x > 0.5
        a[self.ii[sel]] = self.tt[sel]
        if (a < 0).any():  # pragma: no cover - an integral solution assigns every unit
            return None, False
        return a, status == highspy.HighsModelStatus.kOptimal


def _scaled(coef: FloatArray) -> tuple[IntArray, float]:
    """Integer coefficients ``round(coef * s)`` with ``s`` putting the largest at :data:`CP_COEF`, and ``s``."""
    top = float(np.abs(coef).max(initial=0.0))
    s = CP_COEF / top if top > 0 else 1.0
    return np.rint(coef * s).astype(np.int64), s


def cpsat_primal(model: AllocationModel, objective: Objective, *, eps: float | None = None,
                 dist_ub: float | None = None, hint: IntArray | None = None, time_limit: float = 10.0,
                 seed: int = 0) -> IntArray | None:
    """A good assignment by CP-SAT on integer-scaled data, to hand to HiGHS as its MIP start.

    Every row is scaled to integers (largest coefficient :data:`CP_COEF`) and its bounds are tightened by
    the worst rounding error (half a unit per unit assigned), so whatever CP-SAT returns satisfies the
    unscaled rows exactly: it is feasible for the HiGHS model, which then proves (or improves) it. The
    objective is rounded the same way, so CP-SAT's optimum is near-optimal, not a proof.

    Parameters
    ----------
    model
        The HiGHS allocation model (its pairs and base rows are reused).
    objective
        ``"dist"`` or ``"disr"``.
    eps, dist_ub
        Caps on disruption and distance (None: free).
    hint
        An assignment to start the search from (it may violate the rows: the current alignment).
    time_limit
        Wall seconds; the search is also capped at :data:`CP_DET_TIME` deterministic seconds.
    seed
        CP-SAT random seed.

    Returns
    -------
    numpy.ndarray or None
        Territory index of each unit, or None if CP-SAT found nothing in time.
    """
    inst = model.inst
    nv = model.nv
    slack = inst.n // 2 + 1  # worst rounding error of a row: 0.5 per unit that is assigned
    m = cp_model.CpModel()
    x = [m.new_bool_var(f"x{j}") for j in range(nv)]
    A = model.A_base.tocsr()
    rows: list[tuple[FloatArray, IntArray, float, float]] = [
        (A.data[A.indptr[r]:A.indptr[r + 1]], A.indices[A.indptr[r]:A.indptr[r + 1]],
         float(model.lo_base[r]), float(model.hi_base[r])) for r in range(A.shape[0])]
    if eps is not None:
        nz = np.flatnonzero(model.c_disr)
        rows.append((model.c_disr[nz], nz, -np.inf, float(eps)))
    if dist_ub is not None:
        nz = np.flatnonzero(model.c_dist)
        rows.append((model.c_dist[nz], nz, -np.inf, float(dist_ub)))
    for vals, idx, lo, hi in rows:
        if len(idx) == 0:
            continue
        if np.all(vals == 1.0) and lo == hi:  # one territory per unit
            m.add_exactly_one(x[j] for j in idx)
            continue
        iv, s = _scaled(vals)
        lo_i = int(np.ceil(lo * s)) + slack if np.isfinite(lo) else -(2**62)
        hi_i = int(np.floor(hi * s)) - slack if np.isfinite(hi) else 2**62
        m.add_linear_constraint(sum(int(c) * x[j] for c, j in zip(iv, idx, strict=True)), lo_i, hi_i)
    if eps is not None:  # pairs that the cap excludes (exact)
        for jx in np.flatnonzero(model.excluded(float(eps))).tolist():
            m.add(x[jx] == 0)
    cost = model.c_dist if objective == "dist" else model.c_disr
    ic, _ = _scaled(cost)
    m.minimize(sum(int(c) * x[j] for j, c in enumerate(ic) if c))
    if hint is not None:
        on = model.tt == hint[model.ii]
        for j in range(nv):
            m.add_hint(x[j], bool(on[j]))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = CP_WORKERS
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = max(0.05, float(time_limit))
    solver.parameters.max_deterministic_time = CP_DET_TIME
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    val = np.array([solver.boolean_value(v) for v in x])
    a = np.full(inst.n, -1, dtype=np.int64)
    a[model.ii[val]] = model.tt[val]
    return a if (a >= 0).all() else None


def disruption_matrix(inst: Instance, size: FloatArray) -> FloatArray:
    """(n x k) disruption of each unit/territory pair: ``size`` away from the current territory, else 0."""
    has = inst.current >= 0
    disr = np.zeros((inst.n, inst.k))
    disr[has] = size[has, None]
    disr[np.flatnonzero(has), inst.current[has]] = 0.0
    return disr


def exact_front(
    inst: Instance,
    dcost: FloatArray,
    size: FloatArray,
    *,
    mode: Literal["grid", "all"] = "grid",
    grid: int = 18,
    level_tol: float | None = None,
    time_left: Callable[[], float] = lambda: float("inf"),
    should_stop: Callable[[], bool] = lambda: False,
    max_moved: float | None = None,
    max_wmoved: float | None = None,
    stats: FrontStats | None = None,
    primal: bool = True,
) -> list[FrontPoint]:
    """Trace the distance vs disruption front with exact MIPs.

    Parameters
    ----------
    inst
        Instance with fixed centres and a current alignment.
    dcost
        (n x k) distance cost matrix.
    size
        Per-unit disruption when the unit leaves its current territory (workload or 1).
    mode
        ``"grid"``: the extremes plus ``grid`` evenly spaced epsilons between them; ``"all"``: every
        non-dominated point (level resolution ``level_tol``).
    grid
        Number of interior epsilons for ``"grid"``.
    level_tol
        Disruption levels closer than this are one level (default :data:`LEVEL_REL_TOL` x the total
        size of the units with a current territory).
    time_left
        Seconds left for the whole sweep; a solve cut by it returns its incumbent, marked unproven.
    should_stop
        Returns True to end the sweep early (the points found so far are returned).
    max_moved, max_wmoved
        Caps on units / workload moved (the instance's when None).
    stats
        Filled with solve counts and times when given.
    primal
        When HiGHS has not proven a solve within :data:`FIRST_NODES` nodes, find a start with
        :func:`cpsat_primal` and solve again from it (False: HiGHS alone, no node cap).

    Returns
    -------
    list of FrontPoint
        Non-dominated points, by increasing disruption (decreasing distance).
    """
    st = stats if stats is not None else FrontStats()
    t0 = time.monotonic()
    c0 = time.process_time()
    disr = disruption_matrix(inst, size)
    has = inst.current >= 0
    tol = float(level_tol) if level_tol is not None else LEVEL_REL_TOL * max(float(size[has].sum()), 1.0)
    model = AllocationModel(inst, dcost, disr, max_moved, max_wmoved)
    st.build_s = time.monotonic() - t0
    rows = np.arange(inst.n)

    def limit() -> float:
        # one hard solve (a subset-sum-like extreme) must not starve the rest of the sweep
        return max(0.05, time_left() * SOLVE_SHARE)

    def out_of_time() -> bool:
        return should_stop() or time_left() <= 0.0

    def point(a: IntArray, proven: bool) -> FrontPoint:
        return FrontPoint(a, float(dcost[rows, a].sum()), float(disr[rows, a].sum()), proven)

    def value(objective: Objective, a: IntArray) -> float:
        return float((dcost if objective == "dist" else disr)[rows, a].sum())

    def run(objective: Objective, eps: float | None = None, dist_ub: float | None = None,
            start: IntArray | None = None) -> tuple[IntArray | None, bool]:
        """HiGHS; if it is not done within FIRST_NODES nodes, CP-SAT for a start, then HiGHS from it."""
        if not primal:
            return model.solve(objective, eps=eps, dist_ub=dist_ub, start=start, time_limit=limit())
        a, ok = model.solve(objective, eps=eps, dist_ub=dist_ub, start=start, time_limit=limit(),
                            max_nodes=FIRST_NODES)
        if ok or out_of_time():
            return a, ok
        t1 = time.monotonic()
        hint = a if a is not None else start if start is not None else inst.current
        cap = eps
        if objective == "disr" and a is not None:  # only a better start helps: cap CP-SAT at a's disruption
            v = value("disr", a)
            cap = min(v + MIP_REL_GAP * (1.0 + v), np.inf if eps is None else eps)
        cp = cpsat_primal(model, objective, eps=cap, dist_ub=dist_ub, hint=hint, time_limit=limit() / 2)
        st.cpsat_s += time.monotonic() - t1
        if cp is not None and (a is None or value(objective, cp) < value(objective, a)):
            a = cp
        return model.solve(objective, eps=eps, dist_ub=dist_ub, start=a, time_limit=limit())

    def lexi(eps: float | None, start: IntArray | None, proven_eps: bool = True) -> FrontPoint | None:
        """min distance s.t. disruption <= eps, then min disruption at that distance."""
        t1 = time.monotonic()
        c1 = time.process_time()
        a1, ok1 = run("dist", eps=eps, start=start)
        if a1 is None:
            return None
        p1 = point(a1, ok1)
        ub = p1.distance + MIP_REL_GAP * (1.0 + abs(p1.distance))
        a2, ok2 = run("disr", eps=eps, dist_ub=ub, start=a1)
        out = point(a2, ok1 and ok2 and proven_eps) if a2 is not None else p1
        st.per_point_s.append(time.monotonic() - t1)
        st.per_point_cpu_s.append(time.process_time() - c1)
        return out

    pts: list[FrontPoint] = []
    stopped = False
    if mode == "grid":
        # The least disruption first: its assignment is a feasible start for every epsilon. The sweep then
        # runs upward from it (each point's assignment is feasible for the next, looser epsilon), and the
        # min-disruption extreme's own lexicographic stage (min distance under the tightest cap, the
        # hardest MIP of the front) comes last, so a time limit cuts that point rather than the front.
        t1 = time.monotonic()
        c1 = time.process_time()
        a_lo, ok_lo = run("disr")
        st.extreme_s = time.monotonic() - t1
        st.extreme_cpu_s = time.process_time() - c1
        d_lo = 0.0 if a_lo is None else point(a_lo, False).disruption
        stopped = out_of_time()
        hi_pt = None if stopped else lexi(None, a_lo)
        if hi_pt is not None:
            pts.append(hi_pt)
        if a_lo is not None and hi_pt is not None and hi_pt.disruption > d_lo + tol:
            prev = a_lo
            for f in np.linspace(0.0, 1.0, grid + 2)[1:-1]:
                stopped = stopped or out_of_time()
                if stopped:
                    break
                p = lexi(d_lo + f * (hi_pt.disruption - d_lo) + tol, prev)
                if p is not None:
                    pts.append(p)
                    prev = p.assign
        if a_lo is not None:
            stopped = stopped or out_of_time()
            t1 = time.monotonic()
            c1 = time.process_time()
            lo_pt = point(a_lo, False) if stopped else lexi(d_lo + tol, a_lo, ok_lo)
            st.extreme_s += time.monotonic() - t1
            st.extreme_cpu_s += time.process_time() - c1
            if lo_pt is not None:
                pts.append(lo_pt)
    else:
        # one solve per breakpoint: min distance s.t. disruption <= eps. A weakly dominated answer (same
        # distance, more disruption than needed) is followed by the dominating one at the next epsilon,
        # and the filter below drops it; the last feasible epsilon gives the min-disruption extreme.
        eps: float | None = None
        while True:
            t1 = time.monotonic()
            c1 = time.process_time()
            a, ok = run("dist", eps=eps)
            if a is None:
                stopped = not ok
                break
            p = point(a, ok)
            pts.append(p)
            st.per_point_s.append(time.monotonic() - t1)
            st.per_point_cpu_s.append(time.process_time() - c1)
            stopped = out_of_time()
            if stopped:
                break
            eps = p.disruption - tol
    st.complete = not stopped and not out_of_time()
    st.solves = model.solves
    st.solve_s = time.monotonic() - t0 - st.build_s
    st.cpu_s = time.process_time() - c0
    st.nodes = model.nodes
    st.lp_iterations = model.lp_iterations
    return nondominated(pts)


def nondominated(pts: list[FrontPoint]) -> list[FrontPoint]:
    """Keep the non-dominated points, sorted by disruption (then distance)."""
    pts = sorted(pts, key=lambda p: (p.disruption, p.distance))
    front: list[FrontPoint] = []
    for p in pts:
        if not front or p.distance < front[-1].distance - 1e-9:
            front.append(p)
    return front
