"""Executors: where solves run. One interface, two implementations.

* :class:`LocalExecutor` (default): a pool of ``spawn``-ed processes on this machine, so a solve never
  blocks the server's event loop; ``workers`` caps how many run at once.
* :class:`RayExecutor`: Ray tasks on ``RAY_ADDRESS`` (a cluster) or a local Ray runtime
  (``pip install salesplan[ray]``). Workers reach the job store through its URL, so on a cluster use
  PostgreSQL.

Cancellation is cooperative in both (the worker's progress callback reads the job's cancel flag).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import socket
import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from api.settings import Settings
from api.worker import Task, init_local_worker, kill_descendants, run_task, warm_worker

log = logging.getLogger("salesplan.executors")


class Executor(ABC):
    """Runs :class:`~api.worker.Task` objects; ``capacity`` is how many may run at once."""

    name = "executor"

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity

    @abstractmethod
    def submit(self, task: Task) -> Future[dict[str, Any]]:
        """Start ``task``; the future resolves to :func:`api.worker.run_task`'s answer."""

    def relay_to(self, store: Any) -> None:  # noqa: B027  (optional: nothing by default)
        """Have the server write the workers' progress into ``store`` (default: workers write it themselves)."""

    def prestart(self) -> None:  # noqa: B027  (optional: nothing by default)
        """Start the workers now, in the background, instead of at the first job (default: nothing)."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop the workers (running solves are abandoned; the store re-queues them)."""

    @abstractmethod
    def kill(self, run_id: str, worker: str | None) -> bool:
        """Stop one run by force (it overran its time limit); ``worker`` is what the worker reported."""


class LocalExecutor(Executor):
    """A process pool on this machine.

    Parameters
    ----------
    workers
        Number of worker processes (the server-wide cap of simultaneous solves).
    nice
        Niceness added to the workers (the API stays responsive while they solve).
    """

    name = "local"

    def __init__(self, workers: int, nice: int = 0) -> None:
        super().__init__(workers)
        self.nice = nice
        self._ctx = multiprocessing.get_context("spawn")
        self._outbox: Any = None
        self._relay: threading.Thread | None = None
        self.relayed = 0
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.capacity,
            mp_context=self._ctx,
            initializer=init_local_worker,
            initargs=(os.getpid(), self.nice, self._outbox),
        )

    def relay_to(self, store: Any) -> None:
        """Write the workers' progress into ``store`` from a thread of this process (call before any job).

        The workers then never take the store's write lock (see :mod:`api.worker`): at their niceness
        they could be preempted while holding it, and the HTTP server's commits waited behind them.
        Progress sent at about the same time is written in one transaction.
        """
        if self._relay is not None:
            return
        self._outbox = self._ctx.Queue()
        old, self._pool = self._pool, self._new_pool()
        old.shutdown(wait=False)
        outbox = self._outbox

        def run() -> None:
            while True:
                try:
                    items = [outbox.get()]
                    while len(items) < 500:
                        items.append(outbox.get_nowait())
                except queue.Empty:
                    pass
                except (OSError, EOFError, ValueError):  # the queue was closed
                    return
                stop = None in items
                batch = [m for m in items if m is not None]
                try:
                    store.report_progress_many(batch)
                    self.relayed += len(batch)
                except Exception:  # progress is advisory; the next report overwrites it
                    log.warning("could not store %d progress reports", len(batch), exc_info=True)
                if stop:
                    return

        self._relay = threading.Thread(target=run, name="salesplan-progress-relay", daemon=True)
        self._relay.start()

    def prestart(self) -> None:
        """Spawn every pool process now and import the solvers there (the call does not wait for it).

        The pool spawns its processes at the first jobs otherwise, and each one's start-up (an
        interpreter, OR-Tools and friends) competes for the CPU with the HTTP server's first clients.
        """
        for _ in range(self.capacity):
            self._pool.submit(warm_worker)

    def submit(self, task: Task) -> Future[dict[str, Any]]:
        """Run ``task`` in a pool process (a broken pool is replaced once)."""
        try:
            return self._pool.submit(run_task, task)
        except BrokenProcessPool:
            log.warning("process pool broken (a worker died); starting a new one")
            self._pool = self._new_pool()
            return self._pool.submit(run_task, task)

    def kill(self, run_id: str, worker: str | None) -> bool:
        """SIGKILL the pool process running ``run_id`` (the pool is rebuilt; its other runs are retried)."""
        if not worker or "@" not in worker:
            return False
        pid_s, host = worker.split("@", 1)
        own = {p.pid for p in getattr(self._pool, "_processes", {}).values()}
        if host != socket.gethostname() or not pid_s.isdigit() or int(pid_s) not in own:
            return False  # only ever a process of this pool
        kill_descendants(int(pid_s))
        with contextlib.suppress(OSError):
            os.kill(int(pid_s), signal.SIGKILL)
        return True

    def shutdown(self) -> None:
        """Terminate the worker processes without waiting for their solves."""
        procs = list(getattr(self._pool, "_processes", {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:  # the pool has no public way to stop a running task
            if p.is_alive() and p.pid is not None:
                kill_descendants(p.pid)  # a solver's own subprocesses first
                p.terminate()
        for p in procs:
            p.join(timeout=5)
        if self._relay is not None:
            with contextlib.suppress(OSError, ValueError):
                self._outbox.put(None)
            self._relay.join(timeout=5)


class RayExecutor(Executor):
    """Ray tasks (one CPU each) on ``address`` or on a local Ray runtime.

    Parameters
    ----------
    capacity
        Most tasks in flight at once.
    address
        Ray cluster address; None: ``RAY_ADDRESS`` or an already initialised / new local runtime.
    """

    name = "ray"

    def __init__(self, capacity: int, address: str | None = None) -> None:
        super().__init__(capacity)
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise RuntimeError("the ray executor needs `pip install salesplan[ray]`") from exc
        self._ray = ray
        self._started_here = False
        if not ray.is_initialized():
            ray.init(address=address or os.environ.get("RAY_ADDRESS"), include_dashboard=False,
                     ignore_reinit_error=True, log_to_driver=False)
            self._started_here = True
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_task)
        self._refs: dict[str, Any] = {}

    def submit(self, task: Task) -> Future[dict[str, Any]]:
        """Start ``task`` as a Ray task."""
        ref = self._remote.remote(task)
        self._refs[task.run_id] = ref
        fut: Future[dict[str, Any]] = ref.future()
        fut.add_done_callback(lambda _f: self._refs.pop(task.run_id, None))
        return fut

    def kill(self, run_id: str, worker: str | None) -> bool:
        """Force-cancel the Ray task of ``run_id``."""
        ref = self._refs.get(run_id)
        if ref is None:
            return False
        try:
            self._ray.cancel(ref, force=True)
        except Exception:
            log.debug("could not cancel a Ray task", exc_info=True)
            return False
        return True

    def shutdown(self) -> None:
        """Cancel this server's running tasks; shut Ray down if this executor started it."""
        for ref in list(self._refs.values()):
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # already finished or the runtime is gone
                log.debug("could not cancel a Ray task", exc_info=True)
        self._refs.clear()
        if self._started_here:
            self._ray.shutdown()


def make_executor(settings: Settings) -> Executor:
    """The executor named by ``settings.executor``."""
    if settings.executor == "ray":
        return RayExecutor(settings.workers, settings.ray_address)
    return LocalExecutor(settings.workers, settings.worker_nice)
