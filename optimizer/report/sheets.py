"""Route sheets: one row per planned visit (per rep, per day), as CSV and Excel.

A row holds the outlet, its name/address (from the outlet's ``attributes``), location (``lat``/``lon``
columns; x/y for planar problems), arrival,
service start/end, opening windows, service minutes and the travel (minutes, km) from the
previous place (the rep's start for the first visit). The per-day table adds the return leg, so
that a day's ``distance_km`` is the sum of its visits' ``km_from_previous`` plus ``return_km``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from optimizer.model.common import fmt_time
from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.travel import TravelModel

VISIT_COLUMNS: tuple[str, ...] = (
    "rep", "day", "day_name", "seq", "outlet", "name", "address", "lat", "lon", "arrival", "start", "end",
    "window", "service_minutes", "travel_minutes_from_previous", "km_from_previous", "wait_minutes",
)
DAY_COLUMNS: tuple[str, ...] = (
    "rep", "day", "day_name", "leave", "back", "visits", "distance_km", "travel_minutes", "service_minutes",
    "waiting_minutes", "break", "return_km", "return_minutes",
)


def _coords(loc: Any) -> tuple[float, float]:
    a, b = loc.coords()
    return float(a), float(b)


def visit_rows(problem: RoutesProblem, solution: RoutesSolution) -> list[dict[str, Any]]:
    """One dict per planned visit, ordered by rep (problem order), day and sequence.

    Parameters
    ----------
    problem
        The routes problem the solution answers.
    solution
        The plan.

    Returns
    -------
    list of dict
        Keys :data:`VISIT_COLUMNS`; times as ``HH:MM``, minutes and km rounded to 0.1.
    """
    rows, _ = _rows(problem, solution)
    return rows


def day_rows(problem: RoutesProblem, solution: RoutesSolution) -> list[dict[str, Any]]:
    """One dict per route (rep, day) with its totals and return leg; keys :data:`DAY_COLUMNS`."""
    _, days = _rows(problem, solution)
    return days


def _rows(problem: RoutesProblem, solution: RoutesSolution) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tm = TravelModel.for_routes(problem)
    oidx = {o.id: k for k, o in enumerate(problem.outlets)}
    ridx = {r.id: k for k, r in enumerate(problem.reps)}
    visits: list[dict[str, Any]] = []
    days: list[dict[str, Any]] = []
    for route in sorted(solution.routes, key=lambda r: (ridx.get(r.rep, 1 << 30), r.rep, r.day)):
        ri = ridx[route.rep]
        prev = tm.rep_node(ri, start=True)
        t_prev = route.start
        for seq, stop in enumerate(route.stops, start=1):
            o = problem.outlets[oidx[stop.outlet]]
            node = oidx[stop.outlet]
            leg_min, leg_km = tm.minutes(prev, node), tm.km(prev, node)
            a, b = _coords(o.location)
            wins = problem.windows(o)
            visits.append({
                "rep": route.rep,
                "day": route.day,
                "day_name": problem.horizon.day_name(route.day),
                "seq": seq,
                "outlet": o.id,
                "name": str(o.attributes.get("name", "")),
                "address": str(o.attributes.get("address", "")),
                "lat": round(a, 6),
                "lon": round(b, 6),
                "arrival": fmt_time(stop.arrival),
                "start": fmt_time(stop.start),
                "end": fmt_time(stop.end),
                "window": ", ".join(f"{fmt_time(w0)}-{fmt_time(w1)}" for w0, w1 in wins) or "any time",
                "service_minutes": round(stop.end - stop.start, 1),
                "travel_minutes_from_previous": round(leg_min, 1),
                "km_from_previous": round(leg_km, 2),
                "wait_minutes": round(max(0.0, stop.arrival - t_prev - leg_min) + (stop.start - stop.arrival), 1),
            })
            prev, t_prev = node, stop.end
        end_node = tm.rep_node(ri, start=False)
        back_min, back_km = tm.minutes(prev, end_node), tm.km(prev, end_node)
        brk = route.break_
        days.append({
            "rep": route.rep,
            "day": route.day,
            "day_name": problem.horizon.day_name(route.day),
            "leave": fmt_time(route.start),
            "back": fmt_time(route.end),
            "visits": len(route.stops),
            "distance_km": round(route.distance_km, 2),
            "travel_minutes": round(route.travel_minutes, 1),
            "service_minutes": round(route.service_minutes, 1),
            "waiting_minutes": round(route.waiting_minutes, 1),
            "break": f"{fmt_time(brk.start)}-{fmt_time(brk.end)}" if brk is not None else "",
            "return_km": round(back_km, 2),
            "return_minutes": round(back_min, 1),
        })
    return visits, days


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "rep"


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns))
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})


def route_sheets_csv(problem: RoutesProblem, solution: RoutesSolution, out_dir: Path) -> list[Path]:
    """Write ``<rep>.csv`` (that rep's visits, day by day) for every rep with routes, and ``days.csv``.

    Parameters
    ----------
    problem
        The routes problem.
    solution
        The plan.
    out_dir
        Folder (created when missing).

    Returns
    -------
    list of Path
        The files written, the per-rep sheets first.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    visits, days = _rows(problem, solution)
    written: list[Path] = []
    reps = list(dict.fromkeys(r["rep"] for r in visits))
    for rep in reps:
        p = out_dir / f"{_safe(rep)}.csv"
        _write_csv(p, VISIT_COLUMNS, [r for r in visits if r["rep"] == rep])
        written.append(p)
    p = out_dir / "days.csv"
    _write_csv(p, DAY_COLUMNS, days)
    written.append(p)
    return written


def route_sheets_xlsx(problem: RoutesProblem, solution: RoutesSolution, path: Path) -> Path:
    """Write one workbook: a ``days`` sheet, then one sheet per rep with its visits day by day.

    Parameters
    ----------
    problem
        The routes problem.
    solution
        The plan.
    path
        The ``.xlsx`` file to write.

    Returns
    -------
    Path
        ``path``.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    visits, days = _rows(problem, solution)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "days"
    _fill(ws, DAY_COLUMNS, days, Font(bold=True))
    used: set[str] = {"days"}
    for rep in dict.fromkeys(r["rep"] for r in visits):
        title = _safe(rep)[:31]
        while title in used:
            title = title[:28] + f"_{len(used)}"
        used.add(title)
        _fill(wb.create_sheet(title), VISIT_COLUMNS, [r for r in visits if r["rep"] == rep], Font(bold=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _fill(ws: Any, columns: Sequence[str], rows: list[dict[str, Any]], bold: Any) -> None:
    ws.append(list(columns))
    for c in ws[1]:
        c.font = bold
    for r in rows:
        ws.append([r.get(c, "") for c in columns])
    ws.freeze_panes = "A2"
    for k, col in enumerate(columns):
        width = max([len(col)] + [len(str(r.get(col, ""))) for r in rows[:200]])
        ws.column_dimensions[ws.cell(row=1, column=k + 1).column_letter].width = min(40, width + 2)
