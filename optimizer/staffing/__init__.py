"""Staffing: headcount per role, direction and month to hit a sales plan (PuLP MILP), Monte Carlo
odds of hitting it, service-level sizing, scenario sweeps and field-force sizing.

Semantics of the problem are documented in :mod:`optimizer.model.staffing`.
"""

from __future__ import annotations

from optimizer.staffing.field import FieldForce, outlet_workload_minutes, size_field_force
from optimizer.staffing.montecarlo import evaluate_staffing
from optimizer.staffing.solver import solve_staffing
from optimizer.staffing.sweep import Scenario, grid, plot_sweep, run_sweep

__all__ = [
    "FieldForce",
    "Scenario",
    "evaluate_staffing",
    "grid",
    "outlet_workload_minutes",
    "plot_sweep",
    "run_sweep",
    "size_field_force",
    "solve_staffing",
]
