"""FastAPI dependencies: settings, store, dispatcher, the caller's tenant; the API's error type."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from api.dispatcher import Dispatcher
from api.settings import Settings, hash_key
from api.store import JobStore

DEFAULT_TENANT = "default"

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (maps to a tenant)")


class ApiError(Exception):
    """An error answer with a stable ``code`` (rendered as :class:`api.schemas.ErrorResponse`).

    Parameters
    ----------
    status
        HTTP status.
    code
        Stable machine-readable code.
    message
        Plain-language message.
    errors
        Offending fields, ``[{"path", "message"}]``.
    """

    def __init__(self, status: int, code: str, message: str, errors: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []
        self.headers = headers
        self.extra = extra or {}


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    s: Settings = request.app.state.settings
    return s


async def get_store(request: Request) -> JobStore:
    """The app's job store."""
    s: JobStore = request.app.state.store
    return s


async def get_dispatcher(request: Request) -> Dispatcher | None:
    """The app's dispatcher (None when disabled)."""
    d: Dispatcher | None = request.app.state.dispatcher
    return d


async def get_tenant(request: Request, api_key: Annotated[str | None, Depends(api_key_header)]) -> str:
    """The caller's tenant: from ``X-API-Key`` when keys are configured, else ``default``.

    Dependencies are ``async`` (they never block) so they run on the event loop, not in the thread pool.

    Raises
    ------
    ApiError
        401 when keys are configured and the key is missing or unknown.
    """
    table: dict[str, str] = request.app.state.keys
    if not table:
        return DEFAULT_TENANT
    if not api_key:
        raise ApiError(401, "unauthorized", "missing X-API-Key header", headers={"WWW-Authenticate": "API-Key"})
    digest = hash_key(api_key)
    for known, tenant in table.items():
        if hmac.compare_digest(known, digest):
            return tenant
    raise ApiError(401, "unauthorized", "unknown API key", headers={"WWW-Authenticate": "API-Key"})


Tenant = Annotated[str, Depends(get_tenant)]
Store = Annotated[JobStore, Depends(get_store)]
AppSettings = Annotated[Settings, Depends(get_settings)]
MaybeDispatcher = Annotated["Dispatcher | None", Depends(get_dispatcher)]
