"""Staffing problem (headcount per role, direction and month) and its solution.

Semantics (the MILP in :mod:`optimizer.staffing` implements exactly this)
------------------------------------------------------------------------
Months are indexed ``0..months-1``.

Funnel
    Each direction has a list of funnel ``stages`` from the first activity (e.g. cold calls) to the
    deal (the last stage). ``rate`` of stage k converts the volume of stage k-1 *in the same month*
    into stage k; ``inbound_per_month`` leads enter at ``inbound_stage`` (default the second stage)
    without needing the stages before it. A stage produced by a role (``Role.produces.activity``)
    is also limited by that role's capacity (``per_month`` x effective headcount), so e.g. meetings
    are bounded both by the meetings telesales booked and by what account managers can hold.
    The first stage must be produced by a role or be the inbound stage.
Cycle lag
    Deals of the last stage in month m are booked as revenue in month ``m + cycle_months``; deals
    that would book after the horizon do not count. Revenue of a direction in month t is
    ``base_revenue[t] + avg_deal x deals[t - cycle_months]``.
Hit plan
    ``plan_basis="horizon"`` (default): a direction hits plan when its total revenue over the horizon
    is at least its plan (a monthly list is summed). ``"monthly"``: its revenue in every month is at
    least that month's plan (a yearly number is spread evenly). A direction without ``plan`` gets
    ``share x plan_total``. ``plan`` and ``base_revenue`` given as one number are totals over the
    horizon, spread evenly over the months. The Monte Carlo ``overall`` probability is P(total revenue of all
    directions >= total plan) (monthly basis: every month's total); per direction it is the
    direction's own plan.
Headcount, attrition
    Headcount ``n`` (filled positions) and new hires ``h`` are integers per role, group and month:
    ``n[t] <= n[t-1] + h[t]`` from ``n[-1] = current`` (a position may be dropped at no cost).
    Attrition is back-filled: the expected leavers ``attrition x n[t-1]`` (fractional) are replaced
    by back-fill hires ``b[t]`` in the same month, who cost ``hiring_cost``, go through the ramp-up
    and count against ``max_hires_per_month``. So integer headcount stays a plan of positions while
    turnover shows, in expectation, as cost and lost productivity (output: ``hires`` = growth hires,
    ``backfill`` = expected back-fill hires).
Ramp-up
    A hire (growth or back-fill) of month m works at ``ramp[k]`` of full productivity in month m+k
    (k < len(ramp)), fully afterwards; effective headcount is
    ``n[t] - sum_k (1 - ramp[k]) (h[t-k] + b[t-k])``. The current staff are fully productive.
    Effective headcount may not be negative, in every month: so in the last ``cycle_months`` months,
    whose deals book after the horizon, a producing role still keeps a position while earlier back-fill
    hires ramp up (measured 1.1-5.9 % of a direction's cost on the benchmark instance). The experimental
    ``optimizer.staffing.milp.solve_milp(free_tail=True)`` drops that requirement there.
Scope
    ``scope="direction"`` roles are sized per direction; ``"shared"`` roles form one pool (direction
    ``"*"`` in the output) whose capacity serves every direction's funnel.
Structure
    ``{role, manages, span}``: ``span x n[role] >= n[manages]`` per direction when both are direction
    roles, against the sum over directions when ``role`` is shared. ``{role, supports, ratio}`` is the
    same inequality for support staff (one assistant per up to ``ratio`` telesales).
Limits and cost
    ``max_hires_per_month`` bounds a role's hires (growth + back-fill) over all directions in each
    month; ``min_headcount`` / ``max_headcount`` bound each group (direction, or the pool).
    Cost = sum of ``monthly_cost x n`` + ``hiring_cost x (h + b)``. ``budget`` caps it (also under
    ``min_cost`` when given).
Objectives
    ``min_cost``: cheapest staffing hitting every direction's plan. ``max_revenue``: the most total
    revenue within ``budget`` (then the cheapest staffing achieving it); the split between
    directions is free (money goes where a unit of cost brings most revenue), the plans are only
    reported against. With ``service_level`` p,
    ``min_cost`` looks for the cheapest staffing whose Monte Carlo probability of hitting plan is at
    least p (conversion rates drawn from beta laws with mean ``rate`` and sd ``rate_sd``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from optimizer.errors import ErrorItem, InputError
from optimizer.model.common import Base, Id, NonNegFloat, SolveOptions, Status

Rate = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class FunnelStage(Base):
    """A funnel stage; ``rate`` converts the previous stage into this one (ignored on the first).

    ``rate_sd`` is the standard deviation of the rate, used by the Monte Carlo evaluation and the
    service-level sizing (a beta distribution with that mean and spread).
    """

    stage: str = Field(min_length=1)
    rate: Rate = 1.0
    rate_sd: Annotated[float, Field(ge=0, le=0.5)] = 0.0


class Direction(Base):
    """An industry direction with its revenue plan and its funnel."""

    id: Id
    plan: NonNegFloat | list[NonNegFloat] | None = None
    share: Annotated[float, Field(ge=0, le=1)] | None = None
    avg_deal: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    cycle_months: Annotated[int, Field(ge=0, le=24)] = 0
    funnel: list[FunnelStage] = Field(min_length=1)
    base_revenue: NonNegFloat | list[NonNegFloat] = 0.0
    inbound_per_month: NonNegFloat = 0.0
    inbound_stage: str | None = None
    """Stage the inbound leads enter at (default: the second stage, or the only one)."""


class Produces(Base):
    """Funnel activity a role produces and how much per person per month at full productivity."""

    activity: str = Field(min_length=1)
    per_month: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Role(Base):
    """A role of the sales system (level 1 = top)."""

    id: Id
    level: Annotated[int, Field(ge=1)]
    monthly_cost: NonNegFloat
    hiring_cost: NonNegFloat = 0.0
    ramp: list[Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=list)
    attrition: Annotated[float, Field(ge=0, lt=1)] = 0.0
    max_hires_per_month: Annotated[int, Field(ge=0)] | None = None
    current: Annotated[int, Field(ge=0)] | dict[str, Annotated[int, Field(ge=0)]] = 0
    produces: Produces | None = None
    scope: Literal["direction", "shared"] = "direction"
    days_per_month: Annotated[float, Field(gt=0, le=31)] = 21.0
    min_headcount: Annotated[int, Field(ge=0)] = 0
    max_headcount: Annotated[int, Field(ge=0)] | None = None


class SpanRule(Base):
    """``role`` manages up to ``span`` people of ``manages`` (span of control)."""

    role: Id
    manages: Id
    span: Annotated[float, Field(gt=0)]


class SupportRule(Base):
    """One ``role`` supports up to ``ratio`` people of ``supports`` (support ratio)."""

    role: Id
    supports: Id
    ratio: Annotated[float, Field(gt=0)]


class StaffingProblem(Base):
    """Headcount and hiring per role, direction and month to deliver the plan."""

    name: str | None = None
    months: Annotated[int, Field(ge=1, le=60)] = 12
    plan_total: NonNegFloat | None = None
    directions: list[Direction] = Field(min_length=1)
    roles: list[Role] = Field(min_length=1)
    structure: list[SpanRule | SupportRule] = Field(default_factory=list)
    objective: Literal["min_cost", "max_revenue"] = "min_cost"
    budget: NonNegFloat | None = None
    service_level: Annotated[float, Field(gt=0, lt=1)] | None = None
    plan_basis: Literal["horizon", "monthly"] = "horizon"
    solver: Literal["auto", "cbc", "highs"] = "auto"
    mc_draws: Annotated[int, Field(ge=0, le=1_000_000)] = 10_000
    options: SolveOptions = Field(default_factory=SolveOptions)

    @model_validator(mode="after")
    def _cross_checks(self) -> StaffingProblem:
        errors = staffing_errors(self)
        if errors:
            raise InputError(errors)
        return self


def staffing_errors(p: StaffingProblem) -> list[ErrorItem]:
    """Cross-field checks of a staffing problem; every problem found is returned."""
    errs: list[ErrorItem] = []
    dids: dict[str, int] = {}
    for i, d in enumerate(p.directions):
        if d.id in dids:
            errs.append(ErrorItem(f"directions[{i}].id", f"duplicate direction id {d.id!r}"))
        dids[d.id] = i
        if d.plan is None and (p.plan_total is None or d.share is None):
            errs.append(ErrorItem(f"directions[{i}].plan", "give a plan, or plan_total with this direction's share"))
        for field, val in (("plan", d.plan), ("base_revenue", d.base_revenue)):
            if isinstance(val, list) and len(val) != p.months:
                errs.append(
                    ErrorItem(f"directions[{i}].{field}", f"has {len(val)} monthly values but months is {p.months}")
                )
        stages = [s.stage for s in d.funnel]
        if len(set(stages)) != len(stages):
            errs.append(ErrorItem(f"directions[{i}].funnel", "a stage name appears twice"))
        if d.inbound_stage is not None and d.inbound_stage not in stages:
            errs.append(ErrorItem(f"directions[{i}].inbound_stage", f"{d.inbound_stage!r} is not a funnel stage"))
    shares = [d.share for d in p.directions if d.share is not None]
    if p.plan_total is not None and shares and abs(sum(shares) - 1.0) > 1e-6:
        errs.append(ErrorItem("directions", f"shares sum to {sum(shares):.4f}, not 1"))

    rids: dict[str, int] = {}
    all_stages = {s.stage for d in p.directions for s in d.funnel}
    for i, r in enumerate(p.roles):
        if r.id in rids:
            errs.append(ErrorItem(f"roles[{i}].id", f"duplicate role id {r.id!r}"))
        rids[r.id] = i
        if r.produces is not None and r.produces.activity not in all_stages:
            errs.append(ErrorItem(f"roles[{i}].produces.activity", f"{r.produces.activity!r} is not a funnel stage"))
        if isinstance(r.current, dict):
            for k in r.current:
                if k not in dids:
                    errs.append(ErrorItem(f"roles[{i}].current.{k}", f"unknown direction {k!r}"))
    for i, rule in enumerate(p.structure):
        other = rule.manages if isinstance(rule, SpanRule) else rule.supports
        other_field = "manages" if isinstance(rule, SpanRule) else "supports"
        if rule.role not in rids:
            errs.append(ErrorItem(f"structure[{i}].role", f"unknown role {rule.role!r}"))
        if other not in rids:
            errs.append(ErrorItem(f"structure[{i}].{other_field}", f"unknown role {other!r}"))
    produced = {r.produces.activity for r in p.roles if r.produces is not None}
    for i, d in enumerate(p.directions):
        first = d.funnel[0].stage
        inbound_at = d.inbound_stage or (d.funnel[1].stage if len(d.funnel) > 1 else first)
        if first not in produced and not (inbound_at == first and d.inbound_per_month > 0):
            errs.append(ErrorItem(f"directions[{i}].funnel[0].stage",
                                  f"no role produces the first stage {first!r} and no inbound enters there"))
    for i, r in enumerate(p.roles):
        if r.scope == "shared" and isinstance(r.current, dict):
            errs.append(ErrorItem(f"roles[{i}].current", "a shared role has one pool: give a number"))
        if r.max_headcount is not None and r.max_headcount < r.min_headcount:
            errs.append(ErrorItem(f"roles[{i}].max_headcount", "is below min_headcount"))
    for i, rule in enumerate(p.structure):
        other = rule.manages if isinstance(rule, SpanRule) else rule.supports
        if rule.role in rids and other in rids:
            if p.roles[rids[rule.role]].scope == "direction" and p.roles[rids[other]].scope == "shared":
                errs.append(ErrorItem(f"structure[{i}].role",
                                      f"{rule.role!r} is sized per direction but {other!r} is a shared pool"))
            if rule.role == other:
                errs.append(ErrorItem(f"structure[{i}].role", "a role cannot manage or support itself"))
    if p.objective == "max_revenue" and p.budget is None:
        errs.append(ErrorItem("budget", "objective max_revenue needs a budget"))
    return errs


class HeadcountRow(Base):
    """Headcount of a role in a direction (``"*"`` for shared roles) in a month."""

    role: Id
    direction: str
    month: int
    count: int
    hires: int = 0
    effective: float = 0.0
    backfill: float = 0.0


class FunnelRow(Base):
    """Volume of a funnel stage in a direction and month."""

    direction: str
    month: int
    stage: str
    volume: float


class AttainmentRow(Base):
    """Plan vs expected revenue of a direction over the horizon."""

    direction: str
    plan: float
    expected: float


class Probability(Base):
    """Monte Carlo estimate of the probability of hitting plan."""

    overall: float
    ci_low: float
    ci_high: float
    draws: int
    per_direction: dict[str, float] = Field(default_factory=dict)
    per_direction_ci: dict[str, tuple[float, float]] = Field(default_factory=dict)


class FrontierPoint(Base):
    """One point of the cost-vs-probability frontier of service-level sizing."""

    plan_factor: float
    cost: float
    probability: float
    headcount: int


class StaffingSolution(Base):
    """Solution of a :class:`StaffingProblem`."""

    status: Status
    objective: float | None
    headcount: list[HeadcountRow]
    cost: float
    funnel: list[FunnelRow] = Field(default_factory=list)
    attainment: list[AttainmentRow] = Field(default_factory=list)
    utilisation: dict[str, float] = Field(default_factory=dict)
    bottleneck: str | None = None
    binding: list[str] = Field(default_factory=list)
    shadow_prices: dict[str, float] = Field(default_factory=dict)
    norms: dict[str, dict[str, float]] = Field(default_factory=dict)
    diagnosis: list[dict[str, Any]] = Field(default_factory=list)
    probability: Probability | None = None
    frontier: list[FrontierPoint] = Field(default_factory=list)
    stats: dict[str, Any] = Field(default_factory=dict)
