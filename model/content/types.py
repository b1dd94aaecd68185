"""Result types of content analysis. Values (names, numbers) stay in memory; only counts and
roles leave the process (see :meth:`ContentAnalysis.sensitive_counts`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PersonRole = Literal["addressee", "signer", "third_party"]
TextSource = Literal["subject", "body", "quoted", "attachment"]

# Keys of the response's ``sensitive`` object (SPEC §4). Detectors may add others.
SENSITIVE_KEYS = ("NIR", "IBAN", "PERSON", "BIRTH_DATE", "PHONE", "HEALTH")


@dataclass(slots=True)
class Span:
    """A detected entity: type, offsets in its source text, value (in memory only), score."""

    kind: str
    start: int
    end: int
    text: str = field(repr=False)
    score: float = 1.0
    source: TextSource = "body"
    role: PersonRole | None = None  # PERSON spans only: the role of this mention


@dataclass(slots=True)
class Person:
    """A person the message mentions, with its role and the address it links to, if any."""

    name: str = field(repr=False)
    role: PersonRole
    source: TextSource = "body"
    first_name: str | None = field(default=None, repr=False)
    last_name: str | None = field(default=None, repr=False)
    linked_address: str | None = None  # a recipient or the sender this person is


@dataclass(slots=True)
class AttachmentSummary:
    filename: str
    content_type: str
    size: int
    kind: str  # text, csv, html, pdf, docx, archive, image, unknown
    status: Literal["read", "encrypted", "too_large", "refused", "unsupported", "error"]
    pages: int | None = None
    chars: int = 0
    detail: str | None = None


@dataclass(slots=True)
class ContentAnalysis:
    """Everything content analysis found in one message."""

    persons: list[Person] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list, repr=False)
    counts: dict[str, int] = field(default_factory=dict)
    health_score: float = 0.0  # 0..1, how much the message is health data
    attachments: list[AttachmentSummary] = field(default_factory=list)
    text: str = field(default="", repr=False)  # analysed text (subject+body+attachments), memory only

    def sensitive_counts(self) -> dict[str, int]:
        """Counts by type for the response: never the values."""
        return {k: int(v) for k, v in self.counts.items() if v}

    def persons_with_role(self, role: PersonRole) -> list[Person]:
        return [p for p in self.persons if p.role == role]
