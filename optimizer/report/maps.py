"""Maps of territories and routes: a static PNG (matplotlib, Agg) and an interactive HTML (folium).

Each rep has one colour (:func:`optimizer.report.geo.rep_colours`) used for its territory, its
outlets and its routes; days are told apart by line style (PNG) or by layer (HTML).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.report.geo import routes_geojson

_DASHES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 2)), (0, (8, 3)))


def png_map(
    problem: RoutesProblem,
    solution: RoutesSolution,
    path: Path,
    *,
    territory_of: Mapping[str, str] | None = None,
    rep_of_territory: Mapping[str, str] | None = None,
    title: str | None = None,
    dpi: int = 110,
) -> dict[str, str]:
    """Draw territories (hulls), outlets and routes, coloured per rep, to a PNG file.

    Parameters
    ----------
    problem, solution
        The routes problem and its plan.
    path
        The ``.png`` to write.
    territory_of, rep_of_territory
        As in :func:`optimizer.report.geo.routes_geojson`.
    title
        Figure title.
    dpi
        Resolution.

    Returns
    -------
    dict
        Rep -> hex colour used (only reps drawn on the map).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    gj = routes_geojson(problem, solution, territory_of=territory_of, rep_of_territory=rep_of_territory)
    fig = Figure(figsize=(9, 8), dpi=dpi)
    ax = fig.add_subplot(111)
    used: dict[str, str] = {}
    outlet_colour: dict[str, str] = {}
    for f in gj["features"]:
        p, g = f["properties"], f["geometry"]
        if p["kind"] == "territory":
            colour = p["colour"]
            if p.get("rep"):
                used[p["rep"]] = colour
            if g["type"] == "Polygon":
                xs, ys = zip(*g["coordinates"][0], strict=True)
                ax.fill(xs, ys, color=colour, alpha=0.12, lw=0)
                ax.plot(xs, ys, color=colour, lw=1.0, alpha=0.6)
        elif p["kind"] == "route":
            xs, ys = zip(*g["coordinates"], strict=True)
            ax.plot(xs, ys, color=p["colour"], lw=1.6, ls=_DASHES[p["day"] % len(_DASHES)], alpha=0.9)
            used[p["rep"]] = p["colour"]
        elif p["kind"] == "rep":
            outlet_colour[p["rep"]] = p["colour"]
    pts_by_colour: dict[str, list[tuple[float, float]]] = {}
    grey: list[tuple[float, float]] = []
    for f in gj["features"]:
        p = f["properties"]
        if p["kind"] == "outlet":
            c = outlet_colour.get(p.get("rep") or "")
            (pts_by_colour.setdefault(c, []) if c else grey).append(tuple(f["geometry"]["coordinates"]))
    for c, pts in pts_by_colour.items():
        xs, ys = zip(*pts, strict=True)
        ax.scatter(xs, ys, s=14, color=c, edgecolors="none", zorder=3)
    if grey:
        xs, ys = zip(*grey, strict=True)
        ax.scatter(xs, ys, s=14, color="#000000", marker="x", zorder=3, label="not planned")
    for f in gj["features"]:
        p = f["properties"]
        if p["kind"] == "rep" and p["rep"] in used:
            x, y = f["geometry"]["coordinates"]
            ax.scatter([x], [y], s=120, marker="*", color=p["colour"], edgecolors="black", linewidths=0.6, zorder=4)
    handles = [Line2D([0], [0], color=c, lw=3, label=r) for r, c in used.items()]
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8, title="rep", ncols=2 if len(handles) > 8 else 1)
    geo = bool(problem.outlets) and problem.outlets[0].location.is_geo
    if geo:
        mid_lat = sum(o.location.lat or 0.0 for o in problem.outlets) / len(problem.outlets)
        import math

        ax.set_aspect(1.0 / max(0.1, math.cos(math.radians(mid_lat))))
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
    else:
        ax.set_aspect("equal")
    ax.set_title(title or problem.name or "territories and routes")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close("all")
    return used


def folium_map(
    problem: RoutesProblem,
    solution: RoutesSolution,
    path: Path,
    *,
    territory_of: Mapping[str, str] | None = None,
    rep_of_territory: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Path:
    """Write an interactive HTML map: a layer per territory and per rep-day route, outlet pop-ups.

    Parameters
    ----------
    problem, solution
        The routes problem and its plan (lat/lon locations; planar problems use a simple CRS).
    path
        The ``.html`` to write.
    territory_of, rep_of_territory
        As in :func:`optimizer.report.geo.routes_geojson`.
    title
        Shown in the page title.

    Returns
    -------
    Path
        ``path``.
    """
    import folium

    gj = routes_geojson(problem, solution, territory_of=territory_of, rep_of_territory=rep_of_territory)
    geo = bool(problem.outlets) and problem.outlets[0].location.is_geo
    pts = [f["geometry"]["coordinates"] for f in gj["features"] if f["properties"]["kind"] == "outlet"]
    cx = sum(p[0] for p in pts) / max(1, len(pts))
    cy = sum(p[1] for p in pts) / max(1, len(pts))
    m = folium.Map(location=[cy, cx], zoom_start=11, tiles="OpenStreetMap" if geo else None,
                   crs="EPSG3857" if geo else "Simple")
    rep_colour = {f["properties"]["rep"]: f["properties"]["colour"]
                  for f in gj["features"] if f["properties"]["kind"] == "rep"}
    terr_layer = folium.FeatureGroup(name="territories")
    for f in gj["features"]:
        p = f["properties"]
        if p["kind"] != "territory":
            continue
        folium.GeoJson(
            f,
            style_function=lambda _f, c=p["colour"]: {"color": c, "fillColor": c, "weight": 1, "fillOpacity": 0.12},
            tooltip=f"territory {p['territory']} (rep {p.get('rep')}, {p['outlets']} outlets)",
        ).add_to(terr_layer)
    terr_layer.add_to(m)
    for f in gj["features"]:
        p = f["properties"]
        if p["kind"] != "route":
            continue
        layer = folium.FeatureGroup(name=f"{p['rep']} {p['day_name']}")
        latlon = [[c[1], c[0]] for c in f["geometry"]["coordinates"]]
        tip = f"{p['rep']} {p['day_name']}: {p['visits']} visits, {p['distance_km']:.1f} km"
        folium.PolyLine(latlon, color=p["colour"], weight=3, opacity=0.85, tooltip=tip).add_to(layer)
        layer.add_to(m)
    outlets = folium.FeatureGroup(name="outlets")
    for f in gj["features"]:
        p = f["properties"]
        if p["kind"] == "outlet":
            lon, lat = f["geometry"]["coordinates"]
            colour = rep_colour.get(p.get("rep") or "", "#000000")
            folium.CircleMarker([lat, lon], radius=3, color=colour, fill=True, fill_opacity=0.9,
                                popup=f"{p['outlet']}: rep {p.get('rep')}, days {p['days']}").add_to(outlets)
        elif p["kind"] == "rep":
            lon, lat = f["geometry"]["coordinates"]
            folium.Marker([lat, lon], tooltip=f"rep {p['rep']}",
                          icon=folium.Icon(color="black", icon="home")).add_to(outlets)
    outlets.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if title:
        root: Any = m.get_root()
        root.header.add_child(folium.Element(f"<title>{_escape(title)}</title>"))
    path.parent.mkdir(parents=True, exist_ok=True)
    m.save(str(path))
    return path


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
