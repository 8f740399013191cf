"""A real uvicorn server on 127.0.0.1: HTTP lifecycle, and ``kill -9`` in the middle of 20 jobs then restart."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apihelpers import FINAL, routes_problem

from api.store import SqlJobStore

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m api.main`` in its own process group, with quick heartbeats."""

    def __init__(self, db_url: str, log: Path, **env: str) -> None:
        self.db_url = db_url
        self.log = log
        self.env = env
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "SALESPLAN_DATABASE_URL": self.db_url, "SALESPLAN_WORKERS": "2",
               "SALESPLAN_STALE_AFTER_S": "2", "SALESPLAN_HEARTBEAT_S": "0.5", "SALESPLAN_POLL_S": "0.1",
               "SALESPLAN_PROGRESS_EVERY_S": "0.2", "SALESPLAN_API_KEYS": "", **self.env}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "api.main", "--port", str(self.port)], env=env,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)  # the server only: its pool workers are orphaned
        self.proc.wait(timeout=10)

    def group_pids(self) -> list[int]:
        """Pids in this server's process group (its pool workers)."""
        assert self.proc is not None
        out = subprocess.run(["ps", "-o", "pid=", "-g", str(self.proc.pid)], capture_output=True, text=True)
        return [int(x) for x in out.stdout.split()]

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # leftovers of this server's group
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(f"sqlite:///{tmp_path / 'jobs.db'}", tmp_path / "server.log")
    yield s
    s.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _wait_all_final(c: httpx.Client, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = {i: c.get(f"/v1/jobs/{i}").json() for i in ids}
        if all(j["status"] in FINAL for j in jobs.values()):
            return jobs
        assert time.monotonic() < deadline, {i: j["status"] for i, j in jobs.items()}
        time.sleep(0.3)


def test_http_lifecycle_and_cancel(server: Server) -> None:
    server.start()
    with httpx.Client(base_url=server.base, timeout=10) as c:
        r = c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(5), "options": {"time_limit_s": 1}})
        assert r.status_code == 202
        jid = r.json()["id"]
        queued = [c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(5, seed=s),
                                           "options": {"time_limit_s": 1}}).json()["id"] for s in range(2, 6)]
        cancelled = c.delete(f"/v1/jobs/{queued[-1]}").json()
        assert cancelled["status"] in ("cancelled", "running")
        jobs = _wait_all_final(c, [jid, *queued], timeout=90)
        assert jobs[jid]["status"] == "succeeded"
        assert jobs[queued[-1]]["status"] == "cancelled"
        result = c.get(f"/v1/jobs/{jid}/result").json()
        assert result["totals"]["visits_planned"] == 5
        assert c.get("/metrics").text.count("salesplan_jobs{") >= 4


def test_kill9_mid_run_then_restart_loses_nothing(server: Server) -> None:
    server.start()
    n = 20
    with httpx.Client(base_url=server.base, timeout=10) as c:
        ids = [c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(5, seed=s),
                                        "options": {"time_limit_s": 1.5}}).json()["id"] for s in range(n)]
        deadline = time.monotonic() + 60
        while True:  # kill once some jobs are done and two are mid-solve
            statuses = [c.get(f"/v1/jobs/{i}").json()["status"] for i in ids]
            if statuses.count("succeeded") >= 2 and statuses.count("running") == 2:
                break
            assert time.monotonic() < deadline, statuses
            time.sleep(0.1)
    server.kill9()
    orphans = server.group_pids()
    assert orphans, "expected the killed server's pool workers"

    store = SqlJobStore(server.db_url, create=False)
    before = {i: store.get_job(i) for i in ids}
    store.close()
    interrupted = [i for i, r in before.items() if r is not None and r.status == "running"]
    assert interrupted, "the kill did not hit a running job"
    assert any(r is not None and r.status == "queued" for r in before.values())

    server.start()
    with httpx.Client(base_url=server.base, timeout=10) as c:
        jobs = _wait_all_final(c, ids, timeout=150)
        left = [p for p in orphans if _alive(p)]
        assert not left, f"pool workers of the killed server are still alive: {left}"
        assert {j["status"] for j in jobs.values()} == {"succeeded"}, {i: j["status"] for i, j in jobs.items()}
        for i in ids:
            result = c.get(f"/v1/jobs/{i}/result").json()
            assert result["totals"]["visits_planned"] == 5
        for i in interrupted:
            assert jobs[i]["attempts"] == 2
            types = [e["type"] for e in c.get(f"/v1/jobs/{i}/events").json()]
            assert "requeued" in types and types[-1] == "succeeded"


def _runs(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(start, end) of each run of a job from its event log: ``started`` to the next event that ends the run."""
    out: list[tuple[float, float]] = []
    start: float | None = None
    for e in events:
        if e["type"] == "started":
            start = e["at"]
        elif e["type"] in ("requeued", *FINAL) and start is not None:
            out.append((start, e["at"]))
            start = None
    return out


def test_several_http_processes_one_dispatcher_no_job_runs_twice(tmp_path: Path) -> None:
    """``--workers 3``: one dispatcher claims (the cap holds), kill -9 of the supervisor ends every process,
    and after a restart each interrupted job is recovered once and every job runs to success exactly once."""
    server = Server(f"sqlite:///{tmp_path / 'jobs.db'}", tmp_path / "server.log", SALESPLAN_SERVER_WORKERS="3")
    try:
        server.start()
        assert len(server.group_pids()) >= 4, "expected the supervisor and 3 HTTP processes"
        n = 6
        with httpx.Client(base_url=server.base, timeout=10) as c:
            ids = [c.post("/v1/jobs", json={"kind": "routes", "problem": routes_problem(5, seed=s),
                                            "options": {"time_limit_s": 1}}).json()["id"] for s in range(n)]
            deadline = time.monotonic() + 60
            seen_running: set[int] = set()
            while True:  # kill once some jobs are done and two are mid-solve
                statuses = [c.get(f"/v1/jobs/{i}").json()["status"] for i in ids]
                seen_running.add(c.get("/healthz").json()["running"])  # an HTTP process reads it from the store
                if statuses.count("succeeded") >= 2 and statuses.count("running") == 2:
                    break
                assert time.monotonic() < deadline, statuses
                time.sleep(0.1)
            assert max(seen_running) >= 1 and max(seen_running) <= 2, seen_running
        pids = server.group_pids()
        server.kill9()
        deadline = time.monotonic() + 15
        while left := [p for p in pids if _alive(p)]:  # HTTP processes and pool workers follow the supervisor
            assert time.monotonic() < deadline, f"processes of the killed server still alive: {left}"
            time.sleep(0.2)
        gone_at = time.time()  # every solve of the killed server has ended by now

        server.start()
        with httpx.Client(base_url=server.base, timeout=10) as c:
            jobs = _wait_all_final(c, ids, timeout=150)
            assert {j["status"] for j in jobs.values()} == {"succeeded"}, {i: j["status"] for i, j in jobs.items()}
            logs = {i: c.get(f"/v1/jobs/{i}/events").json() for i in ids}
    finally:
        server.stop()
    runs: list[tuple[float, float]] = []
    owners: list[set[str]] = []
    for i in ids:
        types = [e["type"] for e in logs[i]]
        started = [e for e in logs[i] if e["type"] == "started"]
        # one run per attempt: a second start only after the kill re-queued it, once
        assert len(started) == jobs[i]["attempts"] == 1 + types.count("requeued") <= 2, types
        assert types.count("succeeded") == 1 and types[-1] == "succeeded", types
        runs += _runs(logs[i])
        owners.append({e["data"]["owner"] for e in started})
    assert any(len(o) == 2 for o in owners), "the kill interrupted no run"
    # one dispatcher per server lifetime: every run was claimed by one of two owners (before, after the kill)
    assert len(set().union(*owners)) == 2
    # the server-wide cap (SALESPLAN_WORKERS=2) held across the three HTTP processes. A run the kill interrupted
    # stays "running" in the store until the new dispatcher finds it stale and re-queues it, while that dispatcher
    # already runs queued jobs: its solve really ended when the killed server's processes were gone.
    runs = [(a, min(b, gone_at)) if a < gone_at else (a, b) for a, b in runs]
    for t, _ in runs:
        assert sum(1 for a, b in runs if a <= t < b) <= 2
