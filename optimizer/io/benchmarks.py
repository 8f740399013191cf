"""Readers of the public routing benchmark formats: Solomon VRPTW and Cordeau PVRP (type 1).

Both keep the instance's own customer numbers as outlet ids (strings), put every rep's start and
end at the depot, minimise ``distance`` and use unrounded euclidean travel at speed 1 (one
coordinate unit per minute), i.e. the double-precision convention of the published best-known
values.

Solomon
    ``NUMBER`` identical vehicles (reps ``v1..vN``) of ``CAPACITY``, one day; a rep's shift is the
    depot's ``[READY TIME, DUE DATE]``; each customer has one window ``[READY TIME, DUE DATE]`` on
    the start of service, its ``SERVICE TIME`` and ``DEMAND``.
Cordeau PVRP (type 1)
    ``m`` identical vehicles each day (reps ``v1..vm`` working every day) over ``t`` days; day
    limits ``D`` (max route duration, 0 = none -> ``max_route_minutes``) and ``Q`` (capacity);
    per customer service ``d``, demand ``q``, frequency ``f`` and the allowed visit combinations,
    (``f = 0`` with combinations all of one size, as customer 131 of p11, takes that size),
    each the decimal value of a ``t``-bit string with day 1 as the most significant bit, decoded
    into explicit ``patterns``. Horizon: ``t <= 7`` -> one week of the first ``t`` weekday names;
    ``t > 7`` -> ``weeks x days`` with ``weeks <= 4`` and ``days <= 7`` (e.g. 10 = 2 x 5, 8 = 2 x 4),
    horizon day ``k - 1`` being the instance's day ``k``. Shifts are ``[0, H]`` with ``H`` an upper
    bound of any route's duration, so they never bind; ``same_rep`` is off (any vehicle any day).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from optimizer.errors import ErrorItem, InputError
from optimizer.model.routes import WEEKDAYS, RoutesProblem

FORMATS = ("solomon", "cordeau-pvrp")


def _fail(source: str, line: int | None, message: str) -> InputError:
    return InputError([ErrorItem(f"line {line}" if line is not None else "", message)], source)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputError([ErrorItem("", f"cannot read {path.name}: {exc.strerror}")], path.name) from None


def _num(tok: str, source: str, line: int, what: str) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise _fail(source, line, f"{what}: {tok!r} is not a number") from None
    if not math.isfinite(v):
        raise _fail(source, line, f"{what}: {tok!r} is not a finite number")
    return v


def _int(tok: str, source: str, line: int, what: str) -> int:
    v = _num(tok, source, line, what)
    if v != int(v):
        raise _fail(source, line, f"{what}: {tok!r} is not an integer")
    return int(v)


def _build(data: dict[str, Any], source: str) -> RoutesProblem:
    from optimizer.model import parse

    p = parse("routes", data, source=source)
    assert isinstance(p, RoutesProblem)
    return p


# ---------------------------------------------------------------------------------------------
# Solomon
# ---------------------------------------------------------------------------------------------


def read_solomon(path: str | Path) -> RoutesProblem:
    """Read a Solomon VRPTW instance.

    Parameters
    ----------
    path
        The instance file (e.g. ``C101.txt``).

    Returns
    -------
    RoutesProblem
        One-day problem: reps ``v1..vN`` at the depot, outlets ``"1".."n"``, objective ``distance``.

    Raises
    ------
    InputError
        When the file cannot be read or a line is malformed (the error names the line).
    """
    path = Path(path)
    src = path.name
    lines = _read_lines(path)
    name = next((ln.strip() for ln in lines if ln.strip()), path.stem)
    vehicles: tuple[int, float] | None = None
    rows: list[tuple[int, list[float]]] = []
    section = ""
    for no, raw in enumerate(lines, start=1):
        toks = raw.split()
        if not toks:
            continue
        head = toks[0].upper()
        if head in ("VEHICLE", "CUSTOMER"):
            section = head
            continue
        if head in ("NUMBER", "CUST"):  # column captions
            continue
        if section == "VEHICLE" and vehicles is None:
            if len(toks) != 2:
                raise _fail(src, no, f"expected 'NUMBER CAPACITY', got {raw.strip()!r}")
            vehicles = (_int(toks[0], src, no, "NUMBER"), _num(toks[1], src, no, "CAPACITY"))
        elif section == "CUSTOMER":
            if len(toks) != 7:
                raise _fail(src, no, f"expected 7 numbers (CUST NO. X Y DEMAND READY DUE SERVICE), got {len(toks)}")
            cols = ("CUST NO.", "XCOORD.", "YCOORD.", "DEMAND", "READY TIME", "DUE DATE", "SERVICE TIME")
            rows.append((no, [_num(t, src, no, c) for t, c in zip(toks, cols, strict=True)]))
        elif section == "":
            if no > 1:
                raise _fail(src, no, f"unexpected text {raw.strip()!r} before the VEHICLE section")
        else:
            raise _fail(src, no, f"unexpected text {raw.strip()!r} in the {section} section")
    if vehicles is None:
        raise _fail(src, None, "no VEHICLE section with 'NUMBER CAPACITY'")
    if not rows:
        raise _fail(src, None, "no CUSTOMER rows")
    depot_line, depot = rows[0]
    if int(depot[0]) != 0:
        raise _fail(src, depot_line, f"the first node must be the depot 0, got {depot[0]:g}")
    errs: list[ErrorItem] = []
    seen: set[int] = set()
    outlets: list[dict[str, Any]] = []
    for no, r in rows[1:]:
        cid = int(r[0])
        if cid != r[0] or cid <= 0 or cid in seen:
            errs.append(ErrorItem(f"line {no}", f"bad or duplicate customer number {r[0]:g}"))
            continue
        seen.add(cid)
        for k, what in ((3, "DEMAND"), (4, "READY TIME"), (5, "DUE DATE"), (6, "SERVICE TIME")):
            if r[k] < 0:
                errs.append(ErrorItem(f"line {no}", f"{what} {r[k]:g} is negative"))
        if r[4] >= r[5]:
            errs.append(ErrorItem(f"line {no}", f"READY TIME {r[4]:g} is not before DUE DATE {r[5]:g}"))
        outlets.append({
            "id": str(cid),
            "location": {"x": r[1], "y": r[2]},
            "service_minutes": max(r[6], 0.0),
            "time_windows": [[max(r[4], 0.0), max(r[5], 0.0)]],
            "demand": max(r[3], 0.0),
        })
    n_veh, cap = vehicles
    if n_veh < 1:
        errs.append(ErrorItem("line ?", f"NUMBER of vehicles {n_veh} must be at least 1"))
    if depot[4] >= depot[5] or depot[4] < 0:
        errs.append(ErrorItem(f"line {depot_line}", f"depot window [{depot[4]:g}, {depot[5]:g}] is not a valid shift"))
    if errs:
        raise InputError(errs, src)
    depot_loc = {"x": depot[1], "y": depot[2]}
    reps = [
        {"id": f"v{k}", "start": depot_loc, "shift": {"start": depot[4], "end": depot[5]}, "capacity": cap}
        for k in range(1, n_veh + 1)
    ]
    data = {
        "name": name,
        "horizon": {"weeks": 1, "days": ["mon"]},
        "objective": "distance",
        "same_rep": False,
        "travel": {"metric": "euclidean", "speed": 1},
        "reps": reps,
        "outlets": outlets,
    }
    return _build(data, src)


# ---------------------------------------------------------------------------------------------
# Cordeau PVRP
# ---------------------------------------------------------------------------------------------


def horizon_for_days(t: int) -> tuple[int, int]:
    """``(weeks, days_per_week)`` representing ``t`` horizon days, or raise ``ValueError``.

    ``t <= 7`` gives one week; otherwise the factorisation with the most days per week
    (``<= 7``) and at most 4 weeks.
    """
    if 1 <= t <= 7:
        return 1, t
    for d in range(7, 1, -1):
        if t % d == 0 and t // d <= 4:
            return t // d, d
    raise ValueError(f"{t} days cannot be written as weeks (1..4) x days per week (1..7)")


def decode_pattern(code: int, t: int) -> list[int]:
    """Horizon day indices (0-based) of a Cordeau combination code (day 1 = most significant bit)."""
    return [j for j in range(t) if (code >> (t - 1 - j)) & 1]


def read_cordeau_pvrp(path: str | Path) -> RoutesProblem:
    """Read a Cordeau PVRP instance (type 1, no time windows).

    Parameters
    ----------
    path
        The instance file (e.g. ``p01`` or ``pr01``).

    Returns
    -------
    RoutesProblem
        Reps ``v1..vm`` working every day of a ``t``-day horizon, outlets ``"1".."n"`` with
        their decoded ``patterns``, objective ``distance``.

    Raises
    ------
    InputError
        When the file cannot be read, a line is malformed, the type is not 1, or ``t`` cannot be
        expressed as a horizon (the error names the line).
    """
    path = Path(path)
    src = path.name
    lines = _read_lines(path)
    toks: list[tuple[str, int]] = [(tok, no) for no, raw in enumerate(lines, start=1) for tok in raw.split()]
    pos = 0

    def take(what: str) -> tuple[str, int]:
        nonlocal pos
        if pos >= len(toks):
            last = toks[-1][1] if toks else 1
            raise _fail(src, last, f"file ends early: expected {what}")
        tok = toks[pos]
        pos += 1
        return tok

    def take_int(what: str) -> tuple[int, int]:
        tok, no = take(what)
        return _int(tok, src, no, what), no

    def take_num(what: str) -> tuple[float, int]:
        tok, no = take(what)
        return _num(tok, src, no, what), no

    typ, no = take_int("type")
    if typ != 1:
        raise _fail(src, no, f"problem type {typ} is not supported (only type 1, the PVRP)")
    m, no_m = take_int("m (vehicles per day)")
    n, no_n = take_int("n (customers)")
    t, no_t = take_int("t (days)")
    if m < 1:
        raise _fail(src, no_m, f"m = {m} vehicles per day must be at least 1")
    if n < 1:
        raise _fail(src, no_n, f"n = {n} customers must be at least 1")
    if t < 1:
        raise _fail(src, no_t, f"t = {t} days must be at least 1")
    try:
        weeks, per_week = horizon_for_days(t)
    except ValueError as exc:
        raise _fail(src, no_t, f"t = {t}: {exc}") from None

    limits: list[tuple[float, float, int]] = []
    for day in range(1, t + 1):
        d_max, no = take_num(f"D (max duration) of day {day}")
        q_cap, _ = take_num(f"Q (capacity) of day {day}")
        if d_max < 0 or q_cap < 0:
            raise _fail(src, no, f"day {day}: D {d_max:g} and Q {q_cap:g} must not be negative")
        limits.append((d_max, q_cap, no))
    d_max, q_cap, _ = limits[0]
    for d2, q2, no in limits[1:]:
        if (d2, q2) != (d_max, q_cap):
            raise _fail(src, no, f"day limits D={d2:g} Q={q2:g} differ from day 1 (D={d_max:g} Q={q_cap:g}); "
                                 "per-day limits are not supported")

    errs: list[ErrorItem] = []
    nodes: list[dict[str, Any]] = []
    for k in range(n + 1):
        i, no = take_int("customer number")
        if i != k:
            raise _fail(src, no, f"expected node {k}, got {i}")
        x, _ = take_num(f"x of node {i}")
        y, _ = take_num(f"y of node {i}")
        d, _ = take_num(f"service duration d of node {i}")
        q, _ = take_num(f"demand q of node {i}")
        f, _ = take_int(f"frequency f of node {i}")
        a, _ = take_int(f"number of combinations a of node {i}")
        codes = [take_int(f"combination {c + 1} of node {i}") for c in range(max(a, 0))]
        if k == 0:
            nodes.append({"x": x, "y": y})
            continue
        where = f"line {no}"
        if d < 0 or q < 0:
            errs.append(ErrorItem(where, f"customer {i}: service {d:g} and demand {q:g} must not be negative"))
        sizes = {bin(c).count("1") for c, _ in codes if 1 <= c < 2**t}
        if f == 0 and len(sizes) == 1:
            # p11 customer 131 has f = 0 but one-day combinations: its combinations define it
            f = sizes.pop()
        if not 1 <= f <= t:
            errs.append(ErrorItem(where, f"customer {i}: frequency {f} is outside 1..{t}"))
        if a < 1:
            errs.append(ErrorItem(where, f"customer {i}: needs at least one visit combination, got {a}"))
        patterns: list[list[int]] = []
        for code, cno in codes:
            if not 1 <= code < 2**t:
                errs.append(ErrorItem(f"line {cno}", f"customer {i}: combination {code} is not a {t}-bit day set"))
                continue
            pat = decode_pattern(code, t)
            if len(pat) != f:
                errs.append(ErrorItem(f"line {cno}", f"customer {i}: combination {code} = days "
                                      f"{[j + 1 for j in pat]} has {len(pat)} days but f = {f}"))
                continue
            patterns.append(pat)
        nodes.append({"id": str(i), "location": {"x": x, "y": y}, "service_minutes": max(d, 0.0),
                      "demand": max(q, 0.0), "visits": max(f, 1), "patterns": patterns})
    if pos < len(toks):
        errs.append(ErrorItem(f"line {toks[pos][1]}", f"unexpected data after the {n} customers: {toks[pos][0]!r}"))
    if errs:
        raise InputError(errs, src)

    depot = nodes[0]
    outlets = nodes[1:]
    # a shift no route can exceed: serving every customer on its own round trip
    horizon_end = sum(
        2.0 * math.hypot(o["location"]["x"] - depot["x"], o["location"]["y"] - depot["y"]) + o["service_minutes"]
        for o in outlets
    )
    horizon_end = float(math.ceil(max(horizon_end, d_max) + 1.0))
    rep: dict[str, Any] = {"start": {"x": depot["x"], "y": depot["y"]}, "shift": {"start": 0.0, "end": horizon_end},
                           "capacity": q_cap}
    if d_max > 0:
        rep["max_route_minutes"] = d_max
    data = {
        "name": path.name,
        "horizon": {"weeks": weeks, "days": list(WEEKDAYS[:per_week])},
        "objective": "distance",
        "same_rep": False,
        "travel": {"metric": "euclidean", "speed": 1},
        "reps": [{"id": f"v{k}", **rep} for k in range(1, m + 1)],
        "outlets": outlets,
    }
    return _build(data, src)


def read_cordeau_res(path: str | Path) -> tuple[float, list[tuple[int, int, list[str]]]]:
    """Read a Cordeau ``.res`` solution file.

    Parameters
    ----------
    path
        The solution file: first line the cost, then ``day vehicle duration load 0 c1 ... 0`` per route.

    Returns
    -------
    tuple
        ``(cost, routes)`` with routes as ``(day index from 0, vehicle number, [outlet ids])``.
    """
    path = Path(path)
    src = path.name
    lines = [(no, ln.split()) for no, ln in enumerate(_read_lines(path), start=1) if ln.strip()]
    if not lines:
        raise _fail(src, None, "empty solution file")
    no, first = lines[0]
    cost = _num(first[0], src, no, "cost")
    routes: list[tuple[int, int, list[str]]] = []
    for no, toks in lines[1:]:
        if len(toks) < 6:
            raise _fail(src, no, "expected 'day vehicle duration load 0 c1 ... 0'")
        day = _int(toks[0], src, no, "day")
        veh = _int(toks[1], src, no, "vehicle")
        seq = [_int(x, src, no, "customer") for x in toks[4:]]
        if seq[0] != 0 or seq[-1] != 0:
            raise _fail(src, no, "a route must start and end at the depot 0")
        routes.append((day - 1, veh, [str(c) for c in seq[1:-1]]))
    return cost, routes


def read_routes_benchmark(path: str | Path, fmt: str) -> RoutesProblem:
    """Read a routing benchmark instance in ``fmt``.

    Parameters
    ----------
    path
        The instance file.
    fmt
        ``"solomon"`` or ``"cordeau-pvrp"``.

    Returns
    -------
    RoutesProblem
        The problem (see :func:`read_solomon` and :func:`read_cordeau_pvrp`).

    Raises
    ------
    InputError
        Unknown format, unreadable file or malformed content.
    """
    if fmt == "solomon":
        return read_solomon(path)
    if fmt == "cordeau-pvrp":
        return read_cordeau_pvrp(path)
    raise InputError([ErrorItem("format", f"unknown benchmark format {fmt!r}; use one of {', '.join(FORMATS)}")])


__all__ = [
    "FORMATS",
    "decode_pattern",
    "horizon_for_days",
    "read_cordeau_pvrp",
    "read_cordeau_res",
    "read_routes_benchmark",
    "read_solomon",
]
