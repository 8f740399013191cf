"""Latency diagnostics of an HTTP process: where the slow submissions' time went (off by default).

Enabled by ``SALESPLAN_DIAGNOSTICS_FILE`` (``benchmarks/api_load.py --diagnose`` sets it). The process
then records, with ``time.perf_counter()`` timestamps (``CLOCK_MONOTONIC`` on Linux, comparable across
the processes of one machine):

* every request's start and end as the ASGI app saw them;
* event-loop stalls: a probe task sleeps ``probe_s`` and records every wake-up that came more than
  ``stall_s`` late, split with the loop thread's ``/proc`` scheduler statistics into CPU time the thread
  used (work on the loop, GC), time it waited runnable for a core (other processes), and the rest
  (blocked: a lock, I/O);
* garbage-collection passes (generation, duration);
* group commits: lock wait, write, group size (see :mod:`api.submits`).

At shutdown the records are written as JSON to the file (one file per process: ``.<pid>`` is appended).
Nothing here runs when the setting is off.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def thread_sched() -> tuple[float, float]:
    """(CPU seconds, seconds waiting runnable for a CPU) of the calling thread, from ``/proc``; zeros elsewhere."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as f:
            cpu_ns, wait_ns, _ = f.read().split()
        return int(cpu_ns) / 1e9, int(wait_ns) / 1e9
    except (OSError, ValueError):
        return 0.0, 0.0


@dataclass
class Diagnostics:
    """Records of one process (see the module docstring).

    Parameters
    ----------
    path
        Where :meth:`dump` writes (``.<pid>`` appended).
    probe_s
        Period of the event-loop probe.
    stall_s
        A probe wake-up later than this is recorded as a stall.
    """

    path: Path
    probe_s: float = 0.002
    stall_s: float = 0.004
    requests: list[tuple[float, float, int]] = field(default_factory=list)
    stalls: list[tuple[float, float, float, float]] = field(default_factory=list)
    gcs: list[tuple[float, float, int, int]] = field(default_factory=list)
    flushes: list[tuple[float, float, float, int]] = field(default_factory=list)
    active: bool = False
    _gc_t0: float = 0.0
    _task: asyncio.Task[None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """Start the loop probe (on the running loop) and the GC callback."""
        self._task = asyncio.get_running_loop().create_task(self._probe())
        gc.callbacks.append(self._on_gc)
        self.active = True

    def stop(self) -> None:
        """Stop recording and write the file."""
        self.active = False
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
        self.dump()

    def request(self, t0: float, t1: float, status: int) -> None:
        """One request, from its first to its last ASGI event (not before :meth:`start`: the warm-up's)."""
        if self.active:
            self.requests.append((t0, t1, status))

    def flush(self, t0: float, lock_wait: float, write: float, size: int) -> None:
        """One group commit: started at ``t0``, waited ``lock_wait`` s for the write lock, wrote for ``write`` s."""
        with self._lock:
            self.flushes.append((t0, lock_wait, write, size))

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_t0 = time.perf_counter()
        else:
            t1 = time.perf_counter()
            self.gcs.append((self._gc_t0, t1 - self._gc_t0, int(info.get("generation", -1)),
                             int(info.get("collected", 0))))

    async def _probe(self) -> None:
        cpu0, wait0 = thread_sched()
        t_prev = time.perf_counter()
        while True:
            await asyncio.sleep(self.probe_s)
            t = time.perf_counter()
            cpu, wait = thread_sched()
            lag = t - t_prev - self.probe_s
            if lag > self.stall_s:
                used, waited = cpu - cpu0, wait - wait0
                # (start, length, CPU on the loop thread, runnable but not running)
                self.stalls.append((t_prev, t - t_prev, used, waited))
            t_prev, cpu0, wait0 = t, cpu, wait

    def dump(self) -> None:
        """Write the records as JSON to ``<path>.<pid>``."""
        data = {"pid": os.getpid(), "requests": self.requests, "stalls": self.stalls, "gcs": self.gcs,
                "flushes": self.flushes, "probe_s": self.probe_s}
        with contextlib.suppress(OSError):
            Path(f"{self.path}.{os.getpid()}").write_text(json.dumps(data), encoding="utf-8")
