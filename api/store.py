"""Job store: the one place where job state lives (SQLAlchemy; SQLite by default, PostgreSQL by URL).

Problems, results and events are persisted, so a restarted server (even after ``kill -9``) finds every
accepted job again: queued jobs still run, running jobs whose server stopped heart-beating are
re-queued (or failed after ``max_attempts``). Workers (other processes, Ray tasks) open their own
:class:`SqlJobStore` on the same URL to report progress, read the cancel flag and write the result.

Claiming is atomic on both back-ends: candidates are read (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)
and each is taken with ``UPDATE ... WHERE id = ? AND status = 'queued'``, so two dispatchers never
run the same attempt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

try:
    import fcntl
except ImportError:  # not on Windows: SQLite's busy handler alone then
    fcntl = None  # type: ignore[assignment]

FINAL = ("succeeded", "failed", "cancelled")
STATUSES = ("queued", "running", *FINAL)

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("problem", sa.Text, nullable=False),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("request_hash", sa.String(64), nullable=True),
    sa.Column("batch_id", sa.String(32), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("run_id", sa.String(32), nullable=True),
    sa.Column("worker", sa.String(128), nullable=True),
    sa.Column("heartbeat_at", sa.Float, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("progress", sa.Text, nullable=True),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("tenant", "idempotency_key", name="uq_jobs_tenant_idem"),
    sa.Index("ix_jobs_status_created", "status", "created_at"),
    sa.Index("ix_jobs_tenant_created", "tenant", "created_at"),
    sa.Index("ix_jobs_batch", "batch_id"),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant", sa.String(128), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("request_hash", sa.String(64), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("tenant", "idempotency_key", name="uq_batches_tenant_idem"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.String(32), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("data", sa.Text, nullable=True),
)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used for a different request."""


class LockBusy(Exception):
    """Another writer holds the store's write lock (raised only when asked not to wait for it)."""


@dataclass(frozen=True)
class JobRecord:
    """A job as stored (without its problem and result bodies)."""

    id: str
    tenant: str
    kind: str
    status: str
    options: dict[str, Any]
    attempts: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress: dict[str, Any] | None
    error: dict[str, Any] | None
    cancel_requested: bool
    has_result: bool
    batch_id: str | None
    idempotency_key: str | None
    worker: str | None = None


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker needs to run one attempt of a job."""

    id: str
    run_id: str
    attempt: int
    kind: str
    problem: dict[str, Any]
    options: dict[str, Any]


@dataclass(frozen=True)
class NewJob:
    """One job to create."""

    kind: str
    problem: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchRecord:
    """A batch and the status of its jobs."""

    id: str
    tenant: str
    size: int
    created_at: float
    jobs: list[tuple[str, str]]  # (job id, status) in submission order


def request_hash(payload: Any) -> str:
    """Stable hash of a request body (detects an Idempotency-Key reused for another request)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class JobStore(ABC):
    """Interface of a job store."""

    @abstractmethod
    def create_job(self, tenant: str, job: NewJob, idempotency_key: str | None = None) -> tuple[JobRecord, bool]:
        """Insert a queued job; with a known ``idempotency_key`` return the existing job and False."""

    @abstractmethod
    def create_batch(
        self, tenant: str, items: list[NewJob], idempotency_key: str | None = None
    ) -> tuple[BatchRecord, bool]:
        """Insert a batch and its queued jobs in one transaction."""

    @abstractmethod
    def get_job(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        """The job, or None when missing or owned by another tenant."""

    @abstractmethod
    def get_result(self, job_id: str, tenant: str | None = None) -> dict[str, Any] | None:
        """The stored solution of the job, if any."""

    @abstractmethod
    def get_problem(self, job_id: str, tenant: str | None = None) -> dict[str, Any] | None:
        """The stored problem of the job."""

    @abstractmethod
    def list_jobs(
        self,
        tenant: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        batch_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[JobRecord], int]:
        """A page of the tenant's jobs (newest first) and the total count."""

    @abstractmethod
    def get_batch(self, batch_id: str, tenant: str | None = None) -> BatchRecord | None:
        """The batch with its jobs' statuses."""

    @abstractmethod
    def request_cancel(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        """Cancel a queued job now, flag a running one (its worker stops and keeps its best)."""

    @abstractmethod
    def claim(self, owner: str, limit: int) -> list[ClaimedJob]:
        """Atomically take up to ``limit`` queued jobs (oldest first) for ``owner``."""

    @abstractmethod
    def heartbeat(self, owner: str, job_ids: list[str]) -> None:
        """Mark the owner's running jobs alive."""

    @abstractmethod
    def report_progress(self, job_id: str, run_id: str, progress: dict[str, Any], *, log: bool = False,
                        worker: str | None = None) -> bool:
        """Store the latest progress (and which ``worker`` runs it); return True when a cancel was requested."""

    @abstractmethod
    def retry_or_fail(self, job_id: str, run_id: str, max_attempts: int, reason: str) -> str | None:
        """A run died: re-queue the job, or fail it after ``max_attempts``; the new status (None: not current)."""

    @abstractmethod
    def finish(
        self,
        job_id: str,
        run_id: str,
        status: str,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        *,
        result_json: str | None = None,
    ) -> bool:
        """Store the outcome of a run; False when that run is no longer the job's current one.

        ``result_json``: the result already serialised (by the worker), instead of ``result``.
        """

    @abstractmethod
    def recover(self, stale_after_s: float, max_attempts: int) -> tuple[int, int]:
        """Re-queue (or fail after ``max_attempts``) running jobs whose server stopped; (requeued, failed)."""

    @abstractmethod
    def release(self, owner: str) -> int:
        """Put the owner's running jobs back in the queue (graceful shutdown); the attempt is not counted."""

    @abstractmethod
    def events(self, job_id: str) -> list[dict[str, Any]]:
        """The job's event log, oldest first."""

    @abstractmethod
    def counts(self) -> dict[tuple[str, str], int]:
        """Number of jobs per (kind, status), all tenants."""

    def checkpoint(self) -> None:  # noqa: B027  (optional housekeeping: nothing by default)
        """Housekeeping of the database's log, called by the dispatcher every heartbeat (default: nothing)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise when the database is unreachable."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


def _dumps(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), allow_nan=False)


def _loads(v: str | None) -> Any:
    return None if v is None else json.loads(v)


_LIGHT = [c for c in jobs.c if c.name not in ("problem", "result")]
# statements built once: SQLAlchemy then reuses their compiled form (hot path of a submission)
_INSERT_JOB = jobs.insert()
_INSERT_EVENT = events.insert()
_SELECT_LIGHT = sa.select(*_LIGHT, jobs.c.result.is_not(None).label("has_result"))
_BY_KEY = _SELECT_LIGHT.add_columns(jobs.c.request_hash.label("rh")).where(
    jobs.c.tenant == sa.bindparam("tenant"), jobs.c.idempotency_key == sa.bindparam("key"))


def make_engine(url: str, *, manual_checkpoint: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and thread sharing.

    Parameters
    ----------
    url
        SQLAlchemy URL.
    manual_checkpoint
        SQLite: no automatic WAL checkpoints on commit (``wal_autocheckpoint=0``); the owner calls
        :meth:`SqlJobStore.checkpoint` from a background thread instead, so a commit on the event loop
        never carries a checkpoint's copying and fsync.

    Returns
    -------
    sqlalchemy.engine.Engine
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            if manual_checkpoint:
                cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class SqlJobStore(JobStore):
    """SQLAlchemy implementation of :class:`JobStore`.

    Parameters
    ----------
    url
        SQLAlchemy database URL (``sqlite:///file.db``, ``postgresql+psycopg://user:pw@host/db``).
    create
        Create the tables when missing.
    """

    def __init__(self, url: str, *, create: bool = True, manual_checkpoint: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, manual_checkpoint=manual_checkpoint)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        # SQLite has one writer at a time: queue writers on locks instead of in SQLite's busy handler,
        # whose sleeps (1 ms, 2 ms, ... up to 100 ms each) make long latency tails. A thread lock for this
        # process, and an flock(2) on a file next to the database for the other processes on it (HTTP
        # processes, the dispatcher, pool workers): a waiter is woken the moment the lock is released,
        # and the kernel drops the lock of a process that dies
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        self._lock_file: int | None = None
        db = self.engine.url.database if self._write_lock is not None else None
        if db and db != ":memory:" and not db.startswith("file:") and fcntl is not None:
            with contextlib.suppress(OSError):
                self._lock_file = os.open(f"{db}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
        #: seconds the last write waited for the write locks (read by the latency diagnostics)
        self.last_lock_wait = 0.0
        if create:
            metadata.create_all(self.engine)

    @contextlib.contextmanager
    def _write(self, commit: bool = True, wait: bool = True) -> Iterator[sa.Connection]:
        if self._write_lock is None:
            with self._transaction(commit) as conn:
                yield conn
            return
        t0 = time.perf_counter()
        if not self._write_lock.acquire(blocking=wait):
            raise LockBusy
        try:
            if self._lock_file is None:
                self.last_lock_wait = time.perf_counter() - t0
                with self._transaction(commit) as conn:
                    yield conn
                return
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockBusy from None
            self.last_lock_wait = time.perf_counter() - t0
            try:
                with self._transaction(commit) as conn:
                    yield conn
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        finally:
            self._write_lock.release()

    @contextlib.contextmanager
    def _transaction(self, commit: bool) -> Iterator[sa.Connection]:
        if commit:
            with self.engine.begin() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            trans = conn.begin()
            try:
                yield conn
            finally:
                trans.rollback()

    def warm_up(self) -> None:
        """Run a submission's insert once in a transaction that is rolled back (nothing is stored).

        SQLAlchemy compiles a statement on its first execution for a given shape (one row, many rows);
        done at startup, that cost is not paid by the first clients.
        """
        now = time.time()
        for n in (1, 2):
            rows = [self._job_row(NewJob("warm-up", {}), "warm-up", now, idempotency_key=None, request_hash=None)
                    for _ in range(n)]
            evs = [{"job_id": r["id"], "at": now, "type": "submitted", "data": "{}"} for r in rows]
            with self._write(commit=False) as conn:
                conn.execute(_INSERT_JOB, rows[0] if n == 1 else rows)
                conn.execute(_INSERT_EVENT, evs[0] if n == 1 else evs)

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _record(row: Any) -> JobRecord:
        m = row._mapping
        return JobRecord(
            id=m["id"],
            tenant=m["tenant"],
            kind=m["kind"],
            status=m["status"],
            options=_loads(m["options"]) or {},
            attempts=m["attempts"],
            created_at=m["created_at"],
            started_at=m["started_at"],
            finished_at=m["finished_at"],
            progress=_loads(m["progress"]),
            error=_loads(m["error"]),
            cancel_requested=bool(m["cancel_requested"]),
            has_result=bool(m["has_result"]),
            batch_id=m["batch_id"],
            idempotency_key=m["idempotency_key"],
            worker=m["worker"],
        )

    def _select_light(self) -> sa.Select[Any]:
        return _SELECT_LIGHT

    def _job_row(self, job: NewJob, tenant: str, now: float, **extra: Any) -> dict[str, Any]:
        return {
            "id": os.urandom(16).hex(),  # 128 random bits like uuid4().hex, without UUID's Python-level checks
            "tenant": tenant,
            "kind": job.kind,
            "status": "queued",
            "problem": _dumps(job.problem),
            "options": _dumps(job.options),
            "attempts": 0,
            "created_at": now,
            "cancel_requested": False,
            **extra,
        }

    def _event(self, conn: sa.Connection, job_id: str, type_: str, data: Any = None, at: float | None = None) -> None:
        conn.execute(_INSERT_EVENT, {"job_id": job_id, "at": at or time.time(), "type": type_,
                                     "data": None if data is None else _dumps(data)})

    @staticmethod
    def _new_record(row: dict[str, Any], job: NewJob) -> JobRecord:
        return JobRecord(id=row["id"], tenant=row["tenant"], kind=job.kind, status="queued",
                         options=dict(job.options), attempts=0, created_at=row["created_at"], started_at=None,
                         finished_at=None, progress=None, error=None, cancel_requested=False, has_result=False,
                         batch_id=None, idempotency_key=row.get("idempotency_key"))

    # -- creation ------------------------------------------------------------------------------
    def create_job(self, tenant: str, job: NewJob, idempotency_key: str | None = None) -> tuple[JobRecord, bool]:
        """Insert a queued job (see :meth:`JobStore.create_job`)."""
        idempotency_key = idempotency_key or None  # an empty header is no key
        now = time.time()
        h = None
        if idempotency_key:
            h = request_hash({"kind": job.kind, "problem": job.problem, "options": job.options})
        row = self._job_row(job, tenant, now, idempotency_key=idempotency_key, request_hash=h)
        if idempotency_key:
            existing = self._by_key(tenant, idempotency_key, h)
            if existing is not None:
                return existing, False
        try:
            with self._write() as conn:
                conn.execute(_INSERT_JOB, row)
                self._event(conn, row["id"], "submitted", {"kind": job.kind}, now)
        except IntegrityError:
            # a concurrent request with the same key won the race
            if idempotency_key:
                existing = self._by_key(tenant, idempotency_key, h)
                if existing is not None:
                    return existing, False
            raise
        return self._new_record(row, job), True

    def insert_jobs(self, items: list[tuple[str, NewJob]], *, wait: bool = True) -> list[JobRecord]:
        """Insert queued jobs without idempotency keys, ``(tenant, job)`` each, in one transaction.

        The group commit of :class:`api.submits.SubmitQueue`: one commit (and one write lock) for
        every submission waiting at that moment.

        Parameters
        ----------
        items
            ``(tenant, job)`` pairs.
        wait
            False: raise :class:`LockBusy` at once (nothing written) when another writer holds the
            write lock, instead of waiting for it.

        Returns
        -------
        list of JobRecord
            The new jobs, in the order of ``items``.
        """
        if not items:
            return []
        now = time.time()
        # distinct created_at keeps the submission order in the queue
        rows = [self._job_row(job, tenant, now + i * 1e-6, idempotency_key=None, request_hash=None)
                for i, (tenant, job) in enumerate(items)]
        evs = [{"job_id": r["id"], "at": now, "type": "submitted", "data": _dumps({"kind": r["kind"]})} for r in rows]
        with self._write(wait=wait) as conn:
            conn.execute(_INSERT_JOB, rows)
            conn.execute(_INSERT_EVENT, evs)
        return [self._new_record(r, job) for r, (_, job) in zip(rows, items, strict=True)]

    def _by_key(self, tenant: str, key: str, h: str | None) -> JobRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(_BY_KEY, {"tenant": tenant, "key": key}).first()
        if row is None:
            return None
        if row._mapping["rh"] != h:
            raise IdempotencyConflict(key)
        return self._record(row)

    def create_batch(
        self, tenant: str, items: list[NewJob], idempotency_key: str | None = None
    ) -> tuple[BatchRecord, bool]:
        """Insert a batch and its jobs (see :meth:`JobStore.create_batch`)."""
        idempotency_key = idempotency_key or None
        now = time.time()
        h = None
        if idempotency_key:
            h = request_hash([{"kind": j.kind, "problem": j.problem, "options": j.options} for j in items])
            existing = self._batch_by_key(tenant, idempotency_key, h)
            if existing is not None:
                return existing, False
        bid = uuid.uuid4().hex
        # distinct created_at keeps the batch's submission order in the queue
        rows = [self._job_row(j, tenant, now + i * 1e-6, batch_id=bid) for i, j in enumerate(items)]
        try:
            with self._write() as conn:
                conn.execute(batches.insert().values(id=bid, tenant=tenant, size=len(items), created_at=now,
                                                     idempotency_key=idempotency_key, request_hash=h))
                if rows:
                    conn.execute(jobs.insert(), rows)
                    conn.execute(events.insert(), [
                        {"job_id": r["id"], "at": now, "type": "submitted",
                         "data": _dumps({"kind": r["kind"], "batch": bid})} for r in rows
                    ])
        except IntegrityError:
            if idempotency_key:
                existing = self._batch_by_key(tenant, idempotency_key, h)
                if existing is not None:
                    return existing, False
            raise
        rec = self.get_batch(bid)
        assert rec is not None
        return rec, True

    def _batch_by_key(self, tenant: str, key: str, h: str | None) -> BatchRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(batches.c.id, batches.c.request_hash).where(
                    batches.c.tenant == tenant, batches.c.idempotency_key == key)
            ).first()
        if row is None:
            return None
        if row.request_hash != h:
            raise IdempotencyConflict(key)
        return self.get_batch(row.id)

    # -- reads ---------------------------------------------------------------------------------
    def get_job(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        """The job (see :meth:`JobStore.get_job`)."""
        q = self._select_light().where(jobs.c.id == job_id)
        if tenant is not None:
            q = q.where(jobs.c.tenant == tenant)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else self._record(row)

    def _body(self, col: sa.Column[Any], job_id: str, tenant: str | None) -> dict[str, Any] | None:
        q = sa.select(col).where(jobs.c.id == job_id)
        if tenant is not None:
            q = q.where(jobs.c.tenant == tenant)
        with self.engine.connect() as conn:
            v = conn.execute(q).scalar()
        out: dict[str, Any] | None = _loads(v)
        return out

    def get_result(self, job_id: str, tenant: str | None = None) -> dict[str, Any] | None:
        """The stored solution (see :meth:`JobStore.get_result`)."""
        return self._body(jobs.c.result, job_id, tenant)

    def get_problem(self, job_id: str, tenant: str | None = None) -> dict[str, Any] | None:
        """The stored problem (see :meth:`JobStore.get_problem`)."""
        return self._body(jobs.c.problem, job_id, tenant)

    def list_jobs(
        self,
        tenant: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        batch_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[JobRecord], int]:
        """A page of jobs (see :meth:`JobStore.list_jobs`)."""
        conds = [jobs.c.tenant == tenant]
        if status:
            conds.append(jobs.c.status == status)
        if kind:
            conds.append(jobs.c.kind == kind)
        if batch_id:
            conds.append(jobs.c.batch_id == batch_id)
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(jobs).where(*conds)).scalar() or 0
            rows = conn.execute(
                self._select_light().where(*conds)
                .order_by(jobs.c.created_at.desc(), jobs.c.id).limit(limit).offset(offset)
            ).all()
        return [self._record(r) for r in rows], int(total)

    def get_batch(self, batch_id: str, tenant: str | None = None) -> BatchRecord | None:
        """The batch (see :meth:`JobStore.get_batch`)."""
        q = sa.select(batches).where(batches.c.id == batch_id)
        if tenant is not None:
            q = q.where(batches.c.tenant == tenant)
        with self.engine.connect() as conn:
            b = conn.execute(q).first()
            if b is None:
                return None
            rows = conn.execute(
                sa.select(jobs.c.id, jobs.c.status).where(jobs.c.batch_id == batch_id).order_by(jobs.c.created_at)
            ).all()
        return BatchRecord(b.id, b.tenant, b.size, b.created_at, [(r.id, r.status) for r in rows])

    def events(self, job_id: str) -> list[dict[str, Any]]:
        """The event log (see :meth:`JobStore.events`)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(events.c.at, events.c.type, events.c.data).where(events.c.job_id == job_id)
                .order_by(events.c.id)
            ).all()
        return [{"at": r.at, "type": r.type, "data": _loads(r.data)} for r in rows]

    def counts(self) -> dict[tuple[str, str], int]:
        """Jobs per (kind, status) (see :meth:`JobStore.counts`)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(jobs.c.kind, jobs.c.status, sa.func.count()).group_by(jobs.c.kind, jobs.c.status)
            ).all()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database (``PRAGMA wal_checkpoint(PASSIVE)``; no-op elsewhere).

        Passive: it never waits for, nor blocks, writers; what it could not copy is copied next time.
        """
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def ping(self) -> None:
        """Run ``SELECT 1`` (see :meth:`JobStore.ping`)."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    # -- state changes -------------------------------------------------------------------------
    def request_cancel(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        """Cancel or flag the job (see :meth:`JobStore.request_cancel`)."""
        now = time.time()
        owned = [jobs.c.id == job_id] + ([jobs.c.tenant == tenant] if tenant is not None else [])
        with self._write() as conn:
            res = conn.execute(
                jobs.update().where(*owned, jobs.c.status == "queued")
                .values(status="cancelled", finished_at=now, cancel_requested=True)
            )
            if res.rowcount:
                self._event(conn, job_id, "cancelled", {"while": "queued"}, now)
            else:
                res = conn.execute(
                    jobs.update().where(*owned, jobs.c.status == "running", jobs.c.cancel_requested.is_(False))
                    .values(cancel_requested=True)
                )
                if res.rowcount:
                    self._event(conn, job_id, "cancel_requested", None, now)
        return self.get_job(job_id, tenant)

    def claim(self, owner: str, limit: int) -> list[ClaimedJob]:
        """Take queued jobs (see :meth:`JobStore.claim`)."""
        if limit <= 0:
            return []
        now = time.time()
        out: list[ClaimedJob] = []
        with self._write() as conn:
            q = (sa.select(jobs.c.id).where(jobs.c.status == "queued")
                 .order_by(jobs.c.created_at, jobs.c.id).limit(limit))
            if self.is_postgres:
                q = q.with_for_update(skip_locked=True)
            ids = list(conn.execute(q).scalars())
            for jid in ids:
                run_id = uuid.uuid4().hex
                res = conn.execute(
                    jobs.update().where(jobs.c.id == jid, jobs.c.status == "queued")
                    .values(status="running", owner=owner, run_id=run_id, attempts=jobs.c.attempts + 1, started_at=now,
                            heartbeat_at=now, progress=None)
                    .returning(jobs.c.attempts, jobs.c.kind, jobs.c.problem, jobs.c.options)
                )
                row = res.first()
                if row is None:
                    continue
                self._event(conn, jid, "started", {"attempt": row.attempts, "owner": owner}, now)
                out.append(ClaimedJob(jid, run_id, row.attempts, row.kind, json.loads(row.problem),
                                      json.loads(row.options)))
        return out

    def heartbeat(self, owner: str, job_ids: list[str]) -> None:
        """Refresh heartbeats (see :meth:`JobStore.heartbeat`)."""
        if not job_ids:
            return
        with self._write() as conn:
            conn.execute(
                jobs.update().where(jobs.c.id.in_(job_ids), jobs.c.owner == owner, jobs.c.status == "running")
                .values(heartbeat_at=time.time())
            )

    def report_progress(self, job_id: str, run_id: str, progress: dict[str, Any], *, log: bool = False,
                        worker: str | None = None) -> bool:
        """Store progress, return the cancel flag (see :meth:`JobStore.report_progress`)."""
        with self._write() as conn:
            row = conn.execute(
                self._progress_update(job_id, run_id, progress, worker).returning(jobs.c.cancel_requested)
            ).first()
            if row is not None and log:
                self._event(conn, job_id, "progress", progress)
        # a job no longer running under this attempt (cancelled, re-queued) must stop too
        return True if row is None else bool(row.cancel_requested)

    @staticmethod
    def _progress_update(job_id: str, run_id: str, progress: dict[str, Any], worker: str | None) -> sa.Update:
        """The update of a run's progress (and worker), only while it is the job's current running run."""
        values: dict[str, Any] = {"progress": _dumps(progress)}
        if worker is not None:
            values["worker"] = worker
        return jobs.update().where(jobs.c.id == job_id, jobs.c.run_id == run_id,
                                   jobs.c.status == "running").values(**values)

    def cancel_flag(self, job_id: str, run_id: str) -> bool:
        """True when the run must stop: a cancel was requested, or it is no longer the job's current run.

        A read (no write lock): what a relayed worker asks instead of :meth:`report_progress`'s answer.
        """
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(jobs.c.cancel_requested).where(
                jobs.c.id == job_id, jobs.c.run_id == run_id, jobs.c.status == "running")).first()
        return True if row is None else bool(row.cancel_requested)

    def report_progress_many(self, items: list[tuple[str, str, dict[str, Any], bool, str | None]]) -> None:
        """Store several runs' progress in one transaction: ``(job_id, run_id, progress, log, worker)`` each.

        What the local executor's relay writes for its workers (see :class:`api.executors.LocalExecutor`);
        like :meth:`report_progress`, only a run that is still the job's current running one is updated.
        """
        if not items:
            return
        now = time.time()
        with self._write() as conn:
            for job_id, run_id, progress, log, worker in items:
                res = conn.execute(self._progress_update(job_id, run_id, progress, worker))
                if res.rowcount and log:
                    self._event(conn, job_id, "progress", progress, now)

    def finish(
        self,
        job_id: str,
        run_id: str,
        status: str,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        *,
        result_json: str | None = None,
    ) -> bool:
        """Store the outcome (see :meth:`JobStore.finish`)."""
        if status not in FINAL:
            raise ValueError(f"not a final status: {status}")
        now = time.time()
        with self._write() as conn:
            res = conn.execute(
                jobs.update().where(jobs.c.id == job_id, jobs.c.run_id == run_id, jobs.c.status == "running")
                .values(status=status, finished_at=now, owner=None,
                        result=result_json if result is None else _dumps(result),
                        error=None if error is None else _dumps(error))
            )
            if res.rowcount:
                self._event(conn, job_id, status, {"run": run_id, **({"error": error} if error else {})}, now)
        return bool(res.rowcount)

    def retry_or_fail(self, job_id: str, run_id: str, max_attempts: int, reason: str) -> str | None:
        """Re-queue or fail a job whose worker died (see :meth:`JobStore.retry_or_fail`)."""
        now = time.time()
        current = [jobs.c.id == job_id, jobs.c.run_id == run_id, jobs.c.status == "running"]
        with self._write() as conn:
            row = conn.execute(sa.select(jobs.c.attempts).where(*current)).first()
            if row is None:
                return None
            if row.attempts >= max_attempts:
                err = {"code": "worker_died", "message": f"{reason} ({row.attempts} attempts)"}
                conn.execute(jobs.update().where(*current).values(
                    status="failed", finished_at=now, owner=None, error=_dumps(err)))
                self._event(conn, job_id, "failed", {"error": err}, now)
                return "failed"
            conn.execute(jobs.update().where(*current).values(status="queued", owner=None, started_at=None,
                                                              progress=None, worker=None))
            self._event(conn, job_id, "requeued", {"reason": reason, "attempts": row.attempts}, now)
            return "queued"

    def recover(self, stale_after_s: float, max_attempts: int) -> tuple[int, int]:
        """Recover jobs of dead servers (see :meth:`JobStore.recover`)."""
        now = time.time()
        limit = now - stale_after_s
        requeued = failed = 0
        with self._write() as conn:
            q = sa.select(jobs.c.id, jobs.c.attempts).where(jobs.c.status == "running", jobs.c.heartbeat_at < limit)
            if self.is_postgres:
                q = q.with_for_update(skip_locked=True)
            for jid, attempts in conn.execute(q).all():
                stale = [jobs.c.id == jid, jobs.c.status == "running", jobs.c.heartbeat_at < limit]
                if attempts >= max_attempts:
                    err = {"code": "lost", "message": f"the server running this job stopped {attempts} times; "
                           "giving up (max_attempts)"}
                    res = conn.execute(jobs.update().where(*stale).values(
                        status="failed", finished_at=now, owner=None, error=_dumps(err)))
                    if res.rowcount:
                        failed += 1
                        self._event(conn, jid, "failed", {"error": err}, now)
                else:
                    res = conn.execute(jobs.update().where(*stale).values(
                        status="queued", owner=None, started_at=None, progress=None))
                    if res.rowcount:
                        requeued += 1
                        self._event(conn, jid, "requeued", {"reason": "server stopped during the solve",
                                                            "attempts": attempts}, now)
        return requeued, failed

    def release(self, owner: str) -> int:
        """Re-queue the owner's running jobs (see :meth:`JobStore.release`)."""
        with self._write() as conn:
            ids = list(conn.execute(sa.select(jobs.c.id).where(jobs.c.owner == owner, jobs.c.status == "running"))
                       .scalars())
            if not ids:
                return 0
            conn.execute(jobs.update().where(jobs.c.id.in_(ids), jobs.c.status == "running").values(
                status="queued", owner=None, started_at=None, progress=None, attempts=jobs.c.attempts - 1))
            for jid in ids:
                self._event(conn, jid, "requeued", {"reason": "server shut down"})
        return len(ids)

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self.engine.dispose()
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_file)
            self._lock_file = None
