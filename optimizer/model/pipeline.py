"""Pipeline problem (sales plan + outlets + org rules -> headcount -> territories -> routes) and its solution.

Stages
------
1. **Staffing** sizes the field force: the headcount of ``field_role`` (summed over directions)
   in ``field_month`` (as numbered in the staffing solution; default: its last month). ``overrides.headcount``
   skips the stage; without a staffing problem the count is the number of ``reps`` given.
2. **Territories** split the outlets among that many reps. Each outlet's weekly workload is
   ``visits per week x (service + estimated travel per visit)`` hours, the travel estimate coming
   from the local density (mean distance to the nearest outlets). With ``reps`` given, their
   start locations are the territory centres. ``overrides.territories`` fixes the assignment.
3. **Routes** builds each territory's weekly plan for its rep; territories are solved in parallel.

The solution keeps every stage's output and the links rep -> territory -> routes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from optimizer.errors import ErrorItem, InputError
from optimizer.model import register
from optimizer.model.common import Base, Id, NonNegFloat, SolveOptions, Status, Travel
from optimizer.model.routes import Break, Horizon, Outlet, Rep, RoutesSolution, Shift
from optimizer.model.staffing import StaffingProblem, StaffingSolution
from optimizer.model.territories import Measure, TerritoriesSolution

Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class PipelineOutlet(Outlet):
    """A routes outlet plus its sales ``potential`` (balanced between territories)."""

    potential: NonNegFloat = 0.0


class RepDefaults(Base):
    """Settings of reps the pipeline creates (and of given reps that leave them out)."""

    shift: Shift = Field(default_factory=Shift)
    break_: Break | None = Field(None, alias="break")
    max_visits_per_day: Annotated[int, Field(ge=1)] | None = None
    max_route_minutes: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    model_config = Base.model_config | {"serialize_by_alias": True}


class Overrides(Base):
    """What-if overrides of a stage's outcome.

    ``headcount`` fixes the number of field reps (the staffing stage still runs, for the
    report, when a staffing problem is given); ``territories`` fixes the outlet -> territory
    assignment (territory ids are rep ids when reps are given, otherwise free labels).
    """

    headcount: Annotated[int, Field(ge=1)] | None = None
    territories: dict[Id, Id] | None = None


class TimeSplit(Base):
    """Share of the time limit given to each stage (normalised to sum to 1)."""

    staffing: Fraction = 0.1
    territories: Fraction = 0.25
    routes: Fraction = 0.65


def _default_balance() -> dict[Measure, float]:
    return {"workload": 0.10}


class PipelineProblem(Base):
    """Sales plan, outlets and org rules in; headcount, territories and weekly routes out.

    ``cover_workload`` raises the field-rep count from staffing (or the given reps) to what the
    outlets' weekly workload needs; ``workers`` processes route the territories in parallel.
    """

    name: str | None = None
    staffing: StaffingProblem | None = None
    field_role: Id | None = None
    field_month: Annotated[int, Field(ge=0)] | None = None
    horizon: Horizon = Field(default_factory=Horizon)
    objective: Literal["duration", "distance"] = "duration"
    outlets: list[PipelineOutlet] = Field(min_length=1)
    reps: list[Rep] | None = None
    rep_defaults: RepDefaults = Field(default_factory=RepDefaults)
    travel: Travel = Field(default_factory=Travel)
    balance: dict[Measure, Annotated[float, Field(ge=0, le=10)]] = Field(default_factory=_default_balance)
    cover_workload: bool = True
    overrides: Overrides = Field(default_factory=Overrides)
    time_split: TimeSplit = Field(default_factory=TimeSplit)
    workers: Annotated[int, Field(ge=1, le=64)] = 2
    options: SolveOptions = Field(default_factory=SolveOptions)

    @model_validator(mode="after")
    def _cross_checks(self) -> PipelineProblem:
        errors = pipeline_errors(self)
        if errors:
            raise InputError(errors)
        return self


def pipeline_errors(p: PipelineProblem) -> list[ErrorItem]:
    """Cross-field checks of a pipeline problem; every problem found is returned."""
    errs: list[ErrorItem] = []
    if p.travel.metric == "matrix":
        errs.append(ErrorItem("travel.metric", "the pipeline needs haversine or euclidean travel (territories)"))
    want_geo = p.travel.metric == "haversine"
    kind = "lat/lon" if want_geo else "x/y"
    seen: dict[str, int] = {}
    for i, o in enumerate(p.outlets):
        if o.id in seen:
            errs.append(ErrorItem(f"outlets[{i}].id", f"duplicate outlet id {o.id!r} (also outlets[{seen[o.id]}])"))
        else:
            seen[o.id] = i
        if p.travel.metric != "matrix" and o.location.is_geo != want_geo:
            errs.append(ErrorItem(f"outlets[{i}].location", f"travel metric {p.travel.metric} needs {kind}"))
        if o.visits > p.horizon.n_days:
            errs.append(
                ErrorItem(f"outlets[{i}].visits", f"{o.visits} visits but the horizon has {p.horizon.n_days} days")
            )
    rep_ids: dict[str, int] = {}
    for i, r in enumerate(p.reps or []):
        if r.id in rep_ids:
            errs.append(ErrorItem(f"reps[{i}].id", f"duplicate rep id {r.id!r} (also reps[{rep_ids[r.id]}])"))
        else:
            rep_ids[r.id] = i
        if p.travel.metric != "matrix" and r.start.is_geo != want_geo:
            errs.append(ErrorItem(f"reps[{i}].start", f"travel metric {p.travel.metric} needs {kind}"))
    if p.reps is not None and not p.reps:
        errs.append(ErrorItem("reps", "empty list: give at least one rep or omit the field"))
    for i, o in enumerate(p.outlets):
        if o.rep is not None and o.rep not in rep_ids:
            errs.append(ErrorItem(f"outlets[{i}].rep", f"unknown rep {o.rep!r}"))
    if p.staffing is None and p.overrides.headcount is None and p.overrides.territories is None and not p.reps:
        errs.append(ErrorItem("staffing", "give a staffing problem, an override or reps to size the field force"))
    if p.staffing is not None:
        roles = {r.id for r in p.staffing.roles}
        if p.field_role is not None and p.field_role not in roles:
            errs.append(ErrorItem("field_role", f"unknown role {p.field_role!r} of the staffing problem"))
        if p.field_role is None and p.overrides.headcount is None and not _default_field_role(p.staffing):
            errs.append(ErrorItem("field_role", "name the staffing role that makes the outlet visits"))
        if p.field_month is not None and p.field_month > p.staffing.months:
            errs.append(ErrorItem("field_month", f"month {p.field_month} is outside 0..{p.staffing.months}"))
    if p.overrides.territories is not None:
        over = p.overrides.territories
        for oid in over:
            if oid not in seen:
                errs.append(ErrorItem(f"overrides.territories.{oid}", f"unknown outlet {oid!r}"))
        missing = [o.id for o in p.outlets if o.id not in over]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
            errs.append(
                ErrorItem("overrides.territories", f"{len(missing)} outlets have no territory: {shown}")
            )
        n_terr = len(set(over.values()))
        if p.overrides.headcount is not None and p.overrides.headcount != n_terr:
            errs.append(
                ErrorItem(
                    "overrides.headcount", f"{p.overrides.headcount} reps but the fixed territories name {n_terr}"
                )
            )
    if p.overrides.headcount is not None and p.overrides.headcount > len(p.outlets):
        errs.append(ErrorItem("overrides.headcount", f"{p.overrides.headcount} reps for {len(p.outlets)} outlets"))
    return errs


def _default_field_role(sp: StaffingProblem) -> str | None:
    """The field role when not named: the only role with the most ``produces`` capacity at the lowest level."""
    producers = [r for r in sp.roles if r.produces is not None]
    if not producers:
        return None
    deepest = max(r.level for r in producers)
    cands = [r for r in producers if r.level == deepest]
    return cands[0].id if len(cands) == 1 else None


def field_role_of(p: PipelineProblem) -> str | None:
    """The staffing role counted as field reps (given, or the single deepest producing role)."""
    if p.field_role is not None:
        return p.field_role
    return _default_field_role(p.staffing) if p.staffing is not None else None


# --------------------------------------------------------------------------------------------
# Solution
# --------------------------------------------------------------------------------------------


class Link(Base):
    """One rep: its territory, its outlets and the horizon days it has routes on."""

    rep: Id
    territory: Id
    outlets: list[Id]
    days: list[int]
    workload: float
    potential: float
    visits_planned: int
    visits_required: int
    created: bool = False


class StageStats(Base):
    """Outcome of one stage."""

    status: str
    runtime_s: float
    source: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class PipelineSolution(Base):
    """Solution of a :class:`PipelineProblem`: every stage's output and the links between them."""

    status: Status
    objective: float | None
    headcount: int
    headcount_source: Literal["override", "staffing", "reps"]
    staffing: StaffingSolution | None = None
    territories: TerritoriesSolution
    routes: RoutesSolution
    reps: list[Rep]
    links: list[Link]
    workload: dict[str, float] = Field(default_factory=dict)
    stages: dict[str, StageStats] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    stats: dict[str, Any] = Field(default_factory=dict)


register("pipeline", PipelineProblem, PipelineSolution)

__all__ = [
    "Link",
    "Overrides",
    "PipelineOutlet",
    "PipelineProblem",
    "PipelineSolution",
    "RepDefaults",
    "StageStats",
    "TimeSplit",
    "field_role_of",
    "pipeline_errors",
]
