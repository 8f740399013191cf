"""Tail-latency machinery of the submit path: startup warm-up, diagnostics records."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from apihelpers import routes_problem
from fastapi.testclient import TestClient

from api.executors import LocalExecutor
from api.main import create_app
from api.settings import Settings
from api.store import NewJob, SqlJobStore
from api.worker import warm_worker


def test_store_warm_up_leaves_nothing_behind(store: SqlJobStore) -> None:
    store.warm_up()
    store.warm_up()
    assert store.counts() == {}
    assert store.list_jobs("warm-up") == ([], 0)
    # and the store still writes normally afterwards
    rec, created = store.create_job("t", NewJob("routes", {"a": 1}))
    assert created and store.counts() == {("routes", "queued"): 1}
    assert [e["type"] for e in store.events(rec.id)] == ["submitted"]


def test_startup_warm_up_is_invisible_to_clients(make_settings: Callable[..., Settings],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="salesplan.api")
    app = create_app(make_settings(start_dispatcher=False))
    with TestClient(app) as c:
        assert "warm-up failed" not in caplog.text
        assert app.state.store.counts() == {}  # its invalid submission stored nothing
        assert app.state.http_stats.requests == {}  # and is not a client's request in /metrics
        assert c.get("/v1/jobs").json()["total"] == 0
        r = c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(3)})
        assert r.status_code == 202
        assert app.state.http_stats.requests == {("POST", "/v1/jobs", 202): 1, ("GET", "/v1/jobs", 200): 1}


def test_diagnostics_file_records_requests_and_group_commits(make_settings: Callable[..., Settings],
                                                             tmp_path: Path) -> None:
    path = tmp_path / "diag"
    app = create_app(make_settings(start_dispatcher=False, diagnostics_file=path))
    n = 4
    with TestClient(app) as c:
        for i in range(n):
            assert c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(3, seed=i)}).status_code == 202
        assert c.post("/v1/jobs", json={"kind": "nope"}).status_code == 422
    data = json.loads(Path(f"{path}.{os.getpid()}").read_text())
    statuses = sorted(st for _, _, st in data["requests"])
    assert statuses == [202] * n + [422]
    assert all(t1 >= t0 for t0, t1, _ in data["requests"])
    assert sum(size for *_, size in data["flushes"]) == n  # every stored submission is in one group commit
    assert all(wait >= 0 and write >= 0 for _, wait, write, _ in data["flushes"])
    assert all(length > 0 for _, length, _, _ in data["stalls"])


def test_prestart_spawns_the_pool_before_any_job() -> None:
    ex = LocalExecutor(2)
    try:
        ex.prestart()
        # the pool's processes exist and have run the warm-up (imported the solvers) before any job
        deadline = time.monotonic() + 60
        procs = getattr(ex._pool, "_processes", {})
        while len(procs) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(procs) == 2
        pid = ex._pool.submit(warm_worker).result(timeout=60)
        assert pid in procs and pid != os.getpid()
    finally:
        ex.shutdown()
