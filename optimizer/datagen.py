"""Deterministic generator of realistic field-sales instances (routes, territories, staffing).

Everything is drawn from one ``numpy.random.default_rng(seed)``: the same arguments give the same
JSON, byte for byte.

Outlets
-------
* ``layout="city"``: a city of radius ~25 km around a real-looking centre, with 15-30 Gaussian
  neighbourhoods (centres denser towards the middle, spreads 0.4-2.5 km, sizes log-normal).
* ``layout="region"``: 8-16 towns 20-150 km apart around the regional capital; town sizes follow a
  Zipf law (weight ~ 1/rank) and a town's spread grows with its size.
* Revenue is Pareto-distributed (shape 1.16, the "80/20" law, truncated at 200x the minimum so one
  outlet cannot dominate a small instance). Segments by cumulative revenue, largest first:
  **A** the outlets making the first 50 % of revenue, **B** up to 80 %, **C** up to 95 %, **D** the rest.
* Visit policy (:data:`VISITS_PER_WEEK`): A 2/week, B 1/week, C every 2 weeks, D every 4 weeks;
  visits per horizon = ``ceil(weeks * rate)``, so in a 1-week horizon C and D outlets get one visit
  (a 1-week plan cannot express "every 2 weeks"); use ``weeks=4`` for the full policy.
* Service minutes by segment (:data:`SERVICE_MINUTES`): A 30, B 20, C 15, D 10 (prospects 25).
* Opening hours by outlet type (:data:`OUTLET_TYPES`); pharmacies and traditional shops close for
  lunch (two windows).
* About 5 % of A/B outlets are key accounts pinned to the rep whose home is nearest; about 3 % of
  the outlets are optional prospects (one visit) worth ``value`` in objective units (minutes).
* Reps live near the centres of a workload-balanced k-means of the outlets (equal work, compact
  areas), work 08:30-17:30 with a 30 or 45 minute lunch break inside 12:00-14:00. Travel is
  haversine with detour 1.3 at 30 km/h in a city, 50 km/h in a region.

Territories
-----------
Units are the same outlets (same seed, same layout -> the same points as the routes instance):
``workload`` = visit hours per week (service plus ~10 min travel per visit), ``potential`` = yearly
revenue potential; ``current`` is a plausible, unbalanced historical alignment (nearest of
perturbed centres); territories carry the reps' homes as fixed centres.

Staffing
--------
The five-level sales system: commercial director (level 1, shared), direction heads (2), account
managers (3), telesales (4) and assistants (5); a funnel ``call -> conversation (1/30) -> meeting
-> proposal -> deal`` per direction, monthly plans with seasonality, monthly revenue from existing
clients, inbound leads, costs, ramp-up, attrition and spans of control.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np

from optimizer.errors import ErrorItem, InputError

Layout = Literal["city", "region"]

#: Visits per week by segment (C every 2 weeks, D every 4 weeks).
VISITS_PER_WEEK: dict[str, float] = {"A": 2.0, "B": 1.0, "C": 0.5, "D": 0.25}
#: Service minutes by segment.
SERVICE_MINUTES: dict[str, float] = {"A": 30.0, "B": 20.0, "C": 15.0, "D": 10.0, "prospect": 25.0}
#: Cumulative revenue cut-offs of segments A, B, C (D is the rest).
SEGMENT_CUTOFFS: tuple[float, float, float] = (0.50, 0.80, 0.95)
#: Outlet types: (share, opening windows as "HH:MM" pairs).
OUTLET_TYPES: dict[str, tuple[float, list[tuple[str, str]]]] = {
    "supermarket": (0.20, [("08:00", "22:00")]),
    "grocery": (0.30, [("09:00", "20:00")]),
    "kiosk": (0.15, [("07:00", "19:00")]),
    "pharmacy": (0.10, [("09:00", "13:00"), ("14:00", "19:00")]),
    "traditional": (0.15, [("09:00", "13:00"), ("15:00", "19:00")]),
    "horeca": (0.10, [("10:00", "16:00")]),
}
#: Real-looking centres (lat, lon) the generator picks from.
CENTRES: tuple[tuple[str, float, float], ...] = (
    ("Lyon", 45.7640, 4.8357),
    ("Kazan", 55.7963, 49.1088),
    ("Leipzig", 51.3397, 12.3731),
    ("Porto", 41.1579, -8.6291),
    ("Krakow", 50.0647, 19.9450),
    ("Turin", 45.0703, 7.6869),
)
KM_PER_DEG = 6371.0 * math.pi / 180.0  # 111.195 km per degree of latitude on the R = 6371.0 sphere

#: Demo set written by ``python datasets/generate.py``.
DEMO: dict[str, Any] = {"n_outlets": 440, "n_reps": 6, "weeks": 1, "layout": "city", "seed": 9}


# ---------------------------------------------------------------------------------------------
# geometry
# ---------------------------------------------------------------------------------------------


def _recentre(pts: np.ndarray, w: np.ndarray, lab: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Weighted centroid of each cluster (a cluster with no points keeps its centre)."""
    new = c.copy()
    for j in range(len(c)):
        m = lab == j
        if m.any():
            new[j] = (pts[m] * w[m, None]).sum(0) / w[m].sum()
    return new


def _to_latlon(xy: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Local km offsets (east, north) around (lat0, lon0) -> (lat, lon) degrees."""
    lat = lat0 + xy[:, 1] / KM_PER_DEG
    lon = lon0 + xy[:, 0] / (KM_PER_DEG * math.cos(math.radians(lat0)))
    return np.column_stack([lat, lon])


def _city_points(rng: np.random.Generator, n: int, radius: float = 25.0) -> np.ndarray:
    """``n`` points (km offsets) in Gaussian neighbourhoods of a city of ``radius`` km."""
    k = int(rng.integers(15, 31))
    r = radius * rng.uniform(0.0, 1.0, k) ** 0.8
    a = rng.uniform(0.0, 2 * math.pi, k)
    centres = np.column_stack([r * np.cos(a), r * np.sin(a)])
    spread = rng.uniform(0.4, 2.5, k)
    weight = rng.lognormal(0.0, 0.6, k) * (1.5 - r / radius)  # the middle is denser
    which = rng.choice(k, size=n, p=weight / weight.sum())
    pts = centres[which] + rng.normal(0.0, 1.0, (n, 2)) * spread[which, None]
    # keep the city round: pull the rare far outliers back inside 1.2 x radius
    d = np.hypot(pts[:, 0], pts[:, 1])
    far = d > 1.2 * radius
    pts[far] *= (1.2 * radius / d[far])[:, None]
    return pts


def _region_points(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` points (km offsets) in Zipf-sized towns 20-150 km apart."""
    k = int(rng.integers(8, 17))
    towns = [np.zeros(2)]
    tries = 0
    while len(towns) < k and tries < 10_000:
        tries += 1
        cand = rng.uniform(-130.0, 130.0, 2)
        d = [float(np.hypot(*(cand - t))) for t in towns]
        if min(d) >= 20.0 and min(d) <= 150.0 and float(np.hypot(*cand)) <= 150.0:
            towns.append(cand)
    centres = np.array(towns)
    k = len(centres)
    weight = 1.0 / np.arange(1, k + 1)  # the capital (index 0) is the largest
    spread = 1.0 + 5.0 * np.sqrt(weight / weight[0])
    which = rng.choice(k, size=n, p=weight / weight.sum())
    return centres[which] + rng.normal(0.0, 1.0, (n, 2)) * spread[which, None]


def _kmeans(rng: np.random.Generator, pts: np.ndarray, w: np.ndarray, k: int, iters: int = 30) -> np.ndarray:
    """Weighted k-means (k-means++ seeding, Lloyd iterations); returns the k centres."""
    n = len(pts)
    k = min(k, n)
    centres = [pts[int(rng.choice(n, p=w / w.sum()))]]
    for _ in range(1, k):
        d2 = np.min(((pts[:, None, :] - np.array(centres)[None, :, :]) ** 2).sum(-1), axis=1) * w
        total = d2.sum()
        p = d2 / total if total > 0 else np.full(n, 1.0 / n)
        centres.append(pts[int(rng.choice(n, p=p))])
    c = np.array(centres)
    for _ in range(iters):
        lab = np.argmin(((pts[:, None, :] - c[None, :, :]) ** 2).sum(-1), axis=1)
        new = _recentre(pts, w, lab, c)
        if np.allclose(new, c):
            break
        c = new
    return c


# ---------------------------------------------------------------------------------------------
# outlets
# ---------------------------------------------------------------------------------------------


def _check_args(n: int, k: int, weeks: int | None, layout: str, n_name: str, k_name: str) -> None:
    errs: list[ErrorItem] = []
    if n < 1:
        errs.append(ErrorItem(n_name, f"must be at least 1 (got {n})"))
    if k < 1:
        errs.append(ErrorItem(k_name, f"must be at least 1 (got {k})"))
    elif n >= 1 and k > n:
        errs.append(ErrorItem(k_name, f"{k} is more than the {n} points"))
    if weeks is not None and not 1 <= weeks <= 4:
        errs.append(ErrorItem("weeks", f"must be 1..4 (got {weeks})"))
    if layout not in ("city", "region"):
        errs.append(ErrorItem("layout", f"use city or region (got {layout!r})"))
    if errs:
        raise InputError(errs)


def _segments(revenue: np.ndarray) -> list[str]:
    """ABCD segment of each outlet by cumulative revenue share (largest first)."""
    order = np.argsort(-revenue, kind="stable")
    share_before = (np.cumsum(revenue[order]) - revenue[order]) / revenue.sum()
    seg = np.empty(len(revenue), dtype=object)
    for idx, s in zip(order, share_before, strict=True):
        if s < SEGMENT_CUTOFFS[0]:
            seg[idx] = "A"
        elif s < SEGMENT_CUTOFFS[1]:
            seg[idx] = "B"
        elif s < SEGMENT_CUTOFFS[2]:
            seg[idx] = "C"
        else:
            seg[idx] = "D"
    return [str(x) for x in seg]


def visits_for(segment: str, weeks: int) -> int:
    """Visits per horizon of a segment under the default policy (at least one).

    Parameters
    ----------
    segment
        ``A``, ``B``, ``C`` or ``D`` (anything else: one visit per horizon).
    weeks
        Horizon length in weeks.

    Returns
    -------
    int
        ``ceil(weeks * VISITS_PER_WEEK[segment])``, at least 1.
    """
    rate = VISITS_PER_WEEK.get(segment)
    if rate is None:
        return 1
    return max(1, math.ceil(weeks * rate - 1e-9))


class _Outlets:
    """Raw outlet data shared by the routes and territories instances."""

    def __init__(self, n: int, layout: Layout, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.city, lat0, lon0 = CENTRES[int(rng.integers(len(CENTRES)))]
        self.lat0, self.lon0 = lat0, lon0
        self.layout = layout
        self.rng = rng
        self.xy = _city_points(rng, n) if layout == "city" else _region_points(rng, n)
        self.latlon = _to_latlon(self.xy, lat0, lon0)
        raw = (rng.pareto(1.16, n) + 1.0).clip(max=200.0)
        self.revenue = np.round(raw * 6000.0, -2)  # yearly revenue, currency units
        self.segment = _segments(self.revenue)
        names = list(OUTLET_TYPES)
        shares = np.array([OUTLET_TYPES[t][0] for t in names])
        self.type = [names[int(i)] for i in rng.choice(len(names), size=n, p=shares / shares.sum())]
        width = len(str(n))
        self.ids = [f"O{i + 1:0{width}d}" for i in range(n)]


def _loc(latlon: np.ndarray) -> dict[str, float]:
    return {"lat": round(float(latlon[0]), 6), "lon": round(float(latlon[1]), 6)}


def _balance_centres(pts: np.ndarray, w: np.ndarray, c: np.ndarray, iters: int = 12, slack: float = 1.05) -> np.ndarray:
    """Move k-means centres so that each carries about the same workload (a balanced k-means).

    Each round assigns points greedily by regret (second-best minus best squared distance) to the
    nearest centre that still has room (``slack`` x the mean workload), then moves every centre to
    the weighted centroid of its points. This is how a sales manager would place reps: equal work,
    compact areas. Deterministic.
    """
    k = len(c)
    if k < 2:
        return c
    c = c.copy()
    cap = slack * w.sum() / k
    for _ in range(iters):
        d2 = ((pts[:, None, :] - c[None, :, :]) ** 2).sum(-1)
        srt = np.sort(d2, axis=1)
        order = np.argsort(-(srt[:, 1] - srt[:, 0]), kind="stable")
        prefs = np.argsort(d2, axis=1, kind="stable")
        load = np.zeros(k)
        lab = np.empty(len(pts), dtype=np.int64)
        for i in order:
            j = next((int(j) for j in prefs[i] if load[j] + w[i] <= cap), int(np.argmin(load)))
            lab[i] = j
            load[j] += w[i]
        new = _recentre(pts, w, lab, c)
        if np.allclose(new, c):
            break
        c = new
    return c


def _homes(o: _Outlets, n_reps: int, weights: np.ndarray) -> np.ndarray:
    """Rep homes (km offsets): centres of workload-balanced areas, moved a little (people live off the high street)."""
    c = _balance_centres(o.xy, weights, _kmeans(o.rng, o.xy, weights, n_reps))
    jitter = 0.8 if o.layout == "city" else 3.0
    return c + o.rng.normal(0.0, jitter, c.shape)


def routes_instance(
    n_outlets: int = 400, n_reps: int = 6, weeks: int = 1, layout: Layout = "city", seed: int = 0
) -> dict[str, Any]:
    """A realistic weekly routes problem (JSON-ready data of a :class:`RoutesProblem`).

    Parameters
    ----------
    n_outlets
        Number of outlets (including the ~3 % optional prospects).
    n_reps
        Number of field reps.
    weeks
        Horizon length (1-4 weeks, Monday-Friday).
    layout
        ``"city"`` (one city, 25 km radius) or ``"region"`` (towns 20-150 km apart).
    seed
        Random seed; the same arguments give the same data.

    Returns
    -------
    dict
        Data that :func:`optimizer.model.parse` accepts as ``"routes"``.

    Raises
    ------
    InputError
        When the sizes, weeks or layout are out of range.
    """
    _check_args(n_outlets, n_reps, weeks, layout, "n_outlets", "n_reps")
    o = _Outlets(n_outlets, layout, seed)
    rng = o.rng
    n_prospects = round(0.03 * n_outlets) if n_outlets >= 30 else 0
    prospect = np.zeros(n_outlets, dtype=bool)
    if n_prospects:
        prospect[rng.choice(n_outlets, size=n_prospects, replace=False)] = True
    visits = np.array([1 if prospect[i] else visits_for(o.segment[i], weeks) for i in range(n_outlets)])
    service = np.array(
        [SERVICE_MINUTES["prospect"] if prospect[i] else SERVICE_MINUTES[o.segment[i]] for i in range(n_outlets)]
    )
    homes_xy = _homes(o, n_reps, visits * (service + 10.0))
    homes = _to_latlon(homes_xy, o.lat0, o.lon0)
    nearest = np.argmin(((o.xy[:, None, :] - homes_xy[None, :, :]) ** 2).sum(-1), axis=1)
    rep_ids = [f"R{j + 1}" for j in range(n_reps)]

    reps = []
    for j in range(n_reps):
        minutes = int(rng.choice([30, 45]))
        latest = 14 * 60 - minutes  # the break lies inside 12:00-14:00
        reps.append(
            {
                "id": rep_ids[j],
                "start": _loc(homes[j]),
                "shift": {"start": "08:30", "end": "17:30"},
                "break": {"earliest": "12:00", "latest": f"{latest // 60:02d}:{latest % 60:02d}", "minutes": minutes},
            }
        )
    outlets = []
    for i in range(n_outlets):
        seg = "prospect" if prospect[i] else o.segment[i]
        item: dict[str, Any] = {
            "id": o.ids[i],
            "location": _loc(o.latlon[i]),
            "visits": int(visits[i]),
            "service_minutes": float(service[i]),
            "time_windows": [list(w) for w in OUTLET_TYPES[o.type[i]][1]],
            "segment": seg,
        }
        if prospect[i]:
            item["optional"] = True
            item["value"] = float(rng.integers(20, 61))
        elif seg in ("A", "B") and rng.random() < 0.05:
            item["rep"] = rep_ids[int(nearest[i])]
        item["attributes"] = {"type": o.type[i], "revenue": float(o.revenue[i])}
        outlets.append(item)
    speed = 30.0 if layout == "city" else 50.0
    return {
        "name": f"{o.city} {layout}: {n_outlets} outlets, {n_reps} reps, {weeks} week{'s' if weeks > 1 else ''}"
        f" (seed {seed})",
        "horizon": {"weeks": weeks, "days": ["mon", "tue", "wed", "thu", "fri"]},
        "objective": "duration",
        "reps": reps,
        "outlets": outlets,
        "travel": {"metric": "haversine", "speed_kmh": speed, "detour": 1.3},
    }


def territories_instance(
    n_units: int = 400, n_territories: int = 6, seed: int = 0, layout: Layout = "city"
) -> dict[str, Any]:
    """A territories problem built on the same outlets as :func:`routes_instance`.

    Parameters
    ----------
    n_units
        Number of units (outlets).
    n_territories
        Number of territories (reps).
    seed
        Random seed; the same seed and layout give the same points as the routes instance.
    layout
        ``"city"`` or ``"region"``.

    Returns
    -------
    dict
        Data that :func:`optimizer.model.parse` accepts as ``"territories"``.
    """
    _check_args(n_units, n_territories, None, layout, "n_units", "n_territories")
    o = _Outlets(n_units, layout, seed)
    rng = o.rng
    per_week = np.array([VISITS_PER_WEEK[s] for s in o.segment])
    service = np.array([SERVICE_MINUTES[s] for s in o.segment])
    workload = per_week * (service + 10.0) / 60.0  # hours a week, ~10 min travel per visit
    potential = o.revenue * rng.uniform(1.1, 1.8, n_units)
    homes_xy = _homes(o, n_territories, workload)
    homes = _to_latlon(homes_xy, o.lat0, o.lon0)
    # today's alignment: drawn long ago around other centres, so it is unbalanced
    scale = 4.0 if layout == "city" else 25.0
    old = homes_xy + rng.normal(0.0, scale, homes_xy.shape)
    current = np.argmin(((o.xy[:, None, :] - old[None, :, :]) ** 2).sum(-1), axis=1)
    tids = [f"T{j + 1}" for j in range(n_territories)]
    units = [
        {
            "id": o.ids[i],
            "location": _loc(o.latlon[i]),
            "workload": round(float(workload[i]), 3),
            "potential": round(float(potential[i]), -2),
            "current": tids[int(current[i])],
            "segment": o.segment[i],
            "attributes": {"type": o.type[i]},
        }
        for i in range(n_units)
    ]
    return {
        "name": f"{o.city} {layout}: {n_units} units, {n_territories} territories (seed {seed})",
        "units": units,
        "territories": [{"id": tids[j], "center": _loc(homes[j])} for j in range(n_territories)],
        "balance": {"workload": 0.10, "potential": 0.20},
        "travel": {"metric": "haversine", "speed_kmh": 30.0 if layout == "city" else 50.0, "detour": 1.3},
    }


# ---------------------------------------------------------------------------------------------
# staffing
# ---------------------------------------------------------------------------------------------

_DIRECTIONS = ("retail", "horeca", "industry", "public", "logistics")


def staffing_instance(months: int = 12, n_directions: int = 3, seed: int = 0) -> dict[str, Any]:
    """A five-level sales-system staffing problem (JSON-ready data of a :class:`StaffingProblem`).

    Levels: commercial director (1, shared), direction heads (2), account managers (3, hold
    meetings), telesales (4, make cold calls), assistants (5, support account managers). Funnel per
    direction: ``call -> conversation`` (about 1/30) ``-> meeting -> proposal -> deal``; plans are
    monthly with seasonality; revenue from existing clients is monthly.

    Parameters
    ----------
    months
        Horizon in months (1-60).
    n_directions
        Industry directions (1-5).
    seed
        Random seed.

    Returns
    -------
    dict
        Data that :func:`optimizer.model.parse` accepts as ``"staffing"``.
    """
    errs = []
    if not 1 <= months <= 60:
        errs.append(ErrorItem("months", f"must be 1..60 (got {months})"))
    if not 1 <= n_directions <= len(_DIRECTIONS):
        errs.append(ErrorItem("n_directions", f"must be 1..{len(_DIRECTIONS)} (got {n_directions})"))
    if errs:
        raise InputError(errs)
    rng = np.random.default_rng(seed)
    season = 1.0 + 0.15 * np.sin(2 * math.pi * (np.arange(months) - 2) / 12.0)  # spring/autumn peaks
    directions = []
    for d in range(n_directions):
        avg_deal = float(np.round(rng.uniform(8_000, 40_000), -2))
        deals_per_month = float(rng.uniform(10, 30))
        new_rev = avg_deal * deals_per_month
        base = new_rev * float(rng.uniform(0.3, 0.8))
        directions.append(
            {
                "id": _DIRECTIONS[d],
                "plan": [round(float(new_rev + base) * float(s), -2) for s in season],
                "avg_deal": avg_deal,
                "cycle_months": int(rng.integers(1, 4)),
                "funnel": [
                    {"stage": "call", "rate": 1.0},
                    {"stage": "conversation", "rate": round(float(rng.uniform(1 / 40, 1 / 25)), 4), "rate_sd": 0.005},
                    {"stage": "meeting", "rate": round(float(rng.uniform(0.2, 0.35)), 3), "rate_sd": 0.04},
                    {"stage": "proposal", "rate": round(float(rng.uniform(0.4, 0.6)), 3), "rate_sd": 0.05},
                    {"stage": "deal", "rate": round(float(rng.uniform(0.2, 0.35)), 3), "rate_sd": 0.04},
                ],
                "base_revenue": [round(base, -2)] * months,
                "inbound_per_month": float(rng.integers(20, 80)),
                "inbound_stage": "conversation",
            }
        )
    names = [str(d["id"]) for d in directions]

    def current(lo: int, hi: int) -> dict[str, int]:
        return {n: int(rng.integers(lo, hi + 1)) for n in names}

    roles = [
        {"id": "commercial_director", "level": 1, "monthly_cost": 15_000.0, "hiring_cost": 30_000.0,
         "ramp": [0.5, 0.8], "attrition": 0.01, "max_hires_per_month": 1, "current": 1, "scope": "shared"},
        {"id": "direction_head", "level": 2, "monthly_cost": 9_000.0, "hiring_cost": 18_000.0,
         "ramp": [0.5, 0.8], "attrition": 0.015, "max_hires_per_month": 1, "current": current(1, 1)},
        {"id": "account_manager", "level": 3, "monthly_cost": 5_000.0, "hiring_cost": 6_000.0,
         "ramp": [0.3, 0.6, 0.85], "attrition": 0.025, "max_hires_per_month": 3, "current": current(1, 4),
         "produces": {"activity": "meeting", "per_month": 40.0}},
        {"id": "telesales", "level": 4, "monthly_cost": 2_500.0, "hiring_cost": 2_000.0,
         "ramp": [0.5, 0.8], "attrition": 0.05, "max_hires_per_month": 5, "current": current(2, 8),
         "produces": {"activity": "call", "per_month": 1_100.0}},
        {"id": "assistant", "level": 5, "monthly_cost": 2_000.0, "hiring_cost": 1_500.0,
         "ramp": [0.7], "attrition": 0.03, "max_hires_per_month": 2, "current": current(0, 1)},
    ]
    structure = [
        {"role": "commercial_director", "manages": "direction_head", "span": 6},
        {"role": "direction_head", "manages": "account_manager", "span": 8},
        {"role": "direction_head", "manages": "telesales", "span": 12},
        {"role": "assistant", "supports": "account_manager", "ratio": 6},
    ]
    return {
        "name": f"five-level sales system: {n_directions} directions, {months} months (seed {seed})",
        "months": months,
        "directions": directions,
        "roles": roles,
        "structure": structure,
        "objective": "min_cost",
    }


def estimate_utilisation(data: dict[str, Any]) -> float:
    """Rough share of the reps' working time a routes instance needs (service + travel).

    Every required visit goes to the rep whose start is nearest (or its pinned rep); each rep's
    visits are cut into working days by angle around the rep's home (a sweep) and each day is
    toured nearest-neighbour from the home and back. Time windows and waiting are ignored, and a
    nearest-neighbour tour is ~20-25 % longer than an optimal one, so this is a planning figure,
    not a bound.

    Parameters
    ----------
    data
        A routes instance from :func:`routes_instance` (haversine travel, one shift per rep).

    Returns
    -------
    float
        Needed minutes / available minutes (shift minus break) over all rep-days.
    """
    from optimizer.travel import haversine_km

    travel = data["travel"]
    factor = travel["detour"] / travel["speed_kmh"] * 60.0
    n_days = data["horizon"]["weeks"] * len(data["horizon"]["days"])
    reps = data["reps"]
    home = np.array([[r["start"]["lat"], r["start"]["lon"]] for r in reps])
    rep_pos = {r["id"]: j for j, r in enumerate(reps)}
    jobs: list[list[tuple[np.ndarray, float]]] = [[] for _ in reps]
    for o in data["outlets"]:
        if o.get("optional"):
            continue
        pt = np.array([o["location"]["lat"], o["location"]["lon"]])
        j = rep_pos[o["rep"]] if "rep" in o else int(np.argmin(haversine_km(home[:, 0], home[:, 1], pt[0], pt[1])))
        jobs[j].extend([(pt, float(o.get("service_minutes", 0.0)))] * int(o.get("visits", 1)))
    need = 0.0
    avail = 0.0
    for j, r in enumerate(reps):
        shift = _hhmm(r["shift"]["end"]) - _hhmm(r["shift"]["start"])
        avail += n_days * (shift - (r["break"]["minutes"] if "break" in r else 0.0))
        if not jobs[j]:
            continue
        pts = np.array([p for p, _ in jobs[j]])
        need += sum(s for _, s in jobs[j])
        ang = np.arctan2(pts[:, 0] - home[j, 0], pts[:, 1] - home[j, 1])
        for day in np.array_split(np.argsort(ang, kind="stable"), n_days):
            left = [int(k) for k in day]
            cur = home[j]
            while left:
                d = haversine_km(cur[0], cur[1], pts[left, 0], pts[left, 1])
                k = int(np.argmin(d))
                need += float(d[k]) * factor
                cur = pts[left.pop(k)]
            need += float(haversine_km(cur[0], cur[1], home[j, 0], home[j, 1])) * factor
    return need / avail if avail > 0 else math.inf


def _hhmm(v: str | float) -> float:
    if isinstance(v, str):
        h, m = v.split(":")
        return int(h) * 60.0 + int(m)
    return float(v)


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------


def dumps(data: dict[str, Any]) -> str:
    """Deterministic JSON text of an instance (2-space indent, trailing newline)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write(
    kind: str,
    output: Path,
    *,
    n: int = 400,
    reps: int = 6,
    weeks: int = 1,
    layout: str = "city",
    seed: int = 0,
) -> list[Path]:
    """Generate an instance and write it as JSON.

    Parameters
    ----------
    kind
        ``routes``, ``territories``, ``staffing`` or ``demo`` (all three into the folder ``output``,
        named ``routes.json``, ``territories.json`` and ``staffing.json``).
    output
        File to write (a folder for ``demo``); parent folders are created.
    n
        Outlets (routes) or units (territories).
    reps
        Reps (routes) or territories.
    weeks
        Horizon weeks (routes).
    layout
        ``city`` or ``region``.
    seed
        Random seed.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    InputError
        For an unknown kind or out-of-range sizes.
    """
    lay: Layout = "region" if layout == "region" else "city"
    if layout not in ("city", "region"):
        raise InputError([ErrorItem("layout", f"use city or region (got {layout!r})")])
    output = Path(output)
    if kind == "demo":
        output.mkdir(parents=True, exist_ok=True)
        files = {
            "routes.json": routes_instance(n, reps, weeks, lay, seed),
            "territories.json": territories_instance(n, reps, seed, lay),
            "staffing.json": staffing_instance(12, 3, seed),
        }
        written = []
        for name, data in files.items():
            path = output / name
            path.write_text(dumps(data), encoding="utf-8")
            written.append(path)
        return written
    if kind == "routes":
        data = routes_instance(n, reps, weeks, lay, seed)
    elif kind == "territories":
        data = territories_instance(n, reps, seed, lay)
    elif kind == "staffing":
        data = staffing_instance(12, 3, seed)
    else:
        raise InputError([ErrorItem("kind", f"unknown kind {kind!r}; use routes, territories, staffing or demo")])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(dumps(data), encoding="utf-8")
    return [output]
