"""Travel distances and times: haversine (+ detour, speed), euclidean, or an explicit matrix.

Conventions
-----------
* Haversine uses a sphere of radius :data:`EARTH_RADIUS_KM` = 6371.0 km. The reported road
  distance of a leg is ``great_circle_km * detour`` and its time ``great_circle_km * detour /
  speed_kmh * 60`` minutes.
* Euclidean: the distance is in the coordinate unit (reported in ``km`` fields) and the time is
  ``distance / speed`` minutes.
* Explicit matrix: minutes (and km when given; otherwise km = minutes x ``speed_kmh`` / 60).

Memory: a full ``n x n`` float64 matrix takes ``8 n^2`` bytes; 5,000 points give 200 MB per
matrix (distance and time: 400 MB), 10,000 points 800 MB per matrix. :func:`pairwise_km` fills
the result block by block, so building one needs the result plus ~50 MB of temporaries
(``benchmarks/travel.py`` measures time and peak memory). :class:`TravelModel` computes full
matrices only on demand and serves row/column/block look-ups without them, so large instances
are routed in pieces.

OR-Tools needs integers: :func:`to_int` scales by ``scale`` (default :data:`SCALE` = 100, i.e.
1/100 minute or 10 m). Travel *times* are rounded up so that a plan feasible in integers is
feasible in exact arithmetic; each arc then overstates by less than ``1/scale``, a route of ``k``
arcs by less than ``k/scale``. Costs are rounded to nearest: a route's cost error is at most
``k / (2 scale)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from optimizer.model.common import Location, Travel

if TYPE_CHECKING:
    from optimizer.model.routes import RoutesProblem

EARTH_RADIUS_KM = 6371.0
SCALE = 100

FloatArray = NDArray[np.float64]


def haversine_km(
    lat1: FloatArray | float, lon1: FloatArray | float, lat2: FloatArray | float, lon2: FloatArray | float
) -> FloatArray:
    """Great-circle distance in km (broadcasting over numpy arrays).

    Parameters
    ----------
    lat1, lon1, lat2, lon2
        Coordinates in degrees.

    Returns
    -------
    numpy.ndarray
        Distances in km on a sphere of radius 6371.0 km.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=np.float64)


#: Cells per block of :func:`pairwise_km` (the temporaries stay near 3 x 8 x this many bytes).
BLOCK_CELLS = 1 << 21


def pairwise_km(
    a: FloatArray, b: FloatArray, metric: Literal["haversine", "euclidean"], *, block_cells: int = BLOCK_CELLS
) -> FloatArray:
    """Distance matrix between point sets ``a`` (m x 2) and ``b`` (n x 2), without detour.

    For haversine the columns are (lat, lon) in degrees; for euclidean (x, y). Rows are computed in
    blocks of about ``block_cells`` cells written into the result, so the peak memory is the
    ``8 m n`` bytes of the result plus a few blocks (~50 MB), not several full-size temporaries;
    the values are those of :func:`haversine_km` (same operations in the same order).
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    m, n = len(a), len(b)
    out = np.empty((m, n), dtype=np.float64)
    if m == 0 or n == 0:
        return out
    rows = max(1, block_cells // n)
    if metric == "haversine":
        p1, l1 = np.radians(a[:, 0]), np.radians(a[:, 1])
        p2, l2 = np.radians(b[:, 0]), np.radians(b[:, 1])
        c1, c2 = np.cos(p1), np.cos(p2)
        for s in range(0, m, rows):
            e = min(m, s + rows)
            blk = out[s:e]
            dphi = p2[None, :] - p1[s:e, None]
            dphi /= 2.0
            np.sin(dphi, out=dphi)
            np.square(dphi, out=dphi)
            dlmb = l2[None, :] - l1[s:e, None]
            dlmb /= 2.0
            np.sin(dlmb, out=dlmb)
            np.square(dlmb, out=dlmb)
            np.multiply(c1[s:e, None], c2[None, :], out=blk)
            blk *= dlmb
            blk += dphi
            np.clip(blk, 0.0, 1.0, out=blk)
            np.sqrt(blk, out=blk)
            np.arcsin(blk, out=blk)
            blk *= 2.0 * EARTH_RADIUS_KM
        return out
    for s in range(0, m, rows):
        e = min(m, s + rows)
        blk = out[s:e]
        dx = a[s:e, None, 0] - b[None, :, 0]
        dy = a[s:e, None, 1] - b[None, :, 1]
        np.multiply(dx, dx, out=blk)
        dy *= dy
        blk += dy
        np.sqrt(blk, out=blk)
    return out


def to_int(matrix: FloatArray, scale: int = SCALE, *, mode: Literal["ceil", "round"] = "round") -> NDArray[np.int64]:
    """Scale a float matrix to integers for OR-Tools.

    Parameters
    ----------
    matrix
        Minutes or km.
    scale
        Units per minute (or per km).
    mode
        ``"ceil"`` for times (never understates a leg), ``"round"`` for costs.
    """
    scaled = np.asarray(matrix, dtype=np.float64) * scale
    out = np.ceil(scaled - 1e-9) if mode == "ceil" else np.rint(scaled)
    return out.astype(np.int64)


def coords_of(locations: Sequence[Location]) -> FloatArray:
    """Stack locations into an (n x 2) array of (lat, lon) or (x, y)."""
    if not locations:
        return np.zeros((0, 2), dtype=np.float64)
    return np.array([loc.coords() for loc in locations], dtype=np.float64)


class TravelModel:
    """Distances (km) and times (minutes) between indexed nodes.

    Parameters
    ----------
    coords
        (n x 2) coordinates of the nodes; ignored with an explicit matrix.
    travel
        The travel settings.
    matrix_index
        With an explicit matrix: for every node, its row in ``travel.matrix``.
    """

    def __init__(self, coords: FloatArray, travel: Travel, matrix_index: Sequence[int] | None = None) -> None:
        self.travel = travel
        self.coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        self._midx: NDArray[np.int64] | None = None
        self._mmin: FloatArray | None = None
        self._mkm: FloatArray | None = None
        if travel.metric == "matrix":
            if travel.matrix is None or matrix_index is None:
                raise ValueError("an explicit matrix needs matrix_index")
            self._midx = np.asarray(matrix_index, dtype=np.int64)
            self._mmin = np.asarray(travel.matrix.minutes, dtype=np.float64)
            if travel.matrix.km is not None:
                self._mkm = np.asarray(travel.matrix.km, dtype=np.float64)
            else:
                self._mkm = self._mmin * travel.speed_kmh / 60.0
            self.n = len(self._midx)
        else:
            self.n = len(self.coords)
        self._full_km: FloatArray | None = None
        self._full_min: FloatArray | None = None
        self.n_outlets = self.n
        self.n_reps = 0

    # -- constructors -----------------------------------------------------------------
    @classmethod
    def for_points(cls, locations: Sequence[Location], travel: Travel, ids: Sequence[str] | None = None) -> TravelModel:
        """Travel between arbitrary locations (ids are needed with an explicit matrix)."""
        midx = None
        if travel.metric == "matrix":
            assert travel.matrix is not None and ids is not None
            pos = {mid: k for k, mid in enumerate(travel.matrix.ids)}
            midx = [pos[i] for i in ids]
        return cls(coords_of(locations) if travel.metric != "matrix" else np.zeros((0, 2)), travel, midx)

    @classmethod
    def for_routes(cls, problem: RoutesProblem) -> TravelModel:
        """Nodes of a routes problem: outlets ``0..n-1``, rep starts ``n..n+R-1``, rep ends ``n+R..``."""
        locs = [o.location for o in problem.outlets]
        locs += [r.start for r in problem.reps]
        locs += [r.end_location for r in problem.reps]
        ids = [o.id for o in problem.outlets] + [r.id for r in problem.reps] * 2
        tm = cls.for_points(locs, problem.travel, ids if problem.travel.metric == "matrix" else None)
        tm.n_outlets = len(problem.outlets)
        tm.n_reps = len(problem.reps)
        return tm

    def rep_node(self, rep_index: int, *, start: bool = True) -> int:
        """Node index of a rep's start (or end) in a model built by :meth:`for_routes`."""
        return self.n_outlets + rep_index + (0 if start else self.n_reps)

    # -- look-ups -----------------------------------------------------------------------
    def block_km(self, rows: Sequence[int] | NDArray[np.int64], cols: Sequence[int] | NDArray[np.int64]) -> FloatArray:
        """Road distance between ``rows`` and ``cols`` nodes."""
        r = np.asarray(rows, dtype=np.int64)
        c = np.asarray(cols, dtype=np.int64)
        if self._full_km is not None:
            return self._full_km[np.ix_(r, c)]
        if self._mkm is not None and self._midx is not None:
            return self._mkm[np.ix_(self._midx[r], self._midx[c])]
        t = self.travel
        if t.metric == "haversine":
            km = pairwise_km(self.coords[r], self.coords[c], "haversine")
            km *= t.detour  # in place: no second n x n array
            return km
        return pairwise_km(self.coords[r], self.coords[c], "euclidean")

    def block_minutes(
        self, rows: Sequence[int] | NDArray[np.int64], cols: Sequence[int] | NDArray[np.int64]
    ) -> FloatArray:
        """Travel minutes between ``rows`` and ``cols`` nodes."""
        r = np.asarray(rows, dtype=np.int64)
        c = np.asarray(cols, dtype=np.int64)
        if self._full_min is not None:
            return self._full_min[np.ix_(r, c)]
        if self._mmin is not None and self._midx is not None:
            return self._mmin[np.ix_(self._midx[r], self._midx[c])]
        return self._km_to_minutes(self.block_km(r, c))

    def _km_to_minutes(self, km: FloatArray) -> FloatArray:
        t = self.travel
        if t.metric == "haversine":
            out = km / t.speed_kmh
            out *= 60.0
            return out
        return km / t.speed

    def km_matrix(self) -> FloatArray:
        """Full distance matrix (computed once, then cached)."""
        if self._full_km is None:
            idx = np.arange(self.n)
            self._full_km = self.block_km(idx, idx)
        return self._full_km

    def minutes_matrix(self) -> FloatArray:
        """Full time matrix (computed once, then cached)."""
        if self._full_min is None:
            if self._full_km is not None and self._mmin is None:
                self._full_min = self._km_to_minutes(self._full_km)  # no second haversine pass
            else:
                idx = np.arange(self.n)
                self._full_min = self.block_minutes(idx, idx)
        return self._full_min

    def minutes_from(self, node: int) -> FloatArray:
        """Minutes from ``node`` to every node."""
        return self.block_minutes([node], np.arange(self.n))[0]

    def minutes_to(self, node: int) -> FloatArray:
        """Minutes from every node to ``node``."""
        return self.block_minutes(np.arange(self.n), [node])[:, 0]

    def km(self, i: int, j: int) -> float:
        """Road distance of one leg."""
        return float(self.block_km([i], [j])[0, 0])

    def minutes(self, i: int, j: int) -> float:
        """Travel time of one leg."""
        return float(self.block_minutes([i], [j])[0, 0])
