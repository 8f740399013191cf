"""GeoJSON of routes and territories, and the per-rep colours shared by every map.

Features (``properties.kind``):

* ``territory``: the convex hull (Polygon) of a territory's outlets, or a MultiPoint when they
  are fewer than three or collinear; ``territory``, ``rep``, ``outlets``, ``colour``.
* ``route``: a LineString start -> visits -> end of one rep on one day; ``rep``, ``day``,
  ``day_name``, ``visits``, ``distance_km``, ``colour``.
* ``outlet``: a Point per outlet; ``outlet``, ``territory``, ``rep``, ``days`` (visit days).
* ``rep``: a Point per rep's start location.

Coordinates are ``[lon, lat]`` (GeoJSON order); planar problems put ``[x, y]``.
"""

from __future__ import annotations

import colorsys
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.model.common import Location
from optimizer.model.routes import RoutesProblem, RoutesSolution

_TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")


def rep_colours(rep_ids: Sequence[str]) -> dict[str, str]:
    """A distinct hex colour per rep, stable for a given rep order.

    Up to ten reps get the ``tab10`` palette; more get evenly spaced hues.
    """
    ids = list(dict.fromkeys(rep_ids))
    if len(ids) <= len(_TAB10):
        return {r: _TAB10[k] for k, r in enumerate(ids)}
    out = {}
    for k, r in enumerate(ids):
        h = k / len(ids)
        rgb = colorsys.hsv_to_rgb(h, 0.75 if k % 2 else 0.95, 0.85 if k % 3 else 0.65)
        out[r] = "#" + "".join(f"{round(c * 255):02x}" for c in rgb)
    return out


def xy(loc: Location) -> tuple[float, float]:
    """Map coordinates of a location: ``(lon, lat)`` or ``(x, y)``."""
    if loc.is_geo:
        assert loc.lat is not None and loc.lon is not None
        return (loc.lon, loc.lat)
    a, b = loc.coords()
    return (a, b)


def outlet_owner(problem: RoutesProblem, solution: RoutesSolution) -> dict[str, str]:
    """Outlet -> rep making its visits (its pinned rep when it has no visit planned)."""
    owner: dict[str, str] = {}
    for r in solution.routes:
        for s in r.stops:
            owner.setdefault(s.outlet, r.rep)
    for o in problem.outlets:
        if o.id not in owner and o.rep is not None:
            owner[o.id] = o.rep
    return owner


def hull(points: np.ndarray) -> list[tuple[float, float]] | None:
    """Convex hull of 2-D points as a closed ring, or None when degenerate."""
    pts = np.unique(np.asarray(points, dtype=float), axis=0)
    if len(pts) < 3:
        return None
    from scipy.spatial import ConvexHull, QhullError

    try:
        h = ConvexHull(pts)
    except QhullError:
        return None
    ring = [(float(pts[i, 0]), float(pts[i, 1])) for i in h.vertices]
    return [*ring, ring[0]]


def routes_geojson(
    problem: RoutesProblem,
    solution: RoutesSolution,
    *,
    territory_of: Mapping[str, str] | None = None,
    rep_of_territory: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the territories, the routes, the outlets and the reps.

    Parameters
    ----------
    problem, solution
        The routes problem and its plan.
    territory_of
        Outlet -> territory id (default: the rep making the outlet's visits).
    rep_of_territory
        Territory -> rep id (default: the territory id itself when it is a rep, else the rep of
        most of its outlets).

    Returns
    -------
    dict
        A JSON-ready FeatureCollection (one ``territory`` feature per territory, one ``route``
        feature per route).
    """
    owner = outlet_owner(problem, solution)
    terr = dict(territory_of) if territory_of is not None else dict(owner)
    rep_ids = [r.id for r in problem.reps]
    colours = rep_colours(rep_ids)
    rot = _rep_of_territory(terr, owner, rep_ids, rep_of_territory)
    loc = {o.id: o.location for o in problem.outlets}
    features: list[dict[str, Any]] = []
    members: dict[str, list[str]] = defaultdict(list)
    for o in problem.outlets:
        if o.id in terr:
            members[terr[o.id]].append(o.id)
    for t in sorted(members):
        pts = np.array([xy(loc[i]) for i in members[t]])
        ring = hull(pts)
        geom: dict[str, Any] = (
            {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}
            if ring is not None
            else {"type": "MultiPoint", "coordinates": [list(map(float, p)) for p in pts]}
        )
        rep = rot.get(t)
        features.append({
            "type": "Feature",
            "geometry": geom,
            "properties": {"kind": "territory", "territory": t, "rep": rep, "outlets": len(members[t]),
                           "colour": colours.get(rep or "", "#555555")},
        })
    reps = {r.id: r for r in problem.reps}
    for route in sorted(solution.routes, key=lambda r: (rep_ids.index(r.rep), r.day)):
        who = reps[route.rep]
        line = [xy(who.start)] + [xy(loc[s.outlet]) for s in route.stops] + [xy(who.end_location)]
        features.append({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [list(p) for p in line]},
            "properties": {"kind": "route", "rep": route.rep, "day": route.day,
                           "day_name": problem.horizon.day_name(route.day), "visits": len(route.stops),
                           "distance_km": round(route.distance_km, 3), "colour": colours[route.rep]},
        })
    days: dict[str, list[int]] = defaultdict(list)
    for route in solution.routes:
        for s in route.stops:
            days[s.outlet].append(route.day)
    for o in problem.outlets:
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(xy(o.location))},
            "properties": {"kind": "outlet", "outlet": o.id, "territory": terr.get(o.id), "rep": owner.get(o.id),
                           "days": sorted(days.get(o.id, [])), "visits": o.visits},
        })
    for r in problem.reps:
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(xy(r.start))},
            "properties": {"kind": "rep", "rep": r.id, "colour": colours[r.id]},
        })
    return {"type": "FeatureCollection", "features": features}


def _rep_of_territory(
    terr: Mapping[str, str],
    owner: Mapping[str, str],
    rep_ids: Sequence[str],
    given: Mapping[str, str] | None,
) -> dict[str, str]:
    if given is not None:
        return dict(given)
    out: dict[str, str] = {}
    votes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for o, t in terr.items():
        if t in rep_ids:
            out[t] = t
        elif o in owner:
            votes[t][owner[o]] += 1
    for t, v in votes.items():
        if t not in out:
            out[t] = max(sorted(v), key=lambda r: v[r])
    return out


def write_geojson(data: dict[str, Any], path: Path) -> Path:
    """Write a FeatureCollection to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path
