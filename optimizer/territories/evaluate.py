"""Quality of an assignment, recomputed from it: loads, centres, dispersion, diameter, contiguity."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from optimizer.territories.instance import FloatArray, Instance, IntArray

MEDOID_CANDIDATES = 400
"""Largest number of candidate centres tried per territory when computing a weighted medoid."""


def loads(inst: Instance, a: IntArray) -> FloatArray:
    """(k x 3) totals of workload, potential and unit count per territory."""
    out = np.zeros((inst.k, 3))
    for j in range(3):
        out[:, j] = np.bincount(a, weights=inst.measures[:, j], minlength=inst.k)
    return out


def medoids(inst: Instance, a: IntArray, prev: IntArray | None = None) -> IntArray:
    """Weighted medoid of each territory: its unit minimising sum of weight x distance.

    Large territories try only the ``MEDOID_CANDIDATES`` units nearest their weighted centroid
    (plus the previous medoid), so the cost stays O(m x candidates). Empty territories keep
    ``prev`` (or -1). With mixed centres a fixed territory gets its stand-in unit
    (``inst.fixed_anchor``): its centre never moves.
    """
    out = np.full(inst.k, -1, dtype=np.int64)
    order = np.argsort(a, kind="stable")
    bounds = np.searchsorted(a[order], np.arange(inst.k + 1))
    fixed = inst.fixed_mask
    for t in range(inst.k):
        if fixed is not None and fixed[t]:
            assert inst.fixed_anchor is not None
            out[t] = inst.fixed_anchor[t]
            continue
        members = order[bounds[t]:bounds[t + 1]]
        if len(members) == 0:
            out[t] = prev[t] if prev is not None else -1
            continue
        wts = inst.wt[members]
        cand = members
        if len(members) > MEDOID_CANDIDATES:
            sw = wts.sum()
            cen = (inst.xy[members] * wts[:, None]).sum(0) / sw if sw > 0 else inst.xy[members].mean(0)
            dc = inst.km(members, cen[None, :])[:, 0]
            cand = members[np.argsort(dc, kind="stable")[:MEDOID_CANDIDATES]]
            if prev is not None and prev[t] >= 0 and a[prev[t]] == t and prev[t] not in cand:
                cand = np.append(cand, prev[t])
        d = inst.km(members, inst.xy[cand])
        cost = wts @ d
        out[t] = cand[int(np.argmin(cost))]
    return out


def center_points(inst: Instance, a: IntArray, med: IntArray | None) -> FloatArray | None:
    """Centre coordinates: the fixed centres, else the medoids' locations (None with a distance table only)."""
    if inst.centers is not None:
        return inst.centers
    if inst.dist is not None:
        return None
    assert med is not None
    pts = np.full((inst.k, 2), np.nan)
    ok = med >= 0
    pts[ok] = inst.xy[med[ok]]
    if inst.fixed_mask is not None:
        assert inst.fixed_xy is not None
        pts[inst.fixed_mask] = inst.fixed_xy[inst.fixed_mask]
    return pts


def unit_distances(inst: Instance, a: IntArray, med: IntArray | None) -> FloatArray:
    """Distance of each unit to the centre of its territory."""
    if inst.dist is not None:
        return inst.dist[np.arange(inst.n), a]
    assert med is not None
    pts = inst.cpts(np.maximum(med, 0))[a]
    if inst.metric == "euclidean":
        return np.asarray(np.sqrt(((inst.xy - pts) ** 2).sum(1)), dtype=np.float64)
    from optimizer.travel import haversine_km

    return haversine_km(inst.xy[:, 0], inst.xy[:, 1], pts[:, 0], pts[:, 1])


def moved_mask(inst: Instance, a: IntArray) -> IntArray:
    """1 for units with a current territory that now belong elsewhere."""
    return ((inst.current >= 0) & (a != inst.current)).astype(np.int64)


def objective(inst: Instance, a: IntArray, med: IntArray | None) -> float:
    """Objective: sum of weight x distance to the centre plus move costs."""
    d = unit_distances(inst, a, med)
    return float(inst.wt @ d + inst.move_cost @ moved_mask(inst, a))


def components(inst: Instance, a: IntArray) -> IntArray:
    """Number of connected pieces of each territory on the adjacency graph."""
    nb = inst.neighbours()
    seen = np.zeros(inst.n, dtype=bool)
    comp = np.zeros(inst.k, dtype=np.int64)
    for s in range(inst.n):
        if seen[s]:
            continue
        t = a[s]
        comp[t] += 1
        seen[s] = True
        q = deque([s])
        while q:
            u = q.popleft()
            for v in nb[u]:
                if not seen[v] and a[v] == t:
                    seen[v] = True
                    q.append(v)
    return comp


def diameters(inst: Instance, a: IntArray) -> FloatArray:
    """Largest distance between two units of each territory (convex hull for large ones)."""
    out = np.zeros(inst.k)
    if inst.dist is not None and inst.centers is None and not np.isfinite(inst.xy).all():
        return out
    for t in range(inst.k):
        m = np.flatnonzero(a == t)
        if len(m) < 2:
            continue
        pts = m
        if len(m) > 60:
            try:
                from scipy.spatial import ConvexHull

                pts = m[ConvexHull(inst.xy[m]).vertices]
            except Exception:  # (collinear points: keep all)
                pts = m
        out[t] = float(inst.km(pts, inst.xy[pts]).max())
    return out


@dataclass
class Evaluation:
    """Everything recomputed from one assignment."""

    loads: FloatArray
    med: IntArray | None
    udist: FloatArray
    objective: float
    dev: FloatArray
    moved: int
    workload_moved: float


def evaluate(inst: Instance, a: IntArray, med: IntArray | None = None) -> Evaluation:
    """Recompute loads, centres (medoids when the solver chooses them), distances and deviations."""
    if inst.dist is None:
        med = medoids(inst, a, med)
    ld = loads(inst, a)
    mean = inst.measures.sum(0) / inst.k
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = np.where(mean > 0, np.abs(ld / mean - 1).max(0), 0.0)
    ud = unit_distances(inst, a, med)
    mv = moved_mask(inst, a)
    obj = float(inst.wt @ ud + inst.move_cost @ mv)
    return Evaluation(ld, med, ud, obj, dev, int(mv.sum()), float(inst.measures[:, 0] @ mv))
