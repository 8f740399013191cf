"""Per-direction cuts (both rate families) never cut off the brute-force optimum of small random instances."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from optimizer.model.staffing import StaffingProblem
from optimizer.staffing.bounds import decompose, direction_problem, idle_shared, month_price_cuts, shared_rates
from optimizer.staffing.examples import synthetic
from optimizer.staffing.milp import solve_milp
from optimizer.staffing.prep import prepare

COST = {"director": (9_000, 0), "head": (4_000, 0), "am": (3_000, 1_000), "ts": (1_000, 500), "assistant": (800, 300)}
AM_MAX, TS_MAX, T = 2, 5, 2


def instance(seed: int) -> dict[str, Any]:
    """Two directions, two months, no ramp or attrition; idle director (floor 1, span 3), shared assistants."""
    rng = np.random.default_rng(seed)
    dirs = []
    for i in range(2):
        dirs.append({
            "id": f"d{i}", "plan": float(rng.integers(3, 14)) * 10_000, "avg_deal": 10_000,
            "inbound_per_month": float(rng.integers(0, 3)), "inbound_stage": "meetings",
            "funnel": [{"stage": "calls"}, {"stage": "conversations", "rate": 1 / 30},
                       {"stage": "meetings", "rate": round(float(rng.uniform(0.2, 0.4)), 3)},
                       {"stage": "deals", "rate": round(float(rng.uniform(0.15, 0.3)), 3)}],
        })
    cur = {r: {f"d{i}": int(rng.integers(0, 3)) for i in range(2)} for r in ("am", "ts")}
    roles = [
        {"id": "director", "level": 1, "monthly_cost": 9_000, "scope": "shared", "min_headcount": 1, "current": 1},
        {"id": "head", "level": 2, "monthly_cost": 4_000, "min_headcount": 1, "current": 1},
        {"id": "am", "level": 3, "monthly_cost": 3_000, "hiring_cost": 1_000, "max_headcount": AM_MAX,
         "produces": {"activity": "meetings", "per_month": 40}, "current": cur["am"]},
        {"id": "ts", "level": 4, "monthly_cost": 1_000, "hiring_cost": 500, "max_headcount": TS_MAX,
         "produces": {"activity": "calls", "per_month": 1_500}, "current": cur["ts"]},
        {"id": "assistant", "level": 5, "monthly_cost": 800, "hiring_cost": 300, "scope": "shared",
         "current": int(rng.integers(0, 3))},
    ]
    structure = [{"role": "director", "manages": "head", "span": 3}, {"role": "head", "manages": "am", "span": 8},
                 {"role": "assistant", "supports": "ts", "ratio": 3}]
    return {"months": T, "directions": dirs, "roles": roles, "structure": structure}


def brute_force(data: dict[str, Any]) -> float:
    """Least cost over every integer headcount path (am, ts per direction and month), shared roles sized up."""
    paths: list[list[tuple[float, np.ndarray]]] = []  # per direction: (own cost, ts per month)
    grid = list(itertools.product(range(AM_MAX + 1), range(TS_MAX + 1)))
    for d in data["directions"]:
        f = d["funnel"]
        yield_call = f[1]["rate"] * f[2]["rate"]
        cur_am, cur_ts = (next(r for r in data["roles"] if r["id"] == k)["current"][d["id"]] for k in ("am", "ts"))
        opts = []
        for path in itertools.product(grid, repeat=T):
            meetings = [min(40 * am, 1_500 * ts * yield_call + d["inbound_per_month"]) for am, ts in path]
            deals = sum(meetings) * f[3]["rate"]
            if deals * d["avg_deal"] < d["plan"] - 1e-6:
                continue
            cost, pa, pt = 0.0, cur_am, cur_ts
            for am, ts in path:
                cost += COST["head"][0] * max(1, math.ceil(am / 8))
                cost += COST["am"][0] * am + COST["am"][1] * max(0, am - pa)
                cost += COST["ts"][0] * ts + COST["ts"][1] * max(0, ts - pt)
                pa, pt = am, ts
            opts.append((cost, np.array([ts for _am, ts in path])))
        paths.append(opts)
    cur_as = next(r for r in data["roles"] if r["id"] == "assistant")["current"]
    best = math.inf
    for (c0, t0), (c1, t1) in itertools.product(*paths):
        shared, prev = 0.0, cur_as
        for t in range(T):
            a = math.ceil((t0[t] + t1[t]) / 3)
            shared += COST["director"][0] + COST["assistant"][0] * a + COST["assistant"][1] * max(0, a - prev)
            prev = a
        best = min(best, c0 + c1 + shared)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_cuts_keep_the_brute_force_optimum(seed: int) -> None:
    data = instance(seed)
    want = brute_force(data)
    prep = prepare(StaffingProblem.model_validate(data))
    exact = solve_milp(prep, solver="cbc", gap=1e-9)
    assert not math.isinf(want)  # plans within reach: at most 14 deals over two months
    assert exact.status == "optimal" and exact.cost == pytest.approx(want, abs=1e-3)
    lp = solve_milp(prep, integer=False)
    assert idle_shared(prep) == frozenset({"director"})
    families = [shared_rates(prep), shared_rates(prep, idle_shared(prep)), shared_rates(prep, frozenset({"assistant"}))]
    rated = []
    for rates in families:
        cuts = {}
        for d, did in enumerate(prep.dirs):
            z = solve_milp(prepare(direction_problem(prep, d, rates)), solver="cbc", gap=1e-9)
            assert z.status == "optimal"
            cuts[did] = z.cost
        rated.append((rates, cuts))
        bound = solve_milp(prep, integer=False, rated_cuts=[(rates, cuts)])
        assert lp.cost - 1e-6 <= bound.cost <= want + 1e-6  # a valid bound, at least the LP's
        cut = solve_milp(prep, solver="cbc", gap=1e-9, rated_cuts=[(rates, cuts)])
        assert cut.status == "optimal" and cut.cost == pytest.approx(want, abs=1e-3)
    allcuts = solve_milp(prep, solver="cbc", gap=1e-9, rated_cuts=rated)
    assert allcuts.status == "optimal" and allcuts.cost == pytest.approx(want, abs=1e-3)


def test_idle_director_is_left_out_and_tightens_the_bound() -> None:
    prep = prepare(synthetic(3, 4, seed=1, plan_scale=0.5))
    # one director (floor 1) over three heads at span 8: the LP keeps it at its floor with room to spare
    assert idle_shared(prep) == frozenset({"commercial_director"})
    dec = decompose(prep, gap=1e-9, solver="cbc")
    assert dec.rates["direction_head"] == 0.0 and dec.rates["telesales"] == pytest.approx(3500 / 8 + 1200 / 4)
    exact = solve_milp(prep, solver="cbc", gap=1e-9)
    old = decompose(prep, gap=1e-9, solver="cbc", rates=shared_rates(prep))
    lb_new = solve_milp(prep, integer=False, rated_cuts=dec.rated_cuts).cost
    lb_old = solve_milp(prep, integer=False, rated_cuts=old.rated_cuts).cost
    assert lb_old - 1e-6 <= lb_new <= exact.cost + 1e-6
    assert lb_new > lb_old + 1.0  # the director priced per head lets the LP pad the cuts with heads


@pytest.mark.parametrize("seed", range(6))
def test_month_priced_cuts_keep_the_brute_force_optimum(seed: int) -> None:
    data = instance(seed)
    want = brute_force(data)
    prep = prepare(StaffingProblem.model_validate(data))
    base = decompose(prep, gap=1e-9, solver="cbc").rated_cuts
    lp = solve_milp(prep, integer=False, rated_cuts=base, tighten=True)
    cuts = month_price_cuts(prep, base, solver="cbc")
    assert len(cuts) == len(base) + 1
    rates, family = cuts[-1]
    assert set(family) == set(prep.dirs) and rates["ts"].shape == (T,)
    # any prices give valid cuts: also a random month-by-month family
    rng = np.random.default_rng(100 + seed)
    rand = {"head": rng.uniform(0, 2_000, T), "am": np.zeros(T), "ts": rng.uniform(0, 600, T)}
    zero = {r: 0.0 for r in rand}
    rfam = {}
    for d, did in enumerate(prep.dirs):
        z = solve_milp(prepare(direction_problem(prep, d, zero)), solver="cbc", gap=1e-9,
                       month_costs={(r, did): pr for r, pr in rand.items()})
        assert z.status == "optimal"
        rfam[did] = z.cost + sum(float(pr @ z.n[(r, did)]) for r, pr in rand.items())
    cuts.append((rand, rfam))
    bound = solve_milp(prep, integer=False, rated_cuts=cuts, tighten=True)
    assert lp.cost - 1e-3 <= bound.cost <= want + 1e-3  # LP tolerances: a few 1e-4 on 5e4
    exact = solve_milp(prep, solver="cbc", gap=1e-9, rated_cuts=cuts, tighten=True)
    assert exact.status == "optimal" and exact.cost == pytest.approx(want, abs=1e-3)


def test_month_prices_come_from_the_shared_rows() -> None:
    """Not vacuous: the shared assistants' rows carry positive duals, so the new family is priced."""
    prices = []
    for seed in range(6):
        prep = prepare(StaffingProblem.model_validate(instance(seed)))
        cuts = month_price_cuts(prep, [], solver="cbc")
        prices.append(float(cuts[-1][0]["ts"].sum()))
    assert max(prices) > 0
