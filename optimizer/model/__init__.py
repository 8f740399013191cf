"""Domain model: one validated, immutable problem object per problem kind.

Use :func:`parse` to turn JSON-like data into a problem; it raises :class:`InputError` listing
every offending field (type errors first; cross-field checks once the types are right).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from optimizer.errors import ErrorItem, InputError, format_path
from optimizer.model.common import Location, SolveOptions, Travel
from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.model.staffing import StaffingProblem, StaffingSolution
from optimizer.model.territories import TerritoriesProblem, TerritoriesSolution

PROBLEMS: dict[str, type[BaseModel]] = {
    "routes": RoutesProblem,
    "territories": TerritoriesProblem,
    "staffing": StaffingProblem,
}
SOLUTIONS: dict[str, type[BaseModel]] = {
    "routes": RoutesSolution,
    "territories": TerritoriesSolution,
    "staffing": StaffingSolution,
}


def register(kind: str, problem: type[BaseModel], solution: type[BaseModel]) -> None:
    """Register a problem kind (the pipeline registers itself this way)."""
    PROBLEMS[kind] = problem
    SOLUTIONS[kind] = solution


def _ensure_registered() -> None:
    if "pipeline" not in PROBLEMS:
        with contextlib.suppress(ImportError):
            import optimizer.model.pipeline  # noqa: F401  (registers itself)


def kinds() -> list[str]:
    """Problem kinds known to the engine."""
    _ensure_registered()
    return list(PROBLEMS)


def problem_class(kind: str) -> type[BaseModel]:
    """The problem model of ``kind``; unknown kinds raise :class:`InputError`."""
    _ensure_registered()
    if kind not in PROBLEMS:
        raise InputError([ErrorItem("kind", f"unknown kind {kind!r}; use one of {', '.join(PROBLEMS)}")])
    return PROBLEMS[kind]


_FRIENDLY = {
    "extra_forbidden": "unknown field (check the spelling)",
    "missing": "required field is missing",
}


def errors_from_validation(exc: ValidationError, prefix: str = "") -> list[ErrorItem]:
    """Turn a pydantic ``ValidationError`` into path + message items."""
    items: list[ErrorItem] = []
    for e in exc.errors(include_url=False):
        loc = [p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
        path = format_path(loc)
        if prefix:
            path = f"{prefix}.{path}" if path and not path.startswith("[") else f"{prefix}{path}"
        msg = _FRIENDLY.get(e["type"], e["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if e["type"] not in _FRIENDLY and e["type"] != "value_error" and "input" in e:
            shown = repr(e["input"])
            if len(shown) <= 40:
                msg = f"{msg} (got {shown})"
        items.append(ErrorItem(path, msg))
    # the same message on the same path can come from several union branches
    seen: set[tuple[str, str]] = set()
    unique = []
    for it in items:
        if (it.path, it.message) not in seen:
            seen.add((it.path, it.message))
            unique.append(it)
    return unique


def parse(kind: str, data: Any, *, source: str | None = None) -> BaseModel:
    """Validate ``data`` as a problem of ``kind``.

    Parameters
    ----------
    kind
        ``routes``, ``territories``, ``staffing`` or ``pipeline``.
    data
        Parsed JSON (a dict), a JSON string, or a path to a JSON file.
    source
        Name used in error messages (e.g. the file name).

    Returns
    -------
    pydantic.BaseModel
        The frozen problem object.

    Raises
    ------
    InputError
        Listing every problem found.
    """
    cls = problem_class(kind)
    if isinstance(data, Path):
        source = source or data.name
        data = load_json(data)
    elif isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InputError([ErrorItem("", f"not valid JSON: {exc}")], source) from None
    if not isinstance(data, dict):
        raise InputError([ErrorItem("", "the problem must be a JSON object")], source)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InputError(errors_from_validation(exc), source) from None
    except InputError as exc:
        exc.source = source
        raise InputError(exc.errors, source) from None


def load_json(path: Path) -> Any:
    """Read a JSON file, turning I/O and syntax problems into :class:`InputError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([ErrorItem("", f"cannot read {path.name}: {exc.strerror}")], path.name) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([ErrorItem("", f"not valid JSON: {exc}")], path.name) from None


def json_schema(kind: str) -> dict[str, Any]:
    """JSON Schema of the problem of ``kind`` (input mode)."""
    return problem_class(kind).model_json_schema(mode="validation")


__all__ = [
    "PROBLEMS",
    "SOLUTIONS",
    "Location",
    "RoutesProblem",
    "RoutesSolution",
    "SolveOptions",
    "StaffingProblem",
    "StaffingSolution",
    "TerritoriesProblem",
    "TerritoriesSolution",
    "Travel",
    "errors_from_validation",
    "json_schema",
    "kinds",
    "load_json",
    "parse",
    "problem_class",
    "register",
]
