"""Centres chosen by the solver: Hess location-allocation with balanced LP, then iterated local search.

One *descent* alternates (1) a balanced allocation LP to the current centres (rounded, repaired,
improved by shifts and swaps) and (2) moving every centre to its territory's weighted medoid,
until the centres stop changing. Iterated local search then perturbs the best centres (closes one
territory's centre and opens one inside the territory with the largest dispersion) and descends
again, keeping the better answer, until the time budget ends.

A small exact model (p-median with balance, every unit a candidate centre) solves tiny instances.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from optimizer.territories.alloc import State, cost_matrix, solve_allocation
from optimizer.territories.evaluate import medoids, objective
from optimizer.territories.instance import FloatArray, Instance, IntArray


def _pinned_kmeans(inst: Instance, xy: FloatArray, rng: np.random.Generator, iters: int = 50) -> IntArray:
    """Mixed centres: weighted k-means with the fixed centres pinned; free centres -> nearest distinct units.

    The free centres are seeded k-means++ style (weight x squared distance to the nearest centre so far),
    then Lloyd steps move only them. Fixed territories get their stand-in units (``inst.fixed_anchor``).
    """
    assert inst.fixed_mask is not None and inst.fixed_xy is not None and inst.fixed_anchor is not None
    fixed = inst.fixed_mask
    fx = inst.fixed_xy.copy()
    if inst.metric == "haversine":
        fx[:, 1] = fx[:, 1] * np.cos(np.radians(inst.xy[:, 0].mean()))
    w = np.maximum(inst.wt, 1e-9)
    cen = np.zeros((inst.k, 2))
    cen[fixed] = fx[fixed]
    d2 = ((xy[:, None, :] - cen[fixed][None, :, :]) ** 2).sum(-1).min(1)
    for t in np.flatnonzero(~fixed):
        pr = w * d2
        i = int(rng.choice(inst.n, p=pr / pr.sum())) if pr.sum() > 0 else int(rng.integers(inst.n))
        cen[t] = xy[i]
        d2 = np.minimum(d2, ((xy - xy[i]) ** 2).sum(1))
    free = np.flatnonzero(~fixed)
    for _ in range(iters):
        lab = np.argmin(((xy[:, None, :] - cen[None, :, :]) ** 2).sum(-1), axis=1)
        new = cen.copy()
        for t in free:
            m = lab == t
            if m.any():
                new[t] = (xy[m] * w[m, None]).sum(0) / w[m].sum()
        if np.allclose(new, cen):
            break
        cen = new
    med = inst.fixed_anchor.copy()
    taken = set(med[fixed].tolist())
    for t in free:
        for i in np.argsort(((xy - cen[t]) ** 2).sum(1), kind="stable"):
            if int(i) not in taken:
                med[t] = int(i)
                taken.add(int(i))
                break
    return med


def initial_centres(inst: Instance, rng: np.random.Generator) -> IntArray:
    """Medoids of the current territories when known, else nearest units to weighted k-means centroids.

    With mixed centres the fixed ones stay and k-means moves only the free ones (:func:`_pinned_kmeans`).
    """
    if (inst.current >= 0).all():
        med = medoids(inst, inst.current)
        if (med >= 0).all():
            return med
    if inst.fixed_mask is not None:
        xy = inst.xy.copy()
        if inst.metric == "haversine":
            xy[:, 1] = xy[:, 1] * np.cos(np.radians(xy[:, 0].mean()))
        return _pinned_kmeans(inst, xy, rng)
    from sklearn.cluster import KMeans

    xy = inst.xy.copy()
    if inst.metric == "haversine":
        xy[:, 1] = xy[:, 1] * np.cos(np.radians(xy[:, 0].mean()))
    km = KMeans(n_clusters=inst.k, n_init=1, random_state=int(rng.integers(2**31 - 1)), max_iter=100)
    km.fit(xy, sample_weight=np.maximum(inst.wt, 1e-9))
    med = np.full(inst.k, -1, dtype=np.int64)
    taken: set[int] = set()
    for t, c in enumerate(km.cluster_centers_):
        d = ((xy - c) ** 2).sum(1)
        for i in np.argsort(d, kind="stable"):
            if int(i) not in taken:
                med[t] = int(i)
                taken.add(int(i))
                break
    return med


def _centre_dist(inst: Instance, med: IntArray) -> FloatArray:
    return inst.km(slice(None), inst.cpts(med))


def allocate(inst: Instance, med: IntArray, *, contig: bool = False, time_limit: float = 10.0,
             kk: int | None = 10, start: IntArray | None = None, polish: bool = True) -> IntArray:
    """Balanced assignment to fixed centre units: LP, rounding, balance repair, shifts and swaps."""
    cost = cost_matrix(inst, _centre_dist(inst, med))
    res = solve_allocation(inst, cost, integral=False, kk=kk, time_limit=time_limit)
    if res.assign is None:
        a = start.copy() if start is not None else np.argmin(cost, axis=1).astype(np.int64)
        if start is None:
            a[inst.current >= 0] = inst.current[inst.current >= 0]
    else:
        a = res.assign
    st = State(inst, a, cost, contig=contig)
    st.repair_balance()
    if st.caps_exceeded():  # the rounded LP overshot a move cap: moves back, then balance within the cap
        st.repair_caps()
        st.repair_balance()
    if polish:
        st.local_search(rounds=20)
    return st.a


def descend(inst: Instance, med: IntArray, stop: Callable[[], bool], max_iter: int = 30,
            kk: int | None = 10) -> tuple[IntArray, IntArray, float]:
    """Alternate balanced allocation and re-centring until the centres are stable."""
    best_a: IntArray | None = None
    best_m = med
    best_v = np.inf
    seen: set[bytes] = set()
    for it in range(max_iter):
        # the rounded LP is near-optimal for its centres: polish with local search only after the first rounds
        a = allocate(inst, med, kk=kk, polish=it >= 3)
        new = medoids(inst, a, med)
        v = objective(inst, a, new)
        st = State(inst, a, cost_matrix(inst, _centre_dist(inst, new)))
        if st.violation() <= 1e-9 and v < best_v - 1e-9:
            best_a, best_m, best_v = a, new, v
        elif best_a is None:
            best_a, best_m, best_v = a, new, v if st.violation() <= 1e-9 else np.inf
        key = new.tobytes()
        if key in seen or stop():
            break
        seen.add(key)
        med = new
    assert best_a is not None
    return best_a, best_m, float(best_v)


def perturb(inst: Instance, a: IntArray, med: IntArray, rng: np.random.Generator) -> IntArray:
    """Close one centre and open a new one where dispersion is largest."""
    k = inst.k
    out = med.copy()
    cp = inst.cpts(med)
    d = np.sqrt(((inst.xy - cp[a]) ** 2).sum(1)) if inst.metric == "euclidean" else \
        inst.km(slice(None), cp).min(1)
    disp = np.bincount(a, weights=inst.wt * d, minlength=k)
    # close: a territory sampled towards the cheapest; open: in one sampled towards the most dispersed
    pc = 1.0 / (disp + 1e-9)
    if inst.fixed_mask is not None:  # mixed centres: a fixed centre is never closed
        pc[inst.fixed_mask] = 0.0
    close = int(rng.choice(k, p=pc / pc.sum()))
    po = disp.copy()
    po[close] = 0.0
    if po.sum() <= 0:
        return out
    host = int(rng.choice(k, p=po / po.sum()))
    members = np.flatnonzero(a == host)
    wsel = inst.wt[members] * d[members]
    if wsel.sum() <= 0:
        return out
    new_c = int(rng.choice(members, p=wsel / wsel.sum()))
    if new_c in set(out.tolist()):
        return out
    out[close] = new_c
    return out


def location_allocation(
    inst: Instance,
    rng: np.random.Generator,
    stop: Callable[[], bool],
    on_best: Callable[[float], bool] | None = None,
    kk: int | None = 10,
    max_idle: int = 40,
) -> tuple[IntArray, IntArray, float, int]:
    """Descent from the initial centres, then iterated local search until ``stop()``.

    The search also ends after ``max_idle`` descents in a row without improvement, which makes
    the answer independent of the machine's speed whenever that happens before the deadline.

    Returns
    -------
    tuple
        ``(assignment, centre units, objective, descents run)``.
    """
    med = initial_centres(inst, rng)
    a, m, v = descend(inst, med, stop, kk=kk)
    runs = 1
    if on_best is not None:
        on_best(v)
    idle = 0
    while not stop() and idle < max_idle:
        # mostly perturb the best centres; every fourth descent restarts from fresh k-means centres
        fresh = runs % 4 == 0 and not (inst.current >= 0).any()
        m2 = initial_centres(inst, rng) if fresh else perturb(inst, a, m, rng)
        if np.array_equal(m2, m):
            m2 = initial_centres(inst, rng)
        a2, mm2, v2 = descend(inst, m2, stop, kk=kk)
        runs += 1
        idle += 1
        if v2 < v - 1e-9:
            idle = 0
            a, m, v = a2, mm2, v2
            if on_best is not None:
                on_best(v)
    return a, m, v, runs


def pmedian_exact(inst: Instance, time_limit: float) -> tuple[IntArray | None, bool]:
    """Exact p-median with balance (every unit a candidate centre) for tiny instances without ``current``.

    Returns the assignment (territory labels in centre order) and whether HiGHS proved optimality.
    """
    n, k = inst.n, inst.k
    d = inst.km(slice(None), inst.xy)  # n x n: only for tiny n
    nx = n * n
    # variables: x[i, j] (i to centre j) then y[j]
    c = np.concatenate([(inst.wt[:, None] * d).ravel(), np.zeros(n)])
    rows: list[sp.csr_matrix] = []
    lo: list[FloatArray] = []
    hi: list[FloatArray] = []
    ii, jj = np.divmod(np.arange(nx), n)
    rows.append(sp.csr_matrix((np.ones(nx), (ii, np.arange(nx))), shape=(n, nx + n)))
    lo.append(np.ones(n))
    hi.append(np.ones(n))
    rows.append(sp.csr_matrix(np.concatenate([np.zeros(nx), np.ones(n)])[None, :]))
    lo.append(np.array([float(k)]))
    hi.append(np.array([float(k)]))
    # x[i, j] <= y[j]
    r = np.arange(nx)
    rows.append(sp.csr_matrix((np.concatenate([np.ones(nx), -np.ones(nx)]),
                               (np.concatenate([r, r]), np.concatenate([r, nx + jj]))), shape=(nx, nx + n)))
    lo.append(np.full(nx, -np.inf))
    hi.append(np.zeros(nx))
    # a centre belongs to its own territory: x[j, j] >= y[j]
    diag = np.arange(n) * n + np.arange(n)
    rows.append(sp.csr_matrix((np.concatenate([np.ones(n), -np.ones(n)]),
                               (np.concatenate([np.arange(n)] * 2), np.concatenate([diag, nx + np.arange(n)]))),
                              shape=(n, nx + n)))
    lo.append(np.zeros(n))
    hi.append(np.full(n, np.inf))
    for m in range(3):
        lb, ub = inst.lo[0, m], inst.hi[0, m]
        if not (np.isfinite(lb) or np.isfinite(ub)):
            continue
        vals = inst.measures[ii, m]
        for bound, sign in ((ub, 1.0), (lb, -1.0)):
            if not np.isfinite(bound):
                continue
            # sign * (sum_i m_i x_ij - bound y_j) <= 0
            data = np.concatenate([sign * vals, np.full(n, -sign * bound)])
            rr = np.concatenate([jj, np.arange(n)])
            cc = np.concatenate([np.arange(nx), nx + np.arange(n)])
            rows.append(sp.csr_matrix((data, (rr, cc)), shape=(n, nx + n)))
            lo.append(np.full(n, -np.inf))
            hi.append(np.zeros(n))
    A = sp.vstack(rows).tocsr()
    res = milp(c, constraints=LinearConstraint(A, np.concatenate(lo), np.concatenate(hi)),
               integrality=np.ones(nx + n), bounds=Bounds(0, 1),
               options={"time_limit": max(0.1, time_limit), "mip_rel_gap": 1e-9, "disp": False})
    if res.x is None:
        return None, False
    y = res.x[nx:] > 0.5
    centres = np.flatnonzero(y)
    lab = {int(j): t for t, j in enumerate(centres)}
    x = res.x[:nx].reshape(n, n)
    a = np.array([lab[int(np.argmax(x[i]))] for i in range(n)], dtype=np.int64)
    return a, res.status == 0


def pmedian_mixed_exact(inst: Instance, time_limit: float) -> tuple[IntArray | None, IntArray | None, bool]:
    """Exact model for tiny instances with mixed centres (no ``current``): fixed centres given, free ones chosen.

    Variables ``x[i, j]`` (unit ``i`` in the free territory centred on unit ``j``), ``y[j]`` (unit ``j``
    opened as a free centre) and ``z[i, t]`` (unit ``i`` in fixed territory ``t``); ``p_free`` centres
    are opened, each free territory holds its centre and keeps the free territories' balance range,
    each fixed territory its own. Free territories take the free slots in the order of their centre units.

    Returns
    -------
    tuple
        ``(assignment, centre units, proven)``; ``(None, None, False)`` when HiGHS finds nothing or the
        free territories' ranges differ (per-territory capacities: the slots are not interchangeable).
    """
    assert inst.fixed_mask is not None and inst.fixed_xy is not None and inst.fixed_anchor is not None
    n = inst.n
    free = inst.free_slots
    fixed = np.flatnonzero(inst.fixed_mask)
    pf, kf = len(free), len(fixed)
    if not (np.array_equal(inst.lo[free][:1].repeat(pf, 0), inst.lo[free])
            and np.array_equal(inst.hi[free][:1].repeat(pf, 0), inst.hi[free])):
        return None, None, False
    d = inst.km(slice(None), inst.xy)  # n x n: only for tiny n
    dz = inst.km(slice(None), inst.fixed_xy[fixed])  # n x kf
    nx, nz = n * n, n * kf
    nv = nx + n + nz  # x (i*n + j), y (j), z (i*kf + t)
    c = np.concatenate([(inst.wt[:, None] * d).ravel(), np.zeros(n), (inst.wt[:, None] * dz).ravel()])
    ii, jj = np.divmod(np.arange(nx), n)
    zi, zt = np.divmod(np.arange(nz), kf)
    rows: list[sp.csr_matrix] = []
    lo: list[FloatArray] = []
    hi: list[FloatArray] = []
    # every unit once
    rows.append(sp.csr_matrix((np.ones(nx + nz), (np.concatenate([ii, zi]),
                                                   np.concatenate([np.arange(nx), nx + n + np.arange(nz)]))),
                              shape=(n, nv)))
    lo.append(np.ones(n))
    hi.append(np.ones(n))
    rows.append(sp.csr_matrix((np.ones(n), (np.zeros(n, dtype=np.int64), nx + np.arange(n))), shape=(1, nv)))
    lo.append(np.array([float(pf)]))
    hi.append(np.array([float(pf)]))
    r = np.arange(nx)  # x[i, j] <= y[j]
    rows.append(sp.csr_matrix((np.concatenate([np.ones(nx), -np.ones(nx)]),
                               (np.concatenate([r, r]), np.concatenate([r, nx + jj]))), shape=(nx, nv)))
    lo.append(np.full(nx, -np.inf))
    hi.append(np.zeros(nx))
    diag = np.arange(n) * n + np.arange(n)  # x[j, j] >= y[j]
    rows.append(sp.csr_matrix((np.concatenate([np.ones(n), -np.ones(n)]),
                               (np.concatenate([np.arange(n)] * 2), np.concatenate([diag, nx + np.arange(n)]))),
                              shape=(n, nv)))
    lo.append(np.zeros(n))
    hi.append(np.full(n, np.inf))
    for m in range(3):
        lb, ub = inst.lo[free[0], m], inst.hi[free[0], m]
        for bound, sign in ((ub, 1.0), (lb, -1.0)):
            if not np.isfinite(bound):
                continue
            # free: sign * (sum_i m_i x_ij - bound y_j) <= 0
            data = np.concatenate([sign * inst.measures[ii, m], np.full(n, -sign * bound)])
            rr = np.concatenate([jj, np.arange(n)])
            cc = np.concatenate([np.arange(nx), nx + np.arange(n)])
            rows.append(sp.csr_matrix((data, (rr, cc)), shape=(n, nv)))
            lo.append(np.full(n, -np.inf))
            hi.append(np.zeros(n))
        if np.isfinite(inst.lo[fixed, m]).any() or np.isfinite(inst.hi[fixed, m]).any():
            rows.append(sp.csr_matrix((inst.measures[zi, m], (zt, nx + n + np.arange(nz))), shape=(kf, nv)))
            lo.append(inst.lo[fixed, m])
            hi.append(inst.hi[fixed, m])
    A = sp.vstack(rows).tocsr()
    res = milp(c, constraints=LinearConstraint(A, np.concatenate(lo), np.concatenate(hi)),
               integrality=np.ones(nv), bounds=Bounds(0, 1),
               options={"time_limit": max(0.1, time_limit), "mip_rel_gap": 1e-9, "disp": False})
    if res.x is None:
        return None, None, False
    centres = np.flatnonzero(res.x[nx:nx + n] > 0.5)
    if len(centres) != pf:
        return None, None, False
    x = res.x[:nx].reshape(n, n)
    z = res.x[nx + n:].reshape(n, kf)
    slot = {int(j): int(free[q]) for q, j in enumerate(centres)}
    a = np.empty(n, dtype=np.int64)
    for i in range(n):
        a[i] = fixed[int(np.argmax(z[i]))] if z[i].max() > 0.5 else slot[int(np.argmax(x[i]))]
    med = inst.fixed_anchor.copy()
    med[free] = centres
    return a, med, res.status == 0
