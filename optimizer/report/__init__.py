"""Outputs of a plan: route sheets (CSV, Excel), GeoJSON, maps (HTML, PNG) and a one-page summary.

:func:`write_reports` writes them all into one folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.model.territories import TerritoriesSolution
from optimizer.report.geo import rep_colours, routes_geojson, write_geojson
from optimizer.report.maps import folium_map, png_map
from optimizer.report.sheets import day_rows, route_sheets_csv, route_sheets_xlsx, visit_rows
from optimizer.report.summary import build_summary, rep_kpis, territory_kpis


def write_reports(
    problem: RoutesProblem,
    solution: RoutesSolution,
    out_dir: Path,
    *,
    territories: TerritoriesSolution | None = None,
    territory_of: Mapping[str, str] | None = None,
    rep_of_territory: Mapping[str, str] | None = None,
    title: str | None = None,
    facts: Sequence[tuple[str, str]] = (),
    notes: Sequence[str] = (),
    html_map: bool = True,
) -> dict[str, Path]:
    """Write every output of a plan into ``out_dir``.

    Parameters
    ----------
    problem, solution
        The routes problem and its plan.
    out_dir
        Folder (created when missing).
    territories, territory_of, rep_of_territory
        Territory data (defaults: a rep's outlets form its territory).
    title
        Title of the summary and the maps.
    facts, notes
        Extra lines of the summary.
    html_map
        Also write the folium map.

    Returns
    -------
    dict
        Label -> path: ``route sheets (CSV)`` (the folder), ``route sheets (Excel)``, ``GeoJSON``,
        ``map (PNG)``, ``map (HTML)``, ``summary (Markdown)``, ``summary (HTML)``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if territory_of is None and territories is not None:
        territory_of = territories.assignment
    written: dict[str, Path] = {}
    sheets = out_dir / "route_sheets"
    route_sheets_csv(problem, solution, sheets)
    written["route sheets (CSV)"] = sheets
    written["route sheets (Excel)"] = route_sheets_xlsx(problem, solution, out_dir / "route_sheets.xlsx")
    gj = routes_geojson(problem, solution, territory_of=territory_of, rep_of_territory=rep_of_territory)
    written["GeoJSON"] = write_geojson(gj, out_dir / "plan.geojson")
    png = out_dir / "map.png"
    png_map(problem, solution, png, territory_of=territory_of, rep_of_territory=rep_of_territory, title=title)
    written["map (PNG)"] = png
    if html_map:
        written["map (HTML)"] = folium_map(problem, solution, out_dir / "map.html", territory_of=territory_of,
                                           rep_of_territory=rep_of_territory, title=title)
    s = build_summary(problem, solution, territories=territories, rep_of_territory=rep_of_territory, title=title,
                      facts=facts, notes=notes)
    md = out_dir / "summary.md"
    md.write_text(s.markdown(), encoding="utf-8")
    written["summary (Markdown)"] = md
    ht = out_dir / "summary.html"
    ht.write_text(s.html(), encoding="utf-8")
    written["summary (HTML)"] = ht
    return written


__all__ = [
    "build_summary",
    "day_rows",
    "folium_map",
    "png_map",
    "rep_colours",
    "rep_kpis",
    "route_sheets_csv",
    "route_sheets_xlsx",
    "routes_geojson",
    "territory_kpis",
    "visit_rows",
    "write_geojson",
    "write_reports",
]
