"""Multi-start on several cores: the same centre search run in parallel processes with different seeds.

The calling process runs search 0 itself with the caller's generator (so one worker gives exactly the
single-process answer, and progress events and stop requests work as before); searches ``1..workers-1``
run in child processes, each with ``numpy.random.default_rng(SeedSequence([seed, i]))``, until the same
deadline. The answer with the smallest (balance violation, objective) wins, ties going to the lower
search index, so the result is a deterministic function of the seed whenever no search is cut by the
deadline (each search is deterministic given its seed; a child is stopped early only when the caller
asks to stop).

Children are fresh interpreters (``python -m optimizer.territories.parallel``, the instance passed in a
temporary pickle, the answer read from their stdout): about a second of imports, during which search 0
already runs. ``multiprocessing`` is not used: a forked child deadlocked in the OpenMP runtime once this
process had run k-means threads, and a spawned one re-imports the caller's main script (running an
unguarded script's top level again). A child that cannot start, fails or misses the deadline is ignored
and its answer lost; a stop request ends the children at once.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.territories.instance import Instance, IntArray

MIN_UNITS = 200
"""Smaller instances run one search (their searches end by themselves in a fraction of a second)."""
JOIN_GRACE = 2.0
"""Seconds past the search deadline a child may take to hand in its answer."""


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
    viol = State(inst, a, cost_matrix(inst, inst.km(slice(None), inst.cpts(med)))).violation()
    return SearchAnswer(a, med, float(obj), int(runs), float(viol), time.process_time() - c0)


def _viol(s: SearchAnswer | None) -> float:
    """Violation with rounding noise counted as none."""
    assert s is not None
    return s.violation if s.violation > 1e-9 else 0.0


def _child_main(path: str) -> None:
    """Entry point of a child search (``python -m optimizer.territories.parallel PAYLOAD``).

    Reads ``(kind, inst, seed, index, deadline, kw)`` from the pickle at ``path`` and writes the answer as a
    pickled tuple of plain values to stdout.
    """
    with open(path, "rb") as f:
        kind, inst, seed, index, deadline, kw = pickle.load(f)
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))

    def stop() -> bool:
        return deadline is not None and time.monotonic() > deadline

    ans = _run(kind, inst, rng, stop, None, kw)
    out = (ans.a, ans.med, ans.objective, ans.runs, ans.violation, ans.cpu_s)
    sys.stdout.buffer.write(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


def _start_child(kind: str, inst: Instance, seed: int, index: int, deadline: float | None,
                 kw: dict[str, Any]) -> tuple[subprocess.Popen[bytes], str] | None:
    """Start search ``index`` in a fresh interpreter; None when it cannot be started."""
    fd, path = tempfile.mkstemp(prefix="salesplan-territories-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump((kind, inst, seed, index, deadline, kw), f, protocol=pickle.HIGHEST_PROTOCOL)
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])  # the directory holding the optimizer package
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        proc = subprocess.Popen([sys.executable, "-m", "optimizer.territories.parallel", path],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    except OSError:
        os.unlink(path)
        return None
    return proc, path


def _collect(proc: subprocess.Popen[bytes], path: str, until: float | None) -> SearchAnswer | None:
    """The child's answer if it arrives before ``until`` (monotonic); the child is killed otherwise."""
    ans: SearchAnswer | None = None
    try:
        wait = None if until is None else max(0.05, until - time.monotonic())
        out, _ = proc.communicate(timeout=wait)
        if proc.returncode == 0 and out:
            a, med, obj, runs, viol, cpu = pickle.loads(out)
            ans = SearchAnswer(np.asarray(a, dtype=np.int64), np.asarray(med, dtype=np.int64), float(obj), int(runs),
                               float(viol), float(cpu))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    except Exception:  # a garbled answer is a lost answer
        ans = None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.unlink(path)
    return ans


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
        True when the caller asked to stop: the children are then ended at once (their answers lost).
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
    children: list[tuple[subprocess.Popen[bytes], str]] = []
    if workers > 1 and inst.n >= MIN_UNITS:
        for i in range(1, workers):
            started = _start_child(kind, inst, seed, i, deadline, kw)
            if started is not None:
                children.append(started)
    answers: list[SearchAnswer | None] = [_run(kind, inst, rng, stop, on_best, kw)]
    until = wait_until if wait_until is not None else (None if deadline is None else deadline + JOIN_GRACE)
    for proc, path in children:
        # a stop request: the children are ended, the answer is search 0's
        answers.append(_collect(proc, path, time.monotonic() if cancelled() else until))
    best_i = min((i for i, s in enumerate(answers) if s is not None),
                 key=lambda i: (_viol(answers[i]), answers[i].objective, i))  # type: ignore[union-attr]
    best = answers[best_i]
    assert best is not None
    return MultiStartResult(best=best, winner=best_i,
                            objectives=[s.objective if s is not None else float("inf") for s in answers],
                            cpu_s=float(sum(s.cpu_s for s in answers if s is not None)),
                            started=1 + len(children), start_method="subprocess" if children else "")


__all__ = ["MultiStartResult", "SearchAnswer", "multi_start"]

if __name__ == "__main__":  # a child search
    from optimizer.territories.parallel import _child_main as _entry  # the package's class, not __main__'s

    _entry(sys.argv[1])
