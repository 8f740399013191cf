"""Job store on SQLite and on a real PostgreSQL server (``postgres`` marker; see .ci/postgres)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from api.store import IdempotencyConflict, NewJob, SqlJobStore, jobs

PROBLEM = {"reps": [{"id": "r"}], "outlets": []}


def _job(i: int = 0) -> NewJob:
    return NewJob("routes", {**PROBLEM, "name": f"p{i}"}, {"time_limit_s": 1.0})


def test_create_get_list_pagination(store: SqlJobStore) -> None:
    ids = [store.create_job("a", _job(i))[0].id for i in range(7)]
    store.create_job("b", _job(99))
    rec = store.get_job(ids[0])
    assert rec is not None and rec.status == "queued" and rec.tenant == "a" and rec.attempts == 0
    assert store.get_problem(ids[0]) == {**PROBLEM, "name": "p0"}
    page1, total = store.list_jobs("a", limit=4)
    page2, _ = store.list_jobs("a", limit=4, offset=4)
    assert total == 7
    assert [r.id for r in page1 + page2] == ids[::-1]  # newest first, no overlap
    assert store.list_jobs("a", status="running")[1] == 0
    assert store.list_jobs("a", kind="staffing")[1] == 0
    assert [e["type"] for e in store.events(ids[0])] == ["submitted"]


def test_tenant_isolation(store: SqlJobStore) -> None:
    rec, _ = store.create_job("a", _job())
    assert store.get_job(rec.id, "b") is None
    assert store.get_problem(rec.id, "b") is None
    assert store.request_cancel(rec.id, "b") is None
    assert store.get_job(rec.id, "a") is not None and store.get_job(rec.id, "a").status == "queued"  # type: ignore[union-attr]
    assert store.list_jobs("b")[1] == 0


def test_idempotency(store: SqlJobStore) -> None:
    first, created = store.create_job("a", _job(), "key-1")
    again, created2 = store.create_job("a", _job(), "key-1")
    assert created and not created2 and again.id == first.id
    other, created3 = store.create_job("b", _job(), "key-1")  # keys are per tenant
    assert created3 and other.id != first.id
    with pytest.raises(IdempotencyConflict):
        store.create_job("a", _job(5), "key-1")
    assert store.list_jobs("a")[1] == 1


def test_claim_is_atomic_between_threads(store: SqlJobStore) -> None:
    ids = {store.create_job("a", _job(i))[0].id for i in range(12)}
    got: list[str] = []
    lock = threading.Lock()

    def worker(owner: str) -> None:
        other = SqlJobStore(store.url, create=False)  # each dispatcher has its own engine
        while True:
            claimed = other.claim(owner, 2)
            if not claimed:
                break
            with lock:
                got.extend(c.id for c in claimed)
        other.close()

    threads = [threading.Thread(target=worker, args=(f"o{k}",)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)  # every job claimed exactly once
    assert all(store.get_job(i).status == "running" and store.get_job(i).attempts == 1 for i in ids)  # type: ignore[union-attr]


def test_claim_oldest_first_and_progress_cancel_finish(store: SqlJobStore) -> None:
    a = store.create_job("t", _job(1))[0]
    b = store.create_job("t", _job(2))[0]
    (c1,) = store.claim("srv", 1)
    assert c1.id == a.id and c1.attempt == 1 and c1.problem["name"] == "p1"
    assert store.report_progress(a.id, c1.run_id, {"stage": "x", "best": 5.0}, log=True) is False
    rec = store.request_cancel(a.id, "t")
    assert rec is not None and rec.status == "running" and rec.cancel_requested
    assert store.report_progress(a.id, c1.run_id, {"stage": "x", "best": 4.0}) is True
    assert store.report_progress(a.id, "stale-run", {"stage": "x"}) is True  # not the current run: stop
    assert not store.finish(a.id, "stale-run", "succeeded", result={"x": 1})
    assert store.finish(a.id, c1.run_id, "cancelled", result={"objective": 4.0})
    rec = store.get_job(a.id)
    assert rec is not None and rec.status == "cancelled" and rec.has_result
    assert rec.progress == {"stage": "x", "best": 4.0}
    assert store.get_result(a.id) == {"objective": 4.0}
    assert not store.finish(a.id, c1.run_id, "failed")  # final states are final
    # cancelling a queued job is immediate
    rec_b = store.request_cancel(b.id, "t")
    assert rec_b is not None and rec_b.status == "cancelled" and rec_b.finished_at is not None
    assert store.claim("srv", 5) == []
    types = [e["type"] for e in store.events(a.id)]
    assert types == ["submitted", "started", "progress", "cancel_requested", "cancelled"]


def test_recover_requeues_then_fails_after_max_attempts(store: SqlJobStore) -> None:
    rec = store.create_job("t", _job())[0]
    for attempt in (1, 2):
        (c,) = store.claim(f"dead-{attempt}", 1)
        assert c.attempt == attempt
        assert store.recover(stale_after_s=60, max_attempts=2) == (0, 0)  # heartbeat is fresh
        with store.engine.begin() as conn:  # the server died: no heartbeat for a while
            conn.execute(sa.update(jobs).values(heartbeat_at=time.time() - 120))
        expected = (1, 0) if attempt == 1 else (0, 1)
        assert store.recover(stale_after_s=60, max_attempts=2) == expected
    final = store.get_job(rec.id)
    assert final is not None and final.status == "failed" and final.error is not None
    assert final.error["code"] == "lost"


def test_heartbeat_keeps_job_and_release_requeues(store: SqlJobStore) -> None:
    rec = store.create_job("t", _job())[0]
    (c,) = store.claim("srv", 1)
    with store.engine.begin() as conn:
        conn.execute(sa.update(jobs).values(heartbeat_at=time.time() - 120))
    store.heartbeat("srv", [rec.id])
    assert store.recover(stale_after_s=60, max_attempts=3) == (0, 0)
    assert store.release("srv") == 1
    back = store.get_job(rec.id)
    assert back is not None and back.status == "queued" and back.attempts == 0
    assert not store.finish(rec.id, c.run_id, "succeeded", result={})  # the released run can no longer write
    (c2,) = store.claim("srv2", 1)
    assert c2.run_id != c.run_id and c2.attempt == 1


def test_batch_created_atomically_with_order_and_idempotency(store: SqlJobStore) -> None:
    items = [_job(i) for i in range(4)]
    b, created = store.create_batch("t", items, "week-47")
    assert created and b.size == 4 and [s for _, s in b.jobs] == ["queued"] * 4
    assert [store.get_problem(j)["name"] for j, _ in b.jobs] == ["p0", "p1", "p2", "p3"]  # type: ignore[index]
    again, created2 = store.create_batch("t", items, "week-47")
    assert not created2 and again.id == b.id
    with pytest.raises(IdempotencyConflict):
        store.create_batch("t", items[:2], "week-47")
    assert store.get_batch(b.id, "other") is None
    claimed = store.claim("srv", 10)
    assert [c.id for c in claimed] == [j for j, _ in b.jobs]  # submission order
    store.finish(claimed[0].id, claimed[0].run_id, "succeeded", result={})
    got = store.get_batch(b.id, "t")
    assert got is not None and sorted(s for _, s in got.jobs) == ["running"] * 3 + ["succeeded"]
    assert store.list_jobs("t", batch_id=b.id)[1] == 4
    counts = store.counts()
    assert counts[("routes", "running")] == 3 and counts[("routes", "succeeded")] == 1


def test_retry_or_fail_after_a_worker_died(store: SqlJobStore) -> None:
    rec = store.create_job("t", _job())[0]
    (c1,) = store.claim("srv", 1)
    store.report_progress(rec.id, c1.run_id, {"stage": "starting"}, worker="123@host")
    got = store.get_job(rec.id)
    assert got is not None and got.worker == "123@host"
    assert store.retry_or_fail(rec.id, "not-the-run", 2, "died") is None
    assert store.retry_or_fail(rec.id, c1.run_id, 2, "died") == "queued"
    (c2,) = store.claim("srv", 1)
    assert c2.attempt == 2
    assert store.retry_or_fail(rec.id, c2.run_id, 2, "died") == "failed"
    final = store.get_job(rec.id)
    assert final is not None and final.status == "failed" and final.error is not None
    assert final.error["code"] == "worker_died"
    assert [e["type"] for e in store.events(rec.id)][-3:] == ["requeued", "started", "failed"]


def test_empty_idempotency_key_is_no_key(store: SqlJobStore) -> None:
    a, created_a = store.create_job("t", _job(), "")
    b, created_b = store.create_job("t", _job(), "")
    assert created_a and created_b and a.id != b.id
    x, _ = store.create_batch("t", [_job()], "")
    y, created_y = store.create_batch("t", [_job()], "")
    assert created_y and x.id != y.id
