"""PNG map of a territory solution: units coloured per territory, centres marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from optimizer.model.territories import TerritoriesProblem, TerritoriesSolution


def territory_colors(k: int) -> list[tuple[float, float, float]]:
    """``k`` distinct RGB colours (tab20, then evenly spaced hues)."""
    if k <= 20:
        cmap = plt.get_cmap("tab20")
        return [tuple(float(c) for c in cmap(i)[:3]) for i in range(k)]  # type: ignore[misc]
    import colorsys

    return [colorsys.hsv_to_rgb(i / k, 0.75, 0.85 if i % 2 else 0.6) for i in range(k)]


def plot_solution(problem: TerritoriesProblem, solution: TerritoriesSolution, path: str | Path, *,
                  title: str | None = None, dpi: int = 110) -> Path:
    """Draw the assignment to a PNG file.

    Parameters
    ----------
    problem, solution
        The problem and its solution.
    path
        Output file (``.png``).
    title
        Optional title (default: problem name and key metrics).
    dpi
        Resolution.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    tids = [t.id for t in solution.territories]
    pos = {t: j for j, t in enumerate(tids)}
    colors = territory_colors(len(tids))
    geo = problem.units[0].location.is_geo
    xy = np.array([u.location.coords() for u in problem.units])
    if geo:
        xy = xy[:, ::-1]  # plot lon on x, lat on y
    lab = np.array([pos[solution.assignment[u.id]] for u in problem.units])
    fig, ax = plt.subplots(figsize=(7, 7))
    for j in range(len(tids)):
        m = lab == j
        if m.any():
            ax.scatter(xy[m, 0], xy[m, 1], s=14, color=colors[j], label=tids[j] if len(tids) <= 20 else None,
                       edgecolors="none")
    for j, t in enumerate(solution.territories):
        if t.center is not None:
            c = t.center.coords()
            cx, cy = (c[1], c[0]) if geo else c
            ax.scatter([cx], [cy], marker="*", s=220, color=colors[j], edgecolors="black", linewidths=1.0, zorder=5)
    met = solution.metrics
    ax.set_title(title or f"{problem.name or 'territories'}: workload dev {met.workload_max_dev:.1%}, "
                          f"dispersion {met.dispersion:,.0f}")
    ax.set_aspect("equal", adjustable="datalim")
    if len(tids) <= 20:
        ax.legend(loc="best", fontsize=7, markerscale=1.5)
    out = Path(path)
    fig.savefig(out, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return out
