"""Peer solvers used only by the benchmarks (OR-Tools, PyVRP, VROOM) and the re-timing helper.

Every peer returns plain routes ``(day, rep id, [outlet ids])``; :func:`retime.to_solution` turns
them into a :class:`~optimizer.model.routes.RoutesSolution` timed in double precision so that the
same checker and the same distance apply to every solver.
"""

from __future__ import annotations

PeerRoutes = list[tuple[int, str, list[str]]]
"""Routes as ``(horizon day, rep id, outlet ids in visit order)``."""
