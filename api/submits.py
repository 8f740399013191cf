"""Group commit of submissions: every job submitted while the previous write ran is stored in one transaction.

A submission is cheap CPU work (parse, validate, render) plus one database write. Writing each job in
its own transaction from the thread pool costs a thread hop, a commit, a turn on SQLite's single write
lock, and GIL hand-offs between the writer thread and the event loop, per request. Here a submission
appends its job to a list and awaits a future; one flush, scheduled on the event loop, stores the whole
list with one ``executemany`` and one commit and resolves the futures. Alone, a submission waits for no
one; under load, one commit serves every request that arrived meanwhile.

On SQLite the flush runs on the event loop itself: the insert is a local call of a few hundred
microseconds for a whole group, cheaper than any hand-off to a thread (and the store's cross-process
write lock makes writers queue without SQLite's sleeping busy handler). Only when another writer
holds the write lock at that moment does the group go to a thread that waits for the lock: the loop
never blocks on it, and keeps reading and validating the requests that form the next group. On a server database
(PostgreSQL) the flush runs in the default thread pool, so the network round trip never blocks the loop;
submissions arriving meanwhile form the next group.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from api.store import JobRecord, LockBusy, NewJob, SqlJobStore

log = logging.getLogger("salesplan.api.submits")

_Item = tuple[str, NewJob, "asyncio.Future[JobRecord]"]


class SubmitQueue:
    """Stores new jobs (without an idempotency key) in groups, one transaction per group.

    Parameters
    ----------
    store
        The job store (its :meth:`~api.store.SqlJobStore.insert_jobs` does the writing).
    max_group
        Most jobs in one transaction.
    inline
        Write on the event loop (default: when the store is SQLite) instead of in the thread pool.
    """

    def __init__(self, store: SqlJobStore, max_group: int = 256, inline: bool | None = None,
                 diagnostics: Any = None) -> None:
        self.store = store
        self.diagnostics = diagnostics
        self.max_group = max_group
        self.inline = store.engine.dialect.name == "sqlite" if inline is None else inline
        self._pending: list[_Item] = []
        self._flushing = False
        self._task: asyncio.Task[None] | None = None
        self.groups = 0
        self.written = 0
        self.handoffs = 0

    async def create(self, tenant: str, job: NewJob) -> JobRecord:
        """Store a queued job for ``tenant`` and return it, once its group is committed.

        Raises
        ------
        Exception
            Whatever the database raised for the group.
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[JobRecord] = loop.create_future()
        self._pending.append((tenant, job, fut))
        if not self._flushing:
            self._flushing = True
            # after the callbacks already ready to run: requests that arrived together share a commit
            if self.inline:
                loop.call_soon(self._flush_inline)
            else:
                self._task = loop.create_task(self._flush_threaded())
        return await fut

    def _take(self) -> list[_Item]:
        group, self._pending = self._pending[: self.max_group], self._pending[self.max_group:]
        return group

    def _write(self, group: list[_Item], wait: bool = True) -> list[JobRecord] | BaseException | None:
        """Store the group; None (nothing written) when not ``wait``-ing and another writer holds the lock."""
        t0 = time.perf_counter()
        try:
            recs = self.store.insert_jobs([(tenant, job) for tenant, job, _ in group], wait=wait)
        except LockBusy:
            return None
        except Exception as exc:  # every request of the group answers it (a 500, logged by the app)
            log.warning("could not store %d submissions: %r", len(group), exc)
            return exc
        if self.diagnostics is not None:
            lock_wait = self.store.last_lock_wait
            self.diagnostics.flush(t0, lock_wait, time.perf_counter() - t0 - lock_wait, len(group))
        self.groups += 1
        self.written += len(group)
        return recs

    @staticmethod
    def _resolve(group: list[_Item], outcome: list[JobRecord] | BaseException) -> None:
        for k, (_, _, fut) in enumerate(group):
            if fut.done():  # the request was cancelled (client gone); its job is stored all the same
                continue
            if isinstance(outcome, BaseException):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome[k])

    def _flush_inline(self) -> None:
        handed_off = False
        try:
            while self._pending:
                group = self._take()
                outcome = self._write(group, wait=False)
                if outcome is None:
                    # another writer (a worker's relay, the dispatcher, another HTTP process) holds the
                    # lock: wait for it in a thread, so the loop keeps reading and validating requests
                    # (they join the next group) instead of blocking on the lock
                    self._pending[:0] = group
                    self.handoffs += 1
                    self._task = asyncio.get_running_loop().create_task(self._flush_threaded())
                    handed_off = True
                    return
                self._resolve(group, outcome)
        finally:
            if not handed_off:
                self._flushing = False

    async def _flush_threaded(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                group = self._take()
                outcome = await loop.run_in_executor(None, self._write, group)
                assert outcome is not None  # a waiting write never answers None
                self._resolve(group, outcome)
        finally:
            self._flushing = False
