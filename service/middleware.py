"""Pure ASGI middleware: request id + access log + request metrics, and the body-size bound.

Pure ASGI (not ``BaseHTTPMiddleware``) so the body is streamed once and the request id
contextvar is visible to the endpoint, its thread pool and the exception handlers.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from service.i18n import message
from service.logs import logger, request_id_var
from service.metrics import Metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


async def send_json(send: Send, status: int, body: dict, headers: list | None = None) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Gives each request an id (``X-Request-ID`` if sane, else a new one), echoes it in the
    response, logs one JSON line per request (route template, status, duration: no content)
    and feeds the request counters."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        status = 500
        t0 = time.perf_counter()

        async def send_wrapper(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
                msg.setdefault("headers", [])
                msg["headers"] = [*msg["headers"], (b"x-request-id", rid.encode())]
            await send(msg)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - t0
            route = scope.get("route")
            # The route template (/v1/check), never the raw path: unknown paths collapse.
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.request_latency.labels(template).observe(elapsed)
            if template not in ("/metrics", "/healthz", "/readyz"):
                logger.info(
                    "request",
                    extra={
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """413 past ``max_bytes``: from Content-Length up front, else while reading the stream.

    The body is read fully (bounded) before the app runs, then replayed, so an over-long
    chunked body is refused cleanly instead of half-way through JSON parsing.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, metrics: Metrics, language: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.metrics = metrics
        self.language = language

    async def _refuse(self, send: Send) -> None:
        self.metrics.errors.labels("too_large").inc()
        await send_json(
            send,
            413,
            {"detail": message("too_large", self.language, limit=self.max_bytes)},
            headers=[(b"connection", b"close")],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                await send_json(send, 400, {"detail": message("bad_length", self.language)})
                return
            if declared > self.max_bytes:
                await self._refuse(send)
                return
        chunks: list[bytes] = []
        total = 0
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunk = msg.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = msg.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for disconnect as usual

        await self.app(scope, replay, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None
