"""Server settings, read from ``SALESPLAN_*`` environment variables (pydantic-settings).

Every field below maps to ``SALESPLAN_<FIELD>`` (upper case), e.g. ``SALESPLAN_DATABASE_URL``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def hash_key(key: str) -> str:
    """SHA-256 hex digest of an API key (keys files store only this)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Settings(BaseSettings):
    """Configuration of the jobs API.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of the job store: a SQLite file by default, ``postgresql+psycopg://...`` for PostgreSQL.
    executor
        ``local`` (a process pool on this machine) or ``ray`` (``RAY_ADDRESS`` or a local Ray runtime).
    workers
        Server-wide cap on solves running at once.
    api_keys
        ``key1:tenantA,key2:tenantB``. Empty (and no ``api_keys_file``): no authentication, and the
        server refuses to bind anything but loopback.
    overrun_grace_s
        A run still going this long after its time limit is stopped by force and the job failed.
    server_workers
        HTTP server processes (``salesplan serve --workers N``). With more than one, a supervisor
        process runs the only dispatcher (and its executor) and the HTTP processes wake it after a
        submission; they exit when the supervisor dies.
    access_log
        uvicorn's per-request access log (off by default: ``/metrics`` counts requests).
    otel
        FastAPI's OpenTelemetry instrumentation (off by default: it costs CPU on every request).
    wake_port, supervisor_pid
        Set by the supervisor for its HTTP processes (internal): the UDP port on 127.0.0.1 where the
        dispatcher listens for wake-ups, and the pid whose death ends them.
    relay_progress
        Local pool workers send progress and outcomes to the server, which writes them (one writer
        process side; a niced worker never holds the store's write lock). Off: workers write themselves.
    prestart_workers
        Spawn the local pool's worker processes (and import the solvers in them) at startup, in the
        background, rather than among the first clients' requests.
    warm_up
        Pay the first submission's one-time costs (imports, compiled statements) at startup.
    diagnostics_file
        When set, each HTTP process records its requests, event-loop stalls, GC passes and group
        commits and writes them to ``<file>.<pid>`` at shutdown (:mod:`api.diagnostics`; for load tests).
    worker_nice
        Niceness added to local worker processes so solves never starve the API itself.
    api_keys_file
        File of ``sha256hex:tenant`` lines (keys hashed at rest; ``salesplan-hash-key`` style:
        ``python -c "from api.settings import hash_key; print(hash_key('KEY'))"``).
    """

    model_config = SettingsConfigDict(env_prefix="SALESPLAN_", extra="ignore")

    database_url: str = "sqlite:///salesplan-jobs.db"
    executor: Literal["local", "ray"] = "local"
    workers: int = Field(2, ge=1, le=256)
    ray_address: str | None = None
    api_keys: str = ""
    api_keys_file: Path | None = None
    max_request_bytes: int = Field(10_000_000, ge=1000)
    default_time_limit_s: float = Field(60.0, gt=0)
    max_time_limit_s: float = Field(600.0, gt=0)
    max_problem_items: int = Field(50_000, ge=1)
    max_batch_jobs: int = Field(1000, ge=1)
    max_attempts: int = Field(3, ge=1)
    stale_after_s: float = Field(15.0, gt=0)
    heartbeat_s: float = Field(2.0, gt=0)
    poll_s: float = Field(0.25, gt=0)
    progress_every_s: float = Field(0.5, gt=0)
    start_dispatcher: bool = True
    worker_nice: int = Field(10, ge=0, le=19)
    overrun_grace_s: float = Field(30.0, gt=0)
    server_workers: int = Field(1, ge=1, le=64)
    access_log: bool = False
    otel: bool = False
    wake_port: int | None = Field(None, ge=1, le=65535)
    supervisor_pid: int | None = Field(None, ge=1)
    diagnostics_file: Path | None = None
    warm_up: bool = True
    prestart_workers: bool = True
    relay_progress: bool = True

    def key_table(self) -> dict[str, str]:
        """Map ``sha256(key)`` -> tenant from ``api_keys`` and ``api_keys_file``.

        Raises
        ------
        ValueError
            On a malformed entry (the message names it without echoing the key).
        """
        table: dict[str, str] = {}
        for n, item in enumerate(p.strip() for p in self.api_keys.split(",")):
            if not item:
                continue
            key, sep, tenant = item.rpartition(":")
            if not sep or not key or not tenant:
                raise ValueError(f"SALESPLAN_API_KEYS entry {n + 1} must look like key:tenant")
            table[hash_key(key)] = tenant
        if self.api_keys_file is not None:
            for n, line in enumerate(self.api_keys_file.read_text(encoding="utf-8").splitlines()):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                digest, sep, tenant = line.partition(":")
                if not sep or len(digest) != 64 or not tenant:
                    raise ValueError(f"{self.api_keys_file.name} line {n + 1} must look like sha256hex:tenant")
                table[digest.lower()] = tenant
        return table

    @property
    def auth_enabled(self) -> bool:
        """True when at least one API key is configured."""
        return bool(self.api_keys.strip()) or self.api_keys_file is not None
