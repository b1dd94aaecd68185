"""Operations: ``/healthz``, ``/readyz``, ``/metrics`` (no key) and ``/v1/admin/*`` (admin key)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.deps import AdminDep, HolderDep, MetricsDep, SettingsDep, StoreDep
from service.errors import ApiError
from service.logs import logger
from service.models import AuditSummary, ErrorResponse, ReadyResponse, ReloadRequest, ReloadResponse
from service.state import publish_generation

health_router = APIRouter(tags=["health"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])


@health_router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@health_router.get(
    "/readyz", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}}
)
async def readyz(holder: HolderDep, settings: SettingsDep) -> JSONResponse:
    """Readiness: 200 once the bundle and the NLP pipeline are loaded, 503 before."""
    current = holder.current
    body = ReadyResponse(
        status="ready" if current else "not_ready",
        model_version=current.model_version if current else None,
        audit_mode=settings.audit_mode,
        worker=os.getpid(),
    )
    return JSONResponse(body.model_dump(), status_code=200 if current else 503)


@health_router.get("/metrics", response_class=Response)
async def metrics_endpoint(metrics: MetricsDep) -> Response:
    """Prometheus metrics (counts and timings only)."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def reload_model(app: FastAPI, model_dir: Path | None, publish: bool) -> ReloadResponse:
    """Load a bundle, swap it in, update metrics; on failure keep the old one (409)."""
    holder, metrics, settings = app.state.holder, app.state.metrics, app.state.settings
    previous = holder.current.model_version if holder.current else None
    target = Path(model_dir) if model_dir else Path(settings.model_dir)
    try:
        loaded = holder.load(target)
    except Exception as exc:
        metrics.reloads.labels("failed").inc()
        # A load error is about bundle files, never message content: keep its text and stack.
        logger.error("model reload failed", exc_info=exc,
                     extra={"model_dir": str(target), "error": str(exc)[:500]})
        raise ApiError(409, "reload_failed", kind="reload", error=type(exc).__name__) from exc
    metrics.reloads.labels("ok").inc()
    metrics.set_model(loaded.model_version, loaded.loaded_at)
    if publish:
        holder.generation_seen = publish_generation(settings, target)
    return ReloadResponse(
        model_version=loaded.model_version,
        previous_version=previous,
        load_seconds=round(loaded.load_seconds, 3),
    )


@admin_router.post(
    "/reload",
    response_model=ReloadResponse,
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
               409: {"model": ErrorResponse}},
)
def reload(
    request: Request,
    _admin: AdminDep,
    body: Annotated[ReloadRequest | None, Body()] = None,
) -> ReloadResponse:
    """Load the champion bundle (or ``model_dir``) and swap it in without failing a request in
    flight; the other workers follow within ``reload_poll_s``."""
    model_dir = Path(body.model_dir) if body and body.model_dir else None
    return reload_model(request.app, model_dir, publish=True)


@admin_router.get(
    "/audit",
    response_model=AuditSummary,
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
)
def audit(
    _admin: AdminDep,
    store: StoreDep,
    settings: SettingsDep,
    since: Annotated[datetime | None, Query(description="Only checks from this date on")] = None,
) -> AuditSummary:
    """Audit mode: how often the model would have warned or blocked (all workers, from the
    audit table), to measure the false-alarm rate before switching warnings on."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    summary = store.audit_summary(since)
    return AuditSummary(
        audit_mode=settings.audit_mode, since=since.isoformat() if since else None, **summary
    )
