"""The FastAPI application factory.

``uvicorn service.app:create_app --factory`` (what ``misdirect serve`` runs) builds the app
from the environment's settings. Nothing is loaded at import: the model bundle and the NLP
pipeline are loaded in the lifespan, and ``/readyz`` turns 200 only once they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from model.settings import Settings, get_settings
from service.errors import ApiError, install_error_handlers
from service.keys import KeyStore
from service.logs import configure_logging, logger
from service.metrics import Metrics
from service.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from service.routes import check, learn, ops
from service.state import ScorerHolder, limit_malloc_arenas, read_generation, start_memory_trimmer
from service.store import FeedbackStore

DESCRIPTION = """\
Per-recipient risk that an e-mail is going to the wrong person (French health centres).

Every endpoint except `/healthz`, `/readyz` and `/metrics` needs `Authorization: Bearer <key>`
(keys from `misdirect keys create` or the `MISDIRECT_API_KEYS` environment variable).
Errors are JSON `{"detail": "..."}` in French by default.
"""


async def _follow_reloads(app: FastAPI, period: float) -> None:
    """Poll the generation file so every worker loads a bundle another worker was told to."""
    holder: ScorerHolder = app.state.holder
    while True:
        await asyncio.sleep(period)
        gen = read_generation(app.state.settings)
        if gen is None or gen[0] == holder.generation_seen:
            continue
        holder.generation_seen = gen[0]
        logger.info("reload requested by another worker", extra={"generation": gen[0]})
        with contextlib.suppress(ApiError):
            await anyio.to_thread.run_sync(ops.reload_model, app, gen[1], False)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    limit_malloc_arenas()
    start_memory_trimmer()
    app.state.store = FeedbackStore(settings.feedback_url or settings.history_url)
    app.state.check_limiter = anyio.CapacityLimiter(settings.check_concurrency)
    holder: ScorerHolder = app.state.holder
    seen = read_generation(settings)
    holder.generation_seen = seen[0] if seen else None
    try:
        await anyio.to_thread.run_sync(ops.reload_model, app, None, False)
    except ApiError:
        # Stay up and say so: /readyz answers 503, /v1/check 503, a reload can fix it.
        logger.error("no model loaded at start-up", extra={"model_dir": str(settings.model_dir)})
    tasks: list[asyncio.Task] = []
    if settings.reload_poll_s > 0:
        tasks.append(asyncio.create_task(_follow_reloads(app, settings.reload_poll_s)))
    hup = _install_sighup(app)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        if hup:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        app.state.store.close()


def _install_sighup(app: FastAPI) -> bool:
    """SIGHUP reloads the bundle (single-worker mode; the multi-worker supervisor already
    handles SIGHUP with a rolling restart). Not possible outside the main thread (tests)."""
    loop = asyncio.get_running_loop()

    def on_hup() -> None:
        logger.info("SIGHUP: reloading the model")

        async def run() -> None:
            with contextlib.suppress(ApiError):
                # Every worker got the signal: no need to tell the others.
                await anyio.to_thread.run_sync(ops.reload_model, app, None, False)

        app.state.hup_task = loop.create_task(run())

    try:
        loop.add_signal_handler(signal.SIGHUP, on_hup)
    except (RuntimeError, ValueError, NotImplementedError, AttributeError):
        return False
    return True


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API: routes, auth, limits, CORS, logging, metrics; the model loads in the
    lifespan (``with TestClient(app)`` or a uvicorn server)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="misdirect",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.language = settings.language
    app.state.metrics = metrics = Metrics()
    app.state.keys = KeyStore(settings.key_store, settings.api_keys)
    app.state.holder = ScorerHolder(settings)

    install_error_handlers(app)
    app.include_router(check.router)
    app.include_router(learn.router)
    app.include_router(ops.admin_router)
    app.include_router(ops.health_router)

    # Outermost last: request id/log/metrics → CORS → body bound → routes.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        metrics=metrics,
        language=settings.language,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID"],
        allow_credentials=False,
        max_age=600,
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)

    # The Outlook add-in's static files, when that module is present.
    if importlib.util.find_spec("service.addin_files") is not None:
        from service.addin_files import mount_addin

        mount_addin(app, settings)
    return app
