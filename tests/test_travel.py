"""Travel distances and times: haversine against known values, euclidean, explicit matrices, integer scaling."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from optimizer.model import RoutesProblem, parse
from optimizer.model.common import Location, Travel
from optimizer.travel import EARTH_RADIUS_KM, SCALE, TravelModel, haversine_km, pairwise_km, to_int

LONDON = (51.5074, -0.1278)
PARIS = (48.8566, 2.3522)
MOSCOW = (55.7558, 37.6173)
ST_PETERSBURG = (59.9343, 30.3351)
NEW_YORK = (40.7128, -74.0060)


@pytest.mark.parametrize(
    ("a", "b", "km", "tol"),
    [
        (LONDON, PARIS, 343.5, 0.5),
        (MOSCOW, ST_PETERSBURG, 633.0, 1.0),
        (NEW_YORK, LONDON, 5570.0, 5.0),
        ((10.0, 20.0), (11.0, 20.0), 6371.0 * math.pi / 180.0, 1e-9),  # one degree of latitude: 111.19 km
        ((0.0, 0.0), (0.0, 90.0), 6371.0 * math.pi / 2.0, 1e-6),  # a quarter of the equator
        ((0.0, 0.0), (0.0, 180.0), 6371.0 * math.pi, 1e-6),  # antipodes
        ((90.0, 0.0), (-90.0, 0.0), 6371.0 * math.pi, 1e-6),  # pole to pole
    ],
)
def test_haversine_known_values(a: tuple[float, float], b: tuple[float, float], km: float, tol: float) -> None:
    assert EARTH_RADIUS_KM == 6371.0
    assert float(haversine_km(a[0], a[1], b[0], b[1])) == pytest.approx(km, abs=tol)


def test_one_degree_of_latitude_is_111_19_km() -> None:
    assert float(haversine_km(0.0, 0.0, 1.0, 0.0)) == pytest.approx(111.19, abs=0.005)


def _law_of_cosines_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """An independent great-circle formula (fine away from tiny distances)."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0 * math.acos(max(-1.0, min(1.0, c)))


lat = st.floats(-89.0, 89.0, allow_nan=False)
lon = st.floats(-179.0, 179.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(lat, lon, lat, lon)
def test_haversine_matches_law_of_cosines(la1: float, lo1: float, la2: float, lo2: float) -> None:
    h = float(haversine_km(la1, lo1, la2, lo2))
    ref = _law_of_cosines_km(la1, lo1, la2, lo2)
    assert h == pytest.approx(ref, abs=0.05)  # acos loses precision on short arcs; 50 m is plenty
    assert float(haversine_km(la2, lo2, la1, lo1)) == pytest.approx(h, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(lat, lon), min_size=1, max_size=25))
def test_pairwise_matrix_is_symmetric_zero_diagonal_metric(points: list[tuple[float, float]]) -> None:
    pts = np.array(points, dtype=np.float64)
    d = pairwise_km(pts, pts, "haversine")
    n = len(pts)
    assert d.shape == (n, n)
    np.testing.assert_allclose(d, d.T, atol=1e-9)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-9)
    assert (d >= 0).all() and (d <= math.pi * 6371.0 + 1e-6).all()
    # triangle inequality d(i,k) <= d(i,j) + d(j,k)
    assert (d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-6).all()
    # the vectorised matrix equals the scalar function element by element
    for i in range(n):
        for j in range(n):
            assert d[i, j] == pytest.approx(float(haversine_km(*pts[i], *pts[j])), abs=1e-9)


def test_euclidean_pairwise_and_time() -> None:
    pts = np.array([[0.0, 0.0], [3.0, 4.0], [-1.0, 0.0]])
    d = pairwise_km(pts, pts, "euclidean")
    r = math.hypot(4.0, 4.0)
    np.testing.assert_allclose(d, np.array([[0.0, 5.0, 1.0], [5.0, 0.0, r], [1.0, r, 0.0]]))
    tm = TravelModel(pts, Travel(metric="euclidean", speed=2.0))
    assert tm.km(0, 1) == pytest.approx(5.0)
    assert tm.minutes(0, 1) == pytest.approx(2.5)  # distance / speed (units per minute)


def test_detour_and_speed_conversion() -> None:
    locs = [Location(lat=10.0, lon=20.0), Location(lat=11.0, lon=20.0)]
    gc = 6371.0 * math.pi / 180.0
    tm = TravelModel.for_points(locs, Travel(metric="haversine", speed_kmh=30.0, detour=1.3))
    assert tm.km(0, 1) == pytest.approx(gc * 1.3)
    assert tm.minutes(0, 1) == pytest.approx(gc * 1.3 / 30.0 * 60.0)
    fast = TravelModel.for_points(locs, Travel(metric="haversine", speed_kmh=60.0, detour=1.0))
    assert fast.minutes(0, 1) == pytest.approx(gc)  # 60 km/h: one minute per km
    np.testing.assert_allclose(tm.minutes_matrix(), tm.km_matrix() / 30.0 * 60.0)


def test_block_lookups_agree_with_full_matrices() -> None:
    rng = np.random.default_rng(3)
    pts = np.column_stack([rng.uniform(55.5, 56.0, 40), rng.uniform(37.3, 37.9, 40)])
    tm = TravelModel(pts, Travel())
    rows, cols = [3, 7, 7, 0], [39, 1, 2]
    block = tm.block_minutes(rows, cols)  # before the full matrix exists
    full = tm.minutes_matrix()
    np.testing.assert_allclose(block, full[np.ix_(rows, cols)])
    np.testing.assert_allclose(tm.block_minutes(rows, cols), block)  # now served from the cache
    np.testing.assert_allclose(tm.minutes_from(5), full[5])
    np.testing.assert_allclose(tm.minutes_to(5), full[:, 5])


def _routes(data: dict[str, Any]) -> RoutesProblem:
    p = parse("routes", data)
    assert isinstance(p, RoutesProblem)
    return p


def _matrix_problem(km: bool) -> dict[str, Any]:
    ids = ["O1", "O2", "R1"]
    minutes = [[0, 12, 7], [11, 0, 9], [8, 10, 0]]
    matrix: dict[str, Any] = {"ids": ids, "minutes": minutes}
    if km:
        matrix["km"] = [[0, 6, 3], [5, 0, 4], [4, 5, 0]]
    return {
        "reps": [{"id": "R1", "start": {"x": 0, "y": 0}}],
        "outlets": [{"id": "O1", "location": {"x": 1, "y": 1}}, {"id": "O2", "location": {"x": 2, "y": 2}}],
        "travel": {"matrix": matrix, "speed_kmh": 30},
    }


def test_explicit_matrix_lookups_follow_ids() -> None:
    p = _routes(_matrix_problem(km=True))
    tm = TravelModel.for_routes(p)  # nodes: O1, O2, R1 start, R1 end
    assert tm.n == 4
    s, e = tm.rep_node(0, start=True), tm.rep_node(0, start=False)
    assert (s, e) == (2, 3)
    assert tm.minutes(0, 1) == 12 and tm.minutes(1, 0) == 11  # asymmetric matrices are kept
    assert tm.minutes(s, 0) == 8 and tm.minutes(1, e) == 9
    assert tm.km(0, 1) == 6 and tm.km(s, 1) == 5


def test_explicit_matrix_without_km_uses_speed() -> None:
    p = _routes(_matrix_problem(km=False))
    tm = TravelModel.for_routes(p)
    assert tm.km(0, 1) == pytest.approx(12 * 30 / 60)


def test_for_routes_node_layout_with_distinct_end() -> None:
    p = _routes(
        {
            "reps": [
                {"id": "A", "start": {"lat": 55.0, "lon": 37.0}, "end": {"lat": 55.1, "lon": 37.0}},
                {"id": "B", "start": {"lat": 55.2, "lon": 37.0}},
            ],
            "outlets": [{"id": "o", "location": {"lat": 55.0, "lon": 37.0}}],
        },
    )
    tm = TravelModel.for_routes(p)
    assert tm.n == 1 + 2 * 2
    assert tm.km(0, tm.rep_node(0, start=True)) == pytest.approx(0.0)
    assert tm.km(0, tm.rep_node(0, start=False)) == pytest.approx(0.1 * 111.19 * 1.3, rel=1e-3)
    assert tm.rep_node(1, start=False) == 4 and tm.km(tm.rep_node(1), tm.rep_node(1, start=False)) == 0.0


floats = arrays(np.float64, st.integers(1, 50), elements=st.floats(0.0, 1e5, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(floats, st.sampled_from([1, 10, 100, 1000]))
def test_to_int_ceil_never_understates(m: np.ndarray, scale: int) -> None:
    out = to_int(m, scale, mode="ceil")
    assert out.dtype == np.int64
    exact = m * scale
    assert (out >= exact - 1e-6).all()  # never shorter than the true time (up to the 1e-9 guard)
    assert (out - exact < 1.0).all()  # and less than one unit (1/scale minute) longer


@settings(max_examples=200, deadline=None)
@given(floats, st.sampled_from([1, 10, 100, 1000]))
def test_to_int_round_error_at_most_half_a_unit(m: np.ndarray, scale: int) -> None:
    out = to_int(m, scale)
    assert (np.abs(out - m * scale) <= 0.5 + 1e-9).all()


def test_to_int_default_scale_and_exact_values() -> None:
    assert SCALE == 100
    np.testing.assert_array_equal(to_int(np.array([0.0, 1.0, 2.5, 0.011]), mode="ceil"), [0, 100, 250, 2])
    np.testing.assert_array_equal(to_int(np.array([0.004, 0.006])), [0, 1])


@pytest.mark.parametrize("metric", ["haversine", "euclidean"])
def test_blocked_pairwise_equals_one_broadcast(metric: str) -> None:
    rng = np.random.default_rng(9)
    a = np.column_stack([rng.uniform(-80, 80, 37), rng.uniform(-179, 179, 37)])
    b = np.column_stack([rng.uniform(-80, 80, 23), rng.uniform(-179, 179, 23)])
    whole = pairwise_km(a, b, metric, block_cells=10**9)  # type: ignore[arg-type]
    for cells in (1, 23, 50, 500):
        np.testing.assert_array_equal(pairwise_km(a, b, metric, block_cells=cells), whole)  # type: ignore[arg-type]
    if metric == "haversine":
        ref = haversine_km(a[:, 0:1], a[:, 1:2], b[None, :, 0], b[None, :, 1])
    else:
        ref = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(whole, ref, rtol=1e-12, atol=1e-9)
    assert pairwise_km(a[:0], b, metric).shape == (0, 23)  # type: ignore[arg-type]


def test_minutes_matrix_from_cached_km_equals_direct() -> None:
    rng = np.random.default_rng(4)
    pts = np.column_stack([rng.uniform(55.5, 56.0, 30), rng.uniform(37.3, 37.9, 30)])
    travel = Travel(speed_kmh=27.0, detour=1.4)
    direct = TravelModel(pts, travel).minutes_matrix()
    cached = TravelModel(pts, travel)
    km = cached.km_matrix().copy()
    np.testing.assert_array_equal(cached.minutes_matrix(), direct)
    np.testing.assert_array_equal(cached.km_matrix(), km)  # converting did not touch the km cache
