"""Dispatcher: a background thread that moves queued jobs from the store to the executor.

It claims jobs atomically up to the executor's free capacity, heart-beats the jobs it runs, and
recovers jobs of servers that stopped heart-beating (re-queued, or failed after ``max_attempts``).
Nothing about a job lives only in memory: ``inflight`` is a cache of the futures of this server's runs.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from api.executors import Executor
from api.settings import Settings
from api.store import ClaimedJob, JobStore
from api.worker import Task

log = logging.getLogger("salesplan.dispatcher")


def effective_time_limit(options: dict[str, Any], problem: dict[str, Any], settings: Settings) -> float:
    """Seconds a job may run: its option, else the problem's ``options.time_limit_s``, else the default, capped."""
    tl = options.get("time_limit_s")
    if tl is None:
        popts = problem.get("options")
        tl = popts.get("time_limit_s") if isinstance(popts, dict) else None
    if tl is None:
        tl = settings.default_time_limit_s
    return float(min(float(tl), settings.max_time_limit_s))


@dataclass
class _Run:
    """A run of this server in flight."""

    run_id: str
    future: Future[dict[str, Any]]
    started: float
    time_limit: float
    killed: bool = False


class Dispatcher:
    """Claims queued jobs and runs them on an executor.

    Parameters
    ----------
    store
        The job store.
    executor
        Where solves run.
    settings
        Server settings (URL, intervals, limits).
    """

    def __init__(self, store: JobStore, executor: Executor, settings: Settings) -> None:
        self.store = store
        self.executor = executor
        self.settings = settings
        self.owner = f"server-{uuid.uuid4().hex[:12]}"
        self.inflight: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.completed = 0
        self.errors = 0

    def start(self) -> None:
        """Recover jobs of a dead server, start the workers (when ``prestart_workers``), then the loop thread."""
        self._recover()
        if self.settings.relay_progress:
            self.executor.relay_to(self.store)
        if self.settings.prestart_workers:
            try:
                self.executor.prestart()
            except Exception:  # the workers then start with the first jobs, as without it
                log.warning("could not start the workers ahead of the first job", exc_info=True)
        self._thread = threading.Thread(target=self._loop, name="salesplan-dispatcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (called after a submission).

        A no-op while every worker is busy: the run that finishes wakes the loop itself, and waking it
        for nothing on every submission would only take the GIL from the HTTP event loop.
        """
        if len(self.inflight) < self.executor.capacity:  # a racy read is fine: a finishing run wakes the loop
            self._wake.set()

    def stop(self) -> None:
        """Stop claiming, stop the workers and hand this server's running jobs back to the queue."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.executor.shutdown()
        try:
            n = self.store.release(self.owner)
            if n:
                log.info("re-queued %d running jobs at shutdown", n)
        except Exception:
            log.exception("could not re-queue running jobs at shutdown")

    @property
    def running(self) -> int:
        """Solves of this server in flight."""
        with self._lock:
            return len(self.inflight)

    def _recover(self) -> None:
        try:
            requeued, failed = self.store.recover(self.settings.stale_after_s, self.settings.max_attempts)
            if requeued or failed:
                log.warning("recovered jobs of a stopped server: %d re-queued, %d failed", requeued, failed)
        except Exception:
            log.exception("recovery failed")

    def _loop(self) -> None:
        last_beat = 0.0
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now - last_beat >= self.settings.heartbeat_s:
                    last_beat = now
                    with self._lock:
                        ids = list(self.inflight)
                    self.store.heartbeat(self.owner, ids)
                    self.store.checkpoint()  # off the HTTP event loop (see SqlJobStore manual_checkpoint)
                    self._recover()
                    self._stop_overruns()
                self._fill()
            except Exception:
                log.exception("dispatcher iteration failed")
                self.errors += 1
            self._wake.wait(self.settings.poll_s)
            self._wake.clear()

    def _fill(self) -> None:
        free = self.executor.capacity - self.running
        if free <= 0:
            return
        for job in self.store.claim(self.owner, free):
            self._launch(job)

    def _launch(self, job: ClaimedJob) -> None:
        opts = job.options
        seed = opts.get("seed")
        task = Task(
            job_id=job.id,
            run_id=job.run_id,
            kind=job.kind,
            problem=job.problem,
            time_limit=effective_time_limit(opts, job.problem, self.settings),
            seed=None if seed is None else int(seed),
            database_url=self.settings.database_url,
            progress_every_s=self.settings.progress_every_s,
        )
        try:
            fut = self.executor.submit(task)
        except Exception:
            log.exception("could not start job %s", job.id)
            self.store.finish(job.id, job.run_id, "failed",
                              error={"code": "internal", "message": "the executor could not start the job"})
            return
        with self._lock:
            self.inflight[job.id] = _Run(job.run_id, fut, time.monotonic(), task.time_limit)
        fut.add_done_callback(functools.partial(self._done, job))

    def _stop_overruns(self) -> None:
        """Force-stop runs still going ``overrun_grace_s`` after their time limit (a solver that ignores it)."""
        now = time.monotonic()
        grace = self.settings.overrun_grace_s
        with self._lock:
            late = [(jid, r) for jid, r in self.inflight.items()
                    if not r.killed and now - r.started > r.time_limit + grace]
        for jid, run in late:
            run.killed = True
            rec = self.store.get_job(jid)
            err = {"code": "time_limit", "message": f"still running {grace:.0f} s after its time limit of "
                   f"{run.time_limit:g} s; stopped by force"}
            if self.store.finish(jid, run.run_id, "failed", error=err):
                log.error("job %s overran its time limit; killing its worker", jid)
                self.executor.kill(run.run_id, rec.worker if rec else None)

    def _done(self, job: ClaimedJob, fut: Future[dict[str, Any]]) -> None:
        with self._lock:
            run = self.inflight.pop(job.id, None)
        self.completed += 1
        if self._stop.is_set():
            return
        exc = fut.exception() if not fut.cancelled() else None
        if exc is None and not fut.cancelled():
            fin = fut.result().get("finish")
            if fin is not None:  # a relayed local worker: its outcome is written here
                try:
                    self.store.finish(job.id, job.run_id, fin["status"], error=fin.get("error"),
                                      result_json=fin.get("result_json"))
                except Exception:
                    log.exception("could not store the outcome of job %s", job.id)
        if (exc is not None or fut.cancelled()) and not (run and run.killed):
            # a crash (or a pool broken by another run's crash): retry, fail after max_attempts
            log.error("worker for job %s died: %r", job.id, exc)
            try:
                self.store.retry_or_fail(job.id, job.run_id, self.settings.max_attempts,
                                         "the worker running this job died")
            except Exception:
                log.exception("could not record the failure of job %s", job.id)
        self._wake.set()
