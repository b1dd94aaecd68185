"""The typed mail model shared by every stage.

A :class:`Message` is what ingestion yields (from mbox, maildir, .eml or a check request)
and what content analysis, history profiles and features read. Bodies and attachment bytes
live in memory only; nothing in this module writes anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

RecipientField = Literal["to", "cc", "bcc"]

# A pragmatic address shape: local@domain with at least one dot in the domain, or a bare
# Exchange-style identifier is rejected (it cannot be compared with SMTP addresses).
_LOCAL_RE = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.\-]+$")
_DOMAIN_LABEL_RE = re.compile(r"^(?!-)[a-z0-9\-]{1,63}(?<!-)$")


def normalize_address(raw: str | None) -> str | None:
    """Lower-case, trim and IDNA-encode an address; ``None`` when it is not an address.

    >>> normalize_address("  S.Lemaire@CDS-Havre.Example ")
    's.lemaire@cds-havre.example'
    >>> normalize_address("jean@clinique-évreux.fr")
    'jean@xn--clinique-vreux-jkb.fr'
    >>> normalize_address("a..shankman@enron.com")
    'a..shankman@enron.com'
    """
    if not raw:
        return None
    text = raw.strip().strip("<>").strip().strip("'\"").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if text.count("@") != 1:
        return None
    local, domain = text.rsplit("@", 1)
    local = local.strip().lower()
    domain = domain.strip().rstrip(".").lower()
    if not local or not domain or len(local) > 64 or len(domain) > 253:
        return None
    # Leading, trailing and doubled dots are kept (RFC 5322 obs-local-part): real servers
    # delivered such addresses, e.g. Enron's "a..shankman@enron.com" or ".palmer@enron.com".
    if not local.strip("."):
        return None
    if not _LOCAL_RE.match(local):
        return None
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL_RE.match(label) for label in labels):
        return None
    return f"{local}@{ascii_domain}"


def normalize_display_name(raw: str | None) -> str | None:
    """Trim quotes and whitespace of a display name; ``None`` when empty or just the address."""
    if raw is None:
        return None
    name = " ".join(unicodedata.normalize("NFC", raw).replace('"', " ").split()).strip(" '")
    if not name or ("@" in name and normalize_address(name) is not None):
        return None
    return name


@dataclass(frozen=True, slots=True)
class Address:
    """A normalised e-mail address with its optional display name."""

    address: str
    name: str | None = None

    @property
    def local(self) -> str:
        return self.address.split("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.address.split("@", 1)[1]

    @classmethod
    def parse(cls, value: str | dict | Address | None, name: str | None = None) -> Address | None:
        """Build from ``"a@b.c"``, ``"Name <a@b.c>"``, ``{"address":…, "name":…}`` or an Address."""
        if value is None:
            return None
        if isinstance(value, Address):
            return value
        if isinstance(value, dict):
            return cls.parse(value.get("address"), value.get("name"))
        from email.utils import parseaddr

        display, addr = parseaddr(value)
        address = normalize_address(addr or value)
        if address is None:
            return None
        return cls(address, normalize_display_name(name if name is not None else display))


@dataclass(slots=True)
class Attachment:
    """An attachment held in memory. Its bytes never reach disk."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(slots=True)
class Message:
    """One e-mail, normalised. ``date`` is always timezone-aware."""

    message_id: str
    date: datetime
    sender: Address | None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    subject: str = ""
    body: str = field(default="", repr=False)
    attachments: list[Attachment] = field(default_factory=list, repr=False)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    folder: str | None = None

    def __post_init__(self) -> None:
        if self.date.tzinfo is None:
            # A naive date is taken as UTC rather than guessed from the local clock.
            self.date = self.date.replace(tzinfo=UTC)

    def recipients(self) -> Iterator[tuple[RecipientField, Address]]:
        """Every recipient in request order: to, then cc, then bcc."""
        for field_name in ("to", "cc", "bcc"):
            for addr in getattr(self, field_name):
                yield field_name, addr  # type: ignore[misc]

    def recipient_addresses(self) -> list[str]:
        """Unique recipient addresses, in order."""
        seen: dict[str, None] = {}
        for _, addr in self.recipients():
            seen.setdefault(addr.address, None)
        return list(seen)

    def dedup_key(self) -> tuple[str, str, str, str]:
        """Identity used to drop copies of one message (Enron keeps copies in several folders)."""
        sender = self.sender.address if self.sender else ""
        return (
            self.date.astimezone(UTC).isoformat(),
            sender,
            ",".join(sorted(a.address for _, a in self.recipients())),
            " ".join(self.subject.split()).lower(),
        )
