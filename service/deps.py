"""Dependencies and their ``Annotated`` aliases (``SettingsDep``, ``ScorerDep``, ``ClientDep``...)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from model.settings import Settings
from service.errors import ApiError
from service.keys import KeyStore, Principal
from service.metrics import Metrics
from service.state import Loaded, ScorerHolder
from service.store import FeedbackStore

# auto_error=False: we answer 401 ourselves, in French, with WWW-Authenticate.
_bearer = HTTPBearer(auto_error=False, description="Clé d'API : `Authorization: Bearer <clé>`")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_holder(request: Request) -> ScorerHolder:
    return request.app.state.holder


def get_store(request: Request) -> FeedbackStore:
    return request.app.state.store


def get_loaded(request: Request) -> Loaded:
    """The scorer being served (503 until one is loaded)."""
    loaded = request.app.state.holder.current
    if loaded is None:
        raise ApiError(503, "not_ready", kind="not_ready", headers={"Retry-After": "2"})
    return loaded


def require_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller's principal from ``Authorization: Bearer <key>``; 401 otherwise."""
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "no_key", kind="auth", headers=_CHALLENGE)
    keys: KeyStore = request.app.state.keys
    principal = keys.verify(credentials.credentials[:512])
    if principal is None:
        raise ApiError(401, "bad_key", kind="auth", headers=_CHALLENGE)
    return principal


def require_admin(principal: Annotated[Principal, Depends(require_key)]) -> Principal:
    """Admin keys only (``misdirect keys create --admin`` or ``MISDIRECT_API_KEYS``)."""
    if principal.role != "admin":
        raise ApiError(403, "admin_only", kind="auth")
    return principal


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
HolderDep = Annotated[ScorerHolder, Depends(get_holder)]
StoreDep = Annotated[FeedbackStore, Depends(get_store)]
LoadedDep = Annotated[Loaded, Depends(get_loaded)]
ClientDep = Annotated[Principal, Depends(require_key)]
AdminDep = Annotated[Principal, Depends(require_admin)]

__all__ = [
    "AdminDep",
    "ClientDep",
    "HolderDep",
    "LoadedDep",
    "MetricsDep",
    "SettingsDep",
    "StoreDep",
]
