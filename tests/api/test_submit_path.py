"""The submission hot path: group commit, wake-ups, key look-up, the fast JSON route's answers."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from apihelpers import routes_problem
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.deps import ApiError, tenant_for
from api.main import create_app
from api.routes.jobs import check_job
from api.schemas import job_out, new_job_json
from api.settings import Settings, hash_key
from api.store import JobRecord, NewJob, SqlJobStore
from api.submits import SubmitQueue
from api.wakeup import WakeListener, wake_sender


def _jobs(n: int) -> list[NewJob]:
    return [NewJob("routes", {"reps": [{"id": "r"}], "outlets": [], "name": f"p{i}"}, {"seed": i}) for i in range(n)]


async def _submit_all(q: SubmitQueue, items: list[tuple[str, NewJob]]) -> list[JobRecord]:
    return list(await asyncio.gather(*(q.create(t, j) for t, j in items)))


@pytest.mark.parametrize("inline", [True, False])
def test_group_commit_stores_every_job_once_in_submission_order(store: SqlJobStore, inline: bool) -> None:
    n = 40
    items = [("a" if i % 3 else "b", job) for i, job in enumerate(_jobs(n))]
    q = SubmitQueue(store, max_group=16, inline=inline)
    recs = asyncio.run(_submit_all(q, items))
    assert len({r.id for r in recs}) == n
    assert q.written == n and q.groups < n  # concurrent submissions shared commits
    assert q.groups >= n // 16  # and no group exceeded max_group
    for (tenant, job), rec in zip(items, recs, strict=True):
        stored = store.get_job(rec.id, tenant)
        assert stored is not None and stored.status == "queued" and stored.options == job.options
        assert store.get_problem(rec.id) == job.problem
        assert [e["type"] for e in store.events(rec.id)] == ["submitted"]
    # the queue serves them oldest first, i.e. in the order they were submitted
    claimed = [c.id for c in store.claim("owner", n)]
    assert claimed == [r.id for r in recs]


def test_group_commit_failure_reaches_every_request(store: SqlJobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(items: list[tuple[str, NewJob]], **_: Any) -> list[JobRecord]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "insert_jobs", broken)
    q = SubmitQueue(store)

    async def run() -> list[Any]:
        return list(await asyncio.gather(*(q.create("a", j) for j in _jobs(5)), return_exceptions=True))

    out = asyncio.run(run())
    assert all(isinstance(e, RuntimeError) for e in out)
    assert q.written == 0


def test_wake_datagram_reaches_listener() -> None:
    got = threading.Event()
    listener = WakeListener()
    listener.start(got.set)
    try:
        wake_sender(listener.port)()
        assert got.wait(5)
    finally:
        listener.close()


def test_tenant_for_maps_hashed_keys() -> None:
    table = {hash_key("k1"): "A", hash_key("k2"): "B"}
    assert tenant_for(table, "k1") == "A" and tenant_for(table, "k2") == "B"
    assert tenant_for({}, None) == "default" and tenant_for({}, "anything") == "default"
    for bad in (None, "", "k3", hash_key("k1")):  # the digest itself is not a key
        with pytest.raises(ApiError) as err:
            tenant_for(table, bad)
        assert err.value.status == 401


# problems made of lists of (nested) empty objects: the tightest JSON for their item count
dense: st.SearchStrategy[Any] = st.recursive(st.just({}), lambda inner: st.lists(inner, max_size=6) | st.dictionaries(
    st.sampled_from("abc"), inner, max_size=2), max_leaves=30)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from(["outlets", "reps", "x"]), dense, max_size=3), st.integers(1, 40))
def test_size_check_skip_never_changes_the_answer(problem: dict[str, Any], limit: int) -> None:
    """Skipping the item count on bodies too short to exceed the limit gives the same verdict as counting."""
    cfg = Settings(database_url="sqlite://", start_dispatcher=False, max_problem_items=limit)
    body = {"kind": "routes", "problem": problem}
    raw = json.dumps(body, separators=(",", ":"))
    assert check_job(body, cfg, raw_size=len(raw))[1] == check_job(body, cfg)[1]


def test_fast_route_answers(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(start_dispatcher=False))
    with TestClient(app) as c:
        ok = c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(3)})
        assert ok.status_code == 202 and ok.headers["location"] == f"/v1/jobs/{ok.json()['id']}"
        assert ok.json() == c.get(f"/v1/jobs/{ok.json()['id']}").json()  # the same rendering as GET
        for content, message in ((b"", "required field is missing (the request body is empty)"),
                                 (b"{nope", "the request body is not valid JSON"),
                                 (b"\xff\xfe", "the request body is not valid JSON")):
            r = c.post("/v1/jobs", content=content, headers={"content-type": "application/json"})
            assert r.status_code == 422 and r.json()["errors"] == [{"path": "", "message": message}]
        r = c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(3)},
                   headers={"Idempotency-Key": "x" * 256})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "header.Idempotency-Key"
        assert app.state.submits.written == 1


@settings(max_examples=150, deadline=None)
@given(st.floats(0, 4e9, allow_nan=False), st.sampled_from(["routes", "territories", "staffing", "pipeline"]),
       st.fixed_dictionaries({}, optional={"time_limit_s": st.floats(1e-9, 1e6), "seed": st.integers(0, 2**31 - 1)}),
       st.text(min_size=1, max_size=40), st.none() | st.text(max_size=8))
def test_new_job_json_equals_the_model_rendering(t: float, kind: str, options: dict[str, Any], jid: str,
                                                  batch: str | None) -> None:
    rec = JobRecord(id=jid, tenant="t", kind=kind, status="queued", options=options, attempts=0, created_at=t,
                    started_at=None, finished_at=None, progress=None, error=None, cancel_requested=False,
                    has_result=False, batch_id=batch, idempotency_key=None)
    assert json.loads(new_job_json(rec)) == json.loads(job_out(rec).model_dump_json())
