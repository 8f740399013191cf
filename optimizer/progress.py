"""Progress reporting and cooperative stopping shared by every solver.

A solver receives ``progress``: a callable taking a :class:`ProgressEvent`. If the callable
returns ``False`` the solver stops as soon as it can and returns its best solution so far (the
API's cancel and the CLI's Ctrl-C use this).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ProgressEvent:
    """A progress report.

    Parameters
    ----------
    stage
        What runs now (``"patterns"``, ``"routing"``, ``"improve"``, ...).
    elapsed
        Seconds since the solve started.
    best
        Best objective so far (None before the first solution).
    bound
        Best proven bound, where known.
    fraction
        Estimated share of the work done, 0..1, where known.
    message
        Free text for humans.
    """

    stage: str
    elapsed: float
    best: float | None = None
    bound: float | None = None
    fraction: float | None = None
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


ProgressCallback = Callable[[ProgressEvent], "bool | None"]


class Reporter:
    """Helper used inside solvers: tracks time, the deadline, the best value and stop requests.

    Parameters
    ----------
    callback
        The user's progress callable, or None.
    time_limit
        Seconds allowed for the whole solve (None: unlimited).
    min_interval
        Least seconds between two forwarded events of the same stage (final events always pass).
    """

    def __init__(self, callback: ProgressCallback | None, time_limit: float | None, min_interval: float = 0.2) -> None:
        self.callback = callback
        self.t0 = time.monotonic()
        self.time_limit = time_limit
        self.min_interval = min_interval
        self._last = -1e9
        self.best: float | None = None
        self.bound: float | None = None
        self.stop_requested = False

    def elapsed(self) -> float:
        """Seconds since start."""
        return time.monotonic() - self.t0

    def time_left(self) -> float:
        """Seconds until the deadline (inf without a limit)."""
        if self.time_limit is None:
            return float("inf")
        return max(0.0, self.time_limit - self.elapsed())

    @property
    def should_stop(self) -> bool:
        """True when the deadline passed or a stop was requested."""
        return self.stop_requested or self.time_left() <= 0.0

    def update(
        self,
        stage: str,
        *,
        best: float | None = None,
        bound: float | None = None,
        fraction: float | None = None,
        message: str = "",
        force: bool = False,
        **extra: Any,
    ) -> bool:
        """Record and (throttled) forward an event; return False once a stop was requested."""
        if best is not None:
            self.best = best
        if bound is not None:
            self.bound = bound
        now = time.monotonic()
        if self.callback is not None and (force or now - self._last >= self.min_interval):
            self._last = now
            ev = ProgressEvent(stage, now - self.t0, self.best, self.bound, fraction, message, dict(extra))
            if self.callback(ev) is False:
                self.stop_requested = True
        return not self.stop_requested
