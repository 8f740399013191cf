"""One entry point for every problem kind: ``solve(kind, problem, ...)``."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from pydantic import BaseModel

from optimizer.errors import ErrorItem, InputError
from optimizer.model import parse
from optimizer.progress import ProgressCallback

#: kind -> "module:function"; solvers are imported lazily so a missing one fails only when used.
SOLVERS = {
    "routes": "optimizer.routes:solve_routes",
    "territories": "optimizer.territories:solve_territories",
    "staffing": "optimizer.staffing:solve_staffing",
    "pipeline": "optimizer.pipeline:solve_pipeline",
}


def solver_for(kind: str) -> Any:
    """The solve function of ``kind``."""
    if kind not in SOLVERS:
        raise InputError([ErrorItem("kind", f"unknown kind {kind!r}; use one of {', '.join(SOLVERS)}")])
    mod, fn = SOLVERS[kind].split(":")
    return getattr(import_module(mod), fn)


def solve(
    kind: str,
    problem: BaseModel | dict[str, Any],
    *,
    time_limit: float | None = None,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
) -> BaseModel:
    """Solve a problem of any kind.

    Parameters
    ----------
    kind
        ``routes``, ``territories``, ``staffing`` or ``pipeline``.
    problem
        A problem object or JSON-like data (validated first).
    time_limit
        Seconds; default: the problem's ``options.time_limit_s`` or the solver's default.
    seed
        Random seed; default: the problem's ``options.seed``.
    progress
        Progress callback (return False to stop early).

    Returns
    -------
    pydantic.BaseModel
        The solution object of that kind.
    """
    if not isinstance(problem, BaseModel):
        problem = parse(kind, problem)
    opts = getattr(problem, "options", None)
    if time_limit is None and opts is not None:
        time_limit = getattr(opts, "time_limit_s", None)
    if seed is None:
        seed = getattr(opts, "seed", 0) if opts is not None else 0
    fn = solver_for(kind)
    kwargs: dict[str, Any] = {"seed": seed, "progress": progress}
    if time_limit is not None:
        kwargs["time_limit"] = time_limit
    result: BaseModel = fn(problem, **kwargs)
    return result
