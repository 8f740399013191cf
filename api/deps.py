"""FastAPI dependencies: settings, store, dispatcher, the caller's tenant; the API's error type."""

from __future__ import annotations

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
    return tenant_for(request.app.state.keys, api_key)


def tenant_for(table: dict[str, str], api_key: str | None) -> str:
    """The tenant of ``api_key`` in ``table`` (``sha256(key)`` -> tenant); ``default`` when no keys are configured.

    The key is hashed and looked up in a dict: one SHA-256 and one hash-table probe per request, the
    same cost for any number of keys. Comparing digests (not keys) leaks nothing useful through timing.

    Raises
    ------
    ApiError
        401 when keys are configured and the key is missing or unknown.
    """
    if not table:
        return DEFAULT_TENANT
    if not api_key:
        raise ApiError(401, "unauthorized", "missing X-API-Key header", headers={"WWW-Authenticate": "API-Key"})
    tenant = table.get(hash_key(api_key))
    if tenant is None:
        raise ApiError(401, "unauthorized", "unknown API key", headers={"WWW-Authenticate": "API-Key"})
    return tenant


Tenant = Annotated[str, Depends(get_tenant)]
Store = Annotated[JobStore, Depends(get_store)]
AppSettings = Annotated[Settings, Depends(get_settings)]
MaybeDispatcher = Annotated["Dispatcher | None", Depends(get_dispatcher)]
