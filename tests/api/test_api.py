"""Jobs API through FastAPI's TestClient, with the real local process-pool executor and real solvers."""

from __future__ import annotations

import csv
import functools
import io
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apihelpers import big_routes_problem, routes_problem, territories_problem, wait_final
from fastapi.testclient import TestClient

from api.main import create_app, is_loopback, serve
from api.settings import Settings, hash_key
from optimizer.errors import InputError
from optimizer.model import parse
from optimizer.model.routes import RoutesSolution
from optimizer.routes.check import check_routes


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """A running app (dispatcher + 2 local workers) on a fresh SQLite store."""
    with TestClient(create_app(make_settings())) as c:
        yield c


def _job(c: TestClient, jid: str, **headers: str) -> dict[str, Any]:
    r = c.get(f"/v1/jobs/{jid}", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_routes_job_lifecycle_and_result_formats(client: TestClient) -> None:
    problem = routes_problem(6)
    r = client.post("/v1/jobs", json={"kind": "routes", "problem": problem, "options": {"time_limit_s": 1, "seed": 3}})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued" and r.headers["location"] == f"/v1/jobs/{job['id']}"
    done = wait_final(lambda: _job(client, job["id"]))
    assert done["status"] == "succeeded" and done["has_result"] and done["error"] is None
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]
    assert done["attempts"] == 1

    result = client.get(f"/v1/jobs/{job['id']}/result").json()
    sol = RoutesSolution.model_validate(result)
    check = check_routes(parse("routes", problem), sol)  # type: ignore[arg-type]
    assert check.ok, check.violations
    assert sol.objective is not None and math.isclose(sol.objective, check.objective, rel_tol=1e-6)
    assert sol.totals.visits_planned == 6

    rows = list(csv.DictReader(io.StringIO(client.get(f"/v1/jobs/{job['id']}/result?format=csv").text)))
    assert len(rows) == sum(len(rt.stops) for rt in sol.routes)
    assert {row["outlet"] for row in rows} == {o["id"] for o in problem["outlets"]}
    geo = client.get(f"/v1/jobs/{job['id']}/result?format=geojson")
    assert geo.headers["content-type"].startswith("application/geo+json")
    lines = [f for f in geo.json()["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == len(sol.routes)
    assert lines[0]["geometry"]["coordinates"][0] == [0.0, 0.0]  # starts at the rep's start

    types = [e["type"] for e in client.get(f"/v1/jobs/{job['id']}/events").json()]
    assert types[:2] == ["submitted", "started"] and types[-1] == "succeeded"


def test_territories_job_result(client: TestClient) -> None:
    problem = territories_problem()
    r = client.post("/v1/jobs", json={"kind": "territories", "problem": problem, "options": {"time_limit_s": 2}})
    done = wait_final(lambda: _job(client, r.json()["id"]))
    assert done["status"] == "succeeded", done
    result = client.get(f"/v1/jobs/{done['id']}/result").json()
    assert set(result["assignment"]) == {u["id"] for u in problem["units"]}
    assert len(set(result["assignment"].values())) <= problem["count"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/v1/jobs/{done['id']}/result?format=csv").text)))
    assert {(row["unit"], row["territory"]) for row in rows} == set(result["assignment"].items())
    feats = client.get(f"/v1/jobs/{done['id']}/result?format=geojson").json()["features"]
    by_unit = {u["id"]: u["location"] for u in problem["units"]}
    for f in feats:
        loc = by_unit[f["properties"]["unit"]]
        assert f["geometry"]["coordinates"] == [loc["lon"], loc["lat"]]


def test_422_lists_every_offending_field(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(start_dispatcher=False, max_time_limit_s=10))
    with TestClient(app) as c:
        bad = routes_problem(3)
        bad["outlets"][1]["visits"] = 0
        bad["reps"][0]["shift"] = {"start": "25:99", "end": 600}
        r = c.post("/v1/jobs", json={"kind": "routes", "problem": bad, "options": {"time_limit_s": -1}, "extra": 1})
        assert r.status_code == 422
        paths = {e["path"] for e in r.json()["errors"]}
        assert {"options.time_limit_s", "extra", "problem.outlets[1].visits", "problem.reps[0].shift.start"} <= paths
        r = c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(3), "options": {"time_limit_s": 11}})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "options.time_limit_s"
        r = c.post("/v1/jobs", json={"kind": "nope", "problem": {}})
        assert r.status_code == 422 and r.json()["errors"] == [
            {"path": "kind", "message": r.json()["errors"][0]["message"]}]
        r = c.post("/v1/batches", json={"jobs": [{"kind": "routes", "problem": routes_problem(2)},
                                                 {"kind": "routes", "problem": bad}]})
        assert r.status_code == 422
        assert all(e["path"].startswith("jobs[1].problem") for e in r.json()["errors"])
        assert c.get("/v1/jobs").json()["total"] == 0  # nothing of a bad batch was stored
        r = c.post("/v1/jobs", content=b'{"kind": "routes", "problem": {', headers={"content-type": "application/json"})
        assert r.status_code == 422 and "Traceback" not in r.text


def test_problem_size_limit_and_request_size_limit(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(start_dispatcher=False, max_problem_items=5, max_request_bytes=5000))
    with TestClient(app) as c:
        r = c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(8)})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "problem"
        r = c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(80)})
        assert r.status_code == 413 and r.json()["code"] == "too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
            yield b'{"kind": "routes", "problem": {"name": "'
            for _ in range(10):
                yield b"x" * 1000
            yield b'"}}'

        r = c.post("/v1/jobs", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_idempotency_key(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(start_dispatcher=False))) as c:
        body = {"kind": "routes", "problem": routes_problem(3)}
        first = c.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k1"})
        again = c.post("/v1/jobs", json=body, headers={"Idempotency-Key": "k1"})
        assert first.status_code == 202 and again.status_code == 200
        assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
        other = c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(4)},
                       headers={"Idempotency-Key": "k1"})
        assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
        batch = {"jobs": [body, body]}
        b1 = c.post("/v1/batches", json=batch, headers={"Idempotency-Key": "b"})
        b2 = c.post("/v1/batches", json=batch, headers={"Idempotency-Key": "b"})
        assert b1.status_code == 202 and b2.status_code == 200 and b1.json()["id"] == b2.json()["id"]
        assert c.get("/v1/jobs").json()["total"] == 3


def test_tenant_isolation_and_api_keys(make_settings: Callable[..., Settings], tmp_path: Any) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# hashed at rest\n{hash_key('c-secret')}:tenantC\n")
    settings = make_settings(start_dispatcher=False, api_keys="a-secret:tenantA,b-secret:tenantB",
                             api_keys_file=keys_file)
    with TestClient(create_app(settings)) as c:
        A, B, C = {"X-API-Key": "a-secret"}, {"X-API-Key": "b-secret"}, {"X-API-Key": "c-secret"}
        assert c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(3)}).status_code == 401
        assert c.get("/v1/jobs", headers={"X-API-Key": "wrong"}).status_code == 401
        jid = c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(3)}, headers=A).json()["id"]
        assert _job(c, jid, **A)["status"] == "queued"
        for h in (B, C):
            assert c.get(f"/v1/jobs/{jid}", headers=h).status_code == 404
            assert c.get(f"/v1/jobs/{jid}/result", headers=h).status_code == 404
            assert c.delete(f"/v1/jobs/{jid}", headers=h).status_code == 404
            assert c.get("/v1/jobs", headers=h).json()["total"] == 0
        assert _job(c, jid, **A)["status"] == "queued"  # B's cancel did nothing
        assert c.get("/v1/jobs", headers=A).json()["total"] == 1
        bid = c.post("/v1/batches", json={"jobs": [{"kind": "routes", "problem": routes_problem(2)}]}, headers=C).json()
        assert c.get(f"/v1/batches/{bid['id']}", headers=A).status_code == 404
        assert c.get(f"/v1/batches/{bid['id']}", headers=C).status_code == 200


def test_cancel_queued_and_list_filters(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(start_dispatcher=False))) as c:
        ids = [c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(3, seed=i)}).json()["id"]
               for i in range(5)]
        r = c.delete(f"/v1/jobs/{ids[0]}")
        assert r.status_code == 202 and r.json()["status"] == "cancelled"
        assert c.delete(f"/v1/jobs/{ids[0]}").status_code == 409
        assert c.get(f"/v1/jobs/{ids[0]}/result").json()["code"] == "no_result"
        assert c.get(f"/v1/jobs/{ids[1]}/result").json()["code"] == "not_ready"
        page = c.get("/v1/jobs?status=queued&limit=3").json()
        assert page["total"] == 4 and len(page["items"]) == 3 and page["next"]
        rest = c.get(page["next"]).json()
        assert {j["id"] for j in page["items"] + rest["items"]} == set(ids[1:])
        assert rest["next"] is None
        assert c.get("/v1/jobs?status=cancelled").json()["items"][0]["id"] == ids[0]
        assert c.get("/v1/jobs?status=bogus").status_code == 422
        assert c.get("/v1/jobs/does-not-exist").status_code == 404


def test_cancel_mid_solve_keeps_best_solution(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(workers=1)
    with TestClient(create_app(settings)) as c:
        problem = big_routes_problem()
        body = {"kind": "routes", "problem": problem, "options": {"time_limit_s": 30}}
        jid = c.post("/v1/jobs", json=body).json()["id"]
        deadline = time.monotonic() + 40
        while True:  # wait until the solver has reported a solution
            job = _job(c, jid)
            if job["status"] == "running" and job["progress"] and job["progress"].get("best") is not None:
                break
            assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.2)
        started = job["started_at"]
        r = c.delete(f"/v1/jobs/{jid}")
        assert r.status_code == 202 and r.json()["cancel_requested"]
        done = wait_final(lambda: _job(c, jid), timeout=25)
    assert done["status"] == "cancelled"
    from datetime import datetime

    ran = (datetime.fromisoformat(done["finished_at"]) - datetime.fromisoformat(started)).total_seconds()
    assert ran < 30  # stopped by the cancel, not by its 30 s time limit
    assert done["has_result"]
    result = c.get(f"/v1/jobs/{jid}/result").json()
    sol = RoutesSolution.model_validate(result)
    check = check_routes(parse("routes", problem), sol)  # type: ignore[arg-type]
    assert check.ok, check.violations[:5]
    assert sol.totals.visits_planned > 0


def test_batch_runs_to_done(client: TestClient) -> None:
    jobs = [{"kind": "routes", "problem": routes_problem(4, seed=s)} for s in range(3)]
    r = client.post("/v1/batches", json={"jobs": jobs, "options": {"time_limit_s": 1}})
    assert r.status_code == 202
    bid = r.json()["id"]
    counts = r.json()["counts"]  # the dispatcher may already have started some by the time we answer
    assert r.json()["size"] == 3 and sum(counts.values()) == 3
    assert set(counts) <= {"queued", "running", "succeeded"}
    deadline = time.monotonic() + 60
    while (b := client.get(f"/v1/batches/{bid}").json())["status"] != "done":
        assert time.monotonic() < deadline, b
        time.sleep(0.2)
    assert b["counts"] == {"succeeded": 3}
    for j in b["jobs"]:
        job = _job(client, j["id"])
        assert job["batch_id"] == bid and job["options"] == {"time_limit_s": 1.0}
    assert client.get(f"/v1/jobs?batch_id={bid}").json()["total"] == 3


def test_validate_health_metrics(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings())) as c:
        ok = c.post("/v1/validate/routes", json=routes_problem(4))
        assert ok.status_code == 200 and ok.json()["summary"] == {"reps": 1, "outlets": 4}
        bad = c.post("/v1/validate/routes", json={"reps": [], "outlets": [{"id": "a"}]})
        assert bad.status_code == 422
        assert {e["path"] for e in bad.json()["errors"]} >= {"reps", "outlets[0].location"}
        assert c.post("/v1/validate/nope", json={}).status_code == 404
        h = c.get("/healthz").json()
        assert h["status"] == "ok" and h["database"] == "ok" and h["workers"] == 2
        c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(3)}, headers={"Idempotency-Key": "m"})
        text = c.get("/metrics").text
        assert 'salesplan_http_requests_total{method="POST",route="/v1/jobs",code="202"} 1' in text
        counted = sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                      if line.startswith('salesplan_jobs{kind="routes"'))
        assert counted == 1  # (the example job below comes after)
        assert "/docs" in [getattr(rt, "path", None) for rt in c.app.routes]  # type: ignore[attr-defined]
        spec = c.get("/openapi.json").json()
        names = set(spec["components"]["schemas"])
        assert {"RoutesProblem", "TerritoriesProblem", "RoutesSolution", "JobRequest"} <= names
        for example in spec["components"]["schemas"]["JobRequest"]["examples"]:  # the documented example works
            assert c.post("/v1/jobs", json=example).status_code == 202
        links = spec["paths"]["/v1/jobs"]["post"]["responses"]["202"]["links"]
        assert links["GetJob"]["parameters"] == {"job_id": "$response.body#/id"}


def test_internal_errors_never_leak_a_traceback(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(start_dispatcher=False))

    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret detail /etc/passwd")

    app.state.store.get_job = boom
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/v1/jobs/x")
    assert r.status_code == 500 and r.json()["code"] == "internal"
    assert "secret" not in r.text and "Traceback" not in r.text


def test_serve_refuses_public_bind_without_keys(make_settings: Callable[..., Settings]) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
    with pytest.raises(InputError) as exc:
        serve(host="0.0.0.0", port=0, settings=make_settings())
    assert exc.value.errors[0].path == "host"
    with pytest.raises(InputError):
        serve(host="127.0.0.1", port=0, settings=make_settings(api_keys="no-tenant-here"))


@pytest.mark.postgres
def test_job_lifecycle_on_postgres(pg_url: str, make_settings: Callable[..., Settings]) -> None:
    """The whole path (API, dispatcher, worker processes writing progress and results) on PostgreSQL."""
    with TestClient(create_app(make_settings(database_url=pg_url))) as c:
        ids = [c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(4, seed=s),
                                        "options": {"time_limit_s": 1}}, headers={"Idempotency-Key": f"pg{s}"}
                      ).json()["id"] for s in range(3)]
        again = c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(4, seed=0),
                                         "options": {"time_limit_s": 1}}, headers={"Idempotency-Key": "pg0"})
        assert again.status_code == 200 and again.json()["id"] == ids[0]
        for jid in ids:
            done = wait_final(functools.partial(_job, c, jid))
            assert done["status"] == "succeeded" and done["attempts"] == 1
            assert c.get(f"/v1/jobs/{jid}/result").json()["totals"]["visits_planned"] == 4
        assert c.get("/v1/jobs").json()["total"] == 3
