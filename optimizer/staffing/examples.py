"""Deterministic staffing instances for benchmarks and demos (figures as in datasets/staffing/README.md)."""

from __future__ import annotations

from typing import Any

import numpy as np

from optimizer.model.staffing import StaffingProblem

INDUSTRIES = ["retail", "manufacturing", "logistics", "finance", "healthcare", "energy", "telecom", "public",
              "construction", "agro", "education", "media"]


def synthetic(directions: int = 6, months: int = 12, seed: int = 0, plan_scale: float = 1.0) -> StaffingProblem:
    """A B2B sales organisation with ``directions`` industry directions and 7 roles.

    Roles: commercial director (shared), direction head (span 8 account managers), account manager
    (holds meetings, 5-month ramp), solution engineer (1 per 5 account managers), telesales
    supervisor (shared, span 8), telesales (cold calls, 7 %/month attrition) and research assistant
    (shared, 1 per 4 telesales). Funnel: calls -> conversations (1 in 30) -> meetings (about 370
    dials per meeting) -> deals. Same arguments, same instance.

    Parameters
    ----------
    directions
        Number of industry directions (1..12).
    months
        Horizon.
    seed
        Varies plans, deal sizes and conversion rates.
    plan_scale
        Multiplier of every plan.

    Returns
    -------
    StaffingProblem
        A validated problem.
    """
    rng = np.random.default_rng(seed)
    dirs: list[dict[str, Any]] = []
    cur: dict[str, dict[str, int]] = {"head": {}, "am": {}, "se": {}, "ts": {}}
    for i in range(directions):
        did = INDUSTRIES[i % len(INDUSTRIES)] + ("" if i < len(INDUSTRIES) else f"_{i}")
        deal = float(rng.choice([30_000, 45_000, 60_000, 90_000]))
        win = float(rng.uniform(0.15, 0.25))
        meet = float(rng.uniform(0.075, 0.095))
        size = float(rng.uniform(0.6, 1.4))
        plan = round(size * 9_000_000 * plan_scale * months / 12, -4)
        dirs.append({
            "id": did, "plan": plan, "avg_deal": deal, "cycle_months": int(rng.integers(1, 3)),
            "base_revenue": round(plan * 0.15, -4), "inbound_per_month": float(rng.integers(2, 10)),
            "inbound_stage": "meetings",
            "funnel": [{"stage": "calls"},
                       {"stage": "conversations", "rate": 0.0333, "rate_sd": 0.006},
                       {"stage": "meetings", "rate": round(meet, 4), "rate_sd": 0.015},
                       {"stage": "deals", "rate": round(win, 3), "rate_sd": 0.04}],
        })
        cur["head"][did] = 1
        cur["am"][did] = round(2 * size)
        cur["se"][did] = int(size > 1.0)
        cur["ts"][did] = round(8 * size)
    roles = [
        {"id": "commercial_director", "level": 1, "monthly_cost": 15000, "hiring_cost": 20000, "scope": "shared",
         "current": 1, "min_headcount": 1},
        {"id": "direction_head", "level": 2, "monthly_cost": 9000, "hiring_cost": 10000, "current": cur["head"],
         "min_headcount": 1, "max_hires_per_month": 2},
        {"id": "account_manager", "level": 3, "monthly_cost": 5000, "hiring_cost": 4000,
         "produces": {"activity": "meetings", "per_month": 36}, "ramp": [0.1, 0.3, 0.5, 0.7, 0.9],
         "attrition": 0.03, "max_hires_per_month": 3 * directions, "current": cur["am"]},
        {"id": "solution_engineer", "level": 3, "monthly_cost": 5500, "hiring_cost": 4000, "attrition": 0.02,
         "current": cur["se"]},
        {"id": "telesales_supervisor", "level": 3, "monthly_cost": 3500, "hiring_cost": 2000, "scope": "shared",
         "current": max(1, sum(cur["ts"].values()) // 8), "attrition": 0.03},
        {"id": "telesales", "level": 4, "monthly_cost": 1800, "hiring_cost": 800,
         "produces": {"activity": "calls", "per_month": 1680}, "ramp": [0.5, 0.8], "attrition": 0.07,
         "max_hires_per_month": 10 * directions, "current": cur["ts"]},
        {"id": "research_assistant", "level": 5, "monthly_cost": 1200, "hiring_cost": 500, "scope": "shared",
         "attrition": 0.05, "current": max(1, sum(cur["ts"].values()) // 4)},
    ]
    structure = [
        {"role": "commercial_director", "manages": "direction_head", "span": 8},
        {"role": "direction_head", "manages": "account_manager", "span": 8},
        {"role": "solution_engineer", "supports": "account_manager", "ratio": 5},
        {"role": "telesales_supervisor", "manages": "telesales", "span": 8},
        {"role": "research_assistant", "supports": "telesales", "ratio": 4},
    ]
    return StaffingProblem.model_validate({
        "name": f"synthetic {directions} directions x {months} months (seed {seed})",
        "months": months, "directions": dirs, "roles": roles, "structure": structure,
    })
