"""The product path (``solve_staffing`` defaults): brute-force optima, never worse than the previous path,
progress with best and bound, stop requests and time limits honoured."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from optimizer.model.staffing import StaffingProblem
from optimizer.progress import ProgressEvent
from optimizer.staffing import solve_staffing
from optimizer.staffing.bounds import decompose, improve_by_direction, search_directions
from optimizer.staffing.examples import synthetic
from optimizer.staffing.milp import solve_best, solve_milp, staffing_volumes
from optimizer.staffing.prep import prepare

from .test_cuts import AM_MAX, COST, TS_MAX, T, instance


def instance3(seed: int) -> dict[str, Any]:
    """Three directions (the pair search runs), two months; the two-direction family plus one direction."""
    data = instance(seed)
    extra = instance(1000 + seed)
    d = dict(extra["directions"][0], id="d2")
    data["directions"].append(d)
    for r, r2 in zip(data["roles"], extra["roles"], strict=True):
        if isinstance(r.get("current"), dict):
            r["current"]["d2"] = r2["current"]["d0"]
    return data


def brute_force(data: dict[str, Any]) -> float:
    """Least cost over every integer (am, ts) path of every direction; shared roles sized up; any number of
    directions (paths with the same telesales months are merged at their least cost before combining)."""
    per_dir: list[dict[tuple[int, ...], float]] = []
    grid = list(itertools.product(range(AM_MAX + 1), range(TS_MAX + 1)))
    for d in data["directions"]:
        f = d["funnel"]
        yield_call = f[1]["rate"] * f[2]["rate"]
        cur_am, cur_ts = (next(r for r in data["roles"] if r["id"] == k)["current"][d["id"]] for k in ("am", "ts"))
        best: dict[tuple[int, ...], float] = {}
        for path in itertools.product(grid, repeat=T):
            meetings = [min(40 * am, 1_500 * ts * yield_call + d["inbound_per_month"]) for am, ts in path]
            if sum(meetings) * f[3]["rate"] * d["avg_deal"] < d["plan"] - 1e-6:
                continue
            cost, pa, pt = 0.0, cur_am, cur_ts
            for am, ts in path:
                cost += COST["head"][0] * max(1, math.ceil(am / 8))
                cost += COST["am"][0] * am + COST["am"][1] * max(0, am - pa)
                cost += COST["ts"][0] * ts + COST["ts"][1] * max(0, ts - pt)
                pa, pt = am, ts
            key = tuple(ts for _am, ts in path)
            best[key] = min(best.get(key, math.inf), cost)
        per_dir.append(best)
    cur_as = next(r for r in data["roles"] if r["id"] == "assistant")["current"]
    out = math.inf
    for combo in itertools.product(*(d.items() for d in per_dir)):
        total = sum(c for _k, c in combo)
        prev = cur_as
        for t in range(T):
            a = math.ceil(sum(k[t] for k, _c in combo) / 3)
            total += COST["director"][0] + COST["assistant"][0] * a + COST["assistant"][1] * max(0, a - prev)
            prev = a
        out = min(out, total)
    return out


def test_brute_force_of_three_directions_agrees_with_the_two_direction_one() -> None:
    from .test_cuts import brute_force as bf2

    for seed in range(2):
        assert brute_force(instance(seed)) == pytest.approx(bf2(instance(seed)))


@pytest.mark.parametrize("seed", range(4))
def test_default_reaches_the_brute_force_optimum(seed: int) -> None:
    data = instance3(seed)
    want = brute_force(data)
    assert not math.isinf(want)
    sol = solve_staffing(StaffingProblem.model_validate(data), time_limit=None)
    assert sol.status == "optimal"
    assert sol.cost == pytest.approx(want, abs=1e-3)
    recomputed = sum(COST[r.role][0] * r.count + COST[r.role][1] * (r.hires + r.backfill) for r in sol.headcount)
    assert recomputed == pytest.approx(sol.cost, abs=1e-3)


@pytest.mark.parametrize("seed", [0, 3])
def test_default_never_worse_than_the_previous_path(seed: int) -> None:
    """Decomposition + pairs (largest first) + single directions is at least as good as decomposition +
    single directions (the path before), on instances too big to brute-force; re-checked without a solver."""
    prep = prepare(synthetic(4, 6, seed=seed, plan_scale=0.6))
    dec = decompose(prep, solver="cbc")
    before = improve_by_direction(prep, dec.result, solver="cbc", cuts=dec.rated_cuts, step_limit=30.0)
    now = solve_best(prep, solver="cbc", lns_time_limit=None, exact_after_lns=1.0, workers=2)
    assert now.cost <= before.cost + 1e-6
    chk = staffing_volumes(prep, now.n, now.h)
    assert chk.status == "feasible" and chk.cost == pytest.approx(now.cost)
    assert now.lower_bound is not None and now.lower_bound <= now.cost + 1e-6


def test_triples_reach_the_optimum_where_pairs_and_singles_stop() -> None:
    """4 directions x 6 months (seed 0): pairs then single directions stop above CBC's proven optimum;
    the search's triples step reaches it. Re-checked without a solver."""
    prep = prepare(synthetic(4, 6, seed=0))
    dec = decompose(prep, solver="cbc")
    kw: dict[str, Any] = {"solver": "cbc", "cuts": dec.rated_cuts, "workers": 2}
    two = improve_by_direction(prep, dec.result, group=2, sweeps=1, step_limit=8.0, largest_first=True, **kw)
    two = improve_by_direction(prep, two, **kw)
    best = solve_milp(prep, mode="min_cost", solver="cbc", tighten=True, gap=1e-9, time_limit=120)
    assert best.status == "optimal"
    assert two.cost > best.cost + 1.0  # what the search did before the triples
    found = search_directions(prep, dec.result, time_limit=None, **kw)
    assert found.cost == pytest.approx(best.cost, abs=1e-3)
    chk = staffing_volumes(prep, found.n, found.h)
    assert chk.status == "feasible" and chk.cost == pytest.approx(found.cost)


def test_same_input_same_answer_with_two_workers() -> None:
    prep = prepare(synthetic(3, 4, seed=2, plan_scale=0.5))
    a = solve_best(prep, solver="cbc", lns_time_limit=None, exact_after_lns=1.0, workers=2)
    b = solve_best(prep, solver="cbc", lns_time_limit=None, exact_after_lns=1.0, workers=2)
    assert a.cost == b.cost and all(np.array_equal(a.n[k], b.n[k]) for k in a.n)


def test_progress_shows_best_so_far_and_bound() -> None:
    events: list[ProgressEvent] = []
    p = synthetic(3, 4, seed=1, plan_scale=0.5)
    sol = solve_staffing(p, time_limit=60, progress=events.append)
    bests = [float(e.best) for e in events if e.stage == "milp" and e.best is not None]
    assert bests, [e.stage for e in events]
    assert all(b2 <= b1 + 1e-6 for b1, b2 in itertools.pairwise(bests))  # best so far never gets worse
    pairs = [(float(e.best), float(e.bound)) for e in events if e.best is not None and e.bound is not None]
    assert pairs and all(bound <= best + 1e-6 for best, bound in pairs)
    assert sol.cost <= bests[-1] + 1e-6
    assert events[-1].stage == "done" and events[-1].best == sol.objective


def test_stop_request_returns_the_best_so_far() -> None:
    seen: list[float] = []

    def cb(ev: ProgressEvent) -> bool:
        if ev.stage == "milp" and ev.best is not None:
            seen.append(ev.best)
            return False
        return True

    sol = solve_staffing(synthetic(4, 6, seed=0, plan_scale=0.6), time_limit=60, progress=cb)
    assert seen and sol.status == "feasible"
    assert sol.cost == pytest.approx(seen[0])  # the decomposition's staffing, nothing after the stop
    assert "LNS" not in sol.stats["method"] and sol.shadow_prices == {} and sol.probability is None


def test_no_phase_starts_after_the_time_limit() -> None:
    sol = solve_staffing(synthetic(4, 6, seed=0, plan_scale=0.6), time_limit=0.01)
    assert sol.status in ("feasible", "no_solution")
    if sol.status == "feasible":
        assert "LNS" not in sol.stats["method"] and sol.probability is None
