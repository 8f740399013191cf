"""Territory design: balanced, compact rep territories with locks, move caps, contiguity and realignment fronts."""

from optimizer.territories.solver import solve_territories

__all__ = ["solve_territories"]
