"""Building blocks shared by every problem: base config, locations, times, travel settings."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

#: "HH:MM" exactly as the JSON Schema's pattern says (ASCII digits, no spaces), so both agree.
_HHMM = re.compile(r"([0-9]{1,3}):([0-5][0-9])")


def parse_minutes(value: Any) -> Any:
    """Accept minutes from midnight (number) or ``"HH:MM"``; return a float.

    Anything else is passed through so pydantic reports it with its own message.
    """
    if isinstance(value, str):
        m = _HHMM.fullmatch(value)
        if not m:
            raise ValueError(f"{value!r} is not a time (use minutes from midnight or 'HH:MM')")
        return float(int(m.group(1)) * 60 + int(m.group(2)))
    if isinstance(value, bool):
        raise ValueError("a time must be a number of minutes or 'HH:MM', not true/false")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("a time must be finite")
        if value < 0:
            raise ValueError(f"a time cannot be negative ({value})")
        return float(value)
    return value


def fmt_time(minutes: float) -> str:
    """Format minutes from midnight as ``HH:MM`` (rounded to the minute)."""
    total = round(minutes)
    return f"{total // 60:02d}:{total % 60:02d}"


_MINUTES_SCHEMA = {
    "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^[0-9]{1,3}:[0-5][0-9]$"}],
    "description": 'minutes from midnight, or "HH:MM"',
}
Minutes = Annotated[float, BeforeValidator(parse_minutes), WithJsonSchema(_MINUTES_SCHEMA, mode="validation")]
"""A time of day in minutes from midnight; input may also be ``"HH:MM"``."""

NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PosFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Id = Annotated[
    str,
    BeforeValidator(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v),
    Field(min_length=1),
    WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}]}, mode="validation"),
]
"""Identifier: a non-empty string (integers are accepted and turned into strings)."""


class Base(BaseModel):
    """Frozen model that rejects unknown fields (they are usually typos)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Location(Base):
    """A point: geographic ``{"lat", "lon"}`` or planar ``{"x", "y"}``."""

    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    x: float | None = Field(None, allow_inf_nan=False)
    y: float | None = Field(None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_kind(self) -> Location:
        geo = self.lat is not None or self.lon is not None
        plane = self.x is not None or self.y is not None
        if geo and plane:
            raise ValueError("give either lat/lon or x/y, not both")
        if geo and (self.lat is None or self.lon is None):
            raise ValueError("both lat and lon are needed")
        if plane and (self.x is None or self.y is None):
            raise ValueError("both x and y are needed")
        if not geo and not plane:
            raise ValueError("a location needs lat/lon or x/y")
        return self

    @property
    def is_geo(self) -> bool:
        """True for lat/lon locations."""
        return self.lat is not None

    def coords(self) -> tuple[float, float]:
        """``(lat, lon)`` or ``(x, y)``."""
        if self.lat is not None and self.lon is not None:
            return (self.lat, self.lon)
        assert self.x is not None and self.y is not None
        return (self.x, self.y)


class TravelMatrix(Base):
    """Explicit travel matrix between ids (reps' ``id`` stands for their start and end)."""

    ids: list[Id]
    minutes: list[list[NonNegFloat]]
    km: list[list[NonNegFloat]] | None = None


class Travel(Base):
    """How travel times and distances are computed.

    ``haversine``: great-circle km x ``detour`` at ``speed_kmh``; ``euclidean``: straight-line
    distance in the coordinate unit, travelled at ``speed`` units per minute; ``matrix``: given.
    """

    metric: Literal["haversine", "euclidean", "matrix"] = "haversine"
    speed_kmh: PosFloat = 30.0
    detour: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = 1.3
    speed: PosFloat = 1.0
    matrix: TravelMatrix | None = None

    @model_validator(mode="before")
    @classmethod
    def _infer_metric(cls, data: Any) -> Any:
        if isinstance(data, dict) and "matrix" in data and "metric" not in data:
            data = {**data, "metric": "matrix"}
        return data

    @model_validator(mode="after")
    def _matrix_given(self) -> Travel:
        if self.metric == "matrix" and self.matrix is None:
            raise ValueError("metric 'matrix' needs a 'matrix' object")
        return self


class SolveOptions(Base):
    """Options every solve accepts; keyword arguments of ``solve`` override them."""

    time_limit_s: PosFloat | None = None
    seed: Annotated[int, Field(ge=0)] = 0


Status = Literal["optimal", "feasible", "infeasible", "no_solution"]
"""Outcome of a solve."""
