"""``salesplan bench SUITE``: run a benchmark script from ``benchmarks/``."""

from __future__ import annotations

import subprocess
import sys

from optimizer.errors import ErrorItem, InputError
from optimizer.paths import BENCHMARKS_DIR


def suites() -> dict[str, str]:
    """Suite name (dashes) -> script file name."""
    if not BENCHMARKS_DIR.is_dir():
        return {}
    return {
        p.stem.replace("_", "-"): p.name
        for p in sorted(BENCHMARKS_DIR.glob("*.py"))
        if not p.name.startswith("_") and p.stem != "results_md"
    }


def run_suite(suite: str, args: list[str]) -> int:
    """Run one suite with extra ``args``; return its exit code."""
    known = suites()
    if suite not in known:
        names = ", ".join(known) or "none found (benchmarks/ is only in a source checkout)"
        raise InputError([ErrorItem("suite", f"unknown suite {suite!r}; available: {names}")])
    return subprocess.call([sys.executable, str(BENCHMARKS_DIR / known[suite]), *args])
