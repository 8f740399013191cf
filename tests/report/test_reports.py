"""Every output file is checked against the plan it was written from."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from optimizer.model.common import fmt_time
from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.model.territories import TerritoriesSolution, TerritoryMetrics, TerritorySummary
from optimizer.report import (
    build_summary,
    rep_colours,
    rep_kpis,
    route_sheets_csv,
    route_sheets_xlsx,
    routes_geojson,
    territory_kpis,
    write_reports,
)
from optimizer.report.maps import png_map

from .conftest import territory_of

Plan = tuple[RoutesProblem, RoutesSolution]


def _planned(sol: RoutesSolution) -> Counter[tuple[str, int, str]]:
    return Counter((r.rep, r.day, s.outlet) for r in sol.routes for s in r.stops)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_csv_sheets_hold_every_visit_once_and_totals_match(plan: Plan, tmp_path: Path) -> None:
    p, sol = plan
    files = route_sheets_csv(p, sol, tmp_path)
    rep_files = [f for f in files if f.name != "days.csv"]
    assert sorted(f.stem for f in rep_files) == sorted({r.rep for r in sol.routes})
    rows = [r for f in rep_files for r in _read_csv(f)]
    seen = Counter((r["rep"], int(r["day"]), r["outlet"]) for r in rows)
    assert seen == _planned(sol)
    assert max(seen.values()) == 1
    stop = {(r.rep, r.day, s.outlet): s for r in sol.routes for s in r.stops}
    for r in rows:
        s = stop[(r["rep"], int(r["day"]), r["outlet"])]
        assert r["arrival"] == fmt_time(s.arrival) and r["end"] == fmt_time(s.end)
        assert r["name"].startswith("Shop ") and r["address"].startswith("Street ")
    assert sum(float(r["service_minutes"]) for r in rows) == pytest.approx(sol.totals.service_minutes, abs=0.5)
    days = _read_csv(tmp_path / "days.csv")
    assert len(days) == len(sol.routes)
    for d in days:
        legs = [float(r["km_from_previous"]) for r in rows if r["rep"] == d["rep"] and r["day"] == d["day"]]
        assert sum(legs) + float(d["return_km"]) == pytest.approx(float(d["distance_km"]), abs=0.05)
        assert int(d["visits"]) == len(legs)
    legs_min = sum(float(r["travel_minutes_from_previous"]) for r in rows)
    legs_min += sum(float(d["return_minutes"]) for d in days)
    assert legs_min == pytest.approx(sol.totals.travel_minutes, abs=0.1 * (len(rows) + len(days)))


def test_excel_sheets_match_the_plan(plan: Plan, tmp_path: Path) -> None:
    p, sol = plan
    path = route_sheets_xlsx(p, sol, tmp_path / "sheets.xlsx")
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames[0] == "days"
    assert sorted(wb.sheetnames[1:]) == sorted({r.rep for r in sol.routes})
    seen: Counter[tuple[str, int, str]] = Counter()
    for name in wb.sheetnames[1:]:
        rows = list(wb[name].iter_rows(values_only=True))
        head = list(rows[0])
        for row in rows[1:]:
            rec = dict(zip(head, row, strict=True))
            assert rec["rep"] == name
            seen[(str(rec["rep"]), int(rec["day"]), str(rec["outlet"]))] += 1
    assert seen == _planned(sol)
    day_rows = list(wb["days"].iter_rows(values_only=True))[1:]
    assert sum(float(r[6]) for r in day_rows) == pytest.approx(sol.totals.distance_km, abs=0.01 * len(day_rows))


def test_geojson_has_one_feature_per_route_and_territory(plan: Plan, tmp_path: Path) -> None:
    p, sol = plan
    terr = territory_of(p)
    gj = json.loads(json.dumps(routes_geojson(p, sol, territory_of=terr)))
    assert gj["type"] == "FeatureCollection"
    kinds = Counter(f["properties"]["kind"] for f in gj["features"])
    assert kinds == {"route": len(sol.routes), "territory": len(set(terr.values())), "outlet": len(p.outlets),
                     "rep": len(p.reps)}
    loc = {o.id: o.location for o in p.outlets}
    by_key = {(r.rep, r.day): r for r in sol.routes}
    for f in gj["features"]:
        props, geom = f["properties"], f["geometry"]
        if props["kind"] == "route":
            r = by_key[(props["rep"], props["day"])]
            coords = geom["coordinates"]
            assert len(coords) == len(r.stops) + 2
            for c, s in zip(coords[1:-1], r.stops, strict=True):
                assert c == [loc[s.outlet].lon, loc[s.outlet].lat]
        if props["kind"] == "territory":
            assert geom["type"] == "Polygon" and geom["coordinates"][0][0] == geom["coordinates"][0][-1]
            assert props["rep"] == "R" + props["territory"][1:]  # the rep making most of its visits
    assert sum(f["properties"]["outlets"] for f in gj["features"] if f["properties"]["kind"] == "territory") == 30


def test_png_map_has_one_colour_per_rep(plan: Plan, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    p, sol = plan
    path = tmp_path / "map.png"
    used = png_map(p, sol, path, territory_of=territory_of(p))
    assert path.stat().st_size > 10_000
    expected = rep_colours([r.id for r in p.reps])
    assert used == expected and len(set(used.values())) == len(p.reps)
    img = mpimg.imread(str(path))[:, :, :3]
    assert img.shape[0] > 300 and img.shape[1] > 300
    pix = np.round(img.reshape(-1, 3) * 255).astype(int)
    for rep, colour in used.items():
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        exact = int(np.sum(np.all(np.abs(pix - rgb) <= 2, axis=1)))
        assert exact > 50, f"colour of rep {rep} barely drawn ({exact} pixels)"


def _territories(p: RoutesProblem) -> TerritoriesSolution:
    terr = territory_of(p)
    load = {o.id: o.visits * o.service_minutes / 60 for o in p.outlets}
    summaries = []
    for t in sorted(set(terr.values())):
        members = [o for o in terr if terr[o] == t]
        summaries.append(TerritorySummary(id=t, center=None, units=len(members),
                                          workload=sum(load[o] for o in members), potential=float(len(members)),
                                          dispersion=0.0))
    return TerritoriesSolution(status="feasible", objective=0.0, assignment=terr, territories=summaries,
                               metrics=TerritoryMetrics(workload_max_dev=0.1, potential_max_dev=0.0,
                                                        units_max_dev=0.0, dispersion=0.0))


def test_summary_kpis_add_up(plan: Plan) -> None:
    p, sol = plan
    kp = rep_kpis(p, sol)
    assert sum(k["visits"] for k in kp) == sol.totals.visits_planned
    assert sum(k["km"] for k in kp) == pytest.approx(sol.totals.distance_km)
    assert sum(k["travel_h"] for k in kp) * 60 == pytest.approx(sol.totals.travel_minutes)
    for k in kp:
        assert k["available_h"] == pytest.approx(5 * 10.0)  # 08:00-18:00 on 5 days
        assert k["utilisation"] == pytest.approx((k["travel_h"] + k["service_h"]) / k["available_h"])
    ts = _territories(p)
    tk = territory_kpis(ts, {"T1": "R1", "T2": "R2", "T3": "R3"})
    assert sum(k["workload_dev"] for k in tk) == pytest.approx(0.0, abs=1e-9)
    assert [k["rep"] for k in tk] == ["R1", "R2", "R3"]
    s = build_summary(p, sol, territories=ts, rep_of_territory={"T1": "R1", "T2": "R2", "T3": "R3"})
    md, html = s.markdown(), s.html()
    for k in kp:
        assert f"| {k['rep']} | {k['days']} | {k['visits']} | {k['km']:.1f} |" in md
        assert f"<td>{k['rep']}</td>" in html
    assert f"{sol.totals.visits_planned} / {sol.totals.visits_required}" in md


def test_write_reports_writes_every_file(plan: Plan, tmp_path: Path) -> None:
    p, sol = plan
    ts = _territories(p)
    out = write_reports(p, sol, tmp_path / "out", territories=ts, title="fixture plan")
    for label, path in out.items():
        assert path.exists(), label
    html = out["map (HTML)"].read_text(encoding="utf-8")
    assert "leaflet" in html.lower()
    for colour in rep_colours([r.id for r in p.reps]).values():
        assert colour in html
    assert html.count("visits,") >= len(sol.routes)  # one tooltip per route
