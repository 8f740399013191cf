"""Arrays behind a territories problem: measures, bounds, distances, locks, adjacency.

Distances are straight-line: great-circle km (no detour factor) for lat/lon, the coordinate unit
for x/y, or the per-unit ``distances`` table when the problem gives one. Nothing here builds an
``n x n`` matrix: distances go from units to at most ``k`` centres (or to a small candidate set).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from optimizer.model.territories import TerritoriesProblem
from optimizer.travel import coords_of, pairwise_km

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class Instance:
    """Numeric view of a :class:`TerritoriesProblem`.

    Attributes
    ----------
    ids, tids
        Unit ids and territory ids.
    xy
        (n x 2) unit coordinates (lat/lon or x/y).
    measures
        (n x 3) workload, potential, unit count.
    lo, hi
        (k x 3) lower/upper bound of each territory's total per measure (-inf/inf where free).
    wt
        Objective weight of each unit (its workload, or 1 with ``distance_weight="unit"``).
    current
        Current territory index (-1 for none); ``locked`` units must stay there.
    move_cost
        Cost charged when a unit leaves its current territory.
    dist
        (n x k) unit-to-centre distances when centres are fixed (given centres or ``distances``).
    fixed_mask, fixed_xy, fixed_anchor
        Mixed centres only (some territories with a given centre, the others chosen by the solver; ``dist``
        is then None): which territories are fixed, their centre points (NaN rows for the free ones) and,
        per fixed territory, the unit nearest its centre (the stand-in in centre-unit arrays ``med``, whose
        distances :meth:`cpts` replaces by the true centre). None when all or no centres are given.
    """

    ids: list[str]
    tids: list[str]
    xy: FloatArray
    metric: Literal["haversine", "euclidean"]
    measures: FloatArray
    lo: FloatArray
    hi: FloatArray
    tol: dict[str, float]
    wt: FloatArray
    current: IntArray
    locked: NDArray[np.bool_]
    move_cost: FloatArray
    move_size: FloatArray
    max_moved: float | None
    max_workload_moved: float | None
    dist: FloatArray | None
    centers: FloatArray | None
    contiguity: bool
    edges: IntArray | None = None
    fixed_mask: NDArray[np.bool_] | None = None
    fixed_xy: FloatArray | None = None
    fixed_anchor: IntArray | None = None
    _nbrs: list[IntArray] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        """Number of units."""
        return len(self.ids)

    @property
    def k(self) -> int:
        """Number of territories."""
        return len(self.tids)

    @property
    def fixed(self) -> bool:
        """True when territory centres are given (or distances to them)."""
        return self.dist is not None

    @property
    def mixed(self) -> bool:
        """True when some territory centres are given and the others are chosen by the solver."""
        return self.fixed_mask is not None

    @property
    def free_slots(self) -> IntArray:
        """Territories whose centre the solver chooses (all of them unless centres are mixed)."""
        if self.fixed_mask is None:
            return np.arange(self.k, dtype=np.int64)
        return np.flatnonzero(~self.fixed_mask).astype(np.int64)

    def cpts(self, med: IntArray) -> FloatArray:
        """Centre points (k x 2) for centre units ``med``: fixed centres where given (mixed centres)."""
        pts = self.xy[med]
        if self.fixed_mask is not None:
            assert self.fixed_xy is not None
            pts[self.fixed_mask] = self.fixed_xy[self.fixed_mask]
        return pts

    def km(self, rows: IntArray | slice, pts: FloatArray) -> FloatArray:
        """Distances from units ``rows`` to points ``pts`` (m x 2)."""
        return pairwise_km(self.xy[rows], pts, self.metric)

    def neighbours(self) -> list[IntArray]:
        """Adjacency lists (given adjacency, else a Delaunay graph of the locations)."""
        if self._nbrs is None:
            edges = self.edges if self.edges is not None else delaunay_edges(self.xy)
            self.edges = edges
            lists: list[list[int]] = [[] for _ in range(self.n)]
            for a, b in edges:
                if a != b:
                    lists[a].append(int(b))
                    lists[b].append(int(a))
            self._nbrs = [np.unique(np.asarray(x, dtype=np.int64)) for x in lists]
        return self._nbrs


def delaunay_edges(xy: FloatArray) -> IntArray:
    """Edges of the Delaunay triangulation of the points (lat/lon treated as planar, lon scaled).

    Falls back to a chain for fewer than 3 points or degenerate (collinear) layouts.
    """
    n = len(xy)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    pts = np.asarray(xy, dtype=np.float64)
    try:
        from scipy.spatial import Delaunay, QhullError

        if n < 3:
            raise QhullError("too few points")
        tri = Delaunay(pts + 0.0, qhull_options="QJ")
        s = tri.simplices
        e = np.concatenate([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    except Exception:  # (degenerate geometry: chain in sorted order)
        order = np.lexsort((pts[:, 1], pts[:, 0]))
        e = np.stack([order[:-1], order[1:]], axis=1)
    e = np.sort(e, axis=1)
    return np.unique(e, axis=0).astype(np.int64)


def build_instance(p: TerritoriesProblem) -> Instance:
    """Turn a validated problem into arrays."""
    ids = [u.id for u in p.units]
    tids = p.territory_ids
    tpos = {t: j for j, t in enumerate(tids)}
    k = len(tids)
    metric: Literal["haversine", "euclidean"] = "haversine" if p.travel.metric == "haversine" else "euclidean"
    xy = coords_of([u.location for u in p.units])
    w = np.array([u.workload for u in p.units], dtype=np.float64)
    pot = np.array([u.potential for u in p.units], dtype=np.float64)
    meas = np.stack([w, pot, np.ones(len(ids))], axis=1)
    lo = np.full((k, 3), -np.inf)
    hi = np.full((k, 3), np.inf)
    tol: dict[str, float] = {}
    for j, name in enumerate(("workload", "potential", "units")):
        if name in p.balance:
            tau = float(p.balance[name])  # type: ignore[index]
            tol[name] = tau
            mean = meas[:, j].sum() / k
            lo[:, j] = (1 - tau) * mean
            hi[:, j] = (1 + tau) * mean
    if p.territories is not None:
        for j, t in enumerate(p.territories):
            if t.capacity is not None:
                hi[j, 0] = min(hi[j, 0], t.capacity)
    cur = np.array([tpos[u.current] if u.current is not None else -1 for u in p.units], dtype=np.int64)
    locked = np.array([u.locked for u in p.units], dtype=bool)
    size = w if p.move_cost_basis == "workload" else np.ones(len(ids))
    move_cost = np.where(cur >= 0, p.move_cost * size, 0.0)
    wt = w.copy() if p.distance_weight == "workload" else np.ones(len(ids))
    dist: FloatArray | None = None
    centers: FloatArray | None = None
    if p.units[0].distances is not None:
        dist = np.array([[u.distances[t] for t in tids] for u in p.units], dtype=np.float64)  # type: ignore[index]
    fixed_mask: NDArray[np.bool_] | None = None
    fixed_xy: FloatArray | None = None
    fixed_anchor: IntArray | None = None
    if p.territories is not None and all(t.center is not None for t in p.territories):
        centers = coords_of([t.center for t in p.territories])  # type: ignore[misc]
        if dist is None:
            dist = pairwise_km(xy, centers, metric)
    elif p.territories is not None and any(t.center is not None for t in p.territories) and dist is None:
        # mixed centres: the given ones stay, the others are chosen among the units
        fixed_mask = np.array([t.center is not None for t in p.territories], dtype=bool)
        fixed_xy = np.full((k, 2), np.nan)
        fixed_xy[fixed_mask] = coords_of([t.center for t in p.territories if t.center is not None])
        fixed_anchor = np.zeros(k, dtype=np.int64)
        fixed_anchor[fixed_mask] = np.argmin(pairwise_km(xy, fixed_xy[fixed_mask], metric), axis=0)
    edges = None
    if p.adjacency is not None:
        upos = {u: i for i, u in enumerate(ids)}
        edges = np.array([[upos[a], upos[b]] for a, b in p.adjacency], dtype=np.int64).reshape(-1, 2)
    return Instance(
        ids=ids, tids=tids, xy=xy, metric=metric, measures=meas, lo=lo, hi=hi, tol=tol, wt=wt,
        current=cur, locked=locked, move_cost=move_cost, move_size=size,
        max_moved=float(p.max_moved) if p.max_moved is not None else None,
        max_workload_moved=p.max_workload_moved, dist=dist, centers=centers,
        contiguity=p.contiguity, edges=edges, fixed_mask=fixed_mask, fixed_xy=fixed_xy, fixed_anchor=fixed_anchor,
    )
