"""Arrays derived from a :class:`StaffingProblem` once, shared by the MILP and the Monte Carlo."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimizer.model.staffing import Direction, Role, SpanRule, StaffingProblem

SHARED = "*"


@dataclass
class Prepared:
    """Problem data as plain arrays (months ``T``, directions ``D``).

    Attributes
    ----------
    plan
        ``(D, T)`` plan per direction and month (horizon basis: the yearly number spread evenly;
        only the row sums matter then).
    base
        ``(D, T)`` revenue from existing clients.
    groups
        Role id -> list of group keys (direction ids, or ``["*"]`` for a shared role).
    producers
        Stage name -> list of role ids producing it.
    """

    problem: StaffingProblem
    T: int
    dirs: list[str]
    roles: dict[str, Role]
    plan: np.ndarray
    base: np.ndarray
    groups: dict[str, list[str]]
    producers: dict[str, list[str]]
    inbound_index: list[int]
    current: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def plan_total(self) -> np.ndarray:
        """``(D,)`` plan over the horizon per direction."""
        return np.asarray(self.plan.sum(axis=1))

    def direction(self, d: int) -> Direction:
        """The ``d``-th direction."""
        return self.problem.directions[d]


def _monthly(value: float | list[float] | None, months: int) -> np.ndarray:
    if value is None:
        return np.zeros(months)
    if isinstance(value, list):
        return np.asarray(value, dtype=float)
    return np.full(months, float(value) / months)


def prepare(p: StaffingProblem) -> Prepared:
    """Turn a validated problem into arrays.

    Parameters
    ----------
    p
        The staffing problem.

    Returns
    -------
    Prepared
        Plans, base revenue, role groups, producers and current headcounts.
    """
    T = p.months
    dirs = [d.id for d in p.directions]
    plan = np.zeros((len(dirs), T))
    base = np.zeros((len(dirs), T))
    inbound_index = []
    for i, d in enumerate(p.directions):
        if d.plan is not None:
            plan[i] = _monthly(d.plan, T)
        else:
            assert p.plan_total is not None and d.share is not None
            plan[i] = _monthly(p.plan_total * d.share, T)
        base[i] = _monthly(d.base_revenue, T)
        stages = [s.stage for s in d.funnel]
        if d.inbound_stage is not None:
            inbound_index.append(stages.index(d.inbound_stage))
        else:
            inbound_index.append(1 if len(stages) > 1 else 0)
    roles = {r.id: r for r in p.roles}
    groups = {r.id: ([SHARED] if r.scope == "shared" else list(dirs)) for r in p.roles}
    producers: dict[str, list[str]] = {}
    for r in p.roles:
        if r.produces is not None:
            producers.setdefault(r.produces.activity, []).append(r.id)
    current: dict[tuple[str, str], int] = {}
    for r in p.roles:
        for g in groups[r.id]:
            if isinstance(r.current, dict):
                current[(r.id, g)] = int(r.current.get(g, 0))
            else:
                # a number for a direction role is the headcount in each direction
                current[(r.id, g)] = int(r.current)
    return Prepared(p, T, dirs, roles, plan, base, groups, producers, inbound_index, current)


def structure_pairs(prep: Prepared) -> list[tuple[int, str, str, float, str]]:
    """Structural rules as ``(index, role, other, ratio, kind)`` with kind ``span`` or ``support``."""
    out = []
    for i, rule in enumerate(prep.problem.structure):
        if isinstance(rule, SpanRule):
            out.append((i, rule.role, rule.manages, rule.span, "span"))
        else:
            out.append((i, rule.role, rule.supports, rule.ratio, "support"))
    return out
