"""Helpers of the API tests: tiny real problems and polling (imported as ``apihelpers``)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

FINAL = ("succeeded", "failed", "cancelled")


def routes_problem(n: int = 5, seed: int = 1, reps: int = 1, weeks: int = 1) -> dict[str, Any]:
    """A small planar routes problem: ``n`` outlets around a depot, one visit each."""
    rng = random.Random(seed)
    return {
        "name": f"tiny-{n}",
        "horizon": {"weeks": weeks},
        "reps": [{"id": f"r{k}", "start": {"x": 0, "y": 0}, "shift": {"start": 480, "end": 1080}}
                 for k in range(reps)],
        "outlets": [{"id": f"o{i}", "location": {"x": rng.uniform(-20, 20), "y": rng.uniform(-20, 20)},
                     "service_minutes": 5, "visits": 1} for i in range(n)],
        "travel": {"metric": "euclidean", "speed": 1},
    }


def big_routes_problem(seed: int = 7) -> dict[str, Any]:
    """A routes problem large enough that the solver keeps improving for well over 10 s."""
    rng = random.Random(seed)
    outlets = [{"id": f"o{i}", "location": {"x": rng.uniform(-60, 60), "y": rng.uniform(-60, 60)},
                "service_minutes": 10, "visits": rng.choice([1, 1, 2])} for i in range(150)]
    return {
        "horizon": {"weeks": 1},
        "reps": [{"id": f"r{k}", "start": {"x": 0, "y": 0}} for k in range(6)],
        "outlets": outlets,
        "travel": {"metric": "euclidean", "speed": 1},
    }


def territories_problem(n: int = 12, count: int = 3, seed: int = 2) -> dict[str, Any]:
    """A small territories problem on lat/lon points."""
    rng = random.Random(seed)
    return {
        "units": [{"id": f"u{i}", "location": {"lat": 48.8 + rng.uniform(-0.1, 0.1),
                                               "lon": 2.35 + rng.uniform(-0.1, 0.1)},
                   "workload": rng.uniform(1, 3), "potential": rng.uniform(1, 10)} for i in range(n)],
        "count": count,
        "balance": {"workload": 0.5, "potential": 1.0},
    }


def wait_final(get: Callable[[], dict[str, Any]], timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``get()`` (a job JSON) until the job is final; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        job = get()
        if job["status"] in FINAL:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job not final after {timeout} s: {job}")
        time.sleep(0.1)
