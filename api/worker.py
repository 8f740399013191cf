"""What runs inside a worker (a pool process or a Ray task): one attempt of one job.

The worker opens its own store on the server's database URL. Its progress callback writes the
latest progress (throttled) and reads the cancel flag; returning False asks the solver to stop and
return its best solution so far. A Ray task writes the outcome itself, tagged with the run id, so a
result is kept even if the server dies at that moment, and a stale run (re-queued meanwhile) cannot
overwrite a newer one.

A local pool worker (niced) never takes the store's write lock: preempted while holding it, it made
the server's group commits wait up to ~100 ms. It sends its progress to the server's relay (an
outbox queue) and only reads the cancel flag; its outcome travels back with the task's answer and
the dispatcher stores it, tagged with the run id all the same. If the server dies before that, the
restarted server re-queues the job (nothing accepted is lost; that attempt's work is).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from api.store import SqlJobStore

log = logging.getLogger("salesplan.worker")

_STORES: dict[str, SqlJobStore] = {}
_PARENT_PID: int | None = None
#: local pool workers: where progress goes (the server's relay writes it; see api.executors.LocalExecutor)
_OUTBOX: Any = None


@dataclass(frozen=True)
class Task:
    """One attempt of one job, as sent to a worker."""

    job_id: str
    run_id: str
    kind: str
    problem: dict[str, Any]
    time_limit: float
    seed: int | None
    database_url: str
    progress_every_s: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)


def init_local_worker(parent_pid: int, nice: int = 0, outbox: Any = None) -> None:
    """Pool initializer: remember the server's pid and exit when the server dies (even by ``kill -9``).

    An orphaned pool worker would otherwise wait forever on the pool's queue; its job is re-queued
    by the restarted server, so the orphan's work is worthless. With an ``outbox`` (a multiprocessing
    queue read by the server), the worker never takes the store's write lock: progress goes to the
    outbox and the outcome back with the task's answer, and the server writes both.
    """
    global _PARENT_PID, _OUTBOX
    _PARENT_PID = parent_pid
    _OUTBOX = outbox
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if _parent_gone():
                kill_descendants(os.getpid())  # e.g. a solver's own process pool
                os._exit(0)

    threading.Thread(target=watch, name="salesplan-parent-watch", daemon=True).start()


def descendants(pid: int) -> list[int]:
    """Pids of every process below ``pid`` (Linux ``/proc``; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out: list[int] = []
    stack = [pid]
    while stack:
        for c in children.get(stack.pop(), []):
            out.append(c)
            stack.append(c)
    return out


def kill_descendants(pid: int) -> None:
    """SIGKILL every process below ``pid`` (what a solver started); never ``pid`` itself."""
    for child in descendants(pid):
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGKILL)


def warm_worker() -> int:
    """Import what a solve needs (run once per pool process at startup, before any job): the first jobs
    then do not pay the imports, and the spawning happens before clients arrive, not among them."""
    import optimizer.solve  # noqa: F401

    return os.getpid()


def worker_name() -> str:
    """``pid@host`` of this worker process (lets the server stop a run that overran its time limit)."""
    return f"{os.getpid()}@{socket.gethostname()}"


def _store(url: str) -> SqlJobStore:
    if url not in _STORES:
        _STORES[url] = SqlJobStore(url, create=False)
    return _STORES[url]


def _parent_gone() -> bool:
    return _PARENT_PID is not None and os.getppid() != _PARENT_PID


def error_dict(exc: BaseException) -> dict[str, Any]:
    """JSON-ready error of a failed solve: code and message, never a traceback."""
    from optimizer.errors import InfeasibleError, InputError, SalesplanError

    if isinstance(exc, InputError):
        return {"code": exc.code, "message": "invalid problem", "errors": [e.to_dict() for e in exc.errors]}
    if isinstance(exc, InfeasibleError):
        return {"code": exc.code, "message": str(exc), "diagnosis": exc.diagnosis}
    if isinstance(exc, SalesplanError):
        return {"code": exc.code, "message": str(exc)}
    return {"code": "internal", "message": f"internal error in the solver ({type(exc).__name__})"}


def run_task(task: Task) -> dict[str, Any]:
    """Solve one job and store its outcome.

    Parameters
    ----------
    task
        The job's attempt.

    Returns
    -------
    dict
        ``{"job_id", "status", "stored"}``; ``stored`` is False when the run was no longer current
        (or its server died) and nothing was written. In a relayed local worker (an outbox), nothing
        is written here: ``stored`` is None and ``finish`` holds the outcome for the dispatcher.
    """
    from optimizer.progress import ProgressEvent
    from optimizer.solve import solve

    store = _store(task.database_url)
    state = {"cancel": False, "orphan": False, "last": 0.0, "best": None}
    outbox = _OUTBOX

    def report(data: dict[str, Any], log: bool = False, worker: str | None = None) -> bool:
        if outbox is None:
            return store.report_progress(task.job_id, task.run_id, data, log=log, worker=worker)
        # a niced worker holding the write lock can be preempted for tens of milliseconds while the
        # server's submissions wait for that lock: the server writes the progress, the worker only reads
        outbox.put((task.job_id, task.run_id, data, log, worker))
        return store.cancel_flag(task.job_id, task.run_id)

    def finish(status: str, result: dict[str, Any] | None = None,
               error: dict[str, Any] | None = None) -> dict[str, Any]:
        if outbox is None:
            ok = store.finish(task.job_id, task.run_id, status, result=result, error=error)
            return {"job_id": task.job_id, "status": status, "stored": ok}
        # the dispatcher stores it when the answer arrives (if the server dies first, the job runs again);
        # serialised here, so a large solution costs the server's GIL no JSON encoding
        text = None if result is None else json.dumps(result, separators=(",", ":"), allow_nan=False)
        return {"job_id": task.job_id, "status": status, "stored": None,
                "finish": {"status": status, "result_json": text, "error": error}}

    def progress(ev: ProgressEvent) -> bool:
        now = time.monotonic()
        if _parent_gone():
            state["orphan"] = True
            return False
        if now - float(state["last"] or 0.0) >= task.progress_every_s:  # type: ignore[arg-type]
            state["last"] = now
            improved = ev.best is not None and ev.best != state["best"]
            state["best"] = ev.best
            data = {k: v for k, v in ev.to_dict().items() if k != "extra"}
            try:
                state["cancel"] = report(data, log=improved) or bool(state["cancel"])
            except Exception:  # a busy database must not kill the solve; retry next time
                log.warning("progress of job %s not stored", task.job_id, exc_info=True)
        return not state["cancel"]

    # a cancel that arrived between the claim and now
    state["cancel"] = report({"stage": "starting", "elapsed": 0.0}, worker=worker_name())
    if state["cancel"]:
        return finish("cancelled")
    try:
        solution = solve(task.kind, task.problem, time_limit=task.time_limit, seed=task.seed, progress=progress)
    except Exception as exc:
        if state["orphan"]:
            return {"job_id": task.job_id, "status": "abandoned", "stored": False}
        log.warning("job %s failed", task.job_id, exc_info=not hasattr(exc, "code"))
        err = error_dict(exc)
        status = "cancelled" if state["cancel"] else "failed"
        return finish(status, error=err)
    if state["orphan"]:
        # the server died: leave the job to the restarted server's recovery
        return {"job_id": task.job_id, "status": "abandoned", "stored": False}
    result = solution.model_dump(mode="json", by_alias=True)
    status = "cancelled" if state["cancel"] else "succeeded"
    return finish(status, result=result)
