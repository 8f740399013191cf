"""The jobs API: app factory :func:`create_app` and :func:`serve` (``salesplan serve``).

Settings come from ``SALESPLAN_*`` environment variables (:class:`api.settings.Settings`). OpenAPI is
at ``/openapi.json`` and ``/docs``; the problem and solution schemas are those of ``optimizer.model``.
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import ApiError
from api.diagnostics import Diagnostics
from api.dispatcher import Dispatcher
from api.executors import make_executor
from api.routes import batches, jobs, system
from api.schemas import BatchRequest, ErrorResponse, JobRequest
from api.settings import Settings
from api.store import SqlJobStore
from api.submits import SubmitQueue
from api.wakeup import WakeListener, noop, wake_sender
from optimizer.errors import ErrorItem, InputError, format_path

log = logging.getLogger("salesplan.api")

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in ((401, "missing or unknown API key"), (404, "no such job, batch or kind for this tenant"),
                       (409, "conflict (not ready, already finished, Idempotency-Key reused)"),
                       (413, "request body too large"), (422, "invalid input: every offending field"))
}


#: A valid request shown in the docs (and used by API fuzzers as a seed).
EXAMPLE_JOB: dict[str, Any] = {
    "kind": "routes",
    "problem": {
        "reps": [{"id": "r1", "start": {"x": 0, "y": 0}}],
        "outlets": [{"id": f"o{i}", "location": {"x": x, "y": y}, "service_minutes": 10}
                    for i, (x, y) in enumerate([(10, 0), (0, 10), (-10, 0)])],
        "travel": {"metric": "euclidean"},
    },
    "options": {"time_limit_s": 5, "seed": 0},
}


@dataclass
class HttpStats:
    """Request counters for ``/metrics`` (per server process, not job state)."""

    requests: dict[tuple[str, str, int], int] = field(default_factory=dict)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, route: str, code: int, dt: float) -> None:
        """Count one request."""
        with self.lock:
            key = (method, route, code)
            self.requests[key] = self.requests.get(key, 0) + 1
            self.seconds += dt

    def reset(self) -> None:
        """Forget every counted request (used after the start-up warm-up, which is not a client's)."""
        with self.lock:
            self.requests.clear()
            self.seconds = 0.0


def _json_bytes(status: int, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    data = json.dumps(body).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]}
    return start, {"type": "http.response.body", "body": data}


class BodyLimitMiddleware:
    """Answer 413 to request bodies larger than ``max_bytes`` (by Content-Length or as they stream in).

    Also counts requests for ``/metrics`` (a plain ASGI middleware: cheaper than ``@app.middleware``).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, stats: HttpStats | None = None,
                 diagnostics: Diagnostics | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.stats = stats
        self.diagnostics = diagnostics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.stats is None:
            await self._limited(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def recording_send(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
            await send(msg)

        try:
            await self._limited(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            t1 = time.perf_counter()
            self.stats.add(scope["method"], getattr(route, "path", "unmatched"), status, t1 - t0)
            if self.diagnostics is not None:
                self.diagnostics.request(t0, t1, status)

    def _too_big(self) -> dict[str, Any]:
        return {"code": "too_large", "message": f"request body larger than {self.max_bytes} bytes", "errors": []}

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                if declared is not None and declared > self.max_bytes:
                    start, body = _json_bytes(413, self._too_big())
                    await send(start)
                    await send(body)
                    return
        if declared is not None:
            # the HTTP server delivers no more than Content-Length bytes: nothing to count (the usual case)
            await self.app(scope, receive, send)
            return
        seen = 0
        over = False

        async def limited() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    # end the body here; the app's answer to the cut body is replaced by a 413 below
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return msg

        async def guarded_send(msg: Message) -> None:
            if over:
                if msg["type"] == "http.response.start":
                    start, body = _json_bytes(413, self._too_big())
                    await send(start)
                    await send(body)
                return
            await send(msg)

        await self.app(scope, limited, guarded_send)


def _error_response(status: int, code: str, message: str, errors: list[dict[str, str]] | None = None,
                    headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "errors": errors or []}, status_code=status,
                        headers=headers)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc.status, exc.code, exc.message, exc.errors, exc.headers)

    @app.exception_handler(InputError)
    async def _input_error(_: Request, exc: InputError) -> JSONResponse:
        return _error_response(422, exc.code, "invalid input", [e.to_dict() for e in exc.errors])

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        items: list[dict[str, str]] = []
        for e in exc.errors():
            loc = list(e.get("loc", ()))
            if loc and loc[0] == "body":
                loc = loc[1:]
            path = format_path([p for p in loc if isinstance(p, int | str)])
            msg = "required field is missing" if e.get("type") == "missing" else str(e.get("msg", "invalid"))
            if e.get("type") == "extra_forbidden":
                msg = "unknown field (check the spelling)"
            items.append(ErrorItem(path, msg).to_dict())
        n = len(items)
        return _error_response(422, "invalid_input", f"{n} problem{'s' if n != 1 else ''} in the request", items)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not decode the body: bad input like any other
            return _error_response(422, "invalid_input", "the request body could not be read as JSON",
                                   [{"path": "", "message": "the request body is not valid JSON"}])
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # one path may be served by several routes (GET and DELETE /v1/jobs/{id}): list them all
            allowed: set[str] = set()
            for route in request.app.routes:
                match, _ = route.matches({**request.scope, "method": "GET"})
                if match != Match.NONE:
                    allowed |= set(getattr(route, "methods", None) or ())
                for m in getattr(route, "methods", None) or ():
                    if route.matches({**request.scope, "method": m})[0] == Match.FULL:
                        allowed.add(m)
            headers["Allow"] = ", ".join(sorted(allowed))
        return _error_response(exc.status_code, code, str(exc.detail), headers=headers or None)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error_response(500, "internal", "internal error (logged on the server)")


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """OpenAPI with the optimizer's problem and solution schemas as components."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from optimizer.model import PROBLEMS, SOLUTIONS, kinds

        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        ks = kinds()
        models = [(PROBLEMS[k], "validation") for k in ks] + [(SOLUTIONS[k], "serialization") for k in ks]
        models += [(JobRequest, "validation"), (BatchRequest, "validation")]
        _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
        comps = spec.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in defs.get("$defs", {}).items():
            comps.setdefault(name, schema)
        refs = [{"$ref": f"#/components/schemas/{PROBLEMS[k].__name__}"} for k in ks]
        # documentation only: the server validates the problem itself to report every field at once
        if "JobRequest" in comps:
            comps["JobRequest"]["properties"]["kind"] = {"type": "string", "enum": ks, "title": "Kind"}
            comps["JobRequest"]["properties"]["problem"]["description"] = (
                "a problem of the given kind: " + ", ".join(f"{k} -> {PROBLEMS[k].__name__}" for k in ks))
            comps["JobRequest"]["examples"] = [EXAMPLE_JOB]
        if "BatchRequest" in comps:
            comps["BatchRequest"]["examples"] = [{"jobs": [EXAMPLE_JOB, EXAMPLE_JOB], "options": {"time_limit_s": 5}}]
        spec["info"]["x-problem-schemas"] = refs
        _add_links(spec)
        app.openapi_schema = spec
        return spec

    return build


def _add_links(spec: dict[str, Any]) -> None:
    """OpenAPI links from a submission to what can be done with its id (clients and fuzzers follow them)."""
    paths = spec.get("paths", {})
    job_ops = {"GetJob": ("/v1/jobs/{job_id}", "get"), "GetResult": ("/v1/jobs/{job_id}/result", "get"),
               "GetEvents": ("/v1/jobs/{job_id}/events", "get"), "CancelJob": ("/v1/jobs/{job_id}", "delete")}
    links = {name: {"operationId": paths[p][m]["operationId"], "parameters": {"job_id": "$response.body#/id"}}
             for name, (p, m) in job_ops.items() if m in paths.get(p, {})}
    for code in ("200", "202"):
        resp = paths.get("/v1/jobs", {}).get("post", {}).get("responses", {}).get(code)
        if resp is not None:
            resp["links"] = links
    batch = paths.get("/v1/batches/{batch_id}", {}).get("get")
    for code in ("200", "202"):
        resp = paths.get("/v1/batches", {}).get("post", {}).get("responses", {}).get(code)
        if resp is not None and batch is not None:
            resp["links"] = {"GetBatch": {"operationId": batch["operationId"],
                                          "parameters": {"batch_id": "$response.body#/id"}}}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API.

    Parameters
    ----------
    settings
        Server settings; default: from the environment.

    Returns
    -------
    fastapi.FastAPI
        The app; the dispatcher (and its executor) starts with the app's lifespan.
    """
    settings = settings or Settings()
    keys = settings.key_table()
    # SQLite: checkpoints by the dispatcher's thread (here or in the supervisor), never in a commit on the loop
    store = SqlJobStore(settings.database_url,
                        manual_checkpoint=settings.start_dispatcher or settings.wake_port is not None)
    diag = Diagnostics(settings.diagnostics_file) if settings.diagnostics_file is not None else None
    submits = SubmitQueue(store, diagnostics=diag)
    if settings.supervisor_pid is not None:
        _exit_with_supervisor(settings.supervisor_pid)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dispatcher: Dispatcher | None = None
        if settings.start_dispatcher:
            dispatcher = Dispatcher(store, make_executor(settings), settings)
            dispatcher.start()
            app.state.wake = dispatcher.wake
        elif settings.wake_port is not None:  # the dispatcher is the supervisor's
            app.state.wake = wake_sender(settings.wake_port)
        app.state.dispatcher = dispatcher
        if settings.warm_up:
            await _warm_up(app)
        # what is alive now lives until the end: keep it out of the cyclic GC's full collections (shorter pauses)
        gc.collect()
        gc.freeze()
        if diag is not None:
            diag.start()
        try:
            yield
        finally:
            if diag is not None:
                diag.stop()
            if dispatcher is not None:
                dispatcher.stop()
            app.state.dispatcher = None
            app.state.wake = noop

    app = FastAPI(
        title="salesplan jobs API",
        version="0.1.0",
        description="Submit staffing, territory, route and pipeline solves as jobs; follow, cancel and fetch them.",
        lifespan=lifespan,
        responses=_ERRORS,
        # FastAPI's OpenTelemetry bridge checks the global providers on every request: on only when asked
        telemetry=None if settings.otel else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.store = store
    app.state.keys = keys
    app.state.dispatcher = None
    app.state.submits = submits
    app.state.wake = noop
    app.state.http_stats = HttpStats()
    _install_handlers(app)
    app.include_router(jobs.router)
    app.include_router(batches.router)
    app.include_router(system.router)

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes, stats=app.state.http_stats,
                       diagnostics=diag)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app


async def _warm_up(app: FastAPI) -> None:
    """Pay the first submission's one-time costs at startup, not in the first clients' latency.

    The first validation imports the solvers' model helpers (numpy among them, about 200 ms), FastAPI
    inspects an endpoint on its first call, SQLAlchemy compiles the insert: with 32 clients connecting
    at once, all 32 first answers waited for that. Here: one validation of the example job, one invalid
    submission through the whole ASGI stack (a 422; nothing stored, not counted in ``/metrics``), the
    insert in a rolled-back transaction, one rendered answer. Failures are logged, never fatal.
    """
    from api.routes.jobs import check_job
    from api.schemas import new_job_json
    from api.store import JobRecord

    state = app.state
    try:
        check_job(EXAMPLE_JOB, state.settings)
        new_job_json(JobRecord(id="0" * 32, tenant="warm-up", kind="routes", status="queued", options={},
                               attempts=0, created_at=time.time(), started_at=None, finished_at=None, progress=None,
                               error=None, cancel_requested=False, has_result=False, batch_id=None,
                               idempotency_key=None))
        await run_in_threadpool(state.store.warm_up)
        sent: list[Message] = []
        body = [{"type": "http.request", "body": b"{}", "more_body": False}]

        async def receive() -> Message:
            return body.pop() if body else {"type": "http.disconnect"}

        async def send(msg: Message) -> None:
            sent.append(msg)

        scope: Scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                        "scheme": "http", "path": "/v1/jobs", "raw_path": b"/v1/jobs", "root_path": "",
                        "query_string": b"", "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0),
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
                        "state": {}, "extensions": {}}
        stats: HttpStats = state.http_stats
        await app(scope, receive, send)
        stats.reset()  # the warm-up is not a client's request
    except Exception:
        log.warning("warm-up failed (the first submissions will be slower)", exc_info=True)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _exit_with_supervisor(pid: int) -> None:
    """In an HTTP process of ``serve --workers N``: exit when the supervisor ``pid`` dies (even by ``kill -9``).

    Its dispatcher and solver workers die with it; an HTTP process left behind would keep accepting
    jobs nobody runs until a restart, and keep the port.
    """

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != pid:
                os._exit(0)

    threading.Thread(target=watch, name="salesplan-supervisor-watch", daemon=True).start()


def _uvicorn_options() -> dict[str, Any]:
    """uvloop and httptools when installed (they are pinned dependencies), else uvicorn's pure-Python ones."""
    opts: dict[str, Any] = {}
    for name, module in (("loop", "uvloop"), ("http", "httptools")):
        try:
            __import__(module)
            opts[name] = module
        except ImportError:
            opts[name] = "auto"
    return opts


def serve(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None,
          workers: int | None = None) -> None:
    """Run the API with uvicorn (``salesplan serve``).

    Parameters
    ----------
    host
        Address to bind; without API keys only loopback addresses are allowed.
    port
        TCP port.
    settings
        Server settings; default: from the environment.
    workers
        HTTP server processes; default ``settings.server_workers`` (``SALESPLAN_SERVER_WORKERS``). With
        more than one, this process becomes their supervisor and runs the one dispatcher (job recovery,
        claims, the executor and its worker cap); the HTTP processes only validate, store and answer.

    Raises
    ------
    InputError
        When asked to bind a non-loopback address without API keys, or on malformed key settings.
    """
    import uvicorn

    settings = settings or Settings()
    n = settings.server_workers if workers is None else workers
    if n < 1:
        raise InputError([ErrorItem("workers", f"must be at least 1, not {n}")])
    try:
        settings.key_table()
    except (ValueError, OSError) as exc:
        raise InputError([ErrorItem("SALESPLAN_API_KEYS", str(exc))]) from None
    if not settings.auth_enabled and not is_loopback(host):
        raise InputError([ErrorItem("host", f"refusing to bind {host} without API keys: set SALESPLAN_API_KEYS "
                                            "(key:tenant,...) or SALESPLAN_API_KEYS_FILE, or bind 127.0.0.1")])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # no per-request access log by default (a formatted line per request is a few percent of a submit's
    # CPU; /metrics counts requests); no proxy-header rewriting (the API never uses the client address)
    opts: dict[str, Any] = {"host": host, "port": port, "log_level": "info", "timeout_graceful_shutdown": 5,
                            "access_log": settings.access_log, "proxy_headers": False, **_uvicorn_options()}
    if n == 1:
        uvicorn.run(create_app(settings), **opts)
        return
    _serve_many(n, settings, opts)


def _http_process(host: str, port: int, opts: dict[str, Any]) -> None:
    """One HTTP process of ``serve --workers N``: its own ``SO_REUSEPORT`` socket, then uvicorn.

    Each process listens on its own socket and the kernel spreads new connections over them. With one
    shared socket (uvicorn's own ``--workers``), a burst of connections is accepted by whichever process
    wakes first, and long-lived keep-alive clients then all load that one process.
    """
    import socket

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        log.error("HTTP process %d cannot bind %s:%d: %s", os.getpid(), host, port, exc)
        raise SystemExit(3) from None
    config = uvicorn.Config("api.main:create_app", factory=True, host=host, port=port, **opts)
    uvicorn.Server(config).run(sockets=[sock])


def _serve_many(n: int, settings: Settings, opts: dict[str, Any]) -> None:
    """Supervise ``n`` HTTP processes (restarting any that dies); run the only dispatcher here."""
    import multiprocessing
    import signal
    import socket

    if not hasattr(socket, "SO_REUSEPORT"):
        raise InputError([ErrorItem("workers", "several HTTP processes need SO_REUSEPORT (Linux, BSD, macOS)")])
    store = SqlJobStore(settings.database_url)  # creates the tables once, before the HTTP processes start
    dispatcher: Dispatcher | None = None
    listener = WakeListener()
    if settings.start_dispatcher:
        dispatcher = Dispatcher(store, make_executor(settings), settings)
        dispatcher.start()  # recovers the jobs of a stopped server: once, here
        listener.start(dispatcher.wake)
    # the HTTP processes are spawned: they read their settings from the environment
    env = {f"SALESPLAN_{k.upper()}": str(v) for k, v in settings.model_dump().items() if v is not None}
    env.update(SALESPLAN_START_DISPATCHER="false", SALESPLAN_WAKE_PORT=str(listener.port),
               SALESPLAN_SUPERVISOR_PID=str(os.getpid()), SALESPLAN_SERVER_WORKERS="1")
    os.environ.update(env)
    log.info("supervisor %d: %d HTTP processes, dispatcher here (wake-ups on udp 127.0.0.1:%d)", os.getpid(), n,
             listener.port)
    ctx = multiprocessing.get_context("spawn")
    host, port = opts.pop("host"), opts.pop("port")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}

    def spawn() -> multiprocessing.process.BaseProcess:
        proc = ctx.Process(target=_http_process, args=(host, port, opts), name="salesplan-http", daemon=False)
        proc.start()
        return proc

    procs = [spawn() for _ in range(n)]
    try:
        while not stop.wait(0.5):
            for k, proc in enumerate(procs):
                if proc.is_alive():
                    continue
                if proc.exitcode == 3:  # could not bind: nothing a restart would fix
                    log.error("an HTTP process could not bind %s:%d; stopping", host, port)
                    stop.set()
                    break
                log.warning("HTTP process %s exited (%s); starting another", proc.pid, proc.exitcode)
                procs[k] = spawn()
    finally:
        for proc in procs:  # graceful: uvicorn finishes the requests in flight
            if proc.is_alive() and proc.pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.join(timeout=float(opts.get("timeout_graceful_shutdown") or 5) + 5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listener.close()
        if dispatcher is not None:
            dispatcher.stop()
        store.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m api.main [--host H] [--port P] [--workers N]`` (the same as ``salesplan serve``)."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m api.main", description="salesplan jobs API")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--workers", type=int, default=None,
                    help="HTTP server processes (default: SALESPLAN_SERVER_WORKERS, 1)")
    args = ap.parse_args(argv)
    try:
        serve(host=args.host, port=args.port, workers=args.workers)
    except InputError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
