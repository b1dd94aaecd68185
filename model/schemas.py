"""The check request and response of SPEC §4, shared by ``misdirect score`` and ``/v1/check``.

Request models validate hostile input (sizes are bounded by the service); response models are
what both the command line and the API emit, so their JSON is identical.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from model.mail import Address, Attachment, Message

Verdict = Literal["send", "warn", "block"]


class RecipientIn(BaseModel):
    """A recipient given as an object: ``{"address": str, "name": str | null}``."""

    model_config = ConfigDict(extra="ignore")

    address: Annotated[str, Field(min_length=3, max_length=320)]
    name: Annotated[str | None, Field(max_length=256)] = None


RecipientValue = Annotated[str, Field(min_length=3, max_length=320)] | RecipientIn


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    filename: Annotated[str, Field(max_length=512)] = "attachment"
    content_type: Annotated[str, Field(max_length=256)] = "application/octet-stream"
    content_base64: str = ""

    def decode(self) -> bytes:
        """The attachment bytes; raises ``ValueError`` on broken base64."""
        try:
            return base64.b64decode(self.content_base64, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"attachment {self.filename!r}: invalid base64") from exc


class CheckRequest(BaseModel):
    """A draft to check (SPEC §4)."""

    model_config = ConfigDict(extra="ignore")

    sender: RecipientValue
    to: Annotated[list[RecipientValue], Field(max_length=500)] = Field(default_factory=list)
    cc: Annotated[list[RecipientValue], Field(max_length=500)] = Field(default_factory=list)
    bcc: Annotated[list[RecipientValue], Field(max_length=500)] = Field(default_factory=list)
    subject: Annotated[str, Field(max_length=4000)] = ""
    body: str = ""
    body_format: Literal["text", "html"] = "text"
    attachments: Annotated[list[AttachmentIn], Field(max_length=100)] = Field(
        default_factory=list
    )
    sent_at: datetime | None = None

    @field_validator("sent_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def to_message(self, message_id: str = "check", now: datetime | None = None) -> Message:
        """The typed :class:`~model.mail.Message` for this request (HTML converted to text).

        Raises ``ValueError`` naming the field when an address cannot be parsed.
        """
        from model.htmltext import html_to_text

        def conv(value: str | RecipientIn, where: str) -> Address:
            raw = value.model_dump() if isinstance(value, RecipientIn) else value
            addr = Address.parse(raw)
            if addr is None:
                shown = raw["address"] if isinstance(raw, dict) else raw
                raise ValueError(f"{where}: not an e-mail address: {shown!r}")
            return addr

        body = html_to_text(self.body) if self.body_format == "html" else self.body
        return Message(
            message_id=message_id,
            date=self.sent_at or now or datetime.now(UTC),
            sender=conv(self.sender, "sender"),
            to=[conv(v, "to") for v in self.to],
            cc=[conv(v, "cc") for v in self.cc],
            bcc=[conv(v, "bcc") for v in self.bcc],
            subject=self.subject,
            body=body,
            attachments=[
                Attachment(a.filename, a.content_type, a.decode()) for a in self.attachments
            ],
        )


class Reason(BaseModel):
    code: str
    message: str


class RecipientVerdict(BaseModel):
    address: str
    field: Literal["to", "cc", "bcc"]
    risk: float = Field(ge=0.0, le=1.0)
    verdict: Verdict
    reasons: list[Reason] = Field(default_factory=list)
    suggestion: str | None = None


class CheckResponse(BaseModel):
    check_id: str
    verdict: Verdict
    risk: float = Field(ge=0.0, le=1.0)
    recipients: list[RecipientVerdict]
    sensitive: dict[str, int]
    advice: list[str] = Field(default_factory=list)
    model_version: str
    elapsed_ms: float


class FeedbackRequest(BaseModel):
    """What the user did after a warning. Carries no content, only addresses and the action."""

    model_config = ConfigDict(extra="ignore")

    check_id: Annotated[str | None, Field(max_length=128)] = None
    sender: RecipientValue
    action: Literal["sent_anyway", "changed_recipient", "cancelled"]
    recipient: RecipientValue | None = None  # the recipient that was warned about (X)
    replaced_by: RecipientValue | None = None  # the new recipient (Y) for changed_recipient
    at: datetime | None = None


class SentRequest(CheckRequest):
    """A message that left: same shape as a check request; updates the history profiles."""
