"""One-page summary: KPIs per rep and per territory, as Markdown and as HTML.

Per rep: ``days`` with routes, ``visits``, ``km``, ``hours`` on the road (route end - start,
break included), ``travel_h``, ``service_h`` and ``utilisation`` = (travel + service) / available
time, available = shift length minus break on each working day of the horizon.
Per territory: ``outlets``, ``workload`` (h/week), ``potential``, ``dispersion`` and the balance
= relative deviation of workload / potential from the mean over territories.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optimizer.model.routes import RoutesProblem, RoutesSolution
from optimizer.model.territories import TerritoriesSolution


def rep_kpis(problem: RoutesProblem, solution: RoutesSolution) -> list[dict[str, Any]]:
    """KPIs of every rep of the problem (reps without routes get zeros), in problem order.

    Returns
    -------
    list of dict
        Keys ``rep, days, visits, km, hours, travel_h, service_h, waiting_h, available_h, utilisation``.
    """
    out = []
    for rep in problem.reps:
        routes = [r for r in solution.routes if r.rep == rep.id]
        brk = rep.break_.minutes if rep.break_ is not None else 0.0
        avail = len(problem.rep_days(rep)) * (rep.shift.end - rep.shift.start - brk) / 60.0
        travel = sum(r.travel_minutes for r in routes) / 60.0
        service = sum(r.service_minutes for r in routes) / 60.0
        out.append({
            "rep": rep.id,
            "days": len(routes),
            "visits": sum(len(r.stops) for r in routes),
            "km": sum(r.distance_km for r in routes),
            "hours": sum(r.end - r.start for r in routes) / 60.0,
            "travel_h": travel,
            "service_h": service,
            "waiting_h": sum(r.waiting_minutes for r in routes) / 60.0,
            "available_h": avail,
            "utilisation": (travel + service) / avail if avail > 0 else 0.0,
        })
    return out


def territory_kpis(
    territories: TerritoriesSolution, rep_of_territory: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """KPIs of every territory with its balance against the mean.

    Returns
    -------
    list of dict
        Keys ``territory, rep, outlets, workload, potential, dispersion, workload_dev, potential_dev``.
    """
    ts = territories.territories
    n = max(1, len(ts))
    mean_w = sum(t.workload for t in ts) / n
    mean_p = sum(t.potential for t in ts) / n
    rot = rep_of_territory or {}
    return [
        {
            "territory": t.id,
            "rep": rot.get(t.id, ""),
            "outlets": t.units,
            "workload": t.workload,
            "potential": t.potential,
            "dispersion": t.dispersion,
            "workload_dev": (t.workload - mean_w) / mean_w if mean_w > 0 else 0.0,
            "potential_dev": (t.potential - mean_p) / mean_p if mean_p > 0 else 0.0,
        }
        for t in ts
    ]


@dataclass
class Summary:
    """Content of the summary page, rendered by :meth:`markdown` and :meth:`html`."""

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """GitHub-flavoured Markdown."""
        lines = [f"# {self.title}", ""]
        lines += [f"- **{k}**: {v}" for k, v in self.facts]
        for name, head, rows in self.tables:
            lines += ["", f"## {name}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        """A self-contained HTML page."""
        e = html.escape
        parts = [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{e(self.title)}</title><style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}"
            "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px}"
            "td{text-align:right}td:first-child{text-align:left}th{background:#eee}</style></head><body>",
            f"<h1>{e(self.title)}</h1><ul>",
        ]
        parts += [f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in self.facts]
        parts.append("</ul>")
        for name, head, rows in self.tables:
            parts.append(f"<h2>{e(name)}</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows]
            parts.append("</table>")
        if self.notes:
            parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


def build_summary(
    problem: RoutesProblem,
    solution: RoutesSolution,
    *,
    territories: TerritoriesSolution | None = None,
    rep_of_territory: Mapping[str, str] | None = None,
    title: str | None = None,
    facts: Sequence[tuple[str, str]] = (),
    notes: Sequence[str] = (),
) -> Summary:
    """Assemble the summary of a plan (optionally with its territories and extra facts).

    Parameters
    ----------
    problem, solution
        The routes problem and its plan.
    territories
        The territories solution the plan was built on, if any.
    rep_of_territory
        Territory -> rep.
    title
        Page title.
    facts
        Extra ``(label, value)`` lines shown first (e.g. headcount from staffing).
    notes
        Free remarks (warnings).

    Returns
    -------
    Summary
        Render with ``.markdown()`` or ``.html()``.
    """
    t = solution.totals
    s = Summary(title or f"Plan summary: {problem.name or 'routes'}")
    s.facts += list(facts)
    s.facts += [
        ("status", solution.status),
        ("reps", str(len(problem.reps))),
        ("outlets", str(len(problem.outlets))),
        ("visits planned / required", f"{t.visits_planned} / {t.visits_required}"),
        ("distance", f"{t.distance_km:,.1f} km"),
        ("travel", f"{t.travel_minutes / 60:,.1f} h"),
        ("service", f"{t.service_minutes / 60:,.1f} h"),
    ]
    kp = rep_kpis(problem, solution)
    rows = [
        [k["rep"], str(k["days"]), str(k["visits"]), f"{k['km']:.1f}", f"{k['hours']:.1f}", f"{k['travel_h']:.1f}",
         f"{k['service_h']:.1f}", f"{k['utilisation']:.0%}"]
        for k in kp
    ]
    tot_av = sum(k["available_h"] for k in kp)
    rows.append(["total", str(sum(k["days"] for k in kp)), str(sum(k["visits"] for k in kp)),
                 f"{sum(k['km'] for k in kp):.1f}", f"{sum(k['hours'] for k in kp):.1f}",
                 f"{sum(k['travel_h'] for k in kp):.1f}", f"{sum(k['service_h'] for k in kp):.1f}",
                 f"{sum(k['travel_h'] + k['service_h'] for k in kp) / tot_av:.0%}" if tot_av else "-"])
    s.tables.append(("Reps", ["rep", "days", "visits", "km", "hours", "travel h", "service h", "utilisation"], rows))
    if territories is not None:
        tk = territory_kpis(territories, rep_of_territory)
        trows = [
            [k["territory"], k["rep"], str(k["outlets"]), f"{k['workload']:.1f}", f"{k['potential']:,.0f}",
             f"{k['workload_dev']:+.1%}", f"{k['potential_dev']:+.1%}", f"{k['dispersion']:,.0f}"]
            for k in tk
        ]
        s.tables.append(("Territories", ["territory", "rep", "outlets", "workload h/wk", "potential",
                                         "workload vs mean", "potential vs mean", "dispersion"], trows))
        m = territories.metrics
        s.facts.append(("territory balance", f"workload max dev {m.workload_max_dev:.1%}, "
                                             f"potential max dev {m.potential_max_dev:.1%}"))
    if solution.unassigned:
        s.tables.append(("Unplanned visits", ["outlet", "missing visits", "reason"],
                         [[u.outlet, str(u.missing_visits), u.reason] for u in solution.unassigned]))
    s.notes += list(notes)
    return s
