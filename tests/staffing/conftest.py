"""Small staffing problems built by hand."""

from __future__ import annotations

from typing import Any


def funnel(rate_conv: float = 1 / 30, rate_meet: float = 0.3, rate_win: float = 0.2) -> list[dict[str, Any]]:
    """calls -> conversations -> meetings -> deals."""
    return [
        {"stage": "calls"},
        {"stage": "conversations", "rate": rate_conv},
        {"stage": "meetings", "rate": rate_meet},
        {"stage": "deals", "rate": rate_win},
    ]


def ladder(months: int, plan: float | list[float], basis: str = "horizon", **extra: Any) -> dict[str, Any]:
    """One direction, five levels: director > head > account manager; telesales + assistants."""
    return {
        "months": months,
        "plan_basis": basis,
        "directions": [{"id": "A", "plan": plan, "avg_deal": 10_000, "funnel": funnel()}],
        "roles": [
            {"id": "director", "level": 1, "monthly_cost": 20_000, "scope": "shared"},
            {"id": "head", "level": 2, "monthly_cost": 9_000},
            {"id": "am", "level": 3, "monthly_cost": 5_000, "produces": {"activity": "meetings", "per_month": 40}},
            {"id": "ts", "level": 4, "monthly_cost": 2_000, "produces": {"activity": "calls", "per_month": 1_500}},
            {"id": "assistant", "level": 5, "monthly_cost": 1_000},
        ],
        "structure": [
            {"role": "director", "manages": "head", "span": 5},
            {"role": "head", "manages": "am", "span": 8},
            {"role": "assistant", "supports": "ts", "ratio": 4},
        ],
        **extra,
    }
