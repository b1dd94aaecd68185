"""History profiles: who writes to whom, how often, how recently, about what, with whom.

Built from a stream of messages (sent and received mail alike), kept in memory for scoring and
persisted by :class:`~model.history.store.HistoryStore`. Only addresses, display names, counts,
dates and numeric topic vectors are held — never bodies, never names found in bodies.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice

import numpy as np

from model.history.kinds import is_webmail, org_key, recipient_kind, registered_domain
from model.history.names import first_last, fold, known_first_names, name_tokens
from model.history.topics import TopicModel, topic_text
from model.mail import Message

DECAY_DAYS = 90.0  # half-life-like time constant of the recency-weighted counts
MAX_CORECIPIENTS = 20  # larger distributions say little about who belongs with whom
DAY = 86400.0
MIN_KIND_SUPPORT = 5  # addresses of a kind the organisation wrote to before its topic counts
_COMPACT_RE = re.compile(r"[._\-]")  # what separates the words of a local part


@dataclass(slots=True)
class Pair:
    """Directed sender → recipient statistics."""

    count: int = 0
    first: float = 0.0  # epoch seconds
    last: float = 0.0
    weight: float = 0.0  # recency-weighted count at time ``ref``
    ref: float = 0.0
    topic: np.ndarray | None = None  # sum of unit topic vectors

    def add(self, t: float, vec: np.ndarray | None) -> None:
        if self.count == 0:
            self.first = self.last = self.ref = t
            self.weight = 1.0
        else:
            if t >= self.ref:
                self.weight = self.weight * math.exp(-(t - self.ref) / (DECAY_DAYS * DAY)) + 1.0
                self.ref = t
            else:
                self.weight += math.exp(-(self.ref - t) / (DECAY_DAYS * DAY))
            self.first = min(self.first, t)
            self.last = max(self.last, t)
        self.count += 1
        if vec is not None:
            self.topic = vec.copy() if self.topic is None else self.topic + vec

    def weight_at(self, t: float) -> float:
        if self.count == 0:
            return 0.0
        return self.weight * math.exp(-max(0.0, t - self.ref) / (DECAY_DAYS * DAY))


@dataclass(slots=True)
class AddressInfo:
    """Per-address totals and the display names it was seen with."""

    sent: int = 0
    received: int = 0
    first: float = 0.0
    last: float = 0.0
    names: Counter = field(default_factory=Counter)
    topic: np.ndarray | None = None

    @property
    def name(self) -> str | None:
        return self.names.most_common(1)[0][0] if self.names else None

    def touch(self, t: float, vec: np.ndarray | None) -> None:
        self.first = t if self.first == 0.0 else min(self.first, t)
        self.last = max(self.last, t)
        if vec is not None:
            self.topic = vec.copy() if self.topic is None else self.topic + vec


@dataclass(slots=True)
class SenderIndex:
    """Cached arrays over one sender's correspondents, for vectorised look-ups."""

    addresses: list[str]
    locals_: list[str]
    counts: np.ndarray  # messages sender → contact
    topics: np.ndarray  # unit pair topic vectors (rows)
    pos: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.pos:
            self.pos = {a: i for i, a in enumerate(self.addresses)}


def message_parties(message: Message) -> tuple[str, list[str]] | None:
    """The sender and the recipients other than the sender, or None when the message teaches
    nothing about who writes to whom (no sender, or only the sender). The in-memory profiles
    and the history store both learn from exactly these."""
    if message.sender is None:
        return None
    sender = message.sender.address
    recipients = [a for a in message.recipient_addresses() if a != sender]
    return (sender, recipients) if recipients else None


def unit(vec: np.ndarray | None) -> np.ndarray | None:
    if vec is None:
        return None
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else None


class HistoryProfiles:
    """In-memory profiles, updated one message at a time (``update``)."""

    def __init__(self, topics: TopicModel) -> None:
        self.topics = topics
        self.pairs: dict[tuple[str, str], Pair] = {}
        self.addresses: dict[str, AddressInfo] = defaultdict(AddressInfo)
        self.out: dict[str, set[str]] = defaultdict(set)  # sender → recipients written to
        self.inn: dict[str, set[str]] = defaultdict(set)  # address → who wrote to it
        self.corecipients: Counter = Counter()  # (a, b) with a < b → messages together
        self.org_pairs: dict[tuple[str, str], Pair] = {}  # (org of sender, recipient)
        self.sender_domains: dict[str, Counter] = defaultdict(Counter)  # sender → domain → msgs
        self.org_domains: dict[str, Counter] = defaultdict(Counter)  # org → domain → msgs
        self.org_out: dict[str, set[str]] = defaultdict(set)  # org → recipients written to
        self.n_messages = 0
        self.last_date = 0.0
        self._index: dict[str, SenderIndex] = {}
        self._org_index: dict[str, SenderIndex] = {}
        self._prefix: dict[str, dict[str, list[tuple[str, str]]]] = {}
        self._homonym: dict[str, dict[str, list[str]]] = {}
        self._names: dict[str, list[tuple[str | None, str, str]]] | None = None
        # For updating ``_names`` address by address in the order a full rebuild gives:
        # each address's position in ``addresses`` and the surname it is filed under.
        self._name_order: dict[str, int] = {}
        self._name_key: dict[str, str] = {}
        # Aliases: alias key → addresses, kept up to date address by address (built on first use).
        self._alias_members: dict[tuple, set[str]] | None = None
        self._alias_keys: dict[str, tuple] = {}
        self._alias_dirty: set[str] = set()
        self._alias_first: dict[str, str] = {}  # first name (or initial) of a person's address
        self._kind_topics: dict[str, dict[str, np.ndarray]] = {}  # org → kind → unit topic
        # Org → address → messages it wrote to the organisation's members (the addresses that
        # sent at least one message): kept up to date message by message once built, as summing
        # them again was most of the organisation index's rebuild after each learned message.
        self._org_received: dict[str, Counter] | None = None
        # Unit topic vector of each address, dropped when the address's topic changes: the
        # organisation indexes are rebuilt after every learned message, and normalising every
        # address's vector again cost most of that rebuild.
        self._unit_topics: dict[str, np.ndarray | None] = {}

    # ------------------------------------------------------------------ building
    def vectorize(self, messages: list[Message]) -> np.ndarray:
        return self.topics.transform([topic_text(m) for m in messages])

    def update_many(self, messages: Iterable[Message], batch: int = 512) -> int:
        """Add messages (any order); returns how many were used."""
        used = 0
        chunk: list[Message] = []
        for message in messages:
            chunk.append(message)
            if len(chunk) >= batch:
                used += self._update_chunk(chunk)
                chunk = []
        if chunk:
            used += self._update_chunk(chunk)
        return used

    def _update_chunk(self, chunk: list[Message]) -> int:
        vectors = self.vectorize(chunk)
        return sum(self.update(m, v) for m, v in zip(chunk, vectors, strict=True))

    def update(self, message: Message, vector: np.ndarray | None = None) -> bool:
        """Add one message that left or arrived. False when it has no sender or recipient."""
        parties = message_parties(message)
        if parties is None:
            return False
        sender, recipients = parties
        if vector is None:
            vector = self.vectorize([message])[0]
        t = message.date.timestamp()
        self.n_messages += 1
        self.last_date = max(self.last_date, t)
        sinfo = self.addresses[sender]
        sinfo.sent += 1
        sinfo.touch(t, vector)
        self._unit_topics.pop(sender, None)
        if message.sender.name:
            sinfo.names[message.sender.name] += 1
        org = org_key(sender)
        if self._org_received is not None:
            self._count_received(sender, org, recipients)
        names = {a.address: a.name for _, a in message.recipients() if a.name}
        for r in recipients:
            self.pairs.setdefault((sender, r), Pair()).add(t, vector)
            self.org_pairs.setdefault((org, r), Pair()).add(t, None)
            info = self.addresses[r]
            info.received += 1
            info.touch(t, vector)
            self._unit_topics.pop(r, None)
            if r in names:
                info.names[names[r]] += 1
            self.out[sender].add(r)
            self.org_out[org].add(r)
            self.inn[r].add(sender)
        for domain in {r.rsplit("@", 1)[1] for r in recipients}:
            self.sender_domains[sender][domain] += 1
            self.org_domains[org][domain] += 1
        if len(recipients) <= MAX_CORECIPIENTS:
            ordered = sorted(recipients)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1 :]:
                    self.corecipients[(a, b)] += 1
        self._index.pop(sender, None)
        self._org_index.clear()
        self._kind_topics.clear()
        for r in recipients:
            self._index.pop(r, None)
            self._prefix.pop(r, None)
            self._homonym.pop(r, None)
        self._prefix.pop(sender, None)
        self._homonym.pop(sender, None)
        if self._names is not None:
            self._refresh_names([sender, *recipients])
        if self._alias_members is not None:
            self._alias_dirty.add(sender)
            self._alias_dirty.update(recipients)
        return True

    def _count_received(self, sender: str, org: str, recipients: list[str]) -> None:
        """Add one message to ``_org_received`` (before ``update`` records it)."""
        if sender not in self.out:
            # The sender's first message makes it a member of its organisation: what it
            # received until now becomes mail received by the organisation.
            received = self._org_received[org]  # type: ignore[index]
            for x in self.inn.get(sender, ()):
                received[x] += self.pairs[(x, sender)].count
        for r in recipients:
            if r in self.out:
                self._org_received[org_key(r)][sender] += 1  # type: ignore[index]

    def _org_received_counts(self) -> dict[str, Counter]:
        if self._org_received is None:
            table: dict[str, Counter] = defaultdict(Counter)
            for member in self.out:
                received = table[org_key(member)]
                for x in self.inn.get(member, ()):
                    received[x] += self.pairs[(x, member)].count
            self._org_received = table
        return self._org_received

    # ------------------------------------------------------------------ queries
    def pair(self, sender: str, recipient: str) -> Pair | None:
        return self.pairs.get((sender, recipient))

    def org_pair(self, sender: str, recipient: str) -> Pair | None:
        return self.org_pairs.get((org_key(sender), recipient))

    def together(self, a: str, b: str) -> int:
        return self.corecipients.get((a, b) if a < b else (b, a), 0)

    def name_of(self, address: str) -> str | None:
        info = self.addresses.get(address)
        return info.name if info else None

    def contacts(self, sender: str) -> set[str]:
        """The sender's address book: people written to or heard from."""
        return self.out.get(sender, set()) | self.inn.get(sender, set())

    def sender_index(self, sender: str) -> SenderIndex:
        """The sender's correspondents (written to, or heard from) with message counts both
        ways and pair topics (cached until the sender's next message)."""
        cached = self._index.get(sender)
        if cached is not None:
            return cached
        addresses = sorted(self.out.get(sender, set()) | self.inn.get(sender, set()))
        dim = self.topics.dim
        counts = np.zeros(len(addresses), dtype=np.float32)
        topics = np.zeros((len(addresses), dim), dtype=np.float32)
        for i, r in enumerate(addresses):
            p_out = self.pairs.get((sender, r))
            p_in = self.pairs.get((r, sender))
            counts[i] = (p_out.count if p_out else 0) + (p_in.count if p_in else 0)
            vec = p_out.topic if p_out is not None and p_out.topic is not None else (
                p_in.topic if p_in is not None else None)
            u = unit(vec)
            if u is not None:
                topics[i] = u
        index = SenderIndex(addresses, [a.split("@", 1)[0] for a in addresses], counts, topics)
        self._index[sender] = index
        return index

    def address_topic(self, address: str) -> np.ndarray | None:
        """The unit topic vector of everything sent to or by ``address`` (cached)."""
        try:
            return self._unit_topics[address]
        except KeyError:
            info = self.addresses.get(address)
            u = unit(info.topic) if info is not None else None
            self._unit_topics[address] = u
            return u

    def org_index(self, sender: str) -> SenderIndex:
        """Addresses the sender's organisation writes to, with counts and address topics."""
        org = org_key(sender)
        cached = self._org_index.get(org)
        if cached is not None:
            return cached
        # Who the organisation writes to, and who writes to its members.
        received = self._org_received_counts().get(org, Counter())
        addresses = sorted(self.org_out.get(org, set()) | set(received))
        counts = np.zeros(len(addresses), dtype=np.float32)
        topics = np.zeros((len(addresses), self.topics.dim), dtype=np.float32)
        for i, r in enumerate(addresses):
            op = self.org_pairs.get((org, r))
            counts[i] = (op.count if op else 0) + received.get(r, 0)
            u = self.address_topic(r)
            if u is not None:
                topics[i] = u
        index = SenderIndex(addresses, [a.split("@", 1)[0] for a in addresses], counts, topics)
        self._org_index[org] = index
        return index

    def kind_topics(self, sender: str) -> dict[str, np.ndarray]:
        """What the sender's organisation writes about to each kind of mailbox (colleagues,
        patients' webmail, CPAM, partners...): per kind, the unit mean of the unit topic
        vectors of the addresses it wrote to. A message about the team's planning fits
        "internal", not "webmail", whoever the recipient is."""
        org = org_key(sender)
        cached = self._kind_topics.get(org)
        if cached is not None:
            return cached
        sums: dict[str, np.ndarray] = {}
        support: Counter = Counter()
        # Sorted: the sums' float rounding must not depend on the set order (the hash seed).
        for address in sorted(self.org_out.get(org, ())):
            u = self.address_topic(address)
            if u is None:
                continue
            kind = recipient_kind(sender, address)
            sums[kind] = sums[kind] + u if kind in sums else u.astype(np.float32)
            support[kind] += 1
        # A kind the organisation wrote to only a few times says little about its subjects.
        out = {k: u for k, v in sums.items()
               if support[k] >= MIN_KIND_SUPPORT and (u := unit(v)) is not None}
        self._kind_topics[org] = out
        return out

    def prefix_index(self, sender: str) -> dict[str, list[tuple[str, str]]]:
        """First three letters → (contact, folded local part or display name), for autocomplete."""
        cached = self._prefix.get(sender)
        if cached is not None:
            return cached
        index: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for address in self.sender_index(sender).addresses:
            texts = {fold(address.split("@", 1)[0])}
            name = self.name_of(address)
            if name:
                texts.add(fold(name))
            for text in texts:
                if len(text) >= 3:
                    index[text[:3]].append((address, text))
        self._prefix[sender] = index
        return index

    def homonym_index(self, sender: str) -> dict[str, list[str]]:
        """First or last name → the sender's contacts bearing it."""
        cached = self._homonym.get(sender)
        if cached is not None:
            return cached
        index: dict[str, list[str]] = defaultdict(list)
        for address in self.sender_index(sender).addresses:
            first, last = first_last(self.name_of(address), address)
            for key in {first, last}:
                if key and len(key) >= 3:
                    index[key].append(address)
        self._homonym[sender] = index
        return index

    def name_index(self) -> dict[str, list[tuple[str | None, str, str]]]:
        """Surname → (first name, display name, address) of every named address (a gazetteer of
        people, in memory only), in the order of ``addresses``. Built on first use, then kept up
        to date address by address (a rebuild cost 2 ms on the default world, 20 ms on Enron,
        before every check that follows a learned message)."""
        if self._names is None:
            self._names = {}
            self._name_order = {}
            self._name_key = {}
            self._refresh_names(self.addresses)
        return self._names

    def _refresh_names(self, addresses: Iterable[str]) -> None:
        assert self._names is not None
        if len(self._name_order) < len(self.addresses):
            # Addresses are only ever appended: number the new ones in dictionary order.
            start = len(self._name_order)
            for k, address in enumerate(islice(self.addresses, start, None), start):
                self._name_order[address] = k
        for address in addresses:
            old = self._name_key.pop(address, None)
            if old is not None:
                rows = [row for row in self._names[old] if row[2] != address]
                if rows:
                    self._names[old] = rows
                else:
                    del self._names[old]
            info = self.addresses.get(address)
            name = info.name if info else None
            if not name or len(name_tokens(name)) < 2:
                continue
            first, last = first_last(name, address)
            if not last or len(last) < 3:
                continue
            rows = self._names.setdefault(last, [])
            order = self._name_order[address]
            at = next((i for i, row in enumerate(rows) if self._name_order[row[2]] > order),
                      len(rows))
            rows.insert(at, (first, name, address))
            self._name_key[address] = last

    def aliases(self, address: str) -> frozenset[str]:
        """Other known addresses of the same person: the same local part but for its dots,
        dashes and underscores, or the same words in another order, on the same domain
        (``kenneth.lay@`` / ``kenneth_lay@`` / ``lay.kenneth@``; one mailbox at Gmail), or the
        same person's first and last name on the same organisation's domain, or the forms of one
        name there (``kenneth.lay@`` / ``kenneth.l.lay@`` / ``k.lay@`` / ``klay@`` shown as "Ken
        Lay", unless another Lay of that organisation's address book starts with a K). Writing
        to one of them instead of the other is not a misdirection. Addresses at webmail are their own
        organisation: two namesake patients at Gmail are two people."""
        members = self._alias_index()
        keys = self._alias_keys.get(address, ())
        out: set[str] = set()
        for key in keys:
            if key[0] == "person":
                out |= _person_aliases(address, members[key], self._alias_first)
            else:
                out |= members[key]
        out.discard(address)
        return frozenset(out)

    def _alias_index(self) -> dict[tuple, set[str]]:
        # Kept up to date address by address: a full rebuild costs 25 ms on 6,600 addresses,
        # too much before every check once the service learns each sent message.
        if self._alias_members is None:
            self._alias_members = defaultdict(set)
            self._alias_keys = {}
            self._alias_first = {}
            self._alias_dirty = set(self.addresses)
        if self._alias_dirty:
            first_names = known_first_names()
            for address in self._alias_dirty:
                for key in self._alias_keys.get(address, ()):
                    self._alias_members[key].discard(address)
                name = self.addresses[address].name
                keys = _alias_keys(address, name, first_names)
                form = person_form(address, name, first_names)
                if form is not None:
                    self._alias_first[address] = form[0]
                    keys = (*keys, ("person", org_key(address), form[1], form[0][0]))
                else:
                    self._alias_first.pop(address, None)
                self._alias_keys[address] = keys
                for key in keys:
                    self._alias_members[key].add(address)
            self._alias_dirty = set()
        return self._alias_members


def person_form(address: str, name: str | None,
                first_names: frozenset[str]) -> tuple[str, str] | None:
    """(first name or initial, last name) of a person's address at an organisation, folded:
    ``kenneth.lay@``, ``kenneth.l.lay@`` (middle initials dropped), ``k.lay@``; a glued local
    part (``klay@``, ``kennethlay@``) only when its display name spells it. The display name
    gives the first name in full when it agrees (``k.lay@`` shown as "Ken Lay" → ``ken``).
    None at webmail (each address its own person) and for role mailboxes."""
    local, _, domain = address.partition("@")
    if not domain or is_webmail(domain) or domain.endswith("patient.mssante.fr"):
        return None
    tokens = [t for t in _COMPACT_RE.split(fold(local)) if t]
    named_first, named_last = first_last(name, address) if name else (None, None)
    first: str | None = None
    last: str | None = None
    if (len(tokens) >= 2 and all(t.isalpha() for t in tokens) and len(tokens[-1]) >= 2
            and all(len(t) == 1 for t in tokens[1:-1])):
        first, last = tokens[0], tokens[-1]
    elif len(tokens) == 1 and named_first and named_last and tokens[0] in (
            named_first[0] + named_last, named_first + named_last):
        first, last = named_first, named_last
    if first is None or last is None:
        return None
    if named_first and named_last == last and named_first.startswith(first):
        first = named_first
    if len(first) > 1 and first not in first_names:
        return None  # secretariat.cds@, not a person
    return first, last


def _person_aliases(address: str, members: Iterable[str], firsts: dict[str, str]) -> set[str]:
    """The members of one (organisation, last name, initial) group that are ``address``'s
    person: first names that extend one another (k / ken / kenneth), unless an initial or a
    short form fits two people of the group (k.lay@ with both Kenneth and Kevin Lay)."""
    def compatible(a: str, b: str) -> bool:
        return a.startswith(b) or b.startswith(a)

    names = {firsts[m] for m in members if m in firsts}

    def ambiguous(first: str) -> bool:
        fits = [n for n in names if compatible(n, first)]
        return any(not compatible(a, b) for a in fits for b in fits)

    mine = firsts.get(address)
    if mine is None or ambiguous(mine):
        return set()
    return {m for m in members if m in firsts and compatible(firsts[m], mine)
            and not ambiguous(firsts[m])}


def _alias_keys(address: str, name: str | None, first_names: frozenset[str]) -> tuple:
    local, _, domain = address.partition("@")
    keys: list[tuple] = []
    compact = _COMPACT_RE.sub("", local)
    if len(compact) >= 3:
        keys.append(("local", registered_domain(domain), compact))
    tokens = [t for t in _COMPACT_RE.split(local) if t]
    if len(tokens) >= 2 and all(len(t) >= 2 for t in tokens):
        # lay.kenneth@ and kenneth.lay@: the same words in another order.
        keys.append(("words", registered_domain(domain), tuple(sorted(tokens))))
    if name and not is_webmail(domain):
        first, last = first_last(name, address)
        # A person's name ("Secrétariat CPAM" may sit on two role mailboxes).
        if first in first_names and last and len(last) >= 2 and first != last:
            keys.append(("name", org_key(address), first, last))
    return tuple(keys)

