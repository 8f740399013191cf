"""Recompute territory metrics from an assignment, independently of the solver."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from optimizer.model.territories import TerritoriesProblem


def random_problem(n: int, k: int, seed: int, tau: float) -> TerritoriesProblem:
    """Uniform random units on a 100 x 100 plane with workloads in [1, 10], k territories, +-tau workload."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    w = rng.uniform(1, 10, size=n)
    units: list[dict[str, Any]] = [{"id": f"u{i}", "location": {"x": float(xy[i, 0]), "y": float(xy[i, 1])},
                                    "workload": float(w[i])} for i in range(n)]
    return TerritoriesProblem.model_validate({"units": units, "count": k, "balance": {"workload": tau},
                                              "travel": {"metric": "euclidean"}})


def dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Euclidean distance."""
    return float(np.hypot(a[0] - b[0], a[1] - b[1]))


def loads(p: TerritoriesProblem, assign: dict[str, str]) -> dict[str, float]:
    """Workload per territory."""
    out = dict.fromkeys(p.territory_ids, 0.0)
    for u in p.units:
        out[assign[u.id]] += u.workload
    return out


def max_dev(p: TerritoriesProblem, assign: dict[str, str]) -> float:
    """Largest relative workload deviation from the mean."""
    ld = loads(p, assign)
    mean = sum(ld.values()) / len(ld)
    return max(abs(v / mean - 1) for v in ld.values())


def fixed_cost(p: TerritoriesProblem, assign: dict[str, str]) -> float:
    """Sum of workload x distance to the fixed centre (plus move costs per unit)."""
    assert p.territories is not None
    cen = {t.id: t.center.coords() for t in p.territories if t.center is not None}
    tot = 0.0
    for u in p.units:
        wt = u.workload if p.distance_weight == "workload" else 1.0
        tot += wt * dist(u.location.coords(), cen[assign[u.id]])
        if u.current is not None and assign[u.id] != u.current:
            tot += p.move_cost * (u.workload if p.move_cost_basis == "workload" else 1.0)
    return tot


def medoid_cost(p: TerritoriesProblem, assign: dict[str, str]) -> float:
    """Sum over territories of the weighted-medoid cost (centres chosen)."""
    groups: dict[str, list[Any]] = {}
    for u in p.units:
        groups.setdefault(assign[u.id], []).append(u)
    tot = 0.0
    for members in groups.values():
        tot += min(sum(v.workload * dist(v.location.coords(), c.location.coords()) for v in members)
                   for c in members)
    return tot


def connected(p: TerritoriesProblem, assign: dict[str, str]) -> bool:
    """Every territory is one piece of ``p.adjacency``."""
    assert p.adjacency is not None
    nb: dict[str, list[str]] = {u.id: [] for u in p.units}
    for a, b in p.adjacency:
        nb[a].append(b)
        nb[b].append(a)
    for t in p.territory_ids:
        members = [u.id for u in p.units if assign[u.id] == t]
        if not members:
            continue
        seen = {members[0]}
        q = deque([members[0]])
        while q:
            x = q.popleft()
            for y in nb[x]:
                if y not in seen and assign[y] == t:
                    seen.add(y)
                    q.append(y)
        if len(seen) != len(members):
            return False
    return True


def brute_optimum(
    p: TerritoriesProblem, tau: float, cost: Callable[[TerritoriesProblem, dict[str, str]], float]
) -> float:
    """Least ``cost`` over every assignment meeting the balance ``tau``, the locks and the moved-units cap."""
    ids = [u.id for u in p.units]
    best = np.inf
    for combo in itertools.product(p.territory_ids, repeat=len(ids)):
        a = dict(zip(ids, combo, strict=True))
        if any(u.locked and a[u.id] != u.current for u in p.units):
            continue
        if max_dev(p, a) > tau + 1e-9:
            continue
        if p.max_moved is not None and sum(u.current is not None and a[u.id] != u.current
                                           for u in p.units) > p.max_moved:
            continue
        best = min(best, cost(p, a))
    return float(best)
