"""Exact group re-optimisation (optimizer/territories/neighbourhood.py) against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from territory_checks import max_dev, medoid_cost, random_problem

from optimizer.territories.evaluate import medoids, objective
from optimizer.territories.instance import build_instance
from optimizer.territories.locate import pmedian_exact
from optimizer.territories.neighbourhood import applicable, group_mip, improve_groups


def _brute_split(xy: np.ndarray, w: np.ndarray, lo: float, hi: float) -> float:
    """Best split of the units into 2 territories (medoid cost), each workload in [lo, hi]."""
    n = len(w)
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    best = np.inf
    for bits in itertools.product((0, 1), repeat=n - 1):
        lab = np.array((0, *bits))
        tot = 0.0
        for t in (0, 1):
            m = np.flatnonzero(lab == t)
            if len(m) == 0 or not lo - 1e-9 <= w[m].sum() <= hi + 1e-9:
                tot = np.inf
                break
            tot += float((w[m] @ d[np.ix_(m, m)]).min())
        best = min(best, tot)
    return best


@pytest.mark.parametrize("seed", [3, 4])
def test_group_mip_equals_brute_force(seed: int) -> None:
    p = random_problem(11, 2, seed, 0.15)
    inst = build_instance(p)
    units = np.arange(inst.n)
    lo, hi = inst.lo[0], inst.hi[0]
    res = group_mip(inst, units, 2, lo, hi, time_limit=20)
    assert res.optimal and res.labels is not None and res.centres is not None
    w = inst.measures[:, 0]
    loads_ = np.bincount(res.labels, weights=w, minlength=2)
    assert (loads_ >= lo[0] - 1e-6).all() and (loads_ <= hi[0] + 1e-6).all()
    # each centre lies in its own territory and the value is recomputed from the labels
    assert all(res.labels[res.centres[t]] == t for t in range(2))
    assert res.value == pytest.approx(objective(inst, res.labels, res.centres), rel=1e-9)
    assert res.value == pytest.approx(_brute_split(inst.xy, w, lo[0], hi[0]), rel=1e-7)


def test_whole_instance_group_reaches_the_exact_optimum() -> None:
    p = random_problem(14, 3, 7, 0.2)
    inst = build_instance(p)
    assert applicable(inst)
    exact, proven = pmedian_exact(inst, 30)
    assert exact is not None and proven
    opt = objective(inst, exact, medoids(inst, exact))
    # a balanced but poor start: units sorted by x, cut into 3 blocks of about equal workload
    w = inst.measures[:, 0]
    order = np.argsort(inst.xy[:, 0])
    cut = np.searchsorted(np.cumsum(w[order]), [w.sum() / 3, 2 * w.sum() / 3])
    start = np.zeros(inst.n, dtype=np.int64)
    start[order[cut[0] + 1:]] = 1
    start[order[cut[1] + 1:]] = 2
    a, _, stats = improve_groups(inst, start, None, lambda: False, q=3, time_per_group=30)
    assign = {inst.ids[i]: inst.tids[a[i]] for i in range(inst.n)}
    assert max_dev(p, assign) <= 0.2 + 1e-9
    assert medoid_cost(p, assign) == pytest.approx(opt, rel=1e-7)
    assert stats["end"] == pytest.approx(opt, rel=1e-7) and stats["end"] <= stats["start"]


def test_pairs_never_worsen_and_keep_balance() -> None:
    p = random_problem(60, 5, 11, 0.1)
    inst = build_instance(p)
    from optimizer.territories.centres import FlowAllocator, finalize
    from optimizer.territories.locate import initial_centres

    a0, m0 = finalize(inst, FlowAllocator(inst, None), initial_centres(inst, np.random.default_rng(0)))
    assign0 = {inst.ids[i]: inst.tids[a0[i]] for i in range(inst.n)}
    assert max_dev(p, assign0) <= 0.1 + 1e-9
    a, med, stats = improve_groups(inst, a0, m0, lambda: False, q=2, time_per_group=10)
    assign = {inst.ids[i]: inst.tids[a[i]] for i in range(inst.n)}
    assert max_dev(p, assign) <= 0.1 + 1e-9
    assert medoid_cost(p, assign) <= medoid_cost(p, assign0) + 1e-7
    assert stats["end"] == pytest.approx(medoid_cost(p, assign), rel=1e-9)
    # a second run from the answer finds nothing left to improve in the proven groups
    _, _, again = improve_groups(inst, a, med, lambda: False, q=2, time_per_group=10)
    if again["proven"] == again["mips"]:
        assert again["improved"] == 0
