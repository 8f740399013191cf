"""Headcount floors (``tighten``) hold for every feasible integer staffing of small random instances."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from optimizer.model.staffing import StaffingProblem
from optimizer.staffing.examples import synthetic
from optimizer.staffing.milp import solve_milp
from optimizer.staffing.prep import prepare
from optimizer.staffing.tighten import floors

T, AM_MAX, TS_MAX = 3, 3, 5
WIN, MEET, PER_AM, PER_TS = 0.25, 0.1, 10, 100


def instance(seed: int) -> dict[str, Any]:
    """One direction, three months, ramp-up and attrition on both producers, a head per up to two AMs."""
    rng = np.random.default_rng(seed)
    return {
        "months": T,
        "directions": [{
            "id": "A", "plan": float(rng.integers(2, 8)) * 1_000, "avg_deal": 1_000,
            "cycle_months": int(rng.integers(0, 2)),
            "funnel": [{"stage": "calls"}, {"stage": "meetings", "rate": MEET}, {"stage": "deals", "rate": WIN}],
        }],
        "roles": [
            {"id": "head", "level": 1, "monthly_cost": 3_000},
            {"id": "am", "level": 2, "monthly_cost": 2_000, "hiring_cost": 500, "max_headcount": AM_MAX,
             "ramp": [round(float(rng.uniform(0.1, 0.9)), 2)], "attrition": round(float(rng.uniform(0.05, 0.4)), 2),
             "produces": {"activity": "meetings", "per_month": PER_AM}, "current": int(rng.integers(0, 3))},
            {"id": "ts", "level": 3, "monthly_cost": 1_000, "hiring_cost": 300, "max_headcount": TS_MAX,
             "ramp": [round(float(rng.uniform(0.1, 0.9)), 2), 0.9],
             "attrition": round(float(rng.uniform(0.05, 0.5)), 2),
             "produces": {"activity": "calls", "per_month": PER_TS}, "current": int(rng.integers(1, 4))},
        ],
        "structure": [{"role": "head", "manages": "am", "span": 2}],
    }


def _effective(n: tuple[int, ...], current: int, ramp: list[float], attrition: float) -> tuple[np.ndarray, float]:
    """Effective headcount per month and hiring count (growth + back-fill) of one path, as documented."""
    prev = np.array((current, *n[:-1]), dtype=float)
    nv = np.array(n, dtype=float)
    hires = np.maximum(0.0, nv - prev) + attrition * prev
    eff = nv.copy()
    for k, rk in enumerate(ramp):
        eff[k:] -= (1 - rk) * hires[: T - k]
    return eff, float(hires.sum())


def brute_force(data: dict[str, Any]) -> tuple[float, list[dict[str, tuple[int, ...]]]]:
    """Least cost and every feasible headcount path (am, ts, head), enumerated."""
    d = data["directions"][0]
    am, ts = data["roles"][1], data["roles"][2]
    best, feasible = math.inf, []
    for a_path in itertools.product(range(AM_MAX + 1), repeat=T):
        a_eff, a_hires = _effective(a_path, am["current"], am["ramp"], am["attrition"])
        if np.any(a_eff < -1e-9):
            continue
        for t_path in itertools.product(range(TS_MAX + 1), repeat=T):
            t_eff, t_hires = _effective(t_path, ts["current"], ts["ramp"], ts["attrition"])
            if np.any(t_eff < -1e-9):
                continue
            meetings = np.minimum(PER_AM * a_eff, MEET * PER_TS * t_eff)
            deals = WIN * meetings
            lag = d["cycle_months"]
            if d["avg_deal"] * deals[: T - lag].sum() < d["plan"] - 1e-6:
                continue
            heads = tuple(math.ceil(a / 2) for a in a_path)
            feasible.append({"am": a_path, "ts": t_path, "head": heads})
            cost = (3_000 * sum(heads) + 2_000 * sum(a_path) + 500 * a_hires + 1_000 * sum(t_path) + 300 * t_hires)
            best = min(best, cost)
    return best, feasible


@pytest.mark.parametrize("seed", range(8))
def test_floors_hold_for_every_feasible_staffing_and_keep_the_optimum(seed: int) -> None:
    data = instance(seed)
    want, feasible = brute_force(data)
    assert feasible and not math.isinf(want)
    prep = prepare(StaffingProblem.model_validate(data))
    low = floors(prep)
    for path in feasible:  # valid for every integer staffing, not only the optimum
        for rid, nv in path.items():
            assert np.all(np.asarray(nv) >= low[(rid, "A")] - 1e-9), (rid, nv, low[(rid, "A")])
    plain = solve_milp(prep, solver="cbc", gap=1e-9)
    tight = solve_milp(prep, solver="cbc", gap=1e-9, tighten=True)
    assert plain.status == tight.status == "optimal"
    assert plain.cost == pytest.approx(want, abs=1e-3) and tight.cost == pytest.approx(want, abs=1e-3)
    lp = solve_milp(prep, integer=False)
    lp_tight = solve_milp(prep, integer=False, tighten=True)
    assert lp.cost - 1e-6 <= lp_tight.cost <= want + 1e-6  # a stronger bound, still a bound


def test_floors_bite_somewhere_in_the_random_instances() -> None:
    """The property above is not vacuous: some floor is above the plain bounds (0 or min_headcount)."""
    bites = 0
    for seed in range(8):
        prep = prepare(StaffingProblem.model_validate(instance(seed)))
        bites += int(sum(v.sum() for v in floors(prep).values()))
    assert bites > 0


def test_floors_on_the_benchmark_family() -> None:
    prep = prepare(synthetic(3, 6, seed=1))
    low = floors(prep)
    # every direction keeps an account manager, a solution engineer (1 per 5 AMs) and a telesales each month
    for did in prep.dirs:
        for rid in ("account_manager", "solution_engineer", "telesales", "direction_head"):
            assert np.all(low[(rid, did)] >= 1)
    # shared: assistants 1 per 4 telesales over three directions
    assert np.all(low[("research_assistant", "*")] == 1) and np.all(low[("telesales_supervisor", "*")] == 1)
    # no floor without ramp-up loss or attrition
    data = synthetic(3, 6, seed=1).model_dump(exclude_none=True)
    for r in data["roles"]:
        r["attrition"] = 0.0
    low0 = floors(prepare(StaffingProblem.model_validate(data)))
    assert np.all(low0[("telesales", prep.dirs[0])] == 0)
