"""``/v1/batches``: many jobs in one request (e.g. the weekly regeneration of every territory's routes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import ValidationError

from api.deps import ApiError, AppSettings, Store, Tenant
from api.routes.jobs import IdempotencyKey, answer_submission, check_job, idempotency_conflict, invalid, request_body
from api.schemas import BatchJob, BatchOut, JobOptions, ts
from api.store import FINAL, BatchRecord, IdempotencyConflict, NewJob
from optimizer.model import errors_from_validation

router = APIRouter(prefix="/v1/batches", tags=["batches"])


def batch_out(b: BatchRecord) -> BatchOut:
    """Render a batch with its aggregate status."""
    counts: dict[str, int] = {}
    for _, st in b.jobs:
        counts[st] = counts.get(st, 0) + 1
    if all(st in FINAL for _, st in b.jobs):
        status = "done"
    elif all(st == "queued" for _, st in b.jobs):
        status = "queued"
    else:
        status = "running"
    created = ts(b.created_at)
    assert created is not None
    return BatchOut(
        id=b.id, status=status, size=b.size, counts=counts, created_at=created,  # type: ignore[arg-type]
        jobs=[BatchJob(id=j, status=st, link=f"/v1/jobs/{j}") for j, st in b.jobs],  # type: ignore[arg-type]
    )


@router.post("", status_code=202, response_model=BatchOut, openapi_extra=request_body("BatchRequest"),
             responses={200: {"model": BatchOut, "description": "an earlier batch with the same Idempotency-Key"}})
def submit_batch(
    body: Annotated[Any, Body()],
    request: Request,
    response: Response,
    tenant: Tenant,
    store: Store,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> BatchOut:
    """Queue every job of the batch (all or none: any invalid item answers 422 naming each field)."""
    errors: list[dict[str, str]] = []
    defaults: dict[str, Any] = {}
    raw_jobs: list[Any] = []
    if not isinstance(body, dict):
        raise invalid([{"path": "", "message": "the batch must be a JSON object"}])
    for key in body:
        if key not in ("jobs", "options"):
            errors.append({"path": key, "message": "unknown field (check the spelling)"})
    try:
        defaults = JobOptions.model_validate(body.get("options", {})).model_dump(exclude_none=True)
    except ValidationError as exc:
        errors += [{"path": f"options.{e.path}" if e.path else "options", "message": e.message}
                   for e in errors_from_validation(exc)]
    if not isinstance(body.get("jobs"), list) or not body["jobs"]:
        errors.append({"path": "jobs", "message": "a non-empty list of jobs is required"})
    else:
        raw_jobs = body["jobs"]
    if len(raw_jobs) > settings.max_batch_jobs:
        raise invalid([{"path": "jobs", "message": f"{len(raw_jobs)} jobs exceed the limit of "
                        f"{settings.max_batch_jobs}"}])
    items: list[NewJob] = []
    for i, item in enumerate(raw_jobs):
        job, errs = check_job(item, settings, prefix=f"jobs[{i}].", defaults=defaults)
        errors.extend(errs)
        if job is not None:
            items.append(job)
    if errors:
        raise invalid(errors)
    try:
        rec, created = store.create_batch(tenant, items, idempotency_key)
    except IdempotencyConflict:
        raise idempotency_conflict() from None
    answer_submission(created, response, request.app.state.wake)
    response.headers["Location"] = f"/v1/batches/{rec.id}"
    return batch_out(rec)


@router.get("/{batch_id}", response_model=BatchOut)
def get_batch(batch_id: str, tenant: Tenant, store: Store) -> BatchOut:
    """Aggregate status of a batch and the status of each of its jobs."""
    b = store.get_batch(batch_id, tenant) if len(batch_id) <= 64 else None
    if b is None:
        raise ApiError(404, "not_found", f"no batch {batch_id!r}")
    return batch_out(b)
