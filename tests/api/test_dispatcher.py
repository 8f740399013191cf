"""Dispatcher: a killed worker's job is retried; a run that ignores its time limit is stopped by force."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from apihelpers import routes_problem, wait_final

from api.dispatcher import Dispatcher
from api.executors import Executor, LocalExecutor
from api.settings import Settings
from api.store import NewJob, SqlJobStore
from api.worker import Task


def test_killed_worker_job_is_retried_and_succeeds(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(workers=1, max_attempts=3)
    store = SqlJobStore(settings.database_url)
    jid = store.create_job("t", NewJob("routes", routes_problem(40, reps=2), {"time_limit_s": 3}))[0].id
    disp = Dispatcher(store, LocalExecutor(1), settings)
    disp.start()
    try:
        deadline = time.monotonic() + 60
        while (rec := store.get_job(jid)) is None or rec.worker is None:  # the worker has started solving
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pid = int(rec.worker.split("@")[0])
        os.kill(pid, signal.SIGKILL)  # a crash (OOM killer, segfault) of the worker process
        done = wait_final(lambda: store.get_job(jid).__dict__, timeout=90)  # type: ignore[union-attr]
    finally:
        disp.stop()
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert store.get_result(jid) is not None
    assert "requeued" in [e["type"] for e in store.events(jid)]


class _Stuck(Executor):
    """A solver that never returns nor checks its stop flag: only ``kill`` ends it."""

    name = "stuck"

    def __init__(self) -> None:
        super().__init__(1)
        self.futures: dict[str, Future[dict[str, Any]]] = {}
        self.killed: list[str] = []

    def submit(self, task: Task) -> Future[dict[str, Any]]:
        fut: Future[dict[str, Any]] = Future()
        fut.set_running_or_notify_cancel()
        self.futures[task.run_id] = fut
        return fut

    def kill(self, run_id: str, worker: str | None) -> bool:
        self.killed.append(run_id)
        self.futures[run_id].set_exception(RuntimeError("killed"))
        return True

    def shutdown(self) -> None:
        for f in self.futures.values():
            if not f.done():
                f.set_exception(RuntimeError("shutdown"))


def test_run_overrunning_its_time_limit_is_killed_and_failed(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(overrun_grace_s=0.5, heartbeat_s=0.1)
    store = SqlJobStore(settings.database_url)
    jid = store.create_job("t", NewJob("routes", routes_problem(3), {"time_limit_s": 0.5}))[0].id
    ex = _Stuck()
    disp = Dispatcher(store, ex, settings)
    disp.start()
    try:
        done = wait_final(lambda: store.get_job(jid).__dict__, timeout=30)  # type: ignore[union-attr]
    finally:
        disp.stop()
    assert done["status"] == "failed" and done["error"]["code"] == "time_limit"
    assert len(ex.killed) == 1 and done["attempts"] == 1  # failed once, not retried
