"""``POST /v1/check``: score a draft, per recipient (SPEC §4)."""

from __future__ import annotations

import time
import uuid

import anyio
from fastapi import APIRouter, Request

from model.mail import Address
from model.schemas import CheckRequest, CheckResponse
from model.settings import Settings
from service.deps import ClientDep, LoadedDep, MetricsDep, SettingsDep, StoreDep
from service.errors import ApiError
from service.logs import logger
from service.metrics import Metrics
from service.models import ErrorResponse
from service.state import Loaded
from service.store import FeedbackStore

router = APIRouter(prefix="/v1", tags=["check"])

# Keys that may become a metric label; anything else counts as "other" (bounded cardinality).
_SENSITIVE_LABELS = {"NIR", "IBAN", "PERSON", "BIRTH_DATE", "PHONE", "HEALTH", "EMAIL"}

ERROR_RESPONSES: dict[int | str, dict] = {
    400: {"model": ErrorResponse, "description": "Malformed JSON"},
    401: {"model": ErrorResponse, "description": "Missing or invalid API key"},
    413: {"model": ErrorResponse, "description": "Request or attachment too large"},
    422: {"model": ErrorResponse, "description": "Invalid request or message"},
    503: {"model": ErrorResponse, "description": "No model loaded yet"},
    504: {"model": ErrorResponse, "description": "Analysis timed out"},
}


def check_attachments(req: CheckRequest, settings: Settings) -> None:
    """413 when there are too many attachments or one decodes past the bound (checked on the
    base64 length, before decoding anything)."""
    if len(req.attachments) > settings.max_attachments:
        raise ApiError(413, "too_many_attachments", kind="too_large", limit=settings.max_attachments)
    for i, att in enumerate(req.attachments):
        b64 = att.content_base64
        decoded = len(b64) * 3 // 4 - b64[-2:].count("=") if b64 else 0
        if decoded > settings.max_attachment_bytes:
            raise ApiError(
                413, "attachment_too_large", kind="too_large", index=i + 1,
                limit=settings.max_attachment_bytes,
            )


def parse_address(value: object, where: str) -> str:
    """One normalised address (string or ``{"address", "name"}``); 422 naming the field."""
    raw = value.model_dump() if hasattr(value, "model_dump") else value
    addr = Address.parse(raw)  # type: ignore[arg-type]
    if addr is None:
        raise ApiError(422, "bad_address", field=where)
    return addr.address


def parse_addresses(req: CheckRequest) -> tuple[str, list[str]]:
    """Normalised sender and recipient addresses; 422 naming the field when one is invalid."""
    sender = parse_address(req.sender, "sender")
    rcpts = [parse_address(v, f) for f in ("to", "cc", "bcc") for v in getattr(req, f)]
    return sender, rcpts


def score(
    loaded: Loaded,
    req: CheckRequest,
    check_id: str,
    store: FeedbackStore,
    settings: Settings,
    metrics: Metrics,
) -> CheckResponse:
    """The thread-pool part of a check: sent-anyway history, scoring, audit bookkeeping."""
    sender, rcpts = parse_addresses(req)
    sent_anyway = store.sent_anyway(sender, rcpts)
    t0 = time.perf_counter()
    try:
        resp: CheckResponse = loaded.scorer.check(req, check_id=check_id, sent_anyway=sent_anyway)
    except RecursionError as exc:
        raise ApiError(422, "too_complex") from exc
    except ValueError as exc:
        # e.g. broken base64, an address the parser refuses: the client's own input.
        raise ApiError(422, "invalid_message", details=str(exc)[:300]) from exc
    metrics.check_latency.observe(time.perf_counter() - t0)
    for kind, count in resp.sensitive.items():
        if count:
            label = kind if kind in _SENSITIVE_LABELS else "other"
            metrics.sensitive.labels(label).inc(count)
    would = resp.verdict
    if settings.audit_mode:
        flagged = sum(r.verdict != "send" for r in resp.recipients)
        metrics.audit_verdicts.labels(would).inc()
        store.add_audit(
            check_id=check_id, would_verdict=would, risk=resp.risk, recipients=len(resp.recipients),
            flagged_recipients=flagged, model_version=resp.model_version,
        )
        # Answer "send" and show nothing: the admin measures false alarms before enabling.
        resp = resp.model_copy(
            update={
                "verdict": "send",
                "advice": [],
                "recipients": [
                    r.model_copy(update={"verdict": "send", "reasons": [], "suggestion": None})
                    for r in resp.recipients
                ],
            }
        )
    metrics.verdicts.labels(resp.verdict).inc()
    for r in resp.recipients:
        metrics.recipient_verdicts.labels(r.verdict).inc()
    logger.info(
        "check",
        extra={
            "check_id": check_id,
            "verdict": resp.verdict,
            "would_verdict": would,
            "risk": round(resp.risk, 4),
            "recipients": len(resp.recipients),
            "attachments": len(req.attachments),
            "sensitive_total": int(sum(resp.sensitive.values())),
            "model_version": resp.model_version,
            "elapsed_ms": resp.elapsed_ms,
        },
    )
    return resp


@router.post("/check", response_model=CheckResponse, responses=ERROR_RESPONSES)
async def check(
    body: CheckRequest,
    request: Request,
    _client: ClientDep,
    loaded: LoadedDep,
    store: StoreDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> CheckResponse:
    """Per-recipient risk that the draft goes to the wrong person, with reasons in French.

    The work is CPU-bound: it runs in a worker thread (bounded by ``check_concurrency``) so
    the event loop keeps answering health checks; past ``request_timeout_s`` the client gets
    a 504 and may send (the add-in fails open by default).
    """
    check_attachments(body, settings)
    check_id = uuid.uuid4().hex
    limiter: anyio.CapacityLimiter = request.app.state.check_limiter
    try:
        with anyio.fail_after(settings.request_timeout_s):
            return await anyio.to_thread.run_sync(
                score, loaded, body, check_id, store, settings, metrics,
                limiter=limiter, abandon_on_cancel=True,
            )
    except TimeoutError as exc:
        raise ApiError(504, "timeout", kind="timeout", seconds=settings.request_timeout_s) from exc
