"""The Ray executor runs a batch of real jobs on a real local Ray runtime (no mock)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from apihelpers import routes_problem, territories_problem
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[Any]:
    """One local Ray runtime for the module (starting Ray is slow)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()


def test_ray_executor_runs_a_batch(ray_runtime: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(executor="ray", workers=2)
    with TestClient(create_app(settings)) as c:
        assert c.app.state.dispatcher.executor.name == "ray"  # type: ignore[attr-defined]
        jobs: list[dict[str, Any]] = [{"kind": "routes", "problem": routes_problem(5, seed=s)} for s in range(3)]
        jobs.append({"kind": "territories", "problem": territories_problem()})
        r = c.post("/v1/batches", json={"jobs": jobs, "options": {"time_limit_s": 1}})
        assert r.status_code == 202
        bid = r.json()["id"]
        deadline = time.monotonic() + 120
        while (b := c.get(f"/v1/batches/{bid}").json())["status"] != "done":
            assert time.monotonic() < deadline, b
            time.sleep(0.3)
        assert b["counts"] == {"succeeded": 4}
        for j, spec in zip(b["jobs"], jobs, strict=True):
            result = c.get(f"/v1/jobs/{j['id']}/result").json()
            if spec["kind"] == "routes":
                assert result["totals"]["visits_planned"] == 5
            else:
                assert set(result["assignment"]) == {u["id"] for u in spec["problem"]["units"]}
            types = [e["type"] for e in c.get(f"/v1/jobs/{j['id']}/events").json()]
            assert types[0] == "submitted" and types[-1] == "succeeded"
    assert ray.is_initialized()  # the executor did not shut down a runtime it did not start
