"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.paths import shared_datasets

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """``tests/data``."""
    return DATA


@pytest.fixture
def shared() -> Path:
    """``../shared/datasets`` (skips when absent)."""
    p = shared_datasets()
    if not p.is_dir():
        pytest.skip("shared datasets not found")
    return p
