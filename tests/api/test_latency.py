"""Tail-latency machinery of the submit path: startup warm-up, diagnostics records."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from apihelpers import routes_problem, wait_final
from fastapi.testclient import TestClient

from api.executors import LocalExecutor
from api.main import create_app
from api.settings import Settings
from api.store import JobRecord, NewJob, SqlJobStore
from api.submits import SubmitQueue
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


def test_relayed_progress_updates_only_the_current_run(store: SqlJobStore) -> None:
    a, _ = store.create_job("t", NewJob("routes", {"p": 1}))
    b, _ = store.create_job("t", NewJob("routes", {"p": 2}))
    runs = {c.id: c.run_id for c in store.claim("owner", 2)}
    assert not store.cancel_flag(a.id, runs[a.id])
    assert store.cancel_flag(a.id, "not-this-run")  # a stale run must stop
    store.report_progress_many([
        (a.id, runs[a.id], {"best": 10.0}, True, "1@h"),
        (b.id, runs[b.id], {"best": 5.0}, False, None),
        (a.id, "stale-run", {"best": 1.0}, True, None),  # ignored: not a.id's current run
    ])
    ra, rb = store.get_job(a.id), store.get_job(b.id)
    assert ra is not None and rb is not None
    assert ra.progress == {"best": 10.0} and ra.worker == "1@h"
    assert rb.progress == {"best": 5.0} and rb.worker is None
    assert [e["type"] for e in store.events(a.id)] == ["submitted", "started", "progress"]
    assert [e["type"] for e in store.events(b.id)] == ["submitted", "started"]  # log=False: no event
    store.request_cancel(b.id)
    assert store.cancel_flag(b.id, runs[b.id])
    assert store.finish(a.id, runs[a.id], "succeeded", result_json='{"ok":true}')  # serialised by the worker
    assert store.get_result(a.id) == {"ok": True}
    store.report_progress_many([(a.id, runs[a.id], {"best": 0.0}, True, None)])  # after the end: ignored
    ra = store.get_job(a.id)
    assert ra is not None and ra.status == "succeeded" and ra.progress == {"best": 10.0}
    assert store.cancel_flag(a.id, runs[a.id])


@pytest.mark.parametrize("relay", [True, False])
def test_jobs_finish_with_and_without_the_relay(make_settings: Callable[..., Settings], relay: bool) -> None:
    app = create_app(make_settings(relay_progress=relay, workers=1))
    with TestClient(app) as c:
        problem = routes_problem(5)
        body = {"kind": "routes", "problem": problem, "options": {"time_limit_s": 1}}
        jid = c.post("/v1/jobs", json=body).json()["id"]
        done = wait_final(lambda: c.get(f"/v1/jobs/{jid}").json())
        assert done["status"] == "succeeded" and done["attempts"] == 1
        assert c.get(f"/v1/jobs/{jid}/result").json()["totals"]["visits_planned"] == 5
        assert done["progress"] is not None and done["progress"].get("stage") != "starting"  # progress arrived
        assert "@" in (app.state.store.get_job(jid).worker or "")  # the worker's name came with its first report
        ex = app.state.dispatcher.executor
        assert (ex.relayed > 0) == relay  # the relay wrote the progress only when on


def test_group_commit_never_blocks_the_loop_on_a_busy_write_lock(tmp_path: Path) -> None:
    """Another writer holds the lock: the loop keeps running, and every job is stored once it is released."""
    store = SqlJobStore(f"sqlite:///{tmp_path / 'j.db'}")
    other = os.open(f"{tmp_path / 'j.db'}.writelock", os.O_RDWR)  # another open file: another writer
    fcntl.flock(other, fcntl.LOCK_EX)
    q = SubmitQueue(store)
    assert q.inline
    ticks_while_held = 0

    async def run() -> list[JobRecord]:
        nonlocal ticks_while_held
        subs = [asyncio.ensure_future(q.create("t", NewJob("routes", {"n": i}))) for i in range(5)]
        for _ in range(20):  # the loop turns while the lock is held; the submissions wait
            await asyncio.sleep(0.01)
            ticks_while_held += 1
        assert not any(s.done() for s in subs)
        more = [asyncio.ensure_future(q.create("t", NewJob("routes", {"n": 5 + i}))) for i in range(3)]
        fcntl.flock(other, fcntl.LOCK_UN)
        return list(await asyncio.gather(*subs, *more))

    try:
        recs = asyncio.run(run())
    finally:
        os.close(other)
    assert ticks_while_held == 20 and q.handoffs >= 1
    assert len({r.id for r in recs}) == 8 and q.written == 8
    assert sorted(store.get_problem(r.id)["n"] for r in recs) == list(range(8))  # type: ignore[index]
    store.close()
