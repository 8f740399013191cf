"""Where the project's own files live (demo data, benchmark scripts, shared datasets)."""

from __future__ import annotations

import os
from pathlib import Path

#: Root of the source checkout (the folder holding ``optimizer/``).
REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO_ROOT / "datasets" / "demo"
BENCHMARKS_DIR = REPO_ROOT / "benchmarks"


def shared_datasets() -> Path:
    """Public benchmark instances: ``$SALESPLAN_DATASETS`` or ``../shared/datasets`` beside the checkout."""
    env = os.environ.get("SALESPLAN_DATASETS")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "datasets"
