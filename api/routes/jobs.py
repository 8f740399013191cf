"""``/v1/jobs``: submit, inspect, list, cancel jobs and fetch their results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError

from api.deps import ApiError, AppSettings, MaybeDispatcher, Store, Tenant
from api.formats import FormatError, to_csv, to_geojson
from api.schemas import JobOut, JobPage, JobRequest, JobStatus, job_out
from api.settings import Settings
from api.store import IdempotencyConflict, NewJob
from optimizer.errors import InputError
from optimizer.model import errors_from_validation, kinds, parse

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255,
                                             description="resubmitting with the same key returns the same job")]


def count_items(value: Any) -> int:
    """Number of JSON objects inside lists of ``value`` (outlets, reps, units, ...): the size limit's measure."""
    n = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, dict):
                    n += 1
                    stack.append(x)
                elif isinstance(x, list):
                    stack.append(x)
    return n


def check_job(body: Any, settings: Settings, prefix: str = "",
              defaults: dict[str, Any] | None = None) -> tuple[NewJob | None, list[dict[str, str]]]:
    """Validate one raw job request; return the job to store and every problem found (paths from the body root).

    The envelope (kind, options) and the problem are checked together so one answer lists everything.
    """
    errors: list[dict[str, str]] = []
    if not isinstance(body, dict):
        return None, [{"path": prefix.rstrip(".") or "", "message": "a job must be a JSON object"}]
    req: JobRequest | None = None
    try:
        req = JobRequest.model_validate(body)
    except ValidationError as exc:
        for e in errors_from_validation(exc):
            if e.path == "kind" or (e.path.startswith("problem") and isinstance(body.get("problem"), dict)):
                continue  # reported below with their own checks
            errors.append({"path": f"{prefix}{e.path}", "message": e.message})
    kind, problem = body.get("kind"), body.get("problem")
    if not isinstance(kind, str) or kind not in kinds():
        errors.append({"path": f"{prefix}kind",
                       "message": f"unknown kind {kind!r}; use one of {', '.join(kinds())}" if kind is not None
                       else "required field is missing"})
    elif isinstance(problem, dict):
        size = count_items(problem)
        if size > settings.max_problem_items:
            errors.append({"path": f"{prefix}problem",
                           "message": f"{size} items exceed this server's limit of {settings.max_problem_items}"})
        else:
            try:
                parse(kind, problem)
            except InputError as exc:
                for e in exc.errors:
                    sub = e.path if e.path.startswith("[") or not e.path else f".{e.path}"
                    errors.append({"path": f"{prefix}problem{sub}", "message": e.message})
    if req is None or errors:
        return None, errors
    opts = {**(defaults or {}), **req.options.model_dump(exclude_none=True)}
    tl = opts.get("time_limit_s")
    if tl is not None and tl > settings.max_time_limit_s:
        errors.append({"path": f"{prefix}options.time_limit_s",
                       "message": f"{tl} s exceeds this server's limit of {settings.max_time_limit_s} s"})
        return None, errors
    return NewJob(req.kind, req.problem, opts), errors


def request_body(model: str) -> dict[str, Any]:
    """OpenAPI ``requestBody`` naming a component schema (the body is validated by hand, all errors at once)."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}}}


def idempotency_conflict() -> ApiError:
    """409 for an Idempotency-Key reused with a different request."""
    return ApiError(409, "idempotency_conflict", "this Idempotency-Key was already used for a different request")


def answer_submission(created: bool, response: Response, dispatcher: Any) -> None:
    """Wake the dispatcher for a new submission; mark a replayed one (200, ``Idempotent-Replayed``)."""
    if created:
        if dispatcher is not None:
            dispatcher.wake()
    else:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"


def invalid(errors: list[dict[str, str]]) -> ApiError:
    """The 422 answer listing ``errors``."""
    n = len(errors)
    return ApiError(422, "invalid_input", f"{n} problem{'s' if n != 1 else ''} in the request", errors)


@router.post("", status_code=202, response_model=JobOut, openapi_extra=request_body("JobRequest"),
             responses={200: {"model": JobOut, "description": "an earlier job with the same Idempotency-Key"}})
async def submit_job(
    body: Annotated[Any, Body()],
    response: Response,
    tenant: Tenant,
    store: Store,
    settings: AppSettings,
    dispatcher: MaybeDispatcher,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    """Queue a solve. Every problem in the input is reported at once (422)."""
    # validation is CPU work of a few ms: done on the loop (a thread hop costs more under the GIL);
    # the database write goes to the thread pool
    job, errors = check_job(body, settings)
    if job is None:
        raise invalid(errors)
    try:
        rec, created = await run_in_threadpool(store.create_job, tenant, job, idempotency_key)
    except IdempotencyConflict:
        raise idempotency_conflict() from None
    answer_submission(created, response, dispatcher)
    out = job_out(rec)
    response.headers["Location"] = out.links.self
    return out


@router.get("", response_model=JobPage)
def list_jobs(
    tenant: Tenant,
    store: Store,
    status: JobStatus | None = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    batch_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> JobPage:
    """The caller's jobs, newest first, filtered by status, kind or batch."""
    recs, total = store.list_jobs(tenant, status=status, kind=kind, batch_id=batch_id, limit=limit, offset=offset)
    nxt = None
    if offset + len(recs) < total:
        q = [f"limit={limit}", f"offset={offset + limit}"]
        q += [f"{k}={v}" for k, v in (("status", status), ("kind", kind), ("batch_id", batch_id)) if v]
        nxt = "/v1/jobs?" + "&".join(q)
    return JobPage(items=[job_out(r) for r in recs], total=total, limit=limit, offset=offset, next=nxt)


def _job(store: Store, job_id: str, tenant: str) -> Any:
    rec = store.get_job(job_id, tenant) if len(job_id) <= 64 else None
    if rec is None:
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    return rec


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, tenant: Tenant, store: Store) -> JobOut:
    """Status, progress (best objective so far, elapsed, bound where known), timestamps and error."""
    return job_out(_job(store, job_id, tenant))


@router.delete("/{job_id}", status_code=202, response_model=JobOut)
def cancel_job(job_id: str, tenant: Tenant, store: Store) -> JobOut:
    """Cancel a queued job now, or ask a running one to stop (it keeps its best solution so far)."""
    rec = _job(store, job_id, tenant)
    if rec.status in ("succeeded", "failed", "cancelled"):
        raise ApiError(409, "already_finished", f"job {job_id} is already {rec.status}")
    rec = store.request_cancel(job_id, tenant)
    if rec is None:
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    return job_out(rec)


@router.get("/{job_id}/events")
def job_events(job_id: str, tenant: Tenant, store: Store) -> list[dict[str, Any]]:
    """The job's event log (submitted, started, progress when the best improved, finished...)."""
    _job(store, job_id, tenant)
    return store.events(job_id)


_RESULT_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "the solution (json: the *Solution schema of the job's kind)",
          "content": {"application/json": {"schema": {"type": "object"}},
                      "text/csv": {"schema": {"type": "string"}},
                      "application/geo+json": {"schema": {"type": "object"}}}},
}


@router.get("/{job_id}/result", responses=_RESULT_DOC, response_class=JSONResponse)
def job_result(
    job_id: str,
    tenant: Tenant,
    store: Store,
    format: Literal["json", "csv", "geojson"] = "json",
) -> Response:
    """The solution; ``csv`` and ``geojson`` for routes and territories."""
    rec = _job(store, job_id, tenant)
    result = store.get_result(job_id, tenant) if rec.has_result else None
    if result is None:
        if rec.status in ("queued", "running"):
            raise ApiError(409, "not_ready", f"job {job_id} is {rec.status}; no result yet")
        raise ApiError(409, "no_result", f"job {job_id} is {rec.status} and has no result")
    try:
        if format == "csv":
            return PlainTextResponse(to_csv(rec.kind, result), media_type="text/csv")
        if format == "geojson":
            problem = store.get_problem(job_id, tenant) or {}
            return JSONResponse(to_geojson(rec.kind, problem, result), media_type="application/geo+json")
    except FormatError as exc:
        raise ApiError(422, "invalid_input", str(exc), [{"path": "format", "message": str(exc)}]) from None
    return JSONResponse(result)
