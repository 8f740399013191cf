"""``salesplan demo``: the main job on the embedded demo data."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from optimizer.model import parse
from optimizer.paths import DEMO_DIR


def run_demo(out_dir: Path, *, console: Console, time_limit: float | None = None) -> None:
    """Load, validate and summarise the demo data (the solver stages extend this).

    Parameters
    ----------
    out_dir
        Folder for the outputs.
    console
        Where to print.
    time_limit
        Seconds per solver stage.
    """
    table = Table(title="salesplan demo data")
    table.add_column("kind")
    table.add_column("file")
    table.add_column("contents")
    for kind in ("routes", "territories", "staffing"):
        path = DEMO_DIR / f"{kind}.json"
        if not path.exists():
            continue
        p = parse(kind, path, source=path.name)
        parts = [f"{len(v)} {k}" for k, v in p.__dict__.items() if isinstance(v, list) and v]
        table.add_row(kind, str(path.relative_to(DEMO_DIR.parents[1])), ", ".join(parts))
    console.print(table)
