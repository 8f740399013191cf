"""Fixtures of the jobs API tests: tiny real problems, settings on a temporary SQLite file, PostgreSQL URL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.settings import Settings
from api.store import SqlJobStore


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings on a fresh SQLite file in ``tmp_path`` with quick intervals; keyword overrides."""

    def make(**kw: Any) -> Settings:
        base: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / ('jobs-' + uuid.uuid4().hex[:6] + '.db')}",
            "workers": 2,
            "heartbeat_s": 0.5,
            "poll_s": 0.1,
            "progress_every_s": 0.2,
            "default_time_limit_s": 2.0,
            "prestart_workers": False,  # most tests never run a job; test_latency covers the prestart
        }
        base.update(kw)
        return Settings(**base)

    return make


def postgres_url() -> str:
    """``SALESPLAN_TEST_POSTGRES_URL``; skips locally when unset, FAILS under CI (a broken setup must show)."""
    url = os.environ.get("SALESPLAN_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but SALESPLAN_TEST_POSTGRES_URL is not set: .ci/postgres did not start PostgreSQL")
        pytest.skip("SALESPLAN_TEST_POSTGRES_URL not set (run .ci/postgres)")
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a fresh schema (parallel tests never share tables)."""
    base = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    eng = sa.create_engine(base)
    with eng.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with eng.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    eng.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL of each back-end: a SQLite file and a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[SqlJobStore]:
    """A store on each back-end."""
    s = SqlJobStore(store_url)
    yield s
    s.close()
