"""Staffing problem (headcount per role, direction and month) and its solution."""

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
    stats: dict[str, Any] = Field(default_factory=dict)
