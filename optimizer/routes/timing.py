"""Exact (floating-point) timing of one route once its order is fixed.

The routing backends work in scaled integers with travel times rounded up; this module
re-times every route in exact arithmetic following the semantics of
:mod:`optimizer.model.routes`: a forward pass with the earliest feasible service starts, then a
backward pass that pushes the departure as late as possible to cut waiting. With a break, every
gap of the route is tried and the shortest feasible schedule is kept.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Tolerance (minutes) of every time comparison.
EPS = 1e-7


@dataclass(frozen=True)
class VehicleSpec:
    """What the timing needs to know about one rep on one day (local node indices).

    Parameters
    ----------
    start_node, end_node
        Local node index of the start and end location.
    shift_start, shift_end
        Shift bounds in minutes from midnight.
    brk
        ``(earliest, latest, minutes)`` of the break, or None.
    max_route_minutes
        Longest route (end - start), or None.
    max_visits
        Most stops, or None.
    capacity
        Capacity, or None.
    """

    start_node: int
    end_node: int
    shift_start: float
    shift_end: float
    brk: tuple[float, float, float] | None = None
    max_route_minutes: float | None = None
    max_visits: int | None = None
    capacity: float | None = None


@dataclass(frozen=True)
class Schedule:
    """A timed route: departure, per-stop (arrival, start, end), return, break, travel totals."""

    start: float
    end: float
    stops: list[tuple[float, float, float]]
    brk: tuple[float, float] | None
    travel_minutes: float
    distance_km: float
    service_minutes: float

    @property
    def waiting_minutes(self) -> float:
        """Route duration minus travel, service and break minutes."""
        b = (self.brk[1] - self.brk[0]) if self.brk else 0.0
        return max(0.0, (self.end - self.start) - self.travel_minutes - self.service_minutes - b)


def _earliest(windows: Sequence[tuple[float, float]], t: float) -> tuple[float, float] | None:
    """Earliest service start >= t inside a window, and that window's close."""
    if not windows:
        return t, float("inf")
    for a, b in windows:
        if t <= b + EPS:
            return (max(t, a), b)
    return None


def _forward(
    dep: float,
    seq: Sequence[int],
    v: VehicleSpec,
    tmat: FloatArray,
    service: Sequence[float],
    windows: Sequence[Sequence[tuple[float, float]]],
    gap: int,
) -> tuple[list[tuple[float, float, float]], list[float], float, float | None] | None:
    """Forward pass from departure ``dep`` with the break in ``gap`` (-1: no break).

    Returns (stops, closes, end, break_start) or None when infeasible.
    """
    t = dep
    prev = v.start_node
    stops: list[tuple[float, float, float]] = []
    closes: list[float] = []
    bstart: float | None = None
    k = len(seq)
    for i in range(k + 1):
        node = seq[i] if i < k else v.end_node
        tau = float(tmat[prev, node])
        if i == gap and v.brk is not None:
            e_, l_, m_ = v.brk
            bs = max(t, e_)
            if bs > l_ + EPS:
                return None
            bstart = bs
            arr = max(t + tau + m_, bs + m_)
        else:
            arr = t + tau
        if i == k:
            if arr > v.shift_end + EPS:
                return None
            return stops, closes, arr, bstart
        es = _earliest(windows[node], arr)
        if es is None:
            return None
        s, close = es
        stops.append((arr, s, s + service[node]))
        closes.append(close)
        t = s + service[node]
        prev = node
    return None  # pragma: no cover


def _latest_departure(
    seq: Sequence[int],
    v: VehicleSpec,
    tmat: FloatArray,
    service: Sequence[float],
    closes: Sequence[float],
    end: float,
    gap: int,
) -> float:
    """Latest departure that still reaches the end at ``end`` (backward pass over latest starts)."""
    k = len(seq)
    m_ = v.brk[2] if v.brk is not None else 0.0
    l_ = v.brk[1] if v.brk is not None else float("inf")
    nxt = end
    nxt_node = v.end_node
    for i in range(k - 1, -1, -1):
        node = seq[i]
        extra = m_ if gap == i + 1 else 0.0
        latest_end = nxt - float(tmat[node, nxt_node]) - extra
        if gap == i + 1:
            latest_end = min(latest_end, l_)
        nxt = min(closes[i], latest_end - service[node])
        nxt_node = node
    extra = m_ if gap == 0 else 0.0
    dep = nxt - float(tmat[v.start_node, nxt_node]) - extra
    if gap == 0:
        dep = min(dep, l_)
    return dep


#: With a break, the gaps nearest the break window are tried first; the others only if none fits.
NEAR_GAPS = 3
#: Gaps tried at most before a route with a break is declared infeasible.
MAX_GAPS = 5


def _gap_order(
    seq: Sequence[int],
    v: VehicleSpec,
    tmat: FloatArray,
    service: Sequence[float],
    windows: Sequence[Sequence[tuple[float, float]]],
) -> list[int]:
    """Every gap index, those whose no-break timing lies nearest the break window first."""
    assert v.brk is not None
    e_, l_, m_ = v.brk
    vb = VehicleSpec(v.start_node, v.end_node, v.shift_start, float("inf"))
    fw = _forward(v.shift_start, seq, vb, tmat, service, windows, -1)
    k = len(seq)
    if fw is None:
        return []  # a break only delays: infeasible without it means infeasible with it
    stops, _, end, _ = fw
    edges = [v.shift_start] + [x for st in stops for x in (st[1], st[2])] + [end]

    def dist(g: int) -> float:
        g0, g1 = edges[2 * g], edges[2 * g + 1]
        return max(0.0, e_ - g1, g0 - (l_ + m_))

    return sorted(range(k + 1), key=lambda g: (dist(g), g))


def schedule_route(
    seq: Sequence[int],
    v: VehicleSpec,
    tmat: FloatArray,
    kmat: FloatArray,
    service: Sequence[float],
    windows: Sequence[Sequence[tuple[float, float]]],
    demand: Sequence[float] | None = None,
) -> Schedule | None:
    """Time a route exactly, or return None when no feasible timing exists.

    Parameters
    ----------
    seq
        Local outlet node indices in visiting order (non-empty).
    v
        The rep's day (start/end nodes, shift, break, limits).
    tmat, kmat
        Local travel minutes and km.
    service, windows, demand
        Per local node: service minutes, merged time windows (empty = any time), demand.

    Returns
    -------
    Schedule or None
        The shortest schedule found (departure pushed as late as possible), or None.
    """
    if v.max_visits is not None and len(seq) > v.max_visits:
        return None
    if v.capacity is not None and demand is not None and sum(demand[o] for o in seq) > v.capacity + 1e-9:
        return None
    gaps: list[int] = [-1]
    if v.brk is not None:
        gaps = _gap_order(seq, v, tmat, service, windows)
    best: tuple[float, float, list[tuple[float, float, float]], float, float | None] | None = None
    for n_tried, g in enumerate(gaps):
        if n_tried >= (NEAR_GAPS if best is not None else MAX_GAPS):
            break  # the gaps nearest the break window were tried (a conservative cut: may miss rare fits)
        fw = _forward(v.shift_start, seq, v, tmat, service, windows, g)
        if fw is None:
            continue
        _, closes, end, _ = fw
        dep = max(v.shift_start, _latest_departure(seq, v, tmat, service, closes, end, g))
        fw2 = _forward(dep, seq, v, tmat, service, windows, g)
        if fw2 is None:  # numerical corner: keep the earliest schedule
            fw2, dep = fw, v.shift_start
        stops2, _, end2, bs2 = fw2
        dur = end2 - dep
        if v.max_route_minutes is not None and dur > v.max_route_minutes + EPS:
            continue
        if best is None or dur < best[0] - 1e-9:
            best = (dur, dep, stops2, end2, bs2)
    if best is None:
        return None
    _, dep, stops, end, bs = best
    nodes = [v.start_node, *seq, v.end_node]
    travel = float(sum(tmat[a, b] for a, b in itertools.pairwise(nodes)))
    dist = float(sum(kmat[a, b] for a, b in itertools.pairwise(nodes)))
    brk = None
    if v.brk is not None and bs is not None:
        brk = (bs, bs + v.brk[2])
    return Schedule(dep, end, stops, brk, travel, dist, float(sum(service[o] for o in seq)))
