"""Headcount floors every integer staffing must respect, derived from the model's own rows.

Two facts of the documented semantics (:mod:`optimizer.model.staffing`) give lower bounds on integer
headcount that the LP relaxation does not see:

* a role that alone produces a stage of a direction's funnel keeps an effective headcount ``>= 0`` in
  every month (the capacity row ``volume <= per_month x effective`` with ``volume >= 0``), and its
  effective headcount is ``n[t]`` less the ramp-up loss of earlier hires and back-fills. The back-fill
  of month ``t-k`` is ``attrition x n[t-k-1]``, so ``n[t] >= sum_k (1 - ramp[k]) x attrition x n[t-k-1]``:
  a direction that had a telesales position last month needs at least one this month (an integer above a
  positive number), and so on to the end of the horizon;
* a span or support rule ``ratio x n[role] >= n[other]`` gives ``n[role] >= ceil(floor(other) / ratio)``
  (the sum over directions when ``role`` is shared).

The floors are valid for every integer solution (tests check them against brute-force optima); as
bounds on the integer variables they lift the LP relaxation (one solution engineer per direction each
month instead of 0.2) and so the MILP's root bound.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from optimizer.staffing.prep import SHARED, Prepared, structure_pairs

Key = tuple[str, str]


def _sole_producer(prep: Prepared, rid: str, did: str) -> bool:
    """True when ``rid`` alone produces a stage in direction ``did``'s funnel (its effective headcount is >= 0)."""
    role = prep.roles[rid]
    if role.produces is None or role.scope != "direction":
        return False
    d = prep.dirs.index(did)
    stages = {s.stage for s in prep.direction(d).funnel}
    return role.produces.activity in stages and prep.producers.get(role.produces.activity) == [rid]


def floors(prep: Prepared, *, relax: Iterable[str] = (), free_tail: bool = False) -> dict[Key, np.ndarray]:
    """Least integer headcount per ``(role, group)`` and month in any feasible integer staffing.

    Parameters
    ----------
    prep
        Prepared problem.
    relax
        Constraint families switched off (as in :func:`optimizer.staffing.milp.solve_milp`); ``"ramp"``
        removes the ramp-up loss, ``"lag"`` moves the months whose capacity rows ``free_tail`` drops.
    free_tail
        As in :func:`optimizer.staffing.milp.solve_milp`: no capacity row (so no floor from it) in the
        months whose deals book after the horizon.

    Returns
    -------
    dict
        ``(role, group)`` -> ``(T,)`` floors (at least the role's ``min_headcount``).
    """
    relaxed = set(relax)
    T = prep.T
    lb: dict[Key, np.ndarray] = {
        (rid, g): np.full(T, float(role.min_headcount)) for rid, role in prep.roles.items() for g in prep.groups[rid]
    }
    for _ in range(2 * len(prep.roles) + 2):
        changed = False
        for (rid, g), low in lb.items():
            role = prep.roles[rid]
            ramp = [] if "ramp" in relaxed else role.ramp
            if role.attrition <= 0 or not any(rk < 1 for rk in ramp) or not _sole_producer(prep, rid, g):
                continue
            d = prep.dirs.index(g)
            lag = 0 if "lag" in relaxed else prep.direction(d).cycle_months
            dead = T - lag if free_tail else T
            cur = float(prep.current[(rid, g)])
            for t in range(dead):
                loss = 0.0
                for k, rk in enumerate(ramp):
                    if t - k < 0 or rk >= 1:
                        continue
                    prev = cur if t - k == 0 else float(low[t - k - 1])
                    loss += (1.0 - rk) * role.attrition * prev
                need = float(math.ceil(loss - 1e-9)) if loss > 1e-9 else 0.0
                if need > low[t]:
                    low[t] = need
                    changed = True
        changed = raise_for_structure(prep, lb) or changed
        if not changed:
            break
    return lb


def raise_for_structure(prep: Prepared, counts: dict[Key, np.ndarray]) -> bool:
    """Raise ``counts`` in place to what the span and support rules need: ``ceil(managed / ratio)``.

    ``managed`` is the other role's count in the same direction, or its sum over directions when the
    ruling role is shared. Returns True when a count was raised.
    """
    changed = False
    for _i, rid, other, ratio, _kind in structure_pairs(prep):
        for g in prep.groups[rid]:
            managed: np.ndarray = (np.sum([counts[(other, o)] for o in prep.groups[other]], axis=0)
                                   if g == SHARED else counts[(other, g)])
            need = np.ceil(managed / ratio - 1e-9)
            if np.any(need > counts[(rid, g)]):
                counts[(rid, g)] = np.maximum(counts[(rid, g)], need)
                changed = True
    return changed
