"""Territories problem (balanced, compact rep territories) and its solution."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from optimizer.errors import ErrorItem, InputError
from optimizer.model.common import Base, Id, Location, NonNegFloat, SolveOptions, Status, Travel

Measure = Literal["workload", "potential", "units"]


def _default_balance() -> dict[Measure, float]:
    return {"workload": 0.05}


class Unit(Base):
    """An outlet, account or small area (e.g. postcode) to assign to a territory.

    ``distances`` (optional) gives the km from this unit to each territory's centre, keyed by
    territory id; when one unit has it every unit must, and it replaces computed distances.
    """

    id: Id
    location: Location
    workload: NonNegFloat = 1.0
    potential: NonNegFloat = 0.0
    current: Id | None = None
    locked: bool = False
    distances: dict[Id, NonNegFloat] | None = None
    segment: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class Territory(Base):
    """A territory (one rep); a fixed ``center`` is the rep's home base.

    Centres may be mixed: territories with a ``center`` keep it (existing reps keep their home bases),
    those without one get a centre chosen by the solver among the units (new hires), exactly as when no
    territory has one. The solution's ``territories[].center_fixed`` says which is which.
    """

    id: Id
    center: Location | None = None
    capacity: NonNegFloat | None = None


class TerritoriesProblem(Base):
    """Split units among territories: balanced measures, compact, few moves from ``current``.

    Give either ``territories`` (ids, optional fixed centres: all, none or some of them) or ``count``
    (ids ``T1..Tcount``, centres chosen by the solver). ``balance`` maps a measure to its tolerance: the largest
    allowed relative deviation of a territory's total from the mean. A ``locked`` unit stays in
    its ``current`` territory. ``max_moved`` caps the units that change territory; ``move_cost``
    adds that cost (in km x workload units of dispersion) per moved unit.

    Optional extensions (defaults keep the behaviour above): ``max_workload_moved`` caps the
    workload of the units that change territory (the "disruption" of realignment studies);
    ``move_cost_basis`` = ``"workload"`` charges ``move_cost`` per unit of workload moved
    instead of per unit; ``distance_weight`` = ``"unit"`` makes the objective the plain sum of
    unit-to-centre km (each unit counts once) instead of workload x km; ``pareto`` asks for the
    dispersion vs disruption trade-off (exact on small fixed-centre problems).
    """

    name: str | None = None
    units: list[Unit] = Field(min_length=1)
    territories: list[Territory] | None = None
    count: Annotated[int, Field(ge=1)] | None = None
    balance: dict[Measure, Annotated[float, Field(ge=0, le=10)]] = Field(default_factory=_default_balance)
    max_moved: Annotated[int, Field(ge=0)] | None = None
    move_cost: NonNegFloat = 0.0
    max_workload_moved: NonNegFloat | None = None
    move_cost_basis: Literal["unit", "workload"] = "unit"
    distance_weight: Literal["workload", "unit"] = "workload"
    pareto: bool = False
    contiguity: bool = False
    adjacency: list[tuple[Id, Id]] | None = None
    travel: Travel = Field(default_factory=Travel)
    options: SolveOptions = Field(default_factory=SolveOptions)

    @model_validator(mode="after")
    def _cross_checks(self) -> TerritoriesProblem:
        errors = territories_errors(self)
        if errors:
            raise InputError(errors)
        return self

    @property
    def territory_ids(self) -> list[str]:
        """Ids of the territories, given or generated (``T1..Tcount``)."""
        if self.territories is not None:
            return [t.id for t in self.territories]
        return [f"T{k + 1}" for k in range(self.count or 0)]


def territories_errors(p: TerritoriesProblem) -> list[ErrorItem]:
    """Cross-field checks of a territories problem; every problem found is returned."""
    errs: list[ErrorItem] = []
    if p.territories is None and p.count is None:
        errs.append(ErrorItem("territories", "give either territories or count"))
    if p.territories is not None and p.count is not None and p.count != len(p.territories):
        errs.append(ErrorItem("count", f"count {p.count} differs from the {len(p.territories)} territories listed"))
    if p.territories is not None and not p.territories:
        errs.append(ErrorItem("territories", "at least one territory is needed"))
    tids = set(p.territory_ids)
    seen: dict[str, int] = {}
    for i, t in enumerate(p.territories or []):
        if t.id in seen:
            errs.append(ErrorItem(f"territories[{i}].id", f"duplicate territory id {t.id!r}"))
        seen[t.id] = i
    useen: dict[str, int] = {}
    for i, u in enumerate(p.units):
        if u.id in useen:
            errs.append(ErrorItem(f"units[{i}].id", f"duplicate unit id {u.id!r} (also units[{useen[u.id]}])"))
        else:
            useen[u.id] = i
        if u.current is not None and u.current not in tids:
            errs.append(ErrorItem(f"units[{i}].current", f"unknown territory {u.current!r}"))
        if u.locked and u.current is None:
            errs.append(ErrorItem(f"units[{i}].locked", "a locked unit needs its current territory"))
    if p.max_moved is not None and not any(u.current is not None for u in p.units):
        errs.append(ErrorItem("max_moved", "needs units with a current territory"))
    n_terr = len(tids)
    if n_terr > len(p.units):
        errs.append(ErrorItem("count" if p.territories is None else "territories",
                              f"{n_terr} territories for only {len(p.units)} units"))
    want_geo = p.travel.metric == "haversine"
    if p.travel.metric == "matrix":
        errs.append(ErrorItem("travel.metric", "territories use haversine or euclidean travel"))
    else:
        kind = "lat/lon" if want_geo else "x/y"
        for i, u in enumerate(p.units):
            if u.location.is_geo != want_geo:
                errs.append(ErrorItem(f"units[{i}].location", f"travel metric {p.travel.metric} needs {kind}"))
        for i, t in enumerate(p.territories or []):
            if t.center is not None and t.center.is_geo != want_geo:
                errs.append(ErrorItem(f"territories[{i}].center", f"travel metric {p.travel.metric} needs {kind}"))
    for j, (a, b) in enumerate(p.adjacency or []):
        for k, x in enumerate((a, b)):
            if x not in useen:
                errs.append(ErrorItem(f"adjacency[{j}][{k}]", f"unknown unit {x!r}"))
    if p.max_workload_moved is not None and not any(u.current is not None for u in p.units):
        errs.append(ErrorItem("max_workload_moved", "needs units with a current territory"))
    with_dist = [u.distances is not None for u in p.units]
    if any(with_dist):
        for i, u in enumerate(p.units):
            if u.distances is None:
                errs.append(ErrorItem(f"units[{i}].distances", "give distances for every unit or for none"))
                continue
            for key in u.distances:
                if key not in tids:
                    errs.append(ErrorItem(f"units[{i}].distances.{key}", f"unknown territory {key!r}"))
            missing = [t for t in p.territory_ids if t not in u.distances]
            if missing:
                errs.append(ErrorItem(f"units[{i}].distances", f"missing territories {', '.join(missing[:5])}"))
    return errs


class TerritorySummary(Base):
    """Totals of one territory, recomputed from the assignment.

    ``center_fixed`` is True when the centre (or the distances to it) came with the problem, False when
    the solver chose it (the weighted medoid of the territory's units).
    """

    id: Id
    center: Location | None
    center_fixed: bool = False
    units: int
    workload: float
    potential: float
    dispersion: float
    diameter_km: float = 0.0
    connected: bool = True


class TerritoryMetrics(Base):
    """Quality of an assignment, recomputed from it."""

    workload_max_dev: float
    potential_max_dev: float
    units_max_dev: float
    dispersion: float
    diameter_km: float = 0.0
    disconnected: int = 0
    moved: int = 0
    workload_moved: float = 0.0
    distance_sum: float = 0.0


class ToleranceViolation(Base):
    """A balance tolerance (or cap) that the returned solution does not meet."""

    constraint: str
    limit: float
    achieved: float
    message: str


class ParetoPoint(Base):
    """One point of the dispersion vs disruption trade-off."""

    moved: int
    workload_moved: float
    dispersion: float
    assignment: dict[str, str] | None = None


class TerritoriesSolution(Base):
    """Solution of a :class:`TerritoriesProblem`."""

    status: Status
    objective: float | None
    assignment: dict[str, str]
    territories: list[TerritorySummary]
    metrics: TerritoryMetrics
    lower_bound: float | None = None
    violations: list[ToleranceViolation] = Field(default_factory=list)
    pareto: list[ParetoPoint] = Field(default_factory=list)
    stats: dict[str, Any] = Field(default_factory=dict)
