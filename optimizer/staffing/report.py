"""Turn MILP values into the solution's tables: headcount, funnel, utilisation, binding rules, norms."""

from __future__ import annotations

import numpy as np

from optimizer.model.staffing import AttainmentRow, FunnelRow, HeadcountRow
from optimizer.staffing.milp import MilpResult
from optimizer.staffing.prep import SHARED, Prepared, structure_pairs

WEEK_DAYS = 5.0


def months_text(months: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"1-3, 6"`` (1-based months)."""
    if not months:
        return ""
    parts = []
    start = prev = months[0]
    for m in [*months[1:], None]:
        if m is not None and m == prev + 1:
            prev = m
            continue
        parts.append(f"{start + 1}" if start == prev else f"{start + 1}-{prev + 1}")
        if m is not None:
            start = prev = m
    return ", ".join(parts)


def headcount_rows(prep: Prepared, res: MilpResult) -> list[HeadcountRow]:
    """One row per role, group and month (1-based months)."""
    rows = []
    for (r, g), nv in res.n.items():
        for t in range(prep.T):
            rows.append(
                HeadcountRow(
                    role=r,
                    direction=g,
                    month=t + 1,
                    count=int(nv[t]),
                    hires=int(res.h[(r, g)][t]),
                    effective=round(float(res.eff[(r, g)][t]), 4),
                    backfill=round(float(res.b[(r, g)][t]), 4),
                )
            )
    return rows


def funnel_rows(prep: Prepared, res: MilpResult) -> list[FunnelRow]:
    """Volume per direction, month and stage."""
    rows = []
    for d, direction in enumerate(prep.problem.directions):
        for k, st in enumerate(direction.funnel):
            for t in range(prep.T):
                rows.append(FunnelRow(direction=direction.id, month=t + 1, stage=st.stage,
                                      volume=round(float(res.v[d][k, t]), 4)))
    return rows


def attainment_rows(prep: Prepared, res: MilpResult) -> list[AttainmentRow]:
    """Plan vs expected revenue per direction over the horizon."""
    return [
        AttainmentRow(direction=d, plan=round(float(prep.plan[i].sum()), 2), expected=round(float(res.rev[i].sum()), 2))
        for i, d in enumerate(prep.dirs)
    ]


def role_volumes(prep: Prepared, res: MilpResult) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per producing role: ``(volume, capacity)`` per month of its activity, summed over its groups.

    When several roles produce one stage, the volume is shared in proportion to their capacity.
    """
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    T = prep.T
    for rid, role in prep.roles.items():
        if role.produces is None:
            continue
        vol, cap = np.zeros(T), np.zeros(T)
        for g in prep.groups[rid]:
            cap += role.produces.per_month * np.maximum(res.eff[(rid, g)], 0.0)
        for d, direction in enumerate(prep.problem.directions):
            for k, st in enumerate(direction.funnel):
                if st.stage != role.produces.activity:
                    continue
                total_cap = res.cap[d][k]
                if role.scope == "direction":
                    mine = role.produces.per_month * np.maximum(res.eff[(rid, direction.id)], 0.0)
                else:
                    mine = _shared_part(prep, res, rid, d, k)
                with np.errstate(invalid="ignore", divide="ignore"):
                    frac = np.where(total_cap > 1e-9, mine / np.where(total_cap > 1e-9, total_cap, 1.0), 0.0)
                vol += res.v[d][k] * np.clip(frac, 0.0, 1.0)
        out[rid] = (vol, cap)
    return out


def _shared_part(prep: Prepared, res: MilpResult, rid: str, d: int, k: int) -> np.ndarray:
    """Capacity of shared role ``rid`` given to direction ``d`` stage ``k`` (pro rata of the pool)."""
    stage = prep.problem.directions[d].funnel[k].stage
    shared = [r for r in prep.producers[stage] if prep.roles[r].scope == "shared"]
    pool = sum(prep.roles[r].produces.per_month * np.maximum(res.eff[(r, SHARED)], 0.0)  # type: ignore[union-attr]
               for r in shared)
    dir_cap = sum(
        prep.roles[r].produces.per_month * np.maximum(res.eff[(r, prep.dirs[d])], 0.0)  # type: ignore[union-attr]
        for r in prep.producers[stage] if prep.roles[r].scope == "direction"
    )
    given = np.maximum(res.cap[d][k] - dir_cap, 0.0)
    mine = prep.roles[rid].produces.per_month * np.maximum(res.eff[(rid, SHARED)], 0.0)  # type: ignore[union-attr]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(pool > 1e-9, given * mine / np.where(pool > 1e-9, pool, 1.0), 0.0))


def utilisation(prep: Prepared, res: MilpResult) -> dict[str, float]:
    """Share of capacity used over the horizon per role.

    Producing roles: activity volume / capacity. Managers and support staff: people managed or
    supported / (span or ratio x headcount).
    """
    out: dict[str, float] = {}
    for rid, (vol, cap) in role_volumes(prep, res).items():
        out[rid] = round(float(vol.sum() / cap.sum()), 4) if cap.sum() > 1e-9 else 0.0
    for _i, rid, other, ratio, _kind in structure_pairs(prep):
        if rid in out:
            continue
        heads = sum(res.n[(rid, g)].sum() for g in prep.groups[rid])
        managed = sum(res.n[(other, g)].sum() for g in prep.groups[other])
        out[rid] = round(float(managed / (ratio * heads)), 4) if heads > 0 else 0.0
    return out


def binding(prep: Prepared, res: MilpResult, budget: float | None, tol: float = 1e-6) -> list[str]:
    """Human-readable list of the constraints that are tight in this solution."""
    out: list[str] = []
    for rid, (vol, cap) in role_volumes(prep, res).items():
        tight = [t for t in range(prep.T) if cap[t] > 1e-9 and vol[t] >= cap[t] * (1 - 1e-4) - tol]
        if tight:
            out.append(f"capacity of {rid} (months {months_text(tight)})")
    for rid, role in prep.roles.items():
        if role.max_hires_per_month is not None:
            tot = np.sum([res.h[(rid, g)] for g in prep.groups[rid]], axis=0)
            tight = [t for t in range(prep.T) if tot[t] >= role.max_hires_per_month - tol]
            if tight and role.max_hires_per_month >= 0:
                out.append(f"hiring limit of {rid}: {role.max_hires_per_month}/month (months {months_text(tight)})")
        if role.max_headcount is not None:
            cap_n = role.max_headcount
            tight = [t for t in range(prep.T) if any(res.n[(rid, g)][t] >= cap_n for g in prep.groups[rid])]
            if tight:
                out.append(f"max headcount of {rid} (months {months_text(tight)})")
    for _i, rid, other, ratio, kind in structure_pairs(prep):
        tight = []
        for t in range(prep.T):
            for g in prep.groups[rid]:
                managed = (sum(res.n[(other, h)][t] for h in prep.groups[other]) if g == SHARED
                           else res.n[(other, g)][t])
                if res.n[(rid, g)][t] > prep.roles[rid].min_headcount and ratio * (res.n[(rid, g)][t] - 1) < managed:
                    tight.append(t)
                    break
        if tight:
            word = "span" if kind == "span" else "support ratio"
            out.append(f"{word} {rid} -> {other} 1:{ratio:g} (months {months_text(tight)})")
    if budget is not None and res.cost >= budget * (1 - 1e-6) - 1e-6:
        out.append(f"budget {budget:,.0f}")
    return out


def bottleneck(prep: Prepared, res: MilpResult) -> str | None:
    """The producing role nearest to full use (ties: the one deepest in the hierarchy).

    Returns ``"role (level N)"`` or None when no role produces anything.
    """
    util = {r: (v.sum() / c.sum() if c.sum() > 1e-9 else 0.0) for r, (v, c) in role_volumes(prep, res).items()}
    if not util:
        return None
    best = max(util, key=lambda r: (round(util[r], 3), prep.roles[r].level))
    return f"{best} (level {prep.roles[best].level})"


def norms(prep: Prepared, res: MilpResult) -> dict[str, dict[str, float]]:
    """Per-person norms of each producing role, per fully productive person.

    ``<activity>_per_day`` / ``_per_week`` / ``_per_month`` and ``<later stage>_per_month`` for each
    funnel stage after the role's activity (e.g. deals per account manager per month).
    """
    out: dict[str, dict[str, float]] = {}
    vols = role_volumes(prep, res)
    for rid, (vol, _cap) in vols.items():
        role = prep.roles[rid]
        assert role.produces is not None
        person_months = float(sum(np.maximum(res.eff[(rid, g)], 0.0).sum() for g in prep.groups[rid]))
        if person_months <= 1e-9:
            continue
        act = role.produces.activity
        per_month = float(vol.sum()) / person_months
        per_day = per_month / role.days_per_month
        row = {f"{act}_per_day": round(per_day, 3), f"{act}_per_week": round(per_day * WEEK_DAYS, 3),
               f"{act}_per_month": round(per_month, 3)}
        # later stages attributed to this role in proportion to its share of the activity
        later: dict[str, float] = {}
        for d, direction in enumerate(prep.problem.directions):
            names = [s.stage for s in direction.funnel]
            if act not in names:
                continue
            k0 = names.index(act)
            tot = res.v[d][k0].sum()
            if tot <= 1e-9:
                continue
            # this role's share of the direction's activity volume
            mine = role.produces.per_month * (
                np.maximum(res.eff[(rid, direction.id)], 0.0) if role.scope == "direction"
                else _shared_part(prep, res, rid, d, k0) / role.produces.per_month
            )
            share = float(np.minimum(res.v[d][k0], mine).sum() / tot)
            for k in range(k0 + 1, len(names)):
                later[names[k]] = later.get(names[k], 0.0) + float(res.v[d][k].sum()) * share
        for st, v in later.items():
            row[f"{st}_per_month"] = round(v / person_months, 3)
        out[rid] = row
    return out
