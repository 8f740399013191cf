"""The ``min_cost`` LP relaxation built once and re-solved in process with HiGHS for many scenarios.

A scenario sweep (:mod:`optimizer.staffing.sweep`) changes only numbers of the model: plans and
deal sizes (right-hand sides of the plan rows), conversion rates (one coefficient per conversion
row) and costs (a uniform factor, which scales the objective and so leaves the LP optimum where it
is). :class:`LpTemplate` builds the PuLP model of the base problem once through
:func:`optimizer.staffing.milp.solve_milp` (``capture``), copies it into a ``highspy.Highs`` object,
and per scenario changes those numbers and re-solves: no model building, no MPS file, no CBC
process. The solver state is cleared before every solve and the simplex restarts from the base
problem's optimal basis, so the answer does not depend on which scenarios a worker solved before
(same input, same result).
"""

from __future__ import annotations

import warnings
from typing import Any

import highspy
import numpy as np
import pulp

from optimizer.staffing.milp import Key, MilpResult, solve_milp
from optimizer.staffing.prep import Prepared


def highs_from_pulp(m: pulp.LpProblem) -> tuple[highspy.Highs, dict[str, int], dict[str, int]]:
    """Copy a PuLP model's LP (objective, column bounds, rows; minimised) into a quiet one-thread HiGHS.

    Parameters
    ----------
    m
        The PuLP model (integrality is dropped).

    Returns
    -------
    tuple
        The ``highspy.Highs`` object with the model passed (seed 0, so re-solves are deterministic),
        variable name -> column index, constraint name -> row index.
    """
    variables = m.variables()
    col = {v.name: j for j, v in enumerate(variables)}
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = len(variables)
    obj = m.objective
    lp.col_cost_ = np.array([float(obj.get(v, 0.0)) for v in variables])
    lp.col_lower_ = np.array([-inf if v.lowBound is None else float(v.lowBound) for v in variables])
    lp.col_upper_ = np.array([inf if v.upBound is None else float(v.upBound) for v in variables])
    rows_lo: list[float] = []
    rows_up: list[float] = []
    starts: list[int] = []
    index: list[int] = []
    value: list[float] = []
    with warnings.catch_warnings():  # PuLP 3.3 announces its 4.0 constraints API
        warnings.simplefilter("ignore", DeprecationWarning)
        constraints = list(m.constraints.items())
    row: dict[str, int] = {}
    for i, (name, c) in enumerate(constraints):
        row[name] = i
        rhs = -float(c.constant)
        rows_lo.append(rhs if c.sense >= 0 else -inf)
        rows_up.append(rhs if c.sense <= 0 else inf)
        starts.append(len(index))
        for var, coef in c.items():
            index.append(col[var.name])
            value.append(float(coef))
    lp.num_row_ = len(rows_lo)
    lp.row_lower_ = np.array(rows_lo)
    lp.row_upper_ = np.array(rows_up)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array([*starts, len(index)], dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value)
    lp.sense_ = highspy.ObjSense.kMinimize
    hs = highspy.Highs()
    hs.setOptionValue("output_flag", False)
    hs.setOptionValue("threads", 1)
    hs.setOptionValue("random_seed", 0)
    hs.passModel(lp)
    return hs, col, row


class LpTemplate:
    """Re-solvable LP relaxation of the ``min_cost`` staffing model of one base problem.

    Parameters
    ----------
    prep
        Prepared base problem. Supported: no budget (the sweep's cost factor would change its row).
    """

    def __init__(self, prep: Prepared) -> None:
        if prep.problem.budget is not None:
            raise ValueError("LpTemplate does not support a budget")
        self.prep = prep
        cap: dict[str, Any] = {}
        solve_milp(prep, mode="min_cost", integer=False, capture=cap)
        m: pulp.LpProblem = cap["model"]
        self._n: dict[Key, list[pulp.LpVariable]] = cap["n"]
        self._h: dict[Key, list[pulp.LpVariable]] = cap["h"]
        self._v: list[list[list[pulp.LpVariable]]] = cap["v"]
        self.highs, self._col, self._row = highs_from_pulp(m)
        lp = self.highs.getLp()
        self._h_upper = {key: np.array([lp.col_upper_[self._col[x.name]] for x in hv]) for key, hv in self._h.items()}
        self._row_upper = np.array(lp.row_upper_)
        # the base problem's optimal basis is every solve's starting point: about 3x fewer simplex
        # iterations than from scratch, and the same start whatever was solved before (deterministic)
        self.highs.run()
        self._basis = (self.highs.getBasis() if self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
                       else None)

    def solve(
        self,
        *,
        plan: float = 1.0,
        conversion: float = 1.0,
        deal: float = 1.0,
        plan_factor: np.ndarray | None = None,
        hire_slack: bool = False,
        hire_room: dict[str, np.ndarray] | None = None,
    ) -> MilpResult:
        """LP relaxation of the base problem varied by the scenario's factors.

        Parameters
        ----------
        plan, conversion, deal
            Scenario multipliers of the plans, conversion rates (capped at 1) and average deals, as
            in :func:`optimizer.staffing.sweep.apply_scenario` (a cost factor does not move the LP optimum).
        plan_factor
            ``(D,)`` extra plan multipliers (the round-up margins).
        hire_slack
            Hiring limits tightened by the rounding room, as in :func:`solve_milp`.
        hire_room
            Role id -> ``(T,)`` hires held back from the role's limit each month, as in :func:`solve_milp`.

        Returns
        -------
        MilpResult
            Status and fractional headcount ``n`` / hires ``h`` only (``optimal``, ``infeasible`` or
            ``no_solution``); the caller evaluates the rounded staffing.
        """
        prep, hs = self.prep, self.highs
        p = prep.problem
        D = len(prep.dirs)
        factor = np.ones(D) if plan_factor is None else np.asarray(plan_factor, dtype=float)
        for d, direction in enumerate(p.directions):
            for k in range(1, len(direction.funnel)):
                rate = min(1.0, direction.funnel[k].rate * conversion)
                for t in range(prep.T):
                    hs.changeCoeff(self._row[_name(f"conv[{d}|{k}|{t}]")], self._col[self._v[d][k - 1][t].name], -rate)
            need = (prep.plan[d] * plan * factor[d] - prep.base[d]) / (direction.avg_deal * deal)
            if p.plan_basis == "horizon":
                hs.changeRowBounds(self._row[_name(f"plan[{d}]")], float(need.sum()), highspy.kHighsInf)
            else:
                for t in range(prep.T):
                    r = self._row.get(_name(f"plan[{d}|{t}]"))
                    if r is not None:
                        hs.changeRowBounds(r, float(need[t]), highspy.kHighsInf)
        for rid, role in prep.roles.items():
            a, maxh = role.attrition, role.max_hires_per_month
            lim = np.full(prep.T, np.inf)
            if maxh is not None:
                lim[:] = max(0.0, maxh - len(prep.groups[rid]) * (1 + a)) if hire_slack else maxh
                if hire_room is not None and rid in hire_room:
                    lim = np.maximum(0.0, lim - np.asarray(hire_room[rid], dtype=float))
            for g in prep.groups[rid]:
                up = np.minimum(self._h_upper[(rid, g)], lim)
                for t, x in enumerate(self._h[(rid, g)]):
                    hs.changeColBounds(self._col[x.name], 0.0, float(up[t]))
            if maxh is not None:
                for t in range(prep.T):
                    r = self._row.get(_name(f"hire_limit[{rid}|{t}]"))
                    if r is not None:
                        hs.changeRowBounds(r, -highspy.kHighsInf, float(self._row_upper[r] - maxh + lim[t]))
        hs.clearSolver()
        if self._basis is not None:
            hs.setBasis(self._basis)
        hs.run()
        st = hs.getModelStatus()
        if st == highspy.HighsModelStatus.kInfeasible:
            return MilpResult("infeasible", solver="highs-lp")
        if st != highspy.HighsModelStatus.kOptimal:
            return MilpResult("no_solution", solver="highs-lp")
        x = np.asarray(hs.getSolution().col_value)
        res = MilpResult("optimal", solver="highs-lp", method="lp")
        for key, nv in self._n.items():
            res.n[key] = np.array([x[self._col[v.name]] for v in nv])
            res.h[key] = np.array([x[self._col[v.name]] for v in self._h[key]])
        res.objective = float(hs.getInfo().objective_function_value)
        return res


_ILLEGAL = str.maketrans({c: "_" for c in "-+[] ->/"})


def _name(s: str) -> str:
    """A constraint name as PuLP stores it."""
    return s.translate(_ILLEGAL)
