"""CSV/Excel readers: templates, column mapping, all errors at once by row and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from optimizer.errors import InputError
from optimizer.io.tables import read_outlets, read_reps, read_roles
from optimizer.paths import REPO_ROOT

TEMPLATES = REPO_ROOT / "datasets" / "templates"


def test_templates_read_cleanly() -> None:
    outlets = read_outlets(TEMPLATES / "outlets.csv")
    reps = read_reps(TEMPLATES / "reps.csv")
    roles = read_roles(TEMPLATES / "roles.csv")
    assert [o.id for o in outlets] == ["S001", "S002"]
    assert outlets[0].time_windows == [(540.0, 780.0), (840.0, 1140.0)]
    assert outlets[0].attributes["address"] == "Tverskaya 12, Moscow"
    assert outlets[1].rep == "R1" and outlets[1].skills == ["pharma"]
    assert reps[0].break_ is not None and reps[0].break_.minutes == 30
    assert reps[1].days == ["mon", "tue", "wed", "thu"] and reps[1].shift.start == 540
    assert roles[1].produces is not None and roles[1].produces.per_month == 160
    assert roles[1].ramp == [0.4, 0.7, 1.0]


def test_every_bad_cell_reported_by_row_and_column(tmp_path: Path) -> None:
    f = tmp_path / "outlets.csv"
    f.write_text(
        "id,lat,lon,open,close,visits\n"
        "a,55.7,37.6,09:00,18:00,2\n"
        "b,55.7,37.6,25:00,18:00,x\n"  # row 3: two bad cells
        "c,95,37.6,09:00,,1\n"  # row 4: latitude out of range, close missing
        "a,55.7,37.6,,,1\n",  # row 5: duplicate id
        encoding="utf-8",
    )
    with pytest.raises(InputError) as ei:
        read_outlets(f)
    got = {(e.path, e.message) for e in ei.value.errors}
    assert ("outlets.csv row 3, column open", "'25:00' is not a time") in got
    assert ("outlets.csv row 3, column visits", "'x' is not a number") in got
    assert ("outlets.csv row 4, column close", "closing time is missing") in got
    assert ("outlets.csv row 5, column id", "duplicate id 'a' (also row 2)") in got
    paths = [e.path for e in ei.value.errors]
    assert any(p == "outlets.csv row 4, column lat" for p in paths)  # lat 95 from the model's own check
    assert not any("row 2" in p for p in paths)


def test_mapping_uses_the_users_column_names_in_errors(tmp_path: Path) -> None:
    f = tmp_path / "stores.csv"
    f.write_text("Store,Latitude,Longitude,Opens,Closes,Freq\nS1,55.7,37.6,9:00,18:00,1\nS2,55.7,37.6,8:00,7:00,0\n")
    mapping = {"Store": "id", "Latitude": "lat", "Longitude": "lon", "Opens": "open", "Closes": "close",
               "Freq": "visits"}
    with pytest.raises(InputError) as ei:
        read_outlets(f, mapping)
    paths = {e.path for e in ei.value.errors}
    assert paths == {"stores.csv row 3, column Opens", "stores.csv row 3, column Freq"}
    f.write_text("Store,Latitude,Longitude,Opens,Closes,Freq\nS1,55.7,37.6,9:00,18:00,1\n")
    (o,) = read_outlets(f, mapping)
    assert o.id == "S1" and o.time_windows == [(540.0, 1080.0)] and o.visits == 1


def test_missing_required_column_and_bad_mapping(tmp_path: Path) -> None:
    f = tmp_path / "reps.csv"
    f.write_text("name,lat,lon\nAnna,55.7,37.6\n")
    with pytest.raises(InputError) as ei:
        read_reps(f, {"Nope": "id", "name": "whatever"})
    paths = {e.path for e in ei.value.errors}
    assert "reps.csv, column Nope" in paths
    assert "reps.csv, mapping 'name'" in paths
    with pytest.raises(InputError) as ei2:
        read_reps(f)
    assert [e.path for e in ei2.value.errors] == ["reps.csv, column id"]


def test_excel_with_time_cells(tmp_path: Path) -> None:
    f = tmp_path / "reps.xlsx"
    pd.DataFrame(
        {
            "id": ["R1", "R2"],
            "lat": [55.75, 55.70],
            "lon": [37.61, 37.50],
            "shift_start": [dt.time(8, 30), "09:00"],
            "shift_end": [dt.time(17, 0), "x"],
            "days": ["mon,tue", "fri"],
        }
    ).to_excel(f, index=False)
    with pytest.raises(InputError) as ei:
        read_reps(f)
    assert [(e.path, e.message) for e in ei.value.errors] == [
        ("reps.xlsx row 3, column shift_end", "'x' is not a time (use HH:MM)")
    ]
    pd.DataFrame({"id": ["R1"], "lat": [55.75], "lon": [37.61], "shift_start": [dt.time(8, 30)],
                  "shift_end": [dt.time(17, 0)], "days": ["mon,tue"]}).to_excel(f, index=False)
    (r,) = read_reps(f)
    assert r.shift.start == 510 and r.shift.end == 1020 and r.days == ["mon", "tue"]


def test_rep_break_needs_all_three_parts(tmp_path: Path) -> None:
    f = tmp_path / "reps.csv"
    f.write_text("id,lat,lon,break_earliest,break_minutes,days\nR1,55.7,37.6,12:00,30,mon\nR2,55.7,37.6,,,someday\n")
    with pytest.raises(InputError) as ei:
        read_reps(f)
    got = {(e.path, e.message) for e in ei.value.errors}
    assert got == {
        ("reps.csv row 2, column break_latest", "a break needs earliest, latest and minutes"),
        ("reps.csv row 3, column days", "'someday' is not a day (use mon..sun or a day index)"),
    }


def test_blank_lines_skipped_and_unknown_columns_kept(tmp_path: Path) -> None:
    f = tmp_path / "o.csv"
    f.write_text("id;x;y;note\n1;0;0;back door\n;;;\n2;3;4;\n")
    outs = read_outlets(f)
    assert [o.id for o in outs] == ["1", "2"]
    assert outs[0].attributes == {"note": "back door"} and outs[1].attributes == {}
    assert outs[1].location.coords() == (3.0, 4.0)


def test_roles_errors(tmp_path: Path) -> None:
    f = tmp_path / "roles.csv"
    f.write_text("id,level,monthly_cost,activity,attrition\nrep,0,100,visit,0.1\nmgr,1,abc,,2\n")
    with pytest.raises(InputError) as ei:
        read_roles(f)
    paths = {e.path for e in ei.value.errors}
    assert "roles.csv row 2, column per_month" in paths
    assert "roles.csv row 3, column monthly_cost" in paths


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as ei:
        read_outlets(tmp_path / "nope.csv")
    assert ei.value.errors[0].message == "file not found"
