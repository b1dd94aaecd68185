"""Learning from use: ``POST /v1/sent`` (history profiles) and ``POST /v1/feedback``."""

from __future__ import annotations

from fastapi import APIRouter

from model.schemas import FeedbackRequest, SentRequest
from service.deps import ClientDep, LoadedDep, MetricsDep, SettingsDep, StoreDep
from service.errors import ApiError
from service.logs import logger
from service.models import FeedbackResponse, SentResponse
from service.routes.check import (
    ERROR_RESPONSES,
    check_attachments,
    parse_address,
    parse_addresses,
)

router = APIRouter(prefix="/v1", tags=["learning"])


@router.post("/sent", response_model=SentResponse, status_code=202, responses=ERROR_RESPONSES)
def sent(
    body: SentRequest,
    _client: ClientDep,
    loaded: LoadedDep,
    settings: SettingsDep,
    metrics: MetricsDep,
) -> SentResponse:
    """A message that left: updates the sender's history profiles (addresses, counts, dates,
    topic vectors; never the text). Runs in the thread pool (``def`` endpoint)."""
    check_attachments(body, settings)
    parse_addresses(body)
    try:
        loaded.scorer.learn(body)
    except RecursionError as exc:
        raise ApiError(422, "too_complex") from exc
    except ValueError as exc:
        raise ApiError(422, "invalid_message", details=str(exc)[:300]) from exc
    metrics.sent.inc()
    logger.info(
        "sent learned",
        extra={"recipients": len(body.to) + len(body.cc) + len(body.bcc),
               "model_version": loaded.model_version},
    )
    return SentResponse(model_version=loaded.model_version)


@router.post(
    "/feedback", response_model=FeedbackResponse, status_code=201, responses=ERROR_RESPONSES
)
def feedback(
    body: FeedbackRequest, _client: ClientDep, store: StoreDep, metrics: MetricsDep
) -> FeedbackResponse:
    """What the user did after a warning: ``sent_anyway`` (recipient), ``changed_recipient``
    (recipient → replaced_by) or ``cancelled``. Only addresses, the action and times are kept;
    ``sent_anyway`` lowers the warning for that sender → recipient pair next time."""
    sender = parse_address(body.sender, "sender")
    recipient = parse_address(body.recipient, "recipient") if body.recipient is not None else None
    replaced_by = (
        parse_address(body.replaced_by, "replaced_by") if body.replaced_by is not None else None
    )
    if body.action in ("sent_anyway", "changed_recipient") and recipient is None:
        raise ApiError(422, "feedback_recipient")
    if body.action == "changed_recipient" and replaced_by is None:
        raise ApiError(422, "feedback_replaced_by")
    row_id = store.add_feedback(
        sender=sender, action=body.action, recipient=recipient, replaced_by=replaced_by,
        check_id=body.check_id, at=body.at,
    )
    metrics.feedback.labels(body.action).inc()
    logger.info("feedback", extra={"action": body.action, "check_id": body.check_id})
    return FeedbackResponse(id=row_id)
