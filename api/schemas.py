"""Request and response bodies of the jobs API (the problem and solution schemas come from optimizer.model)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.store import JobRecord

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobOptions(_Strict):
    """How to run a job (override the problem's own ``options``)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # no true/"5" for numbers: the schema says number

    time_limit_s: float | None = Field(None, gt=0, description="seconds; capped by the server's limit")
    seed: int | None = Field(None, ge=0, le=2**31 - 1)


class JobRequest(_Strict):
    """``POST /v1/jobs``: a problem of a kind and run options."""

    kind: str = Field(description="routes, territories, staffing or pipeline")
    problem: dict[str, Any] = Field(description="the problem JSON of that kind (see the *Problem schemas)")
    options: JobOptions = Field(default_factory=JobOptions)


class BatchRequest(_Strict):
    """``POST /v1/batches``: many jobs at once; ``options`` apply to items without their own."""

    jobs: list[JobRequest] = Field(min_length=1)
    options: JobOptions = Field(default_factory=JobOptions)


class ErrorItemOut(BaseModel):
    """One offending field."""

    path: str
    message: str


class ErrorResponse(BaseModel):
    """Every error answer: a stable ``code``, a message and, for bad input, every offending field."""

    code: str
    message: str
    errors: list[ErrorItemOut] = Field(default_factory=list)


class Progress(BaseModel):
    """Latest progress reported by the solver."""

    model_config = ConfigDict(extra="allow")

    stage: str | None = None
    elapsed: float | None = None
    best: float | None = None
    bound: float | None = None
    fraction: float | None = None
    message: str | None = None


class JobError(BaseModel):
    """Why a job failed."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    errors: list[ErrorItemOut] | None = None


class JobLinks(BaseModel):
    """Where to look next."""

    self: str
    result: str
    events: str


class JobOut(BaseModel):
    """A job's status."""

    id: str
    kind: str
    status: JobStatus
    batch_id: str | None = None
    attempts: int
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: Progress | None = None
    error: JobError | None = None
    has_result: bool
    options: dict[str, Any]
    links: JobLinks


class JobPage(BaseModel):
    """A page of jobs, newest first."""

    items: list[JobOut]
    total: int
    limit: int
    offset: int
    next: str | None = None


class BatchJob(BaseModel):
    """A job of a batch."""

    id: str
    status: JobStatus
    link: str


class BatchOut(BaseModel):
    """Aggregate status of a batch: ``running`` until every job is final, then ``done``."""

    id: str
    status: Literal["queued", "running", "done"]
    size: int
    counts: dict[str, int]
    created_at: datetime
    jobs: list[BatchJob]


class ValidationOut(BaseModel):
    """Answer of ``POST /v1/validate/{kind}`` for a valid problem."""

    valid: bool
    kind: str
    summary: dict[str, int]


class Health(BaseModel):
    """Liveness and readiness."""

    status: Literal["ok", "degraded"]
    database: str
    executor: str
    workers: int
    running: int


def ts(v: float | None) -> datetime | None:
    """Epoch seconds -> aware UTC datetime."""
    return None if v is None else datetime.fromtimestamp(v, UTC)


def job_out(rec: JobRecord, prefix: str = "/v1") -> JobOut:
    """Render a stored job."""
    base = f"{prefix}/jobs/{rec.id}"
    created = ts(rec.created_at)
    assert created is not None
    return JobOut(
        id=rec.id,
        kind=rec.kind,
        status=rec.status,  # type: ignore[arg-type]
        batch_id=rec.batch_id,
        attempts=rec.attempts,
        cancel_requested=rec.cancel_requested,
        created_at=created,
        started_at=ts(rec.started_at),
        finished_at=ts(rec.finished_at),
        progress=Progress.model_validate(rec.progress) if rec.progress else None,
        error=JobError.model_validate(rec.error) if rec.error else None,
        has_result=rec.has_result,
        options=rec.options,
        links=JobLinks(self=base, result=f"{base}/result", events=f"{base}/events"),
    )


def new_job_json(rec: JobRecord, prefix: str = "/v1") -> bytes:
    """The JSON of :func:`job_out` for a job just created (queued, never run), without building the models.

    The answer to every submission: a format string is several times cheaper than validating and
    serialising a :class:`JobOut` (the values equal ``job_out(rec).model_dump_json()``'s; tested).
    """
    base = f"{prefix}/jobs/{rec.id}"
    created = datetime.fromtimestamp(rec.created_at, UTC).isoformat().replace("+00:00", "Z")
    ident = json.dumps(rec.id)
    return (
        f'{{"id":{ident},"kind":{json.dumps(rec.kind)},"status":"queued","batch_id":{json.dumps(rec.batch_id)},'
        f'"attempts":0,"cancel_requested":false,"created_at":"{created}","started_at":null,"finished_at":null,'
        f'"progress":null,"error":null,"has_result":false,'
        f'"options":{json.dumps(rec.options, separators=(",", ":"), allow_nan=False)},'
        f'"links":{{"self":{json.dumps(base)},"result":{json.dumps(base + "/result")},'
        f'"events":{json.dumps(base + "/events")}}}}}'
    ).encode()
