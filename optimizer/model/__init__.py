"""Domain model: one validated, immutable problem object per problem kind.

Use :func:`parse` to turn JSON-like data into a problem; it raises :class:`InputError` listing
every offending field (type errors first; cross-field checks once the types are right).
"""

from __future__ import annotations

import contextlib
import copy
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

#: pydantic error type -> plain message (``{name}`` fields come from the error's ``ctx``).
_PLAIN = {
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "string_too_short": "must not be empty",
}

_TYPE_TAGS = {"int", "str", "float", "bool", "none", "list", "dict", "tuple", "is-instance", "lax-or-strict"}


def _num(v: Any) -> Any:
    """``0.0`` -> ``0`` in messages."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _plain_message(e: Any) -> str:
    """A plain-language message for one pydantic error dict."""
    typ = e["type"]
    ctx = {k: _num(v) for k, v in (e.get("ctx") or {}).items()}
    if typ in _FRIENDLY:
        return _FRIENDLY[typ]
    if typ == "model_type" and ctx.get("class_name") == "Location":
        return 'must be a location object: {"lat": .., "lon": ..} or {"x": .., "y": ..}'
    if typ in ("too_short", "too_long") and "actual_length" in ctx:
        if ctx.get("field_type") == "Tuple":
            return f"must have exactly {ctx.get('max_length', ctx.get('min_length'))} items, not {ctx['actual_length']}"
        if ctx.get("field_type") == "Value" and ctx.get("min_length") == 1:
            return "must not be empty"
        if typ == "too_short":
            return f"needs at least {ctx.get('min_length')} item(s), has {ctx['actual_length']}"
        return f"allows at most {ctx.get('max_length')} item(s), has {ctx['actual_length']}"
    if typ in _PLAIN:
        try:
            return _PLAIN[typ].format(**ctx)
        except (KeyError, IndexError):
            pass
    msg = str(e["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg


def _clean_loc(loc: tuple[Any, ...], data: Any) -> tuple[list[int | str], bool]:
    """Drop pydantic's union/validator tags from an error location.

    With the input ``data``, a part is kept only when it indexes the data (or names the missing
    last field); without it, tags are recognised by their shape. Returns the clean location and
    whether a tag was dropped (the error came from one branch of a union).
    """
    out: list[int | str] = []
    tagged = False
    cur = data
    walk = data is not None
    for k, part in enumerate(loc):
        if walk:
            if isinstance(part, int) and isinstance(cur, list | tuple) and 0 <= part < len(cur):
                out.append(part)
                cur = cur[part]
                continue
            if isinstance(part, str) and isinstance(cur, dict) and (part in cur or k == len(loc) - 1):
                out.append(part)
                cur = cur.get(part)
                continue
            if isinstance(part, int):
                out.append(part)
                cur = None
                continue
            tagged = True
            continue
        if isinstance(part, str) and (
            "[" in part or "-" in part or part in _TYPE_TAGS or part[:1].isupper() or part.startswith("function")
        ):
            tagged = True
            continue
        out.append(part)
    return out, tagged


def errors_from_validation(exc: ValidationError, prefix: str = "", *, data: Any = None) -> list[ErrorItem]:
    """Turn a pydantic ``ValidationError`` into path + plain-message items.

    Parameters
    ----------
    exc
        The pydantic error.
    prefix
        Path prepended to every item (e.g. ``"problem"``).
    data
        The validated input, when available: it makes paths exact (union tags are dropped by
        walking the data instead of by their shape).

    Returns
    -------
    list of ErrorItem
        One item per offending path; a union's failed alternatives are merged into one message.
    """
    grouped: dict[str, list[str]] = {}
    tagged_paths: set[str] = set()
    for e in exc.errors(include_url=False):
        loc, tagged = _clean_loc(tuple(e["loc"]), data)
        path = format_path(loc)
        if prefix:
            path = f"{prefix}.{path}" if path and not path.startswith("[") else f"{prefix}{path}"
        msg = _plain_message(e)
        if e["type"] not in _FRIENDLY and e["type"] != "value_error" and "input" in e:
            shown = repr(e["input"])
            if len(shown) <= 40:
                msg = f"{msg} (got {shown})"
        if tagged:
            tagged_paths.add(path)
        msgs = grouped.setdefault(path, [])
        if msg not in msgs:  # the same message can come from several union branches
            msgs.append(msg)
    items: list[ErrorItem] = []
    for path, msgs in grouped.items():
        if len(msgs) > 1 and path in tagged_paths:
            items.append(ErrorItem(path, "matches none of the allowed forms: " + "; or ".join(msgs)))
        else:
            items.extend(ErrorItem(path, m) for m in msgs)
    return items


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
        items = errors_from_validation(exc, data=data)
        items += _cross_errors_despite_type_errors(cls, data, exc)
        raise InputError(items, source) from None
    except InputError as exc:
        exc.source = source
        raise InputError(exc.errors, source) from None


def _cross_errors_despite_type_errors(
    cls: type[BaseModel], data: dict[str, Any], exc: ValidationError
) -> list[ErrorItem]:
    """Cross-field errors of the items that have no type error, so the user sees everything at once.

    Each offending field of a list item (``outlets[3].demand``) is dropped (it takes its default)
    and the problem is validated again; the cross-field errors found are kept except those of the
    items that had a type error (their defaults could cause false alarms). Nothing is added when a
    required field or a problem-wide setting (``horizon``, ``travel``, ...) is wrong.
    """
    fixed = copy.deepcopy(data)
    touched: set[tuple[Any, ...]] = set()
    for e in exc.errors(include_url=False):
        loc, _ = _clean_loc(tuple(e["loc"]), data)
        if e["type"] == "missing" or len(loc) < 3 or not isinstance(loc[1], int):
            return []
        touched.add(tuple(loc[:2]))
        # drop the last object key on the path (a bad list element drops its whole list field)
        k = max(i for i, part in enumerate(loc) if isinstance(part, str))
        parent: Any = fixed
        try:
            for part in loc[:k]:
                parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return []
        if not isinstance(parent, dict):
            return []
        parent.pop(loc[k], None)
    try:
        cls.model_validate(fixed)
    except InputError as cross:
        prefixes = [format_path(list(t)) for t in touched]
        return [
            it
            for it in cross.errors
            if not any(it.path == pre or it.path.startswith((pre + ".", pre + "[")) for pre in prefixes)
        ]
    except (ValidationError, ValueError, TypeError, KeyError, IndexError):
        return []
    return []


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
