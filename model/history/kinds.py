"""What kind of mailbox an address is, from its domain alone (no lookup, no network).

Kinds matter because the same slip costs more when it reaches a personal mailbox, and because a
wrong organisation of the right kind (another CPAM, another health centre) is a scenario of its own.
"""

from __future__ import annotations

from functools import lru_cache

KINDS = ("internal", "partner", "webmail", "mssante", "patient", "cpam")
KIND_INDEX = {k: i for i, k in enumerate(KINDS)}

# Personal webmail in France and worldwide. A private mailbox: nobody else's data belongs there.
WEBMAIL_DOMAINS = frozenset(
    ["gmail.com", "googlemail.com", "hotmail.com", "hotmail.fr", "outlook.com", "outlook.fr", "live.com", "live.fr", "msn.com", "yahoo.com", "yahoo.fr", "ymail.com", "aol.com", "aol.fr", "icloud.com", "me.com", "mac.com", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "neuf.fr", "laposte.net", "gmx.fr", "gmx.com", "gmx.net", "protonmail.com", "proton.me", "bbox.fr", "numericable.fr", "club-internet.fr", "aliceadsl.fr", "tutanota.com", "mail.com", "yandex.com", "zoho.com"]
)


_SECOND_LEVEL = frozenset({"mssante", "gouv", "co", "com", "org", "ac", "asso", "net"})


@lru_cache(maxsize=16384)
def registered_domain(domain: str) -> str:
    """The last two labels (``ect.enron.com`` → ``enron.com``); good enough for org identity."""
    labels = domain.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL:
        # ch-xyz.mssante.fr is its own organisation, not "mssante.fr".
        return ".".join(labels[-3:])
    return ".".join(labels[-2:]) if len(labels) >= 2 else domain


def is_webmail(domain: str) -> bool:
    return domain in WEBMAIL_DOMAINS or registered_domain(domain) in WEBMAIL_DOMAINS


@lru_cache(maxsize=65536)
def recipient_kind(sender: str | None, recipient: str) -> str:
    """Kind of ``recipient`` as seen from ``sender``: one of :data:`KINDS`."""
    domain = recipient.rsplit("@", 1)[-1]
    if domain == "patient.mssante.fr" or domain.endswith(".patient.mssante.fr"):
        return "patient"
    if is_webmail(domain):
        return "webmail"
    if "cpam" in domain or "assurance-maladie" in domain or "ameli" in domain:
        return "cpam"
    if sender:
        sdomain = sender.rsplit("@", 1)[-1]
        if registered_domain(sdomain) == registered_domain(domain):
            return "internal"
    if domain.endswith("mssante.fr"):
        return "mssante"
    return "partner"


def is_private(kind: str) -> bool:
    """Personal mailboxes: a webmail or a patient's Mon espace santé address."""
    return kind in ("webmail", "patient")


def org_key(address: str) -> str:
    """The organisation of an address: its registered domain, or the address itself for webmail
    (every webmail user is their own organisation)."""
    domain = address.rsplit("@", 1)[-1]
    if is_webmail(domain) or domain.endswith("patient.mssante.fr"):
        return address
    return registered_domain(domain)
