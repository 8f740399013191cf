"""Staffing: headcount per role, direction and month to hit a sales plan (PuLP MILP), Monte Carlo
odds of hitting it, service-level sizing, scenario sweeps and field-force sizing.

Semantics of the problem are documented in :mod:`optimizer.model.staffing`.
"""

from __future__ import annotations

from optimizer.staffing.field import FieldForce, outlet_workload_minutes, size_field_force
from optimizer.staffing.solver import solve_staffing

__all__ = ["FieldForce", "outlet_workload_minutes", "size_field_force", "solve_staffing"]
