"""Read the tables planners already have (CSV or Excel) into validated model objects.

Every reader takes a ``mapping`` from the user's column names to ours, reads every cell as text,
and reports every problem of every row at once as an :class:`~optimizer.errors.InputError` whose
items name the file, the row and the column as the user sees them::

    outlets.csv row 17, column open: '25:00' is not a time

Row numbers are the spreadsheet's: the header is row 1, the first data row is row 2. Columns we
do not know go to the object's ``attributes`` (e.g. ``name``, ``address``), untouched.
The column sets are documented in ``datasets/templates/README.md``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from pydantic import BaseModel, ValidationError

from optimizer.errors import ErrorItem, InputError
from optimizer.model.common import parse_minutes
from optimizer.model.pipeline import PipelineOutlet
from optimizer.model.routes import WEEKDAYS, Rep
from optimizer.model.staffing import Role

_TRUE = {"1", "true", "yes", "y", "x"}
_FALSE = {"0", "false", "no", "n", ""}


class CellError(ValueError):
    """A cell value that cannot be read; the message is shown to the user."""


# -- cell parsers: text in, value out (or CellError) ------------------------------------------------


def _text(v: str) -> str:
    return v


def _float(v: str) -> float:
    try:
        x = float(v.replace(",", ".")) if v.count(",") == 1 and "." not in v else float(v)
    except ValueError:
        raise CellError(f"{v!r} is not a number") from None
    if not math.isfinite(x):
        raise CellError(f"{v!r} is not a finite number")
    return x


def _int(v: str) -> int:
    x = _float(v)
    if x != int(x):
        raise CellError(f"{v!r} is not a whole number")
    return int(x)


def _time(v: str) -> float:
    m = re.fullmatch(r"\s*(\d{1,2}):([0-5]\d)(?::([0-5]\d))?\s*", v)
    if m:
        h, mi = int(m.group(1)), int(m.group(2))
        if h > 24 or (h == 24 and mi > 0):
            raise CellError(f"{v!r} is not a time")
        return float(h * 60 + mi)
    try:
        x = float(v)
    except ValueError:
        raise CellError(f"{v!r} is not a time (use HH:MM)") from None
    try:
        out = parse_minutes(x)
    except ValueError as exc:
        raise CellError(str(exc)) from None
    return float(out)


def _bool(v: str) -> bool:
    s = v.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise CellError(f"{v!r} is not yes/no")


def _list(v: str) -> list[str]:
    return [p for p in re.split(r"[\s,;|]+", v.strip()) if p]


def _days(v: str) -> list[Any]:
    out: list[Any] = []
    for p in _list(v.lower()):
        key = p[:3]
        if p.isdigit():
            out.append(int(p))
        elif key in WEEKDAYS:
            out.append(key)
        else:
            raise CellError(f"{p!r} is not a day (use mon..sun or a day index)")
    return out


@dataclass(frozen=True)
class Column:
    """One column of a table: our name, how to read a cell, and whether it is required."""

    name: str
    parse: Callable[[str], Any]
    required: bool = False
    doc: str = ""


OUTLET_COLUMNS: tuple[Column, ...] = (
    Column("id", _text, True, "unique outlet id"),
    Column("lat", _float, False, "latitude in degrees (or give x and y)"),
    Column("lon", _float, False, "longitude in degrees"),
    Column("x", _float, False, "planar x (euclidean travel)"),
    Column("y", _float, False, "planar y"),
    Column("visits", _int, False, "visits per horizon (default 1)"),
    Column("service_minutes", _float, False, "minutes spent at the outlet per visit (default 0)"),
    Column("open", _time, False, "opening time HH:MM (with close: the visit window)"),
    Column("close", _time, False, "closing time HH:MM"),
    Column("open2", _time, False, "second window opening (e.g. after lunch)"),
    Column("close2", _time, False, "second window closing"),
    Column("potential", _float, False, "sales potential, balanced between territories (default 0)"),
    Column("demand", _float, False, "load per visit against the rep's capacity (default 0)"),
    Column("rep", _text, False, "pin every visit to this rep id"),
    Column("skills", _list, False, "skills the rep needs, separated by spaces/commas"),
    Column("optional", _bool, False, "yes for a prospect visit that may be skipped"),
    Column("value", _float, False, "worth of an optional outlet's visits"),
    Column("segment", _text, False, "free segment label"),
)

REP_COLUMNS: tuple[Column, ...] = (
    Column("id", _text, True, "unique rep id"),
    Column("lat", _float, False, "home base latitude (or x and y)"),
    Column("lon", _float, False, "home base longitude"),
    Column("x", _float, False, "planar x"),
    Column("y", _float, False, "planar y"),
    Column("end_lat", _float, False, "end of day latitude (default: home)"),
    Column("end_lon", _float, False, "end of day longitude"),
    Column("shift_start", _time, False, "shift start HH:MM (default 08:00)"),
    Column("shift_end", _time, False, "shift end HH:MM (default 17:00)"),
    Column("days", _days, False, "working days, e.g. 'mon tue wed' (default all)"),
    Column("max_visits_per_day", _int, False, "visit cap per day"),
    Column("max_route_minutes", _float, False, "longest working day in minutes"),
    Column("break_earliest", _time, False, "earliest break start HH:MM"),
    Column("break_latest", _time, False, "latest break start HH:MM"),
    Column("break_minutes", _float, False, "break length in minutes"),
    Column("capacity", _float, False, "load capacity per day"),
    Column("skills", _list, False, "skills held, separated by spaces/commas"),
    Column("segment", _text, False, "free segment label"),
)

ROLE_COLUMNS: tuple[Column, ...] = (
    Column("id", _text, True, "unique role id"),
    Column("level", _int, True, "1 = top of the hierarchy"),
    Column("monthly_cost", _float, True, "cost per person per month"),
    Column("hiring_cost", _float, False, "one-off cost per hire"),
    Column("attrition", _float, False, "monthly attrition rate, 0..1"),
    Column("max_hires_per_month", _int, False, "hiring cap per month"),
    Column("current", _int, False, "headcount today"),
    Column("activity", _text, False, "funnel stage the role produces"),
    Column("per_month", _float, False, "activity per person per month at full productivity"),
    Column("scope", _text, False, "direction (default) or shared"),
    Column("ramp", lambda v: [_float(p) for p in _list(v)], False, "productivity of a new hire by month: '0.3 0.6 1'"),
)


# -- generic reader ------------------------------------------------------------------------------


def load_table(path: Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV or Excel file as text cells (empty cells are empty strings).

    Parameters
    ----------
    path
        ``.csv``/``.txt`` (separator sniffed) or ``.xlsx``/``.xlsm``/``.xls``.
    sheet
        Excel sheet name or index (default: the first).

    Returns
    -------
    pandas.DataFrame
        Every cell as ``str``.

    Raises
    ------
    InputError
        When the file cannot be read.
    """
    name = path.name
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            raw = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=object)
            return raw.apply(lambda col: col.map(_excel_cell)).astype(str)
        return pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python",
                           skipinitialspace=True, encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError([ErrorItem(name, "file not found")], name) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError([ErrorItem(name, f"cannot read the table: {exc}")], name) from None


def _excel_cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, dt.time):
        return f"{v.hour:02d}:{v.minute:02d}"
    if isinstance(v, dt.datetime):
        return f"{v.hour:02d}:{v.minute:02d}" if v.date() == dt.date(1900, 1, 1) else v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def read_rows(
    path: Path | str,
    columns: Sequence[Column],
    mapping: Mapping[str, str] | None = None,
    *,
    sheet: str | int | None = None,
) -> tuple[list[tuple[int, dict[str, Any], dict[str, str]]], list[ErrorItem], str, dict[str, str]]:
    """Read a table and parse its known columns cell by cell.

    Returns ``(rows, errors, source, shown)``: per data row its spreadsheet row number, the parsed
    known cells (empty cells left out) and the unknown cells (by the user's column name);
    every cell error; the file name; and for each of our column names the user's name of it.
    """
    path = Path(path)
    source = path.name
    df = load_table(path, sheet=sheet)
    mapping = dict(mapping or {})
    known = {c.name: c for c in columns}
    errors: list[ErrorItem] = []
    for user, ours in mapping.items():
        if ours not in known:
            errors.append(ErrorItem(f"{source}, mapping {user!r}", f"{ours!r} is not a column we read"))
        elif user not in df.columns:
            errors.append(ErrorItem(f"{source}, column {user}", "mapped column is not in the file"))
    # our name -> the user's column name
    shown: dict[str, str] = {}
    for col in df.columns:
        key = str(col).strip()
        if key in mapping:
            ours = mapping[key]
        elif key.lower() not in mapping.values():
            ours = key.lower()
        else:
            continue  # a mapped column takes this name
        if ours in known:
            if ours in shown:
                errors.append(ErrorItem(f"{source}, column {key}", f"a second column for {ours!r}"))
            else:
                shown[ours] = str(col)
    for c in columns:
        if c.required and c.name not in shown:
            errors.append(ErrorItem(f"{source}, column {c.name}", "required column is missing"))
    if errors:
        raise InputError(errors, source)
    extra_cols = [str(c) for c in df.columns if str(c) not in shown.values()]
    rows: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    for i, rec in enumerate(df.to_dict(orient="records")):
        rownum = i + 2
        values: dict[str, Any] = {}
        cells = {str(k): ("" if v is None else str(v)).strip() for k, v in rec.items()}
        if not any(cells.values()):
            continue  # blank line
        for ours, user in shown.items():
            text = cells.get(user, "")
            if text == "":
                if known[ours].required:
                    errors.append(ErrorItem(f"{source} row {rownum}, column {user}", "required value is missing"))
                continue
            try:
                values[ours] = known[ours].parse(text)
            except CellError as exc:
                errors.append(ErrorItem(f"{source} row {rownum}, column {user}", str(exc)))
        extra = {c: cells.get(c, "") for c in extra_cols if cells.get(c, "")}
        rows.append((rownum, values, extra))
    return rows, errors, source, shown


def _location(v: dict[str, Any], lat: str = "lat", lon: str = "lon") -> dict[str, Any] | None:
    if lat in v or lon in v:
        return {"lat": v.get(lat), "lon": v.get(lon)}
    if "x" in v or "y" in v:
        return {"x": v.get("x"), "y": v.get("y")}
    return None


def _validate(
    cls: type[BaseModel],
    data: dict[str, Any],
    where: str,
    field_to_column: Callable[[tuple[Any, ...]], str],
) -> tuple[BaseModel | None, list[ErrorItem]]:
    """Validate one row's object; map pydantic error locations back to the user's columns."""
    try:
        return cls.model_validate(data), []
    except ValidationError as exc:
        items = []
        for e in exc.errors(include_url=False):
            msg = e["msg"].removeprefix("Value error, ")
            items.append(ErrorItem(f"{where}, column {field_to_column(tuple(e['loc']))}", msg))
        return None, items
    except InputError as exc:
        return None, [ErrorItem(f"{where}", f"{it.path}: {it.message}") for it in exc.errors]


def _check_row(
    cls: type[BaseModel],
    data: dict[str, Any],
    where: str,
    col_of: Callable[[tuple[Any, ...]], str],
    errors: list[ErrorItem],
    row_errs: list[ErrorItem],
) -> BaseModel | None:
    """Validate a row's object and add its errors, skipping columns already reported for the row.

    Cells that failed to parse are absent from ``data``, so the model may complain about a
    missing field that the cell error already explains; those duplicates are dropped.
    """
    errors.extend(row_errs)
    reported = {e.path for e in errors if e.path.startswith(where + ",")}
    obj, errs = _validate(cls, data, where, col_of)
    errors.extend(e for e in errs if e.path not in reported)
    return obj if not reported else None


def _duplicates(ids: list[tuple[int, str]], source: str, col: str) -> list[ErrorItem]:
    first: dict[str, int] = {}
    errs = []
    for row, key in ids:
        if key in first:
            errs.append(ErrorItem(f"{source} row {row}, column {col}", f"duplicate id {key!r} (also row {first[key]})"))
        else:
            first[key] = row
    return errs


M = TypeVar("M", bound=BaseModel)
RowBuilder = Callable[[dict[str, Any], dict[str, str], str], tuple[dict[str, Any], list[ErrorItem]]]


def _read_models(
    table: tuple[list[tuple[int, dict[str, Any], dict[str, str]]], list[ErrorItem], str, dict[str, str]],
    cls: type[M],
    col_of: Callable[[tuple[Any, ...]], str],
    build: RowBuilder,
) -> list[M]:
    """Turn :func:`read_rows` output into models: one ``build(values, extra, where)`` per row, then validation.

    Every row's own problems, every validation error and every duplicate id are collected before one
    :class:`InputError` is raised.
    """
    rows, errors, source, shown = table
    out: list[M] = []
    ids: list[tuple[int, str]] = []
    for rownum, v, extra in rows:
        where = f"{source} row {rownum}"
        if "id" in v:
            ids.append((rownum, v["id"]))
        data, row_errs = build(v, extra, where)
        obj = _check_row(cls, data, where, col_of, errors, row_errs)
        if obj is not None:
            assert isinstance(obj, cls)
            out.append(obj)
    errors.extend(_duplicates(ids, source, shown.get("id", "id")))
    if errors:
        raise InputError(_sorted(errors), source)
    return out


# -- public readers ------------------------------------------------------------------------------


def read_outlets(
    path: Path | str, mapping: Mapping[str, str] | None = None, *, sheet: str | int | None = None
) -> list[PipelineOutlet]:
    """Read outlets from a CSV or Excel file.

    Parameters
    ----------
    path
        The table (template: ``datasets/templates/outlets.csv``).
    mapping
        The user's column names -> ours, e.g. ``{"Store": "id", "Opens": "open"}``.
    sheet
        Excel sheet name or index.

    Returns
    -------
    list of PipelineOutlet
        One outlet per non-blank row (usable wherever a routes ``Outlet`` is expected).

    Raises
    ------
    InputError
        Every problem of every row, e.g. ``outlets.csv row 17, column open: '25:00' is not a time``.
    """
    table = read_rows(path, OUTLET_COLUMNS, mapping, sheet=sheet)
    shown = table[3]
    field_col = {"id": "id", "visits": "visits", "service_minutes": "service_minutes", "potential": "potential",
                 "demand": "demand", "rep": "rep", "skills": "skills", "optional": "optional", "value": "value",
                 "segment": "segment"}

    def col_of(loc: tuple[Any, ...]) -> str:
        head = str(loc[0]) if loc else ""
        if head == "location":
            sub = str(loc[1]) if len(loc) > 1 else ""
            ours = sub if sub in ("lat", "lon", "x", "y") else ("lat" if "lat" in shown else "x")
        elif head == "time_windows":
            ours = ("open", "open2")[min(int(loc[1]) if len(loc) > 1 and isinstance(loc[1], int) else 0, 1)]
        else:
            ours = field_col.get(head, head)
        return shown.get(ours, ours)

    def build(v: dict[str, Any], extra: dict[str, str], where: str) -> tuple[dict[str, Any], list[ErrorItem]]:
        row_errs: list[ErrorItem] = []
        data: dict[str, Any] = {k: v[k] for k in field_col if k in v}
        loc = _location(v)
        if loc is None:
            row_errs.append(ErrorItem(f"{where}, column {shown.get('lat', 'lat')}", "no location: give lat/lon or x/y"))
        else:
            data["location"] = loc
        windows = []
        for o, c in (("open", "close"), ("open2", "close2")):
            if (o in v) != (c in v):
                missing = c if o in v else o
                row_errs.append(ErrorItem(f"{where}, column {shown.get(missing, missing)}",
                                          f"{'closing' if missing.startswith('close') else 'opening'} time is missing"))
            elif o in v:
                if v[o] >= v[c]:
                    row_errs.append(ErrorItem(f"{where}, column {shown[o]}",
                                              f"opens at {_hhmm(v[o])}, not before it closes at {_hhmm(v[c])}"))
                windows.append((v[o], v[c]))
        data["time_windows"] = windows
        if extra:
            data["attributes"] = extra
        return data, row_errs

    return _read_models(table, PipelineOutlet, col_of, build)


def read_reps(
    path: Path | str, mapping: Mapping[str, str] | None = None, *, sheet: str | int | None = None
) -> list[Rep]:
    """Read field reps (home bases, shifts, working days, limits) from a CSV or Excel file.

    Parameters
    ----------
    path
        The table (template: ``datasets/templates/reps.csv``).
    mapping
        The user's column names -> ours.
    sheet
        Excel sheet name or index.

    Returns
    -------
    list of Rep
        One rep per non-blank row.

    Raises
    ------
    InputError
        Every problem of every row, by row and column.
    """
    table = read_rows(path, REP_COLUMNS, mapping, sheet=sheet)
    shown = table[3]
    simple = ("id", "days", "max_visits_per_day", "max_route_minutes", "capacity", "skills", "segment")

    def col_of(loc: tuple[Any, ...]) -> str:
        head = str(loc[0]) if loc else ""
        sub = str(loc[1]) if len(loc) > 1 else ""
        ours = {
            "start": sub if sub in ("lat", "lon", "x", "y") else "lat",
            "end": "end_" + sub if sub in ("lat", "lon") else "end_lat",
            "shift": "shift_" + sub if sub in ("start", "end") else "shift_start",
            "break": "break_" + sub if sub in ("earliest", "latest", "minutes") else "break_minutes",
        }.get(head, head)
        return shown.get(ours, ours)

    def build(v: dict[str, Any], extra: dict[str, str], where: str) -> tuple[dict[str, Any], list[ErrorItem]]:
        row_errs: list[ErrorItem] = []
        data: dict[str, Any] = {k: v[k] for k in simple if k in v}
        start = _location(v)
        if start is None:
            row_errs.append(
                ErrorItem(f"{where}, column {shown.get('lat', 'lat')}", "no home base: give lat/lon or x/y")
            )
        else:
            data["start"] = start
        end = _location(v, "end_lat", "end_lon")
        if end is not None and ("end_lat" in v or "end_lon" in v):
            data["end"] = end
        shift = {k: v[f"shift_{k}"] for k in ("start", "end") if f"shift_{k}" in v}
        if shift:
            data["shift"] = shift
        brk = {k: v[f"break_{k}"] for k in ("earliest", "latest", "minutes") if f"break_{k}" in v}
        if brk:
            if len(brk) < 3:
                miss = next(k for k in ("earliest", "latest", "minutes") if k not in brk)
                row_errs.append(ErrorItem(f"{where}, column {shown.get('break_' + miss, 'break_' + miss)}",
                                          "a break needs earliest, latest and minutes"))
            else:
                data["break"] = brk
        if extra:
            data["attributes"] = extra
        return data, row_errs

    return _read_models(table, Rep, col_of, build)


def read_roles(
    path: Path | str, mapping: Mapping[str, str] | None = None, *, sheet: str | int | None = None
) -> list[Role]:
    """Read the org's roles (levels, costs, productivity) for a staffing problem from CSV or Excel.

    Parameters
    ----------
    path
        The table (template: ``datasets/templates/roles.csv``).
    mapping
        The user's column names -> ours.
    sheet
        Excel sheet name or index.

    Returns
    -------
    list of Role
        One role per non-blank row.

    Raises
    ------
    InputError
        Every problem of every row, by row and column.
    """
    table = read_rows(path, ROLE_COLUMNS, mapping, sheet=sheet)
    shown = table[3]
    simple = ("id", "level", "monthly_cost", "hiring_cost", "attrition", "max_hires_per_month", "current", "scope",
              "ramp")

    def col_of(loc: tuple[Any, ...]) -> str:
        head = str(loc[0]) if loc else ""
        ours = str(loc[1]) if head == "produces" and len(loc) > 1 else head
        ours = {"activity": "activity", "per_month": "per_month"}.get(ours, ours)
        return shown.get(ours, ours)

    def build(v: dict[str, Any], _extra: dict[str, str], where: str) -> tuple[dict[str, Any], list[ErrorItem]]:
        data: dict[str, Any] = {k: v[k] for k in simple if k in v}
        row_errs: list[ErrorItem] = []
        if ("activity" in v) != ("per_month" in v):
            miss = "per_month" if "activity" in v else "activity"
            row_errs.append(ErrorItem(f"{where}, column {shown.get(miss, miss)}", "give both activity and per_month"))
        elif "activity" in v:
            data["produces"] = {"activity": v["activity"], "per_month": v["per_month"]}
        return data, row_errs

    return _read_models(table, Role, col_of, build)


def _hhmm(m: float) -> str:
    t = round(m)
    return f"{t // 60:02d}:{t % 60:02d}"


def _sorted(errors: list[ErrorItem]) -> list[ErrorItem]:
    def key(e: ErrorItem) -> tuple[int, str]:
        m = re.search(r" row (\d+)", e.path)
        return (int(m.group(1)) if m else 0, e.path)

    return sorted(errors, key=key)


__all__ = [
    "OUTLET_COLUMNS",
    "REP_COLUMNS",
    "ROLE_COLUMNS",
    "CellError",
    "Column",
    "load_table",
    "read_outlets",
    "read_reps",
    "read_roles",
    "read_rows",
]
