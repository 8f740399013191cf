"""Multi-start on several cores: the same centre search run in parallel processes with different seeds.

The calling process runs search 0 itself with the caller's generator (so one worker gives exactly the
single-process answer, and progress events and stop requests work as before); searches ``1..workers-1``
run in child processes, each with ``numpy.random.default_rng(SeedSequence([seed, i]))``, until the same
deadline. The answer with the smallest (balance violation, objective) wins, ties going to the lower
search index, so the result is a deterministic function of the seed whenever no search is cut by the
deadline (each search is deterministic given its seed; a child is stopped early only when the caller
asks to stop).

Children are spawned (a fresh interpreter: about a second of imports, during which search 0 already
runs), never forked: a forked child deadlocked in the OpenMP runtime once this process had run k-means
threads. A child that cannot start, fails or misses the deadline is ignored, and its answer is simply lost.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizer.territories.instance import Instance, IntArray

MIN_UNITS = 200
"""Smaller instances run one search (their searches end by themselves in a fraction of a second)."""
JOIN_GRACE = 2.0
"""Seconds past the search deadline a child may take to hand in its answer."""


def default_workers() -> int:
    """Searches run in parallel by default: 2 when the machine has 2 or more cores, else 1."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


@dataclass
class SearchAnswer:
    """One search's answer.

    Attributes
    ----------
    a, med
        Assignment and centre units.
    objective
        Sum of weight x km to the centres.
    runs
        Descents or searches run.
    violation
        Total balance violation of ``a`` (0 when every tolerance is met).
    cpu_s
        CPU seconds of the search's process.
    """

    a: IntArray
    med: IntArray
    objective: float
    runs: int
    violation: float
    cpu_s: float


@dataclass
class MultiStartResult:
    """The best answer and what each search found (``objectives[i]`` is ``inf`` for a lost child)."""

    best: SearchAnswer
    winner: int
    objectives: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    started: int = 1
    start_method: str = ""


def _run(kind: str, inst: Instance, rng: np.random.Generator, stop: Callable[[], bool],
         on_best: Callable[[float], bool] | None, kw: dict[str, Any]) -> SearchAnswer:
    from optimizer.territories.alloc import State, cost_matrix
    from optimizer.territories.centres import centre_search, large_search
    from optimizer.territories.locate import location_allocation

    c0 = time.process_time()
    if kind == "centre":
        a, med, obj, runs = centre_search(inst, rng, stop, on_best, kk=kw.get("kk"), max_idle=kw.get("max_idle", 30))
    elif kind == "large":
        t_starts = kw.get("t_starts")
        starts_done = (lambda: time.monotonic() > t_starts) if t_starts is not None else None
        a, med, obj, runs = large_search(inst, rng, stop, on_best, kk=kw.get("kk"), starts_done=starts_done)
    elif kind == "locate":
        a, med, obj, runs = location_allocation(inst, rng, stop, on_best, kk=kw.get("kk"),
                                                max_idle=kw.get("max_idle", 40))
    else:  # pragma: no cover - programming error
        raise ValueError(kind)
    viol = State(inst, a, cost_matrix(inst, inst.km(slice(None), inst.xy[med]))).violation()
    return SearchAnswer(a, med, float(obj), int(runs), float(viol), time.process_time() - c0)


def _viol(s: SearchAnswer | None) -> float:
    """Violation with rounding noise counted as none."""
    assert s is not None
    return s.violation if s.violation > 1e-9 else 0.0


def _child(kind: str, inst: Instance, seed: int, index: int, deadline: float | None, cancel: Any,
           kw: dict[str, Any], conn: Any) -> None:
    """Entry point of a child search: sends its :class:`SearchAnswer` (or None on failure) through ``conn``."""
    try:
        rng = np.random.default_rng(np.random.SeedSequence([seed, index]))

        def stop() -> bool:
            return bool(cancel.is_set()) or (deadline is not None and time.monotonic() > deadline)

        conn.send(_run(kind, inst, rng, stop, None, kw))
    except Exception:  # the caller ignores a failed child
        conn.send(None)
    finally:
        conn.close()


def multi_start(kind: str, inst: Instance, rng: np.random.Generator, seed: int, stop: Callable[[], bool],
                cancelled: Callable[[], bool], on_best: Callable[[float], bool] | None, *,
                deadline: float | None, workers: int, kw: dict[str, Any] | None = None,
                wait_until: float | None = None) -> MultiStartResult:
    """Run ``workers`` diversified searches of ``kind`` in parallel and keep the best.

    Parameters
    ----------
    kind
        ``"centre"`` (:func:`~optimizer.territories.centres.centre_search`), ``"large"``
        (:func:`~optimizer.territories.centres.large_search`) or ``"locate"``
        (:func:`~optimizer.territories.locate.location_allocation`).
    inst
        Instance with chosen centres.
    rng
        Generator of search 0 (run in this process).
    seed
        The solve's seed: search ``i > 0`` uses ``SeedSequence([seed, i])``.
    stop
        Stop test of search 0 (deadline or stop request).
    cancelled
        True when the caller asked to stop: the children are then told to stop too.
    on_best
        Progress of search 0.
    deadline
        ``time.monotonic()`` value at which every search stops (None: they end by themselves).
    workers
        Number of searches (1: search 0 only, no process started).
    wait_until
        Latest ``time.monotonic()`` at which a child's answer is still taken (default: ``deadline`` plus
        :data:`JOIN_GRACE`); later answers are lost and the child is terminated.
    kw
        ``kk`` (nearest-centre restriction), ``max_idle`` (``"centre"``/``"locate"``: searches without
        improvement before one ends) and, for ``"large"``, ``t_starts`` (monotonic time at which the Hess
        starts end).

    Returns
    -------
    MultiStartResult
        The winner, every search's objective and the CPU seconds of all searches.
    """
    kw = kw or {}
    children: list[tuple[int, Any, Any]] = []
    cancel: Any = None
    method = ""
    if workers > 1 and inst.n >= MIN_UNITS:
        method = "spawn"  # never fork: OpenMP (k-means) or HiGHS threads of this process deadlock a forked child
        ctx: Any = mp.get_context(method)
        cancel = ctx.Event()
        for i in range(1, workers):
            try:
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(kind, inst, seed, i, deadline, cancel, kw, send),
                                   name=f"salesplan-territories-search-{i}", daemon=True)
                proc.start()
                send.close()
                children.append((i, proc, recv))
            except (OSError, AssertionError, ValueError):  # e.g. a daemonic worker may not have children
                break
    answers: list[SearchAnswer | None] = [_run(kind, inst, rng, stop, on_best, kw)]
    if cancel is not None and cancelled():
        cancel.set()
    for _, proc, recv in children:
        until = wait_until if wait_until is not None else (None if deadline is None else deadline + JOIN_GRACE)
        wait = None if until is None else max(0.05, until - time.monotonic())
        ans: SearchAnswer | None = None
        try:
            if recv.poll(wait):
                ans = recv.recv()
        except (EOFError, OSError):
            ans = None
        if ans is None and proc.is_alive():
            proc.terminate()
        proc.join(timeout=1.0)
        recv.close()
        answers.append(ans)
    best_i = min((i for i, s in enumerate(answers) if s is not None),
                 key=lambda i: (_viol(answers[i]), answers[i].objective, i))  # type: ignore[union-attr]
    best = answers[best_i]
    assert best is not None
    return MultiStartResult(best=best, winner=best_i,
                            objectives=[s.objective if s is not None else float("inf") for s in answers],
                            cpu_s=float(sum(s.cpu_s for s in answers if s is not None)),
                            started=1 + len(children), start_method=method)


__all__ = ["MultiStartResult", "SearchAnswer", "default_workers", "multi_start"]
