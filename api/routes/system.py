"""Validation, health and metrics endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import ApiError, AppSettings, MaybeDispatcher, Store, Tenant
from api.routes.jobs import count_items, invalid
from api.schemas import Health, ValidationOut
from api.settings import Settings
from api.store import STATUSES
from optimizer.errors import InputError
from optimizer.model import kinds, parse

router = APIRouter(tags=["system"])


@router.post("/v1/validate/{kind}", response_model=ValidationOut)
def validate(
    kind: str,
    tenant: Tenant,
    settings: AppSettings,
    problem: dict[str, Any] = Body(description="the problem JSON of that kind"),
) -> ValidationOut:
    """Validate a problem without solving it: 200 when valid, 422 listing every offending field."""
    if kind not in kinds():
        raise ApiError(404, "not_found", f"unknown kind {kind!r}; use one of {', '.join(kinds())}")
    size = count_items(problem)
    if size > settings.max_problem_items:
        raise invalid([{"path": "", "message": f"{size} items exceed this server's limit of "
                        f"{settings.max_problem_items}"}])
    try:
        parse(kind, problem)
    except InputError as exc:
        raise invalid([e.to_dict() for e in exc.errors]) from None
    summary = {k: len(v) for k, v in problem.items() if isinstance(v, list)}
    return ValidationOut(valid=True, kind=kind, summary=summary)


def running_solves(store: Any, settings: Settings, dispatcher: Any) -> int:
    """Solves this server runs now: its dispatcher's count, or, in an HTTP process of ``serve --workers N``
    (the dispatcher is the supervisor's), the running jobs in the store."""
    if dispatcher is not None:
        return int(dispatcher.running)
    if settings.wake_port is not None:
        return sum(n for (_, st), n in store.counts().items() if st == "running")
    return 0


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(request: Request, store: Store, settings: AppSettings, dispatcher: MaybeDispatcher) -> Any:
    """Liveness: the database answers and the dispatcher runs."""
    db = "ok"
    running = 0
    try:
        store.ping()
        running = running_solves(store, settings, dispatcher)
    except Exception:
        db = "unreachable"
    body = Health(status="ok" if db == "ok" else "degraded", database=db, executor=settings.executor,
                  workers=settings.workers, running=running)
    if db != "ok":
        return JSONResponse(body.model_dump(), status_code=503)
    return body


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@router.get("/metrics", response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(request: Request, store: Store, settings: AppSettings, dispatcher: MaybeDispatcher) -> PlainTextResponse:
    """Prometheus text exposition: jobs by kind and status, running solves, HTTP requests."""
    lines = ["# HELP salesplan_jobs Jobs in the store by kind and status.", "# TYPE salesplan_jobs gauge"]
    counts = store.counts()
    for kind in sorted({k for k, _ in counts} | set(kinds())):
        for st in STATUSES:
            lines.append(f'salesplan_jobs{{kind="{_esc(kind)}",status="{st}"}} {counts.get((kind, st), 0)}')
    lines += ["# HELP salesplan_workers Server-wide cap on simultaneous solves.", "# TYPE salesplan_workers gauge",
              f"salesplan_workers {settings.workers}",
              "# HELP salesplan_running Solves this server runs now.", "# TYPE salesplan_running gauge",
              f"salesplan_running {running_solves(store, settings, dispatcher)}",
              "# HELP salesplan_dispatched_total Solves finished by this server since it started.",
              "# TYPE salesplan_dispatched_total counter",
              f"salesplan_dispatched_total {dispatcher.completed if dispatcher else 0}"]
    stats = request.app.state.http_stats
    lines += ["# HELP salesplan_http_requests_total HTTP requests by method, route and status.",
              "# TYPE salesplan_http_requests_total counter"]
    for (method, route, code), n in sorted(stats.requests.items()):
        lines.append(f'salesplan_http_requests_total{{method="{method}",route="{_esc(route)}",code="{code}"}} {n}')
    lines += ["# HELP salesplan_http_request_seconds Time spent answering HTTP requests.",
              "# TYPE salesplan_http_request_seconds summary",
              f"salesplan_http_request_seconds_sum {stats.seconds:.6f}",
              f"salesplan_http_request_seconds_count {sum(stats.requests.values())}"]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

