"""Features of one (message, recipient): the same pure functions in training and serving.

``message_context`` digests the message once (topic vector, greeting, people named, sensitive
counts); ``recipient_features`` then compares one recipient with the sender's history. Each row
comes with an :class:`Evidence` that the reasons and the suggestion are drawn from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from model.content.types import ContentAnalysis
from model.history.kinds import KIND_INDEX, is_private, org_key, recipient_kind
from model.history.names import (
    capitalised_tokens,
    first_last,
    fold,
    glued_local,
    greeting_gender,
    greeting_name,
    greeting_titled,
    ins_of,
    known_first_names,
    name_matches,
    name_tokens,
    nir_gender,
    recipient_gender,
)
from model.history.profiles import DAY, HistoryProfiles, SenderIndex, unit
from model.mail import Message

FEATURE_NAMES: tuple[str, ...] = (
    # relationship
    "log_sent", "log_received", "never_contact", "log_days_since_last", "log_days_since_first",
    "log_recency_weight", "share_of_sender", "log_org_count", "log_org_days_since_last",
    "log_recipient_received", "log_recipient_sent", "log_recipient_senders", "log_sender_sent",
    "log_sender_contacts",
    # domain
    "log_domain_count", "log_org_domain_count", "domain_edit_distance",
    # topic
    "topic_pair", "topic_recipient", "topic_rank", "topic_best_gap", "has_pair_topic",
    "topic_kind", "topic_kind_gap", "private_fit",
    # co-recipients
    "n_recipients", "is_cc", "is_bcc", "log_corecipient_max", "corecipient_frac",
    "log_others_cohesion",
    # confusability
    "edit_distance", "edit_local_distance", "edit_neighbour_log_count", "edit_neighbour_topic_gap",
    "edit_scope",
    "prefix_len", "prefix_neighbour_log_count", "homonym", "homonym_neighbour_log_count",
    "same_name_log_count", "alias_log_count",
    "neighbour_topic_gap",
    # kind
    "kind", "is_private", "log_sender_kind_count",
    # content
    "log_nir", "log_iban", "log_birth_date", "log_phone", "log_health",
    "health_score", "sensitive_private", "greeting", "greeting_other_recipient",
    "greeting_gender", "nir_recipient", "nir_gender_mismatch", "about_recipient",
    "third_party_count", "third_party_private", "third_party_addressable",
)
CATEGORICAL = ("kind",)
NEVER_DAYS = 5000.0


@dataclass(slots=True)
class MessageContext:
    """A message digested once for all its recipients (memory only)."""

    sender: str
    t: float
    vector: np.ndarray
    recipients: list[tuple[str, str]]  # (field, address), unique addresses in request order
    names: dict[str, str | None]
    greeting: str | None
    counts: dict[str, int]
    health_score: float
    persons: list[tuple[str | None, str | None, str]]  # (first, last, display) people named
    person_addresses: list[str | None] = field(default_factory=list)  # known address, if any
    greeting_gender: str | None = None  # "F"/"M": the greeting addresses one woman / one man
    greeting_titled: bool = False  # "Monsieur Alexandre": the name after a title is a surname
    nir_keys: tuple[str, ...] = ()  # the NIRs' first 13 characters (the INS matricule)
    # P(personal mailbox | topic), learnt from the organisation's history; None without it.
    private_probability: float | None = None


@dataclass(slots=True)
class Evidence:
    """What the features saw, for reasons and suggestions (memory only)."""

    address: str
    field: str
    kind: str
    sent: int = 0
    received: int = 0
    days_since_last: float | None = None
    domain_known: bool = True
    neighbour: str | None = None
    neighbour_why: str | None = None  # "edit", "prefix", "homonym", "topic"
    neighbour_count: int = 0
    neighbour_distance: int = 0
    neighbour_scope: int = 1  # 1: the sender writes to it, 2: only the organisation does
    neighbour_topic_gap: float = 0.0
    topic_pair: float = 0.0
    topic_best_gap: float = 0.0
    best_topic_contact: str | None = None
    greeting: str | None = None
    greeting_state: int = 0
    greeting_gender: str | None = None  # the greeting's gender when the recipient's differs
    nir_not_recipient: bool = False  # the NIRs are not this patient address's INS
    nir_only_recipient: bool = False  # every NIR of the message is this patient address's INS
    nir_holder: str | None = None  # "F"/"M": the NIRs' holders, when the recipient is the other
    best_kind: str | None = None  # the kind of mailbox the message fits best, when not this one
    kind_gap: float = 0.0
    about_recipient: bool = False
    third_parties: list[str] = field(default_factory=list)
    corecipient_frac: float = 1.0
    n_others: int = 0
    sensitive: int = 0


def _log(x: float) -> float:
    return math.log1p(max(0.0, x))


# Titles that introduce a patient or a correspondent; "Dr" introduces a colleague, not a patient.
# A title, the word after it and, on the same line, a second one: "M. Paul Girard".
_TITLE_BEFORE = re.compile(
    r"\b(?:M\.|Mme|Mlle|Madame|Monsieur|Mr|Mrs|Ms)\s+([A-ZÀ-Ý][\w'\-]+)(?:[ \t]+([A-ZÀ-Ý][\w'\-]+))?")


def titled_surnames(text: str) -> set[str]:
    """The folded surnames written after a title: "Mme Lemaire" → lemaire, and when a first
    name comes between them, the word after it ("M. Paul Girard" → girard, not paul)."""
    firsts = known_first_names()
    out: set[str] = set()
    for m in _TITLE_BEFORE.finditer(text[:4000]):
        word, after = fold(m.group(1)), m.group(2)
        out.add(fold(after) if after and word in firsts else word)
    return out


_NAME_WORD = re.compile(r"[A-ZÀ-Ý][A-ZÀ-Ýa-zà-ÿ'\-]+")


def _adjacent_names(text: str) -> set[tuple[str, str]]:
    """Folded pairs of capitalised words that follow each other ("Julie Blin", "BLIN Julie"):
    a first name and a surname count as one person only when written side by side, not when
    "Dr Chauvet" and a signature "Véronique Tanguy" happen to share a message."""
    pairs: set[tuple[str, str]] = set()
    prev_end, prev = -10, ""
    for m in _NAME_WORD.finditer(text[:4000]):
        word = fold(m.group(0))
        gap = text[prev_end:m.start()]
        if prev and gap.strip(" \t") == "":
            pairs.add((prev, word))
            pairs.add((word, prev))
        prev_end, prev = m.end(), word
    return pairs


def _gazetteer_persons(text: str, profiles: HistoryProfiles, sender: str,
                       sender_name: str | None = None
                       ) -> list[tuple[str | None, str | None, str, str | None]]:
    """Known people named in the text (first name and surname side by side, or a title and
    the surname), leaving out the sender's own organisation: colleagues are not third parties,
    and neither is someone who merely bears a colleague's or the sender's name (a signature)."""
    index = profiles.name_index()
    if not index:
        return []
    tokens = capitalised_tokens(text)
    adjacent = _adjacent_names(text)
    own_names = {first_last(sender_name or profiles.name_of(sender) or None, None)} if sender else set()
    titled = titled_surnames(text)
    own_org = org_key(sender) if sender else None
    found: list[tuple[str | None, str | None, str, str | None]] = []
    seen: set[str] = set()
    for last in sorted(tokens & index.keys()):
        people = index[last]
        colleague = bool(own_org) and any(org_key(a) == own_org for _, _, a in people)
        colleague_firsts = {f for f, _, a in people if own_org and org_key(a) == own_org}
        # Each person of that surname: written whole, first name beside the surname?
        whole = [bool(first and first in tokens and (first, last) in adjacent)
                 for first, _, _ in people]
        # "M. Bruno Bousquet" is Bruno Bousquet: the title's surname is not also a namesake.
        named_whole = any(whole)
        for (first, display, address), strong in zip(people, whole, strict=True):
            if own_org and org_key(address) == own_org:
                continue  # a colleague ("Dr Maurin", a signature) is not a third party
            if strong and (first in colleague_firsts or (first, last) in own_names):
                continue  # the colleague's or sender's own name (a signature), not this namesake
            # A bare "Mme Lemaire" is ambiguous when a colleague bears the name.
            if strong or (last in titled and not colleague and not named_whole):
                key = f"{first if strong else None} {last}"
                if key not in seen:
                    seen.add(key)
                    found.append((first if strong else None, last,
                                  display if strong else last.capitalize(),
                                  address if strong else None))
    return found


def light_analysis(message: Message, reuse: ContentAnalysis | None = None) -> ContentAnalysis:
    """Identifier and health-term counts without NER (what the features read, in training and
    in serving alike, so both see the same distribution). Persons come from the gazetteer.
    ``reuse``: the full analysis of the same message (serving); when it read exactly this text,
    its identifier spans are used instead of scanning again (same detectors, same string: the
    same spans, so the same features)."""
    from model.content.detectors import compact_value, detect_all, health_score
    from model.content.textutil import fold as cfold

    parts = [message.subject, message.body[:20000]]
    for att in message.attachments:
        if att.content_type.startswith(("text/", "application/csv")) or att.filename.lower().endswith(
            (".csv", ".txt")
        ):
            parts.append(att.data[:200000].decode("utf-8", "replace"))
    text = "\n\n".join(parts)
    values: dict[str, set[str]] = {}
    health_terms: list[str] = []
    spans = reuse.spans if reuse is not None and reuse.text == text else detect_all(text)
    for span in spans:
        if span.kind == "HEALTH":
            health_terms.append(cfold(span.text).rstrip("sx"))
        elif span.kind != "PERSON":
            values.setdefault(span.kind, set()).add(compact_value(span.text))
    counts = {kind: len(v) for kind, v in values.items()}
    counts["HEALTH"] = len(health_terms)
    score = health_score(len(health_terms), len(set(health_terms)), counts.get("NIR", 0))
    # The NIR spans stay (memory only): the features compare them with the recipient.
    return ContentAnalysis(counts=counts, health_score=score,
                           spans=[span for span in spans if span.kind == "NIR"])


def message_context(
    message: Message,
    profiles: HistoryProfiles,
    analysis: ContentAnalysis | None = None,
    vector: np.ndarray | None = None,
) -> MessageContext:
    """Digest ``message`` once: topic vector, greeting, people named, sensitive counts."""
    from model.content.detectors import compact_value  # lazy, as in light_analysis
    sender = message.sender.address if message.sender else ""
    if vector is None:
        vector = profiles.vectorize([message])[0]
    seen: dict[str, str] = {}
    names: dict[str, str | None] = {}
    for fld, addr in message.recipients():
        if addr.address not in seen and addr.address != sender:
            seen[addr.address] = fld
            names[addr.address] = addr.name or profiles.name_of(addr.address)
    counts: dict[str, int] = {}
    health = 0.0
    persons: list[tuple[str | None, str | None, str]] = []
    if analysis is not None:
        counts = dict(analysis.counts)
        health = float(analysis.health_score)
        for p in analysis.persons:
            if p.role == "third_party":
                first = fold(p.first_name) if p.first_name else None
                last = fold(p.last_name) if p.last_name else None
                if first is None and last is None:
                    first, last = first_last(p.name)
                persons.append((first, last, p.name))
    text = f"{message.subject}\n{message.body}"
    person_addresses: list[str | None] = [None] * len(persons)
    known = {(f, la) for f, la, _ in persons}
    sender_name = message.sender.name if message.sender else None
    for first, last, display, address in _gazetteer_persons(text, profiles, sender,
                                                            sender_name):
        if (first, last) not in known and (None, last) not in known:
            persons.append((first, last, display))
            person_addresses.append(address)
    return MessageContext(
        sender=sender,
        t=message.date.timestamp(),
        vector=vector,
        recipients=[(f, a) for a, f in seen.items()],
        names=names,
        greeting=greeting_name(message.body),
        counts=counts,
        health_score=health,
        persons=persons,
        person_addresses=person_addresses,
        greeting_gender=greeting_gender(message.body),
        greeting_titled=greeting_titled(message.body),
        nir_keys=tuple(sorted({compact_value(span.text)[:13]
                               for span in (analysis.spans if analysis else ())
                               if span.kind == "NIR"})),
        private_probability=profiles.topics.private_probability(vector),
    )


def _recipient_first_last(display: str | None, address: str) -> tuple[str | None, str | None]:
    """(first name, surname) of a recipient, folded; "HERVE Alexandre" (the surname in capitals
    first, the French administrative order) is read the right way round."""
    first, last = first_last(display, address)
    if first and last and display and "," not in display:
        words = display.split()
        if len(words) >= 2 and len(words[0]) > 1 and words[0].isupper() and not words[-1].isupper():
            first, last = last, first
    return first, last


# English honorifics that are also first names: "Dear Dean Walker" greets Bruce Walker.
_HONORIFICS = frozenset({"dean", "father", "sister", "judge", "senator", "governor", "bishop"})


def greets_first_name(token: str, display: str | None, address: str) -> bool:
    """An untitled greeting by a short form of the recipient's first name: "Hi Jeff" to
    Jeffrey Garten, "Mitch" to ``mitchell_daniels@``, "Barb" to Barbara."""
    if len(token) < 3:
        return False
    first, _ = _recipient_first_last(display, address)
    if first:
        return first != token and first.startswith(token)
    # A glued local part, first name first: "Mark" to markskilling@.
    compact = glued_local(address)
    return (token in known_first_names() and compact.startswith(token)
            and len(compact) - len(token) >= 3)


def greeting_contradicts(greeting: str, titled: bool, display: str | None, address: str) -> bool:
    """The greeting names the recipient's namesake, not the recipient: "Chère Madame Solange
    Mace" to Christiane Mace, "Monsieur Alexandre" (a surname after a title) to Alexandre Hervé.
    Only when the recipient's first name is known (a display name or a ``first.last`` address)."""
    tokens = [t for t in greeting.split() if len(t) > 1]
    if not tokens:
        return False
    first, last = _recipient_first_last(display, address)
    if not first or not last or first == last:
        return False
    have = set(name_tokens(display, address))
    if len(tokens) >= 2:
        g_first = tokens[0]
        if g_first in _HONORIFICS or first.startswith(g_first) or g_first.startswith(first):
            return False  # "Dear Dean Walker"; "Ken Lay" for Kenneth Lay
        # The surname agrees; a different known first name designates another person.
        return (tokens[-1] == last and g_first not in have and g_first in known_first_names()
                and first in known_first_names())
    token = tokens[0]
    return titled and token == first and token != last and token in known_first_names()


def answers_greeting(greeting: str, titled: bool, display: str | None, address: str) -> bool:
    """Does the person the greeting names answer to this address? "Madame Lemaire" to
    ``s.lemaire@``, "Hi Jeff" to Jeffrey Garten; not "Chère Madame Solange Mace" to Christiane
    Mace (a namesake)."""
    greeted = greeting.split()
    if not greeted:
        return False
    answers = (name_matches(greeting, display, address)
               or _person_is(None, greeted[-1], display, address)
               or (len(greeted) == 1 and not titled
                   and greets_first_name(greeted[0], display, address)))
    return answers and not greeting_contradicts(greeting, titled, display, address)


def _person_is(first: str | None, last: str | None, display: str | None, address: str) -> bool:
    local_tokens = name_tokens(None, address)
    tokens = set(name_tokens(display, address)) | set(local_tokens)
    # Glued local parts: "celineblanchard", "descampsm", "paulbodin10" (digits dropped).
    compact = glued_local(address)
    # A surname first must be followed by an initial or a first name: "martinebarre" starts
    # with "martin" but is Martine Barre, not Mme Martin.
    glued = last is not None and len(last) >= 4 and (
        compact.endswith(last)
        or (compact.startswith(last) and (len(compact) - len(last) <= 2
                                          or compact[len(last):] in known_first_names())))
    if last and (last in tokens or glued):
        return first is None or first in tokens or first in compact or compact.startswith(first[:1])
    return False


def _neighbours(index: SenderIndex, r: str, exclude: set[str]) -> dict[str, tuple[int, int, int]]:
    """Confusable contacts: address → (full distance, local distance, compact distance)."""
    out: dict[str, tuple[int, int, int]] = {}
    local = r.split("@", 1)[0]
    compact = re.sub(r"[._\-]", "", local)
    for addr, dist, _i in process.extract(r, index.addresses, scorer=Levenshtein.distance,
                                         score_cutoff=3, limit=8):
        if addr not in exclude:
            out[addr] = (int(dist), 99, 99)
    for _, dist, i in process.extract(local, index.locals_, scorer=Levenshtein.distance,
                                      score_cutoff=2, limit=8):
        addr = index.addresses[i]
        if addr not in exclude:
            full = out.get(addr, (99, 99, 99))[0]
            c = Levenshtein.distance(compact, re.sub(r"[._\-]", "", index.locals_[i]))
            out[addr] = (full, int(dist), int(c))
    return out


def _edit_neighbour(index: SenderIndex, address: str, domain: str, exclude: set[str]
                    ) -> tuple[tuple[str, int, int] | None, dict[str, tuple[int, int, int]], int]:
    """The closest look-alike written to at least once: (address, distance, count)."""
    neighbours = _neighbours(index, address, exclude) if index.addresses else {}
    best: tuple[str, int, int] | None = None
    private = is_private(recipient_kind(None, address))
    for a, (full, loc, comp) in neighbours.items():
        d = full
        a_domain = a.rsplit("@", 1)[1]
        if a_domain == domain or private or is_private(recipient_kind(None, a)):
            # Local-part look-alikes count across domains only when a personal mailbox is
            # involved (slemaire@gmail.com ↔ s.lemaire@cds-havre.example): the same role
            # mailbox (contact@, ps@) at two organisations is scenario S4, not a typo.
            d = min(full, loc + (0 if a_domain == domain else 1), comp + 1)
        count = int(index.counts[index.pos[a]])
        if count <= 0:
            continue
        if best is None or (d, -count) < (best[1], -best[2]):
            best = (a, d, count)
    return best, neighbours, 1 if best else 0


def recipient_features(
    ctx: MessageContext, address: str, fld: str, profiles: HistoryProfiles
) -> tuple[np.ndarray, Evidence]:
    """The feature row of one recipient (order of :data:`FEATURE_NAMES`) and its evidence."""
    s, t = ctx.sender, ctx.t
    kind = recipient_kind(s, address)
    ev = Evidence(address=address, field=fld, kind=kind)
    f: dict[str, float] = {}
    p_out = profiles.pair(s, address)
    p_in = profiles.pair(address, s)
    sent = p_out.count if p_out else 0
    received = p_in.count if p_in else 0
    ev.sent, ev.received = sent, received
    last = max(p_out.last if p_out else 0.0, p_in.last if p_in else 0.0)
    first = min(x.first for x in (p_out, p_in) if x) if (p_out or p_in) else 0.0
    days_last = (t - last) / DAY if last else NEVER_DAYS
    ev.days_since_last = days_last if last else None
    sinfo = profiles.addresses.get(s)
    rinfo = profiles.addresses.get(address)
    sender_sent = sinfo.sent if sinfo else 0
    f["log_sent"] = _log(sent)
    f["log_received"] = _log(received)
    f["never_contact"] = float(sent == 0 and received == 0)
    f["log_days_since_last"] = _log(max(days_last, 0.0))
    f["log_days_since_first"] = _log((t - first) / DAY) if first else 0.0
    f["log_recency_weight"] = _log(p_out.weight_at(t)) if p_out else 0.0
    f["share_of_sender"] = sent / sender_sent if sender_sent else 0.0
    op = profiles.org_pair(s, address)
    f["log_org_count"] = _log(op.count if op else 0)
    f["log_org_days_since_last"] = _log((t - op.last) / DAY) if op else _log(NEVER_DAYS)
    f["log_recipient_received"] = _log(rinfo.received if rinfo else 0)
    f["log_recipient_sent"] = _log(rinfo.sent if rinfo else 0)
    f["log_recipient_senders"] = _log(len(profiles.inn.get(address, ())))
    f["log_sender_sent"] = _log(sender_sent)
    f["log_sender_contacts"] = _log(len(profiles.out.get(s, ())))

    domain = address.rsplit("@", 1)[1]
    sdom = profiles.sender_domains.get(s)
    odom = profiles.org_domains.get(org_key(s)) if s else None
    f["log_domain_count"] = _log(sdom.get(domain, 0) if sdom else 0)
    org_domain_count = odom.get(domain, 0) if odom else 0
    f["log_org_domain_count"] = _log(org_domain_count)
    ddist = 0.0
    if org_domain_count == 0:
        known = [d for d, c in (odom or {}).items() if c >= 2]
        if s:
            known.append(s.rsplit("@", 1)[1])  # one's own domain: "compa.com" for compaq.com
        hit = process.extractOne(domain, known, scorer=Levenshtein.distance) if known else None
        ddist = float(min(hit[1], 9)) if hit else 9.0
        ev.domain_known = False
    f["domain_edit_distance"] = ddist

    # Topic fit: of the message to this pair, to this recipient, and against the alternatives.
    index = profiles.sender_index(s)
    vec = ctx.vector
    pair_topic = unit(p_out.topic) if p_out else None
    topic_pair = float(pair_topic @ vec) if pair_topic is not None else 0.0
    rtopic = unit(rinfo.topic) if rinfo else None
    f["topic_pair"] = topic_pair
    f["topic_recipient"] = float(rtopic @ vec) if rtopic is not None else 0.0
    f["has_pair_topic"] = float(pair_topic is not None)
    cos_all = index.topics @ vec if index.addresses else np.zeros(0, dtype=np.float32)
    if len(cos_all):
        usual = index.counts >= 2
        pool = cos_all[usual] if usual.any() else cos_all
        f["topic_rank"] = float((pool > topic_pair).mean())
        best = int(np.argmax(np.where(usual, cos_all, -1.0))) if usual.any() else int(np.argmax(cos_all))
        f["topic_best_gap"] = float(cos_all[best] - topic_pair)
        ev.best_topic_contact = index.addresses[best]
    else:
        f["topic_rank"] = 0.5
        f["topic_best_gap"] = 0.0
    ev.topic_pair = topic_pair
    ev.topic_best_gap = f["topic_best_gap"]
    # Fit to what the organisation writes to this kind of mailbox, against the best kind.
    kinds = profiles.kind_topics(s) if s else {}
    kind_fit = {k: float(u @ vec) for k, u in kinds.items()}
    f["topic_kind"] = kind_fit.get(kind, 0.0)
    f["topic_kind_gap"] = max(kind_fit.values()) - f["topic_kind"] if kind in kind_fit else 0.0
    # How likely the message's topic goes to this side, personal mailbox or professional one
    # (learnt from the organisation's own history; 0.5 without it).
    p_private = ctx.private_probability
    f["private_fit"] = 0.5 if p_private is None else (
        p_private if is_private(kind) else 1.0 - p_private)
    if f["topic_kind_gap"] > 0:
        ev.best_kind, ev.kind_gap = max(kind_fit, key=kind_fit.__getitem__), f["topic_kind_gap"]

    # Co-recipients.
    others = [a for _, a in ctx.recipients if a != address]
    f["n_recipients"] = _log(len(ctx.recipients))
    f["is_cc"] = float(fld == "cc")
    f["is_bcc"] = float(fld == "bcc")
    together = [profiles.together(address, o) for o in others]
    f["log_corecipient_max"] = _log(max(together)) if together else 0.0
    f["corecipient_frac"] = float(np.mean([x > 0 for x in together])) if together else 1.0
    if len(others) >= 2:
        pairs = [profiles.together(a, b) for i, a in enumerate(others[:8]) for b in others[i + 1 : 8]]
        f["log_others_cohesion"] = _log(float(np.mean(pairs)))
    else:
        f["log_others_cohesion"] = 0.0
    ev.corecipient_frac, ev.n_others = f["corecipient_frac"], len(others)

    # Confusability: a contact the sender writes to more, one letter / a prefix / a name away.
    # The recipient's other addresses (kenneth.lay@ / kenneth_lay@) are the same person: not a
    # look-alike, and the history with them counts for this recipient.
    aliases = profiles.aliases(address)
    exclude = {address, s, *aliases}
    pos = index.pos
    counts_of = lambda a: int(index.counts[pos[a]]) if a in pos else 0  # noqa: E731
    f["alias_log_count"] = _log(max((counts_of(a) for a in aliases), default=0))
    cos_of = lambda a: float(cos_all[pos[a]]) if a in pos else 0.0  # noqa: E731
    edit_best, neighbours, scope = _edit_neighbour(index, address, domain, exclude)
    org_pos: dict[str, int] = {}
    if edit_best is None:
        # The sender never wrote to the look-alike, but the organisation did (a colleague's
        # correspondent): search the organisation's address book.
        org_index = profiles.org_index(s)
        edit_best, neighbours, scope = _edit_neighbour(org_index, address, domain, exclude)
        scope = 2 if edit_best else 0
        org_pos = org_index.pos
    if s and sent == 0 and received == 0:
        # A stranger one or two letters from the sender's own address: people copy themselves
        # (cc, bcc), and a slip there sends the message out.
        own = Levenshtein.distance(address, s)
        if own <= 2 and (edit_best is None or own < edit_best[1]):
            loc = Levenshtein.distance(address.split("@", 1)[0], s.split("@", 1)[0])
            edit_best, scope = (s, own, max(sender_sent, 1)), 1
            neighbours = {**neighbours, s: (own, loc, loc)}
            org_pos = {}
    f["edit_scope"] = float(scope)
    if edit_best:
        f["edit_distance"] = float(edit_best[1])
        f["edit_local_distance"] = float(min(neighbours[edit_best[0]][1:]))
        f["edit_neighbour_log_count"] = _log(edit_best[2])
        f["edit_neighbour_topic_gap"] = (cos_of(edit_best[0]) - topic_pair) if not org_pos else 0.0
    else:
        f["edit_distance"], f["edit_local_distance"] = 9.0, 9.0
        f["edit_neighbour_log_count"], f["edit_neighbour_topic_gap"] = 0.0, 0.0

    prefix_best = _prefix_neighbour(profiles, s, address, ctx.names.get(address), exclude)
    f["prefix_len"] = float(prefix_best[1]) if prefix_best else 0.0
    f["prefix_neighbour_log_count"] = _log(counts_of(prefix_best[0])) if prefix_best else 0.0
    homonym = _homonym_neighbour(profiles, s, address, ctx.names.get(address), exclude)
    f["homonym"] = float(homonym[1]) if homonym else 0.0
    f["homonym_neighbour_log_count"] = _log(counts_of(homonym[0])) if homonym else 0.0
    same_name = _same_name_contact(profiles, s, address, ctx.names.get(address), exclude)
    f["same_name_log_count"] = _log(same_name[1]) if same_name else 0.0

    # The suggestion: the most plausible confusable contact, weighing history and topic fit.
    candidates: list[tuple[float, str, str, int]] = []
    if edit_best:
        weight = edit_best[2] * (3.0 - edit_best[1]) * (1.0 if scope == 1 else 0.5)
        candidates.append((weight, edit_best[0], "edit", edit_best[1]))
    if prefix_best:
        candidates.append((counts_of(prefix_best[0]) * 0.5, prefix_best[0], "prefix", prefix_best[1]))
    if homonym:
        candidates.append((counts_of(homonym[0]) * 0.5, homonym[0], "homonym", homonym[1]))
    if same_name:
        # The name on this recipient is a contact's full name at another address.
        candidates.append((same_name[1] * 1.0, same_name[0], "homonym", 3))
    if candidates:
        candidates.sort(key=lambda c: -(c[0] * (1.0 + max(0.0, cos_of(c[1]) - topic_pair))))
        _, ev.neighbour, ev.neighbour_why, ev.neighbour_distance = candidates[0]
        ev.neighbour_count = counts_of(ev.neighbour) or (edit_best[2] if edit_best else 0)
        ev.neighbour_scope = scope if ev.neighbour_why == "edit" else 1
        ev.neighbour_topic_gap = cos_of(ev.neighbour) - topic_pair
        f["neighbour_topic_gap"] = ev.neighbour_topic_gap
    else:
        f["neighbour_topic_gap"] = 0.0

    f["kind"] = float(KIND_INDEX[kind])
    private = is_private(kind)
    f["is_private"] = float(private)
    kind_count = sum(c for d, c in (sdom or {}).items()
                     if recipient_kind(s, "x@" + d) == kind) if sdom else 0
    f["log_sender_kind_count"] = _log(kind_count)

    # Content consistency.
    c = ctx.counts
    for key in ("NIR", "IBAN", "BIRTH_DATE", "PHONE", "HEALTH"):
        f["log_" + key.lower()] = _log(c.get(key, 0))
    f["health_score"] = ctx.health_score
    sensitive = c.get("NIR", 0) + c.get("IBAN", 0) + c.get("BIRTH_DATE", 0) + c.get("HEALTH", 0)
    ev.sensitive = sensitive
    f["sensitive_private"] = float(sensitive > 0 and private)
    name = ctx.names.get(address)
    greet = 0.0
    greet_other = 0.0
    if ctx.greeting:
        ev.greeting = ctx.greeting
        greet = 1.0 if answers_greeting(ctx.greeting, ctx.greeting_titled, name, address) else -1.0
        greet_other = float(any(name_matches(ctx.greeting, ctx.names.get(o), o) for o in others))
    ev.greeting_state = int(greet)
    f["greeting"] = greet
    f["greeting_other_recipient"] = greet_other
    gender = 0.0
    if ctx.greeting_gender:
        known = recipient_gender(name, address)
        gender = 0.0 if known is None else (1.0 if known == ctx.greeting_gender else -1.0)
    f["greeting_gender"] = gender
    if gender < 0:
        ev.greeting_gender = ctx.greeting_gender
    # The NIRs of the message against the recipient: a patient's Mon espace santé address is
    # their INS (the NIR's first 13 characters), and a NIR's first digit is its holder's sex.
    nir_recipient = 0.0
    nir_gender_mismatch = 0.0
    if ctx.nir_keys:
        ins = ins_of(address)
        if ins is not None:
            nir_recipient = 1.0 if ins.upper() in ctx.nir_keys else -1.0
            ev.nir_only_recipient = set(ctx.nir_keys) == {ins.upper()}
        if private and nir_recipient <= 0:
            holders = {nir_gender(k) for k in ctx.nir_keys}
            known = recipient_gender(name, address)
            if known is not None and None not in holders and known not in holders:
                # Every NIR of one sex (a set of "M"/"F" without the recipient's: one element).
                nir_gender_mismatch = 1.0
                ev.nir_holder = next(iter(holders))
    f["nir_recipient"] = nir_recipient
    f["nir_gender_mismatch"] = nir_gender_mismatch
    ev.nir_not_recipient = nir_recipient < 0
    about = False
    third: list[str] = []
    addressable = 0
    recipients_set = {a for _, a in ctx.recipients}
    greeted = ctx.greeting.split() if ctx.greeting else []
    for k, (first, last_name, display) in enumerate(ctx.persons):
        if greeted and last_name in greeted and (first is None or first in greeted):
            # The person greeted is the addressee ("Madame Bertin,"): the greeting features
            # judge them; counting them as what the message is about would hide a third
            # party named further down ("M. Riviere est en ALD") behind the greeting.
            continue
        known_at = ctx.person_addresses[k] if k < len(ctx.person_addresses) else None
        if known_at == address or _person_is(first, last_name, name, address):
            about = True
        elif not any(_person_is(first, last_name, ctx.names.get(o), o) for o in [*others, s]):
            third.append(display)
            # The person has a personal address of their own, and it is not on the message:
            # the mail-merge shift signature.
            if known_at and known_at not in recipients_set and is_private(recipient_kind(s, known_at)):
                addressable += 1
    ev.about_recipient = about
    ev.third_parties = third
    f["about_recipient"] = float(about)
    f["third_party_count"] = _log(len(third))
    f["third_party_private"] = float(bool(third) and private and not about)
    # Only towards a personal mailbox: a lab or a CPAM is written to about patients all day.
    f["third_party_addressable"] = float(addressable) if private and not about else 0.0
    row = np.array([f[n] for n in FEATURE_NAMES], dtype=np.float32)
    return row, ev


def _prefix_neighbour(profiles: HistoryProfiles, s: str, address: str, name: str | None,
                      exclude: set[str]) -> tuple[str, int] | None:
    """A contact sharing the first letters (>= 3) of the local part or of the display name."""
    keys = profiles.prefix_index(s)
    local = fold(address.split("@", 1)[0])
    probes = [local] + ([fold(name)] if name else [])
    best: tuple[str, int, int] | None = None
    idx = profiles.sender_index(s)
    pos = idx.pos
    for probe in probes:
        for cand, text in keys.get(probe[:3], ()):
            if cand in exclude:
                continue
            n = 0
            for x, y in zip(probe, text, strict=False):
                if x != y:
                    break
                n += 1
            n = min(n, 8)
            count = int(idx.counts[pos[cand]]) if cand in pos else 0
            if best is None or (n, count) > (best[1], best[2]):
                best = (cand, n, count)
    return (best[0], best[1]) if best else None


def _same_name_contact(profiles: HistoryProfiles, s: str, address: str, name: str | None,
                       exclude: set[str]) -> tuple[str, int] | None:
    """A contact with the recipient's full display name (first and last) at another address of
    the same domain, and how often the sender (else the organisation) wrote to it: an address
    book entry with a wrong address, or a typo under the right name."""
    if not name or len(name_tokens(name)) < 2:
        return None
    first, last = first_last(name, address)
    if not first or not last or len(first) < 3 or first.split("-", 1)[0] not in known_first_names():
        return None  # a person's name, not an organisation's ("CH de l'Estuaire" on every desk)
    idx = profiles.sender_index(s)
    domain = address.rsplit("@", 1)[1]
    best: tuple[str, int] | None = None
    for other_first, _, other in profiles.name_index().get(last, ()):
        # Same domain only: one person's work and personal mailboxes, or two namesake
        # patients at two webmails, are not a slip.
        if other in exclude or other_first != first or other.rsplit("@", 1)[1] != domain:
            continue
        count = int(idx.counts[idx.pos[other]]) if other in idx.pos else 0
        if count == 0:
            org = profiles.org_pair(s, other)
            count = org.count if org else 0
        if count > 0 and (best is None or count > best[1]):
            best = (other, count)
    return best


def _homonym_neighbour(profiles: HistoryProfiles, s: str, address: str, name: str | None,
                       exclude: set[str]) -> tuple[str, int] | None:
    """A contact with the same first name (1) or the same last name (2), most written to first."""
    first, last = first_last(name, address)
    index = profiles.homonym_index(s)
    idx = profiles.sender_index(s)
    pos = idx.pos
    best: tuple[str, int, int] | None = None
    for kind, key in ((2, last), (1, first)):
        if not key or len(key) < 3:
            continue
        for cand in index.get(key, ()):
            if cand in exclude:
                continue
            count = int(idx.counts[pos[cand]]) if cand in pos else 0
            if best is None or count > best[2]:
                best = (cand, kind, count)
    return (best[0], best[1]) if best else None


def message_features(
    ctx: MessageContext, profiles: HistoryProfiles
) -> tuple[np.ndarray, list[Evidence]]:
    """Rows for every recipient of the context, in order."""
    rows, evidence = [], []
    for fld, address in ctx.recipients:
        row, ev = recipient_features(ctx, address, fld, profiles)
        rows.append(row)
        evidence.append(ev)
    matrix = np.vstack(rows) if rows else np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    return matrix, evidence
