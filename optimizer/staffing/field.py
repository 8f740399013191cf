"""Field-sales variant: size a field force from outlet workload.

A field rep's week is visits x (service + travel); reps = ceil(workload / minutes a rep can give per
week), supervisors = ceil(reps / span).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from optimizer.errors import ErrorItem, InputError


@dataclass(frozen=True)
class FieldForce:
    """Field force size.

    Attributes
    ----------
    reps
        Field reps needed.
    supervisors
        Supervisors needed for ``reps`` at the given span.
    workload_minutes
        Weekly workload that was covered.
    utilisation
        Workload / (reps x minutes per rep per week).
    """

    reps: int
    supervisors: int
    workload_minutes: float
    utilisation: float


def outlet_workload_minutes(
    visits_per_week: Iterable[float], service_minutes: Iterable[float], travel_minutes: Iterable[float]
) -> float:
    """Weekly field workload: the sum over outlets of visits x (service + travel) minutes.

    Parameters
    ----------
    visits_per_week
        Visits each outlet needs per week (e.g. 0.5 for fortnightly).
    service_minutes
        Minutes spent at each outlet per visit.
    travel_minutes
        Average travel minutes attributed to each visit of the outlet.

    Returns
    -------
    float
        Total minutes per week.
    """
    v, s, t = list(visits_per_week), list(service_minutes), list(travel_minutes)
    if not len(v) == len(s) == len(t):
        raise InputError([ErrorItem("outlets", f"lengths differ: {len(v)} visits, {len(s)} service, {len(t)} travel")])
    errs = [ErrorItem(f"outlets[{i}]", "visits, service and travel minutes must be >= 0")
            for i, (a, b, c) in enumerate(zip(v, s, t, strict=True)) if min(a, b, c) < 0]
    if errs:
        raise InputError(errs)
    return float(sum(a * (b + c) for a, b, c in zip(v, s, t, strict=True)))


def size_field_force(
    total_visit_minutes_per_week: float,
    minutes_per_rep_per_week: float,
    supervisor_span: float,
    *,
    max_utilisation: float = 1.0,
) -> FieldForce:
    """Field reps and supervisors for a weekly workload.

    Parameters
    ----------
    total_visit_minutes_per_week
        Workload: sum over outlets of visits x (service + travel) minutes, see
        :func:`outlet_workload_minutes`.
    minutes_per_rep_per_week
        Minutes one rep can spend on visits and travel per week (e.g. 5 days x 480).
    supervisor_span
        Reps per supervisor (e.g. 8).
    max_utilisation
        Highest share of a rep's minutes to plan (e.g. 0.9 keeps 10 % slack).

    Returns
    -------
    FieldForce
        ``reps = ceil(workload / (minutes x max_utilisation))``, ``supervisors = ceil(reps / span)``.

    Raises
    ------
    InputError
        Naming every bad argument.
    """
    errs = []
    if not total_visit_minutes_per_week >= 0 or math.isinf(total_visit_minutes_per_week):
        errs.append(ErrorItem("total_visit_minutes_per_week", "must be a finite number >= 0"))
    if not minutes_per_rep_per_week > 0 or math.isinf(minutes_per_rep_per_week):
        errs.append(ErrorItem("minutes_per_rep_per_week", "must be a finite number > 0"))
    if not supervisor_span > 0:
        errs.append(ErrorItem("supervisor_span", "must be > 0"))
    if not 0 < max_utilisation <= 1:
        errs.append(ErrorItem("max_utilisation", "must be in (0, 1]"))
    if errs:
        raise InputError(errs)
    usable = minutes_per_rep_per_week * max_utilisation
    reps = math.ceil(total_visit_minutes_per_week / usable - 1e-9) if total_visit_minutes_per_week > 0 else 0
    sup = math.ceil(reps / supervisor_span - 1e-9) if reps else 0
    util = total_visit_minutes_per_week / (reps * minutes_per_rep_per_week) if reps else 0.0
    return FieldForce(reps, sup, float(total_visit_minutes_per_week), util)
