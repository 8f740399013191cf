"""Small result writers for ``GET /v1/jobs/{id}/result?format=csv|geojson``.

CSV: routes -> one row per stop (rep, day, seq, outlet, arrival, start, end); territories -> (unit, territory).
GeoJSON: routes and territories when the problem's locations are lat/lon or x/y.
"""

from __future__ import annotations

import csv
import io
from typing import Any

FORMATS: dict[str, set[str]] = {"csv": {"routes", "territories"}, "geojson": {"routes", "territories"}}


class FormatError(ValueError):
    """The format does not apply to this job."""


def _coords(loc: dict[str, Any] | None) -> list[float] | None:
    if not isinstance(loc, dict):
        return None
    if loc.get("lat") is not None and loc.get("lon") is not None:
        return [float(loc["lon"]), float(loc["lat"])]  # GeoJSON order: lon, lat
    if loc.get("x") is not None and loc.get("y") is not None:
        return [float(loc["x"]), float(loc["y"])]
    return None


def to_csv(kind: str, result: dict[str, Any]) -> str:
    """CSV text of a routes or territories solution.

    Parameters
    ----------
    kind
        ``routes`` or ``territories``.
    result
        The solution JSON.

    Returns
    -------
    str
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if kind == "routes":
        w.writerow(["rep", "day", "seq", "outlet", "arrival", "start", "end"])
        for r in result.get("routes", []):
            for seq, s in enumerate(r.get("stops", []), start=1):
                w.writerow([r["rep"], r["day"], seq, s["outlet"], s["arrival"], s["start"], s["end"]])
    elif kind == "territories":
        w.writerow(["unit", "territory"])
        for unit, terr in result.get("assignment", {}).items():
            w.writerow([unit, terr])
    else:
        raise FormatError(f"csv is available for routes and territories, not {kind}")
    return buf.getvalue()


def to_geojson(kind: str, problem: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """GeoJSON FeatureCollection of a routes or territories solution.

    Routes: one LineString per route (start, stops, end) and one Point per stop. Territories: one
    Point per unit with its territory.

    Raises
    ------
    FormatError
        For other kinds or when the problem has no coordinates.
    """
    feats: list[dict[str, Any]] = []
    if kind == "routes":
        outlets = {str(o.get("id")): _coords(o.get("location")) for o in problem.get("outlets", [])}
        reps = {str(r.get("id")): r for r in problem.get("reps", [])}
        for r in result.get("routes", []):
            rep = reps.get(str(r["rep"]), {})
            start = _coords(rep.get("start"))
            end = _coords(rep.get("end")) or start
            pts = [outlets.get(str(s["outlet"])) for s in r.get("stops", [])]
            if start is None or any(p is None for p in pts):
                raise FormatError("the problem's locations have no coordinates")
            line = [start, *pts, end]
            feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": line},
                          "properties": {"rep": r["rep"], "day": r["day"], "stops": len(pts),
                                         "distance_km": r.get("distance_km")}})
            for seq, (s, p) in enumerate(zip(r.get("stops", []), pts, strict=True), start=1):
                feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": p},
                              "properties": {"rep": r["rep"], "day": r["day"], "seq": seq, "outlet": s["outlet"],
                                             "start": s["start"], "end": s["end"]}})
    elif kind == "territories":
        units = {str(u.get("id")): _coords(u.get("location")) for u in problem.get("units", [])}
        for unit, terr in result.get("assignment", {}).items():
            p = units.get(str(unit))
            if p is None:
                raise FormatError("the problem's locations have no coordinates")
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": p},
                          "properties": {"unit": unit, "territory": terr}})
    else:
        raise FormatError(f"geojson is available for routes and territories, not {kind}")
    return {"type": "FeatureCollection", "features": feats}
