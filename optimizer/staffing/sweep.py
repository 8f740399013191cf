"""Scenario sweeps: many variations of one staffing problem solved in parallel, a tidy table, a plot."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.model.staffing import StaffingProblem


@dataclass(frozen=True)
class Scenario:
    """A variation of the base problem (every factor multiplies the base value).

    Attributes
    ----------
    name
        Label of the scenario.
    plan
        Plan multiplier (every direction, and ``plan_total``).
    conversion
        Multiplier of every conversion rate (capped at 1).
    deal
        Multiplier of every direction's average deal.
    cost
        Multiplier of every monthly and hiring cost.
    """

    name: str = "base"
    plan: float = 1.0
    conversion: float = 1.0
    deal: float = 1.0
    cost: float = 1.0


def grid(
    plan: Sequence[float] = (1.0,),
    conversion: Sequence[float] = (1.0,),
    deal: Sequence[float] = (1.0,),
    cost: Sequence[float] = (1.0,),
) -> list[Scenario]:
    """Every combination of the given factors, named ``p1.10_c0.90_d1.00_k1.00``."""
    return [
        Scenario(f"p{a:.2f}_c{b:.2f}_d{c:.2f}_k{d:.2f}", a, b, c, d)
        for a, b, c, d in itertools.product(plan, conversion, deal, cost)
    ]


def _scale(value: Any, f: float) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [v * f for v in value]
    return value * f


def apply_scenario(problem: StaffingProblem, sc: Scenario) -> StaffingProblem:
    """The base problem with the scenario's factors applied (validated again).

    Parameters
    ----------
    problem
        Base problem.
    sc
        The variation.

    Returns
    -------
    StaffingProblem
        A new problem.
    """
    data = problem.model_dump(exclude_none=True)
    if "plan_total" in data:
        data["plan_total"] *= sc.plan
    for d in data["directions"]:
        if "plan" in d:
            d["plan"] = _scale(d["plan"], sc.plan)
        d["avg_deal"] *= sc.deal
        for k, st in enumerate(d["funnel"]):
            if k > 0:
                st["rate"] = min(1.0, st["rate"] * sc.conversion)
    for r in data["roles"]:
        r["monthly_cost"] *= sc.cost
        r["hiring_cost"] *= sc.cost
    return StaffingProblem.model_validate(data)


def solve_scenario(
    args: tuple[StaffingProblem, Scenario, float, int, int] | tuple[StaffingProblem, Scenario, float, int, int, bool],
) -> dict[str, Any]:
    """Solve one scenario (runs in a worker process) and return its table row.

    ``args`` is ``(problem, scenario, time_limit, draws, seed[, keep_staffing])``. ``p_hit`` is the
    Monte Carlo probability that the staffing sized for the scenario hits the *base* plan (under the
    scenario's conversion and deal size), so plan margins show as odds. With ``keep_staffing`` the row
    also carries ``staffing``: ``"role|group"`` -> ``{"n": [...], "h": [...]}``.
    """
    from optimizer.staffing import report
    from optimizer.staffing.milp import MilpResult, round_up, solve_best
    from optimizer.staffing.montecarlo import probability
    from optimizer.staffing.prep import prepare

    problem, sc, time_limit, draws, seed = args[:5]
    keep = bool(args[5]) if len(args) > 5 else False
    t0 = time.monotonic()
    c0 = _cpu()
    p = apply_scenario(problem, sc)
    prep = prepare(p)
    res = MilpResult("no_solution")
    tpl = _template(problem)
    if tpl is not None:
        # the base model re-solved in process with the scenario's numbers (see optimizer.staffing.lpfast)
        res = round_up(prep, time_limit=time_limit, lp_solve=lambda f, room: tpl.solve(
            plan=sc.plan, conversion=sc.conversion, deal=sc.deal, plan_factor=f, hire_room=room))
    if res.status == "no_solution":
        res = solve_best(prep, mode="min_cost", exact=False, fast=True, time_limit=time_limit, solver=p.solver,
                         seed=seed)
    row_method = res.method
    factors = asdict(sc)
    factors["cost_factor"] = factors.pop("cost")
    row: dict[str, Any] = {**factors, "status": res.status, "cost": round(res.cost, 2) if res.ok else None,
                           "revenue": round(float(res.rev.sum()), 2) if res.ok else None,
                           "peak_headcount": None, "avg_headcount": None, "p_hit": None, "bottleneck": None}
    if res.ok:
        per_month = np.sum(list(res.n.values()), axis=0)
        row["peak_headcount"] = int(per_month.max())
        row["avg_headcount"] = round(float(per_month.mean()), 2)
        row["bottleneck"] = report.bottleneck(prep, res)
        if draws > 0:
            base_plan = prepare(apply_scenario(problem, Scenario(sc.name, 1.0, sc.conversion, sc.deal, sc.cost)))
            row["p_hit"] = probability(base_plan, res.cap, draws, seed).overall
    row["method"] = row_method
    if keep and res.ok:
        row["staffing"] = {f"{r}|{g}": {"n": res.n[(r, g)].tolist(), "h": res.h[(r, g)].tolist()} for r, g in res.n}
    row["runtime_s"] = round(time.monotonic() - t0, 3)
    row["cpu_s"] = round(_cpu() - c0, 3)
    return row


_TEMPLATES: dict[str, Any] = {}


def _template(problem: StaffingProblem) -> Any:
    """This worker's :class:`~optimizer.staffing.lpfast.LpTemplate` of the base problem (built once), or None."""
    if problem.budget is not None:
        return None
    key = problem.model_dump_json()
    if key not in _TEMPLATES:
        from optimizer.staffing.lpfast import LpTemplate
        from optimizer.staffing.prep import prepare

        _TEMPLATES.clear()  # one base problem per sweep
        _TEMPLATES[key] = LpTemplate(prepare(problem))
    return _TEMPLATES[key]


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the CBC runs)."""
    import resource

    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


def run_sweep(
    problem: StaffingProblem,
    scenarios: Iterable[Scenario],
    *,
    workers: int = 2,
    time_limit: float = 30.0,
    draws: int = 1_000,
    seed: int = 0,
    budget_s: float | None = None,
    keep_staffing: bool = False,
) -> list[dict[str, Any]]:
    """Solve every scenario, in parallel over ``workers`` processes.

    Parameters
    ----------
    problem
        Base problem.
    scenarios
        Variations to solve.
    workers
        Worker processes (1: in this process).
    time_limit
        Seconds per scenario.
    draws
        Monte Carlo draws per scenario for ``p_hit`` (0: skip).
    seed
        Seed of every scenario's draws.
    budget_s
        Stop starting new scenarios after this many seconds (the rows returned are those finished).
    keep_staffing
        Add each scenario's headcount and hires to its row (``staffing``, see :func:`solve_scenario`).

    Returns
    -------
    list of dict
        One tidy row per finished scenario, in the input order.
    """
    jobs = [(problem, sc, time_limit, draws, seed, keep_staffing) for sc in scenarios]
    t0 = time.monotonic()
    if workers <= 1:
        out = []
        for j in jobs:
            if budget_s is not None and time.monotonic() - t0 > budget_s:
                break
            out.append(solve_scenario(j))
        return out
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(solve_scenario, j) for j in jobs]
        done: list[dict[str, Any]] = []
        for f in futures:
            if budget_s is not None:
                left = budget_s - (time.monotonic() - t0)
                if left <= 0:
                    for g in futures:
                        g.cancel()
                    break
                try:
                    done.append(f.result(timeout=left))
                except TimeoutError:
                    for g in futures:
                        g.cancel()
                    break
            else:
                done.append(f.result())
        return done


def plot_sweep(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Two panels: cost vs plan factor, and P(hit plan) vs peak headcount; written as PNG.

    Parameters
    ----------
    rows
        Output of :func:`run_sweep`.
    path
        Where to write the PNG.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] in ("optimal", "feasible")]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    convs = sorted({r["conversion"] for r in ok})
    for c in convs:
        pts = sorted((r["plan"], r["cost"]) for r in ok if r["conversion"] == c)
        a1.plot([p for p, _ in pts], [v / 1e6 for _, v in pts], "o", ms=3, label=f"conversion x{c:.2f}", alpha=0.7)
    a1.set_xlabel("plan factor")
    a1.set_ylabel("cost (millions)")
    a1.set_title("cost vs plan")
    if len(convs) <= 8:
        a1.legend(fontsize=7)
    for c in convs:
        hp = sorted((r["peak_headcount"], r["p_hit"]) for r in ok if r["p_hit"] is not None and r["conversion"] == c)
        a2.plot([h for h, _ in hp], [p for _, p in hp], "o-", ms=3, lw=0.8, alpha=0.7, label=f"conversion x{c:.2f}")
    if len(convs) <= 8:
        a2.legend(fontsize=7)
    a2.set_xlabel("peak headcount")
    a2.set_ylabel("P(hit base plan)")
    a2.set_title("probability of hitting plan vs headcount")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
