"""Multi-start in parallel processes (optimizer/territories/parallel.py): determinism, best kept, validity."""

from __future__ import annotations

import numpy as np
import pytest
from territory_checks import max_dev, medoid_cost, random_problem

from optimizer.territories import solve_territories
from optimizer.territories.evaluate import objective
from optimizer.territories.instance import build_instance
from optimizer.territories.parallel import _run, multi_start


def _never() -> bool:
    return False


def test_two_searches_are_deterministic_and_the_best_is_kept() -> None:
    inst = build_instance(random_problem(220, 4, 21, 0.05))
    kw = {"kk": None, "max_idle": 2}
    r1 = multi_start("centre", inst, np.random.default_rng(5), 5, _never, _never, None, deadline=None, workers=2,
                     kw=kw)
    r2 = multi_start("centre", inst, np.random.default_rng(5), 5, _never, _never, None, deadline=None, workers=2,
                     kw=kw)
    assert r1.started == 2 and np.isfinite(r1.objectives).all()
    assert r1.objectives == r2.objectives and np.array_equal(r1.best.a, r2.best.a)
    # search 0 is the single-process search with the caller's generator; search 1 uses SeedSequence([seed, 1])
    solo = multi_start("centre", inst, np.random.default_rng(5), 5, _never, _never, None, deadline=None, workers=1,
                       kw=kw)
    assert solo.started == 1 and r1.objectives[0] == pytest.approx(solo.best.objective, rel=1e-12)
    child = _run("centre", inst, np.random.default_rng(np.random.SeedSequence([5, 1])), _never, None, kw)
    assert r1.objectives[1] == pytest.approx(child.objective, rel=1e-12)
    assert r1.best.objective == pytest.approx(min(r1.objectives), rel=1e-12)
    # the winner's objective is recomputed from its assignment and centres
    assert r1.best.objective == pytest.approx(objective(inst, r1.best.a, r1.best.med), rel=1e-9)


def test_solve_with_two_workers_is_balanced_and_reports_both_searches() -> None:
    p = random_problem(240, 4, 22, 0.05)
    s = solve_territories(p, time_limit=4, seed=3, workers=2)
    assert max_dev(p, s.assignment) <= 0.05 + 1e-9
    assert s.objective == pytest.approx(medoid_cost(p, s.assignment), rel=1e-9)
    assert s.stats["searches"] == 2
    objs = s.stats["search_objectives"]
    assert isinstance(objs, list) and len(objs) == 2
    # the answer is at least as good as the winning search (the final polish can only improve it)
    assert s.objective <= min(objs) * (1 + 1e-6)


@pytest.mark.timeout(300)
def test_stop_request_ends_the_child_and_returns_a_balanced_answer() -> None:
    p = random_problem(230, 4, 23, 0.05)
    events: list[str] = []

    def progress(ev: object) -> bool:
        stage = getattr(ev, "stage", "")
        events.append(stage)
        return stage != "improve"  # stop at the first improvement

    s = solve_territories(p, time_limit=120, seed=1, workers=2, progress=progress)
    assert "improve" in events
    assert max_dev(p, s.assignment) <= 0.05 + 1e-9
    assert s.stats["searches"] == 2
    objs = s.stats["search_objectives"]
    assert isinstance(objs, list) and objs[1] == float("inf")  # the child was ended, its answer dropped
