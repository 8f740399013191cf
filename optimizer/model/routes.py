"""Routes problem (weekly periodic routing with time windows) and its solution.

Semantics (the contract between the solver, the checker and the users)
----------------------------------------------------------------------
* Nodes and legs: travel minutes and km come from :class:`optimizer.travel.TravelModel`.
* A route is one rep on one horizon day. ``start`` is when the rep leaves the start location,
  ``end`` when it reaches its end location; ``shift.start <= start`` and ``end <= shift.end``.
  Routes without stops are not listed.
* Stop ``k``: ``arrival`` at the outlet, service ``start`` and ``end = start + service_minutes``.
  ``arrival >= end(k-1) + travel(k-1 -> k)`` (``end(0)`` = route start) and
  ``arrival <= start``: waiting before opening is allowed. ``start`` lies inside one of the
  outlet's windows (``open <= start <= close``); service may end after the window closes
  (Solomon). No windows = any time of the shift.
* The break ``[b.start, b.end]`` has ``b.end - b.start = minutes`` and ``earliest <= b.start <=
  latest``; it lies inside the route, never overlaps a service, and is taken while waiting, so
  the gap between two consecutive services (or route start/end) must hold the leg's travel plus
  the break when the break falls in that gap. A rep with a break takes it on every route.
* Limits per route: ``len(stops) <= max_visits_per_day``, ``end - start <= max_route_minutes``,
  total demand ``<= capacity``. Routes only on the rep's working days.
* Each outlet is visited at most once a day. A required outlet's visit days form one of its
  allowed patterns (a subset of one when visits are missing, which are then reported in
  ``unassigned``). Optional outlets get either all their visits (a full pattern) or none.
  With ``same_rep`` (default) every visit of an outlet is made by one rep. A pinned ``rep`` makes
  all of them; the rep must hold every skill the outlet lists.
* Totals: ``distance_km``, ``travel_minutes`` and ``service_minutes`` sum over routes;
  a route's ``waiting_minutes = (end - start) - travel - service - break minutes``;
  ``visits_required`` counts the visits of required outlets, ``visits_planned`` the stops at
  required outlets, ``optional_value`` the ``value`` of each stop at an optional outlet.
* Objective: ``distance`` -> total km; ``duration`` -> total travel + waiting minutes; minus
  ``optional_value`` in both cases. Missing required visits are not in the objective: they are
  listed in ``unassigned`` with a reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from optimizer.errors import ErrorItem, InputError
from optimizer.model.common import (
    Base,
    Id,
    Location,
    Minutes,
    NonNegFloat,
    SolveOptions,
    Status,
    Travel,
    fmt_time,
)

DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[DayName, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Past this many patterns for one outlet the default pattern set keeps only the most even gaps.
MAX_DEFAULT_PATTERNS = 2000


class Horizon(Base):
    """Planning horizon: ``weeks`` x ``days``; the plan repeats every horizon (cyclic)."""

    weeks: Annotated[int, Field(ge=1, le=4)] = 1
    days: list[DayName] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    same_weekday: bool = False

    @property
    def n_days(self) -> int:
        """Number of working days in the horizon (day indices run 0..n_days-1)."""
        return self.weeks * len(self.days)

    def day_name(self, index: int) -> str:
        """Human label of a horizon day index, e.g. ``"w2 tue"``."""
        week, d = divmod(index, len(self.days))
        return f"w{week + 1} {self.days[d]}" if self.weeks > 1 else self.days[d]


class Shift(Base):
    """Working hours of a rep on each working day."""

    start: Minutes = 480.0
    end: Minutes = 1020.0


class Break(Base):
    """A break of ``minutes`` that must start between ``earliest`` and ``latest``."""

    earliest: Minutes
    latest: Minutes
    minutes: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Rep(Base):
    """A field rep (a vehicle): start/end location, shift, availability and limits."""

    id: Id
    start: Location
    end: Location | None = None
    shift: Shift = Field(default_factory=Shift)
    days: list[Annotated[int, Field(ge=0)] | DayName] | None = None
    max_visits_per_day: Annotated[int, Field(ge=1)] | None = None
    max_route_minutes: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    break_: Break | None = Field(None, alias="break")
    capacity: NonNegFloat | None = None
    skills: list[str] = Field(default_factory=list)
    segment: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @property
    def end_location(self) -> Location:
        """Where the rep ends the day (the start when no end is given)."""
        return self.end if self.end is not None else self.start


class Outlet(Base):
    """A retail outlet to visit ``visits`` times per horizon."""

    id: Id
    location: Location
    visits: Annotated[int, Field(ge=1)] = 1
    patterns: list[list[Annotated[int, Field(ge=0)]]] | None = None
    service_minutes: NonNegFloat = 0.0
    time_windows: list[tuple[Minutes, Minutes]] = Field(default_factory=list)
    demand: NonNegFloat = 0.0
    skills: list[str] = Field(default_factory=list)
    rep: Id | None = None
    optional: bool = False
    value: NonNegFloat = 0.0
    segment: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


def _gap_patterns(n_days: int, visits: int, lo: int, hi: int, cap: int) -> list[tuple[int, ...]] | None:
    """All cyclic day sets of size ``visits`` in ``range(n_days)`` whose gaps lie in [lo, hi].

    Returns None when more than ``cap`` sets exist.
    """
    found: set[tuple[int, ...]] = set()

    def gaps(prefix: list[int], remaining: int, left: int) -> Iterator[list[int]]:
        if left == 0:
            if remaining == 0:
                yield prefix
            return
        for g in range(lo, hi + 1):
            if g * 1 <= remaining and remaining - g >= lo * (left - 1) and remaining - g <= hi * (left - 1):
                yield from gaps([*prefix, g], remaining - g, left - 1)

    for gap_seq in gaps([], n_days, visits):
        days = [0]
        for g in gap_seq[:-1]:
            days.append(days[-1] + g)
        for shift in range(n_days):
            found.add(tuple(sorted((d + shift) % n_days for d in days)))
            if len(found) > cap:
                return None
    return sorted(found)


def default_patterns(
    n_days: int,
    visits: int,
    *,
    days_per_week: int | None = None,
    same_weekday: bool = False,
    cap: int = MAX_DEFAULT_PATTERNS,
) -> list[tuple[int, ...]]:
    """Evenly spaced cyclic visit patterns.

    All day-index sets of size ``visits`` whose cyclic gaps are within one day of
    ``n_days / visits``; when that set is larger than ``cap``, only the most even ones
    (gaps ``floor`` / ``ceil`` of the target). With ``same_weekday`` and at most one visit a
    week, only sets whose days fall on one weekday.

    Parameters
    ----------
    n_days
        Working days in the horizon.
    visits
        Visits per horizon (``1 <= visits <= n_days``).
    days_per_week
        Working days per week (needed for ``same_weekday``).
    same_weekday
        Keep weekly-or-rarer outlets on one weekday.
    cap
        Largest pattern set returned before narrowing to the most even gaps.

    Returns
    -------
    list of tuple of int
        Sorted day-index tuples.
    """
    if visits < 1 or visits > n_days:
        return []
    target = n_days / visits
    if same_weekday and days_per_week and n_days % days_per_week == 0:
        weeks = n_days // days_per_week
        if visits <= weeks and weeks % visits == 0:
            step = (weeks // visits) * days_per_week
            return sorted({tuple(sorted((d + k * step) % n_days for k in range(visits))) for d in range(n_days)})
    lo = max(1, math.ceil(target - 1 - 1e-9))
    hi = math.floor(target + 1 + 1e-9)
    pats = _gap_patterns(n_days, visits, lo, hi, cap)
    if pats is None:
        pats = _gap_patterns(n_days, visits, math.floor(target), math.ceil(target), 10 * cap) or []
    if same_weekday and days_per_week and visits * days_per_week <= n_days:
        even = [p for p in pats if len({d % days_per_week for d in p}) == 1]
        if even:
            return even
    return pats


class RoutesProblem(Base):
    """Weekly (1-4 week cyclic) visit planning for field reps.

    Construct with :func:`optimizer.model.parse` to get every input problem reported at once as an
    :class:`~optimizer.errors.InputError`.
    """

    name: str | None = None
    horizon: Horizon = Field(default_factory=Horizon)
    objective: Literal["duration", "distance"] = "duration"
    same_rep: bool = True
    options: SolveOptions = Field(default_factory=SolveOptions)
    reps: list[Rep] = Field(min_length=1)
    outlets: list[Outlet]
    travel: Travel = Field(default_factory=Travel)

    @model_validator(mode="after")
    def _cross_checks(self) -> RoutesProblem:
        errors = routes_errors(self)
        if errors:
            raise InputError(errors)
        return self

    # -- derived views, shared by the solver, the checker and the tests -------------------
    def rep_days(self, rep: Rep) -> list[int]:
        """Horizon day indices on which ``rep`` works."""
        n = self.horizon.n_days
        if rep.days is None:
            return list(range(n))
        out: set[int] = set()
        per_week = len(self.horizon.days)
        for d in rep.days:
            if isinstance(d, int):
                out.add(d)
            elif d in self.horizon.days:
                wd = self.horizon.days.index(d)
                out.update(w * per_week + wd for w in range(self.horizon.weeks))
        return sorted(x for x in out if x < n)

    def allowed_patterns(self, outlet: Outlet) -> list[tuple[int, ...]]:
        """Day-index sets on which ``outlet`` may be visited (explicit or default)."""
        if outlet.patterns is not None:
            return sorted({tuple(sorted(p)) for p in outlet.patterns})
        return self._default_pattern_cache(outlet.visits)

    def _default_pattern_cache(self, visits: int) -> list[tuple[int, ...]]:
        cache = self._pattern_cache
        if visits not in cache:
            cache[visits] = default_patterns(
                self.horizon.n_days,
                visits,
                days_per_week=len(self.horizon.days),
                same_weekday=self.horizon.same_weekday,
            )
        return cache[visits]

    @cached_property
    def _pattern_cache(self) -> dict[int, list[tuple[int, ...]]]:
        return {}

    def windows(self, outlet: Outlet) -> list[tuple[float, float]]:
        """Sorted, merged time windows of an outlet (empty list = any time)."""
        ws = sorted(outlet.time_windows)
        merged: list[tuple[float, float]] = []
        for a, b in ws:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged


def routes_errors(p: RoutesProblem) -> list[ErrorItem]:
    """Cross-field checks of a routes problem; every problem found is returned."""
    errs: list[ErrorItem] = []
    n_days = p.horizon.n_days
    if len(set(p.horizon.days)) != len(p.horizon.days):
        errs.append(ErrorItem("horizon.days", "a day is listed twice"))

    rep_ids: dict[str, int] = {}
    for i, r in enumerate(p.reps):
        if r.id in rep_ids:
            errs.append(ErrorItem(f"reps[{i}].id", f"duplicate rep id {r.id!r} (also reps[{rep_ids[r.id]}])"))
        else:
            rep_ids[r.id] = i
    out_ids: dict[str, int] = {}
    for i, o in enumerate(p.outlets):
        if o.id in out_ids:
            errs.append(
                ErrorItem(f"outlets[{i}].id", f"duplicate outlet id {o.id!r} (also outlets[{out_ids[o.id]}])")
            )
        else:
            out_ids[o.id] = i

    # locations must suit the metric
    want_geo = p.travel.metric == "haversine"
    if p.travel.metric != "matrix":
        kind = "lat/lon" if want_geo else "x/y"
        for i, r in enumerate(p.reps):
            for field, loc in (("start", r.start), ("end", r.end)):
                if loc is not None and loc.is_geo != want_geo:
                    errs.append(ErrorItem(f"reps[{i}].{field}", f"travel metric {p.travel.metric} needs {kind}"))
        for i, o in enumerate(p.outlets):
            if o.location.is_geo != want_geo:
                errs.append(ErrorItem(f"outlets[{i}].location", f"travel metric {p.travel.metric} needs {kind}"))

    # reps: shift, break, days
    for i, r in enumerate(p.reps):
        sh = r.shift
        if sh.start >= sh.end:
            errs.append(
                ErrorItem(f"reps[{i}].shift", f"starts {fmt_time(sh.start)} at or after it ends {fmt_time(sh.end)}")
            )
        if r.break_ is not None:
            b = r.break_
            if b.earliest > b.latest:
                errs.append(
                    ErrorItem(
                        f"reps[{i}].break",
                        f"earliest {fmt_time(b.earliest)} is after latest {fmt_time(b.latest)}",
                    )
                )
            if b.earliest < sh.start or b.latest + b.minutes > sh.end:
                errs.append(
                    ErrorItem(
                        f"reps[{i}].break",
                        f"break {fmt_time(b.earliest)}-{fmt_time(b.latest + b.minutes)} does not fit in the "
                        f"shift {fmt_time(sh.start)}-{fmt_time(sh.end)}",
                    )
                )
        if r.days is not None:
            for j, d in enumerate(r.days):
                if isinstance(d, int) and d >= n_days:
                    errs.append(ErrorItem(f"reps[{i}].days[{j}]", f"day {d} is outside the horizon 0..{n_days - 1}"))
                elif isinstance(d, str) and d not in p.horizon.days:
                    errs.append(ErrorItem(f"reps[{i}].days[{j}]", f"{d!r} is not a day of the horizon"))
            if not p.rep_days(r):
                errs.append(ErrorItem(f"reps[{i}].days", "the rep works on no day of the horizon"))

    # outlets
    for i, o in enumerate(p.outlets):
        for j, (w_open, w_close) in enumerate(o.time_windows):
            if w_open > w_close:
                msg = f"opens {fmt_time(w_open)} after it closes {fmt_time(w_close)}"
                errs.append(ErrorItem(f"outlets[{i}].time_windows[{j}]", msg))
            elif w_open == w_close:
                errs.append(ErrorItem(f"outlets[{i}].time_windows[{j}]", f"opens and closes at {fmt_time(w_open)}"))
        days_avail = n_days
        if o.rep is not None:
            if o.rep not in rep_ids:
                errs.append(ErrorItem(f"outlets[{i}].rep", f"unknown rep {o.rep!r}"))
            else:
                days_avail = len(p.rep_days(p.reps[rep_ids[o.rep]]))
        if o.visits > days_avail:
            who = f"rep {o.rep!r} works" if o.rep is not None and o.rep in rep_ids else "the horizon has"
            errs.append(
                ErrorItem(
                    f"outlets[{i}].visits",
                    f"{o.visits} visits but {who} only {days_avail} working days (at most one visit a day)",
                )
            )
        if o.patterns is not None:
            if not o.patterns:
                errs.append(ErrorItem(f"outlets[{i}].patterns", "empty list: give at least one pattern or omit it"))
            for j, pat in enumerate(o.patterns):
                if len(set(pat)) != len(pat):
                    errs.append(ErrorItem(f"outlets[{i}].patterns[{j}]", "a day appears twice"))
                if len(set(pat)) != o.visits:
                    errs.append(
                        ErrorItem(
                            f"outlets[{i}].patterns[{j}]",
                            f"has {len(set(pat))} days but the outlet needs {o.visits} visits",
                        )
                    )
                bad = [d for d in pat if d >= n_days]
                if bad:
                    errs.append(
                        ErrorItem(
                            f"outlets[{i}].patterns[{j}]",
                            f"day {bad[0]} is outside the horizon 0..{n_days - 1}",
                        )
                    )

    # explicit matrix covers every id and is square
    if p.travel.metric == "matrix" and p.travel.matrix is not None:
        m = p.travel.matrix
        n = len(m.ids)
        seen: set[str] = set()
        for j, mid in enumerate(m.ids):
            if mid in seen:
                errs.append(ErrorItem(f"travel.matrix.ids[{j}]", f"duplicate id {mid!r}"))
            seen.add(mid)
        for name, mat in (("minutes", m.minutes), ("km", m.km)):
            if mat is None:
                continue
            if len(mat) != n:
                errs.append(ErrorItem(f"travel.matrix.{name}", f"has {len(mat)} rows but there are {n} ids"))
            for r_i, row in enumerate(mat):
                if len(row) != n:
                    errs.append(
                        ErrorItem(f"travel.matrix.{name}[{r_i}]", f"has {len(row)} columns but there are {n} ids")
                    )
        both = set(rep_ids) & set(out_ids)
        for bid in sorted(both):
            errs.append(
                ErrorItem(f"outlets[{out_ids[bid]}].id", f"{bid!r} is also a rep id; with a matrix ids must be unique")
            )
        for i, r in enumerate(p.reps):
            if r.id not in seen:
                errs.append(ErrorItem(f"reps[{i}].id", f"{r.id!r} is missing from travel.matrix.ids"))
        for i, o in enumerate(p.outlets):
            if o.id not in seen:
                errs.append(ErrorItem(f"outlets[{i}].id", f"{o.id!r} is missing from travel.matrix.ids"))

    if not errs:
        errs.extend(_shift_too_short(p, rep_ids))
    return errs


def _shift_too_short(p: RoutesProblem, rep_ids: dict[str, int]) -> list[ErrorItem]:
    """A rep whose shift cannot hold even its quickest possible visit is an input error."""
    if not p.outlets:
        return []
    from optimizer.travel import TravelModel  # local: travel depends on the model package

    tm = TravelModel.for_routes(p)
    errs: list[ErrorItem] = []
    service = [o.service_minutes for o in p.outlets]
    n_out = len(p.outlets)
    for i, r in enumerate(p.reps):
        s, e = tm.rep_node(i, start=True), tm.rep_node(i, start=False)
        out_t = tm.minutes_from(s)[:n_out]
        back_t = tm.minutes_to(e)[:n_out]
        quickest = min(out_t[k] + service[k] + back_t[k] for k in range(n_out))
        avail = r.shift.end - r.shift.start - (r.break_.minutes if r.break_ else 0.0)
        if r.max_route_minutes is not None:
            avail = min(avail, r.max_route_minutes)
        if quickest > avail + 1e-9:
            errs.append(
                ErrorItem(
                    f"reps[{i}].shift",
                    f"{avail:.0f} working minutes a day are too few for any visit: the quickest "
                    f"(travel there, service, travel back) takes {quickest:.0f} min",
                )
            )
    return errs


# --------------------------------------------------------------------------------------------
# Solution
# --------------------------------------------------------------------------------------------


class Stop(Base):
    """One visit: arrival at the outlet, start and end of service (minutes from midnight)."""

    outlet: Id
    arrival: float
    start: float
    end: float


class BreakTaken(Base):
    """When the rep takes the break on a route."""

    start: float
    end: float


class Route(Base):
    """A rep's visits on one horizon day, in order."""

    rep: Id
    day: int
    stops: list[Stop]
    start: float
    end: float
    distance_km: float
    travel_minutes: float
    service_minutes: float = 0.0
    waiting_minutes: float = 0.0
    break_: BreakTaken | None = Field(None, alias="break")

    model_config = Base.model_config | {"serialize_by_alias": True}


class Unassigned(Base):
    """Visits that could not be planned, with the reason."""

    outlet: Id
    missing_visits: int
    reason: str


class RoutesTotals(Base):
    """Totals recomputed from the routes."""

    distance_km: float
    travel_minutes: float
    service_minutes: float
    waiting_minutes: float = 0.0
    visits_required: int
    visits_planned: int
    optional_value: float = 0.0


class RoutesSolution(Base):
    """Solution of a :class:`RoutesProblem`."""

    status: Status
    objective: float | None
    totals: RoutesTotals
    routes: list[Route]
    unassigned: list[Unassigned] = Field(default_factory=list)
    patterns: dict[str, list[int]] = Field(default_factory=dict)
    stats: dict[str, Any] = Field(default_factory=dict)
