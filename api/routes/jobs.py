"""``/v1/jobs``: submit, inspect, list, cancel jobs and fetch their results."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ValidationError

from api.deps import ApiError, Store, Tenant, tenant_for
from api.formats import FormatError, to_csv, to_geojson
from api.schemas import JobOut, JobPage, JobRequest, JobStatus, job_out, new_job_json
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


def check_job(body: Any, settings: Settings, prefix: str = "", defaults: dict[str, Any] | None = None,
              raw_size: int | None = None) -> tuple[NewJob | None, list[dict[str, str]]]:
    """Validate one raw job request; return the job to store and every problem found (paths from the body root).

    The envelope (kind, options) and the problem are checked together so one answer lists everything.
    ``raw_size`` (bytes of the JSON text, when known) skips counting the problem's items when the text
    is too short to hold more than the limit (every counted object takes at least two bytes, ``{}``).
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
        size = 0 if raw_size is not None and raw_size // 2 <= settings.max_problem_items else count_items(problem)
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


def answer_submission(created: bool, response: Response, wake: Callable[[], None]) -> None:
    """Wake the dispatcher for a new submission; mark a replayed one (200, ``Idempotent-Replayed``)."""
    if created:
        wake()
    else:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"


def invalid(errors: list[dict[str, str]]) -> ApiError:
    """The 422 answer listing ``errors``."""
    n = len(errors)
    return ApiError(422, "invalid_input", f"{n} problem{'s' if n != 1 else ''} in the request", errors)


IDEMPOTENCY_PARAM: dict[str, Any] = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "resubmitting with the same key returns the same job",
    "schema": {"anyOf": [{"type": "string", "maxLength": 255}, {"type": "null"}],
               "description": "resubmitting with the same key returns the same job", "title": "Idempotency-Key"},
}

#: bodies larger than this are validated in the thread pool, so small requests are not stuck behind them
LARGE_BODY = 256_000


def parse_body(raw: bytes) -> Any:
    """The JSON of a request body, or the 422 naming what is wrong with it."""
    if not raw.strip():
        raise invalid([{"path": "", "message": "required field is missing (the request body is empty)"}])
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise invalid([{"path": "", "message": "the request body is not valid JSON"}]) from None


def json_response(model: BaseModel, status: int, headers: dict[str, str] | None = None) -> Response:
    """``model`` as JSON, serialised once by pydantic (FastAPI's response_model pass is skipped)."""
    return Response(model.model_dump_json().encode(), status_code=status, media_type="application/json",
                    headers=headers)


@router.post("", status_code=202, response_model=JobOut,
             openapi_extra={**request_body("JobRequest"), "parameters": [IDEMPOTENCY_PARAM],
                            "security": [{"APIKeyHeader": []}]},
             responses={200: {"model": JobOut, "description": "an earlier job with the same Idempotency-Key"}})
async def submit_job(request: Request) -> Response:
    """Queue a solve. Every problem in the input is reported at once (422)."""
    # the hot path of the API: no dependency injection, one JSON parse, one validation of the problem,
    # the job stored by the group-commit writer (api.submits), the answer serialised once
    state = request.app.state
    tenant = tenant_for(state.keys, request.headers.get("x-api-key"))
    key = request.headers.get("idempotency-key") or None  # an empty header is no key
    if key is not None and len(key) > 255:
        raise invalid([{"path": "header.Idempotency-Key", "message": "String should have at most 255 characters"}])
    settings: Settings = state.settings
    raw = await request.body()
    body = parse_body(raw)
    if len(raw) > LARGE_BODY:
        job, errors = await run_in_threadpool(check_job, body, settings, raw_size=len(raw))
    else:  # a few hundred microseconds of CPU: cheaper on the loop than a thread hop
        job, errors = check_job(body, settings, raw_size=len(raw))
    if job is None:
        raise invalid(errors)
    created = True
    if key is None:
        rec = await state.submits.create(tenant, job)
    else:
        try:
            rec, created = await run_in_threadpool(state.store.create_job, tenant, job, key)
        except IdempotencyConflict:
            raise idempotency_conflict() from None
    headers = {"Location": f"/v1/jobs/{rec.id}"}
    if created:
        state.wake()
        return Response(new_job_json(rec), status_code=202, media_type="application/json", headers=headers)
    headers["Idempotent-Replayed"] = "true"
    return json_response(job_out(rec), 200, headers)


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
