"""Benchmark-format readers (Solomon, Cordeau PVRP) on small instances copied into tests/data/bench."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.errors import InputError
from optimizer.io.benchmarks import (
    decode_pattern,
    horizon_for_days,
    read_cordeau_pvrp,
    read_cordeau_res,
    read_routes_benchmark,
    read_solomon,
)
from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.routes.check import check_routes
from optimizer.travel import TravelModel

BENCH = Path(__file__).resolve().parents[1] / "data" / "bench"


def asap_solution(p: RoutesProblem, routes: list[tuple[int, str, list[str]]]) -> RoutesSolution:
    """Time (day, rep, outlet ids) routes as early as possible; totals from the legs (test-only helper)."""
    tm = TravelModel.for_routes(p)
    oidx = {o.id: i for i, o in enumerate(p.outlets)}
    ridx = {r.id: i for i, r in enumerate(p.reps)}
    out = []
    km_all = travel_all = service_all = 0.0
    for day, rep_id, seq in routes:
        ri = ridx[rep_id]
        rep = p.reps[ri]
        t = rep.shift.start
        prev = tm.rep_node(ri, start=True)
        stops = []
        km = travel = service = waiting = 0.0
        for oid in seq:
            o = p.outlets[oidx[oid]]
            node = oidx[oid]
            km += tm.km(prev, node)
            travel += tm.minutes(prev, node)
            arrival = t + tm.minutes(prev, node)
            start = max([arrival, *[a for a, _ in p.windows(o)][:1]])
            waiting += start - arrival
            stops.append({"outlet": oid, "arrival": arrival, "start": start, "end": start + o.service_minutes})
            service += o.service_minutes
            t = start + o.service_minutes
            prev = node
        end_node = tm.rep_node(ri, start=False)
        km += tm.km(prev, end_node)
        travel += tm.minutes(prev, end_node)
        t += tm.minutes(prev, end_node)
        out.append({"rep": rep_id, "day": day, "stops": stops, "start": rep.shift.start, "end": t,
                    "distance_km": km, "travel_minutes": travel, "service_minutes": service,
                    "waiting_minutes": waiting})
        km_all += km
        travel_all += travel
        service_all += service
    planned = sum(len(s) for _, _, s in routes)
    return RoutesSolution.model_validate({
        "status": "feasible", "objective": km_all, "routes": out,
        "totals": {"distance_km": km_all, "travel_minutes": travel_all, "service_minutes": service_all,
                   "waiting_minutes": sum(r["waiting_minutes"] for r in out),
                   "visits_required": sum(o.visits for o in p.outlets), "visits_planned": planned},
    })


# -- Solomon ------------------------------------------------------------------------------------


def test_solomon_c101() -> None:
    p = read_solomon(BENCH / "C101.txt")
    assert p.name == "C101"
    assert p.objective == "distance" and p.travel.metric == "euclidean" and p.travel.speed == 1
    assert p.horizon.n_days == 1
    assert [r.id for r in p.reps] == [f"v{k}" for k in range(1, 26)]
    assert all(r.capacity == 200 and r.shift.start == 0 and r.shift.end == 1236 for r in p.reps)
    assert all(r.start.coords() == (40.0, 50.0) and r.end_location.coords() == (40.0, 50.0) for r in p.reps)
    assert [o.id for o in p.outlets] == [str(k) for k in range(1, 101)]
    o1 = p.outlets[0]
    assert o1.location.coords() == (45.0, 68.0)
    assert (o1.demand, o1.service_minutes, o1.time_windows) == (10.0, 90.0, [(912.0, 967.0)])
    assert all(o.visits == 1 for o in p.outlets)


def test_solomon_route_is_timed_with_unrounded_euclidean_travel() -> None:
    p = read_solomon(BENCH / "R101.txt")
    # depot (35, 35) -> customer 1 (41, 49): sqrt(36 + 196), not rounded or truncated
    sol = asap_solution(p, [(0, "v1", ["1"])])
    assert sol.routes[0].stops[0].arrival == pytest.approx(232 ** 0.5, abs=1e-12)
    c = check_routes(p, sol)
    assert c.totals is not None and c.totals.distance_km == pytest.approx(2 * 232 ** 0.5, abs=1e-12)
    # the other 99 customers are missing and must be reported
    assert sum("not reported in unassigned" in v for v in c.violations) == 99


# -- Cordeau PVRP ------------------------------------------------------------------------------


def test_decode_pattern_most_significant_bit_is_day_one() -> None:
    assert decode_pattern(10, 5) == [1, 3]  # 01010
    assert decode_pattern(16, 5) == [0]
    assert decode_pattern(1, 10) == [9]
    assert decode_pattern(15, 4) == [0, 1, 2, 3]


def test_horizon_for_days() -> None:
    assert horizon_for_days(5) == (1, 5)
    assert horizon_for_days(7) == (1, 7)
    assert horizon_for_days(8) == (2, 4)
    assert horizon_for_days(10) == (2, 5)
    assert horizon_for_days(28) == (4, 7)
    for bad in (11, 13, 29):
        with pytest.raises(ValueError, match="cannot be written"):
            horizon_for_days(bad)


def test_cordeau_p01() -> None:
    p = read_cordeau_pvrp(BENCH / "p01")
    assert p.objective == "distance" and not p.same_rep
    assert (p.horizon.weeks, p.horizon.days) == (1, ["mon", "tue"])
    assert [r.id for r in p.reps] == ["v1", "v2", "v3"]
    assert all(r.capacity == 160 and r.max_route_minutes is None and r.days is None for r in p.reps)
    assert all(r.start.coords() == (30.0, 40.0) for r in p.reps)
    assert [o.id for o in p.outlets] == [str(k) for k in range(1, 52)]
    o1 = p.outlets[0]
    assert (o1.visits, o1.demand, o1.location.coords()) == (1, 7.0, (37.0, 52.0))
    assert p.allowed_patterns(o1) == [(0,), (1,)]
    dummy = p.outlets[50]  # customer 51: the depot-located dummy that fills a vehicle on day 1
    assert (dummy.demand, p.allowed_patterns(dummy)) == (160.0, [(0,)])


def test_cordeau_ten_days_become_two_weeks_of_five() -> None:
    p = read_cordeau_pvrp(BENCH / "p06")
    assert (p.horizon.weeks, len(p.horizon.days), p.horizon.n_days) == (2, 5, 10)
    assert p.rep_days(p.reps[0]) == list(range(10))
    assert p.allowed_patterns(p.outlets[0]) == [(d,) for d in range(10)]


def test_cordeau_pr01_duration_limit_and_frequency() -> None:
    p = read_cordeau_pvrp(BENCH / "pr01")
    assert p.horizon.days == ["mon", "tue", "wed", "thu"]
    assert all(r.max_route_minutes == 500 and r.capacity == 200 for r in p.reps)
    o1 = p.outlets[0]
    assert (o1.visits, o1.service_minutes, o1.demand) == (4, 2.0, 12.0)
    assert p.allowed_patterns(o1) == [(0, 1, 2, 3)]
    # shifts never bind: longer than the max route duration
    assert all(r.shift.end > 500 for r in p.reps)


@pytest.mark.parametrize("name", ["p14", "pr01"])
def test_shipped_solution_is_feasible_and_costs_its_first_line(name: str) -> None:
    p = read_routes_benchmark(BENCH / name, "cordeau-pvrp")
    cost, res_routes = read_cordeau_res(BENCH / f"{name}.res")
    per_day: dict[int, int] = {}
    for day, _, _ in res_routes:
        per_day[day] = per_day.get(day, 0) + 1
    assert max(per_day.values()) <= len(p.reps)
    sol = asap_solution(p, [(day, f"v{veh}", seq) for day, veh, seq in res_routes])
    c = check_routes(p, sol)
    assert c.ok, c.violations
    assert c.totals is not None
    assert round(c.totals.distance_km, 2) == pytest.approx(cost, abs=0.011)
    assert c.totals.visits_planned == c.totals.visits_required


def test_checker_sees_the_dummy_missing_from_p01_res() -> None:
    p = read_cordeau_pvrp(BENCH / "p01")
    cost, res_routes = read_cordeau_res(BENCH / "p01.res")
    sol = asap_solution(p, [(day, f"v{veh}", seq) for day, veh, seq in res_routes])
    c = check_routes(p, sol)
    assert c.violations == ["outlet 51: 1 required visit(s) missing and not reported in unassigned"]
    assert c.totals is not None and round(c.totals.distance_km, 2) == pytest.approx(cost)


# -- malformed files -------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return f


def paths_of(exc: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [e.path for e in exc.value.errors]


SOLOMON_HEAD = "T1\n\nVEHICLE\nNUMBER     CAPACITY\n  2         50\n\nCUSTOMER\nCUST NO.  XCOORD. ...\n\n"


def test_solomon_bad_number_names_the_line(tmp_path: Path) -> None:
    f = write(tmp_path, "t1.txt", SOLOMON_HEAD + "0 0 0 0 0 100 0\n1 3 x 1 0 50 5\n")
    with pytest.raises(InputError) as ei:
        read_solomon(f)
    assert paths_of(ei) == ["line 11"]
    assert "YCOORD." in str(ei.value) and "'x'" in str(ei.value)


def test_solomon_every_bad_row_reported(tmp_path: Path) -> None:
    f = write(tmp_path, "t2.txt", SOLOMON_HEAD + "0 0 0 0 0 100 0\n1 3 4 1 60 50 5\n1 3 4 1 0 50 5\n2 1 1 -1 0 50 5\n")
    with pytest.raises(InputError) as ei:
        read_solomon(f)
    assert paths_of(ei) == ["line 11", "line 12", "line 13"]


def test_solomon_short_row(tmp_path: Path) -> None:
    f = write(tmp_path, "t3.txt", SOLOMON_HEAD + "0 0 0 0 0 100 0\n1 3 4 1 0 50\n")
    with pytest.raises(InputError, match="expected 7 numbers") as ei:
        read_solomon(f)
    assert paths_of(ei) == ["line 11"]


def test_solomon_valid_tiny(tmp_path: Path) -> None:
    p = read_solomon(write(tmp_path, "t4.txt", SOLOMON_HEAD + "0 0 0 0 0 100 0\n7 3 4 1 0 50 5\n"))
    assert [o.id for o in p.outlets] == ["7"] and [r.id for r in p.reps] == ["v1", "v2"]


CORDEAU_OK = "1 1 2 2\n0 10\n0 10\n0 0 0 0 0 0 0\n1 3 4 1 2 1 2 1 2\n2 -3 4 1 2 2 1 3\n"


def test_cordeau_tiny_valid(tmp_path: Path) -> None:
    p = read_cordeau_pvrp(write(tmp_path, "c0", CORDEAU_OK))
    assert [p.allowed_patterns(o) for o in p.outlets] == [[(0,), (1,)], [(0, 1)]]


@pytest.mark.parametrize(
    ("text", "path", "needle"),
    [
        ("3 1 2 2\n0 10\n0 10\n", "line 1", "type 3 is not supported"),
        ("1 1 2 11\n", "line 1", "11 days cannot be written"),
        (CORDEAU_OK.replace("2 -3 4 1 2 2 1 3", "2 -3 4 1 2 2 1 2"), "line 6", "combination 2 = days [1] has 1 days"),
        (CORDEAU_OK.replace("2 -3 4 1 2 2 1 3", "2 -3 4 1 2 2 1 4"), "line 6", "not a 2-bit day set"),
        (CORDEAU_OK.replace("2 -3 4 1 2 2 1 3", "2 -3 4 1 2 2 1"), "line 6", "file ends early"),
        (CORDEAU_OK.replace("1 3 4 1 2", "1 3 y 1 2"), "line 5", "'y' is not a number"),
        (CORDEAU_OK.replace("0 10\n0 10", "0 10\n0 12"), "line 3", "differ from day 1"),
        (CORDEAU_OK.replace("1 3 4", "5 3 4"), "line 5", "expected node 1, got 5"),
        (CORDEAU_OK + "9 9\n", "line 7", "unexpected data"),
    ],
    ids=["type", "days", "bits", "range", "truncated", "nan", "limits", "numbering", "trailing"],
)
def test_cordeau_malformed(tmp_path: Path, text: str, path: str, needle: str) -> None:
    with pytest.raises(InputError) as ei:
        read_cordeau_pvrp(write(tmp_path, "bad", text))
    assert path in paths_of(ei), ei.value.errors
    assert needle in str(ei.value)


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as ei:
        read_routes_benchmark(BENCH / "p01", "tsplib")
    assert paths_of(ei) == ["format"]
    with pytest.raises(InputError, match="cannot read"):
        read_routes_benchmark(tmp_path / "nope.txt", "solomon")


# -- end to end: the CLI reads a benchmark file, the solver answers, the checker agrees -------------


def test_cli_solves_a_cordeau_file_and_the_plan_checks(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from optimizer.cli import app

    out = tmp_path / "p14.json"
    res = CliRunner().invoke(app, ["solve", "routes", "--format", "cordeau-pvrp", str(BENCH / "p14"), "-o", str(out),
                                   "--time-limit", "2", "--quiet"])
    assert res.exit_code == 0, res.output
    sol = RoutesSolution.model_validate_json(out.read_text(encoding="utf-8"))
    p = read_cordeau_pvrp(BENCH / "p14")
    c = check_routes(p, sol)
    assert c.ok, c.violations
    assert c.totals is not None and c.totals.visits_planned == c.totals.visits_required
    assert sol.objective == pytest.approx(c.totals.distance_km)  # objective "distance" set by the reader


def test_cli_reports_a_malformed_benchmark_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from optimizer.cli import app

    bad = write(tmp_path, "bad", "3 1 2 2\n")
    res = CliRunner().invoke(app, ["solve", "routes", "--format", "cordeau-pvrp", str(bad), "--quiet"])
    assert res.exit_code == 2
    assert "line 1" in res.output and "type 3" in res.output
