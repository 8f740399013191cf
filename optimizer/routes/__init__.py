"""Weekly periodic routing of field reps: :func:`solve_routes`."""

from optimizer.routes.solver import solve_routes

__all__ = ["solve_routes"]
