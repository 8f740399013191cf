"""Typed errors with stable codes.

``InputError`` means the user's problem is malformed (CLI exit 2, HTTP 422), ``InfeasibleError``
means a well-formed problem has no feasible answer (CLI exit 3), ``InternalError`` is our fault
(CLI exit 1, HTTP 500). Every error carries a stable ``code``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorItem:
    """One problem found in the input.

    Parameters
    ----------
    path
        JSON path of the offending field, e.g. ``outlets[17].time_windows[0]``.
    message
        Plain-language explanation.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-ready ``{"path": ..., "message": ...}``."""
        return {"path": self.path, "message": self.message}


class SalesplanError(Exception):
    """Base class of every error raised on purpose by salesplan."""

    code = "error"
    exit_code = 1


class InputError(SalesplanError):
    """The input is invalid; ``errors`` lists every offending field.

    Parameters
    ----------
    errors
        All problems found, each with its JSON path.
    source
        Optional name of the file or request the input came from.
    """

    code = "invalid_input"
    exit_code = 2

    def __init__(self, errors: Iterable[ErrorItem], source: str | None = None) -> None:
        self.errors: list[ErrorItem] = list(errors)
        self.source = source
        head = f"{source}: " if source else ""
        n = len(self.errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"{head}{n} problem{'s' if n != 1 else ''} in the input:\n{lines}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by the API's 422 answers."""
        return {"code": self.code, "errors": [e.to_dict() for e in self.errors]}


class InfeasibleError(SalesplanError):
    """A valid problem has no feasible solution.

    Parameters
    ----------
    message
        What cannot be met.
    diagnosis
        Machine-readable details: which constraint, by how much.
    """

    code = "infeasible"
    exit_code = 3

    def __init__(self, message: str, diagnosis: Sequence[dict[str, Any]] | None = None) -> None:
        self.diagnosis = list(diagnosis or [])
        super().__init__(message)


class InternalError(SalesplanError):
    """An unexpected failure inside the engine."""

    code = "internal"
    exit_code = 1


def format_path(loc: Sequence[int | str]) -> str:
    """Turn a pydantic location tuple into a JSON path like ``outlets[3].location.lat``.

    Parameters
    ----------
    loc
        Location tuple as given by pydantic (``("outlets", 3, "location", "lat")``).

    Returns
    -------
    str
        The dotted/indexed path.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out
