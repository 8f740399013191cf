"""Fixtures of the jobs API tests: tiny real problems, settings on a temporary SQLite file, PostgreSQL URL."""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.settings import Settings
from api.store import SqlJobStore

FINAL = ("succeeded", "failed", "cancelled")


def routes_problem(n: int = 5, seed: int = 1, reps: int = 1, weeks: int = 1) -> dict[str, Any]:
    """A small planar routes problem: ``n`` outlets around a depot, one visit each."""
    rng = random.Random(seed)
    return {
        "name": f"tiny-{n}",
        "horizon": {"weeks": weeks},
        "reps": [{"id": f"r{k}", "start": {"x": 0, "y": 0}, "shift": {"start": 480, "end": 1080}}
                 for k in range(reps)],
        "outlets": [{"id": f"o{i}", "location": {"x": rng.uniform(-20, 20), "y": rng.uniform(-20, 20)},
                     "service_minutes": 5, "visits": 1} for i in range(n)],
        "travel": {"metric": "euclidean", "speed": 1},
    }


def big_routes_problem(seed: int = 7) -> dict[str, Any]:
    """A routes problem large enough that the solver keeps improving for well over 10 s."""
    rng = random.Random(seed)
    outlets = [{"id": f"o{i}", "location": {"x": rng.uniform(-60, 60), "y": rng.uniform(-60, 60)},
                "service_minutes": 10, "visits": rng.choice([1, 1, 2])} for i in range(350)]
    return {
        "horizon": {"weeks": 1},
        "reps": [{"id": f"r{k}", "start": {"x": 0, "y": 0}} for k in range(6)],
        "outlets": outlets,
        "travel": {"metric": "euclidean", "speed": 1},
    }


def territories_problem(n: int = 12, count: int = 3, seed: int = 2) -> dict[str, Any]:
    """A small territories problem on lat/lon points."""
    rng = random.Random(seed)
    return {
        "units": [{"id": f"u{i}", "location": {"lat": 48.8 + rng.uniform(-0.1, 0.1),
                                               "lon": 2.35 + rng.uniform(-0.1, 0.1)},
                   "workload": rng.uniform(1, 3), "potential": rng.uniform(1, 10)} for i in range(n)],
        "count": count,
        "balance": {"workload": 0.5, "potential": 1.0},
    }


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
        }
        base.update(kw)
        return Settings(**base)

    return make


def wait_final(get: Callable[[], dict[str, Any]], timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``get()`` (a job JSON) until the job is final; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        job = get()
        if job["status"] in FINAL:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job not final after {timeout} s: {job}")
        time.sleep(0.1)


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
