"""The misdirection simulator: legitimate history → labelled training examples for S1-S8.

It reads only the history (the messages and the profiles built from the past), never the
synthetic world's labels, so it works on any organisation's mail, Enron included. Every
original recipient is a negative; each misdirected variant adds exactly one wrong recipient,
labelled with the scenario that produced it.
"""

from __future__ import annotations

import random
import re
import string
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from model.history.kinds import is_private, org_key, recipient_kind
from model.history.names import first_last, first_name_gender, fold, recipient_gender
from model.history.profiles import HistoryProfiles
from model.mail import Address, Message, normalize_address

SCENARIOS = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8")
# More of the confusions that history and names alone barely separate (autocomplete neighbour,
# homonym, same kind at another organisation, mail merge), fewer of the easy ones: measured on
# the synthetic test month, +0.5 and +3.4 points of detection at 0.5 % false alarms (two seeds).
DEFAULT_WEIGHTS = {"S1": 0.16, "S2": 0.14, "S3": 0.12, "S4": 0.14, "S5": 0.1, "S6": 0.12,
                   "S7": 0.1, "S8": 0.12}
_KEYBOARD = {
    "a": "zqs", "z": "aes", "e": "zrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok",
    "o": "ipl", "p": "ol", "q": "asw", "s": "qdz", "d": "sfe", "f": "dgr", "g": "fht", "h": "gjy",
    "j": "hku", "k": "jli", "l": "km", "m": "ln", "w": "xsq", "x": "wcs", "c": "xvd", "v": "cbf",
    "b": "vng", "n": "bmh",
}


@dataclass(slots=True)
class Example:
    """One message to score, with its recipients' labels (1 = not the intended person)."""

    message: Message
    labels: dict[str, int]
    scenario: str = "legit"
    wrong: list[str] = field(default_factory=list)
    intended: str | None = None
    origin: int = -1  # index of the original message (variants share its content)


def typo_variants(address: str, rng: random.Random, n: int = 6) -> list[str]:
    """Plausible 1-2 character slips of ``address`` (local part or domain), valid addresses."""
    local, domain = address.split("@", 1)
    out: set[str] = set()
    for _ in range(n * 6):
        if len(out) >= n:
            break
        part_is_local = rng.random() < 0.75
        text = local if part_is_local else domain.split(".")[0]
        if len(text) < 2:
            continue
        i = rng.randrange(len(text))
        op = rng.choice(("delete", "double", "swap", "neighbour", "dot", "insert"))
        if op == "delete":
            new = text[:i] + text[i + 1 :]
        elif op == "double":
            new = text[:i] + text[i] + text[i:]
        elif op == "swap" and i < len(text) - 1:
            new = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        elif op == "neighbour" and text[i] in _KEYBOARD:
            new = text[:i] + rng.choice(_KEYBOARD[text[i]]) + text[i + 1 :]
        elif op == "dot" and part_is_local:
            new = text.replace(".", "", 1) if "." in text else text[:i] + "." + text[i:]
        elif op == "insert":
            new = text[:i] + rng.choice(string.ascii_lowercase) + text[i:]
        else:
            continue
        if not new or new == text:
            continue
        if part_is_local:
            candidate = f"{new}@{domain}"
        else:
            rest = domain.split(".", 1)[1] if "." in domain else ""
            candidate = f"{new}.{rest}" if rest else new
            candidate = f"{local}@{candidate}"
        if rng.random() < 0.1 and not part_is_local:
            # TLD slips: .fr ↔ .com, .example → .exemple
            tld = domain.rsplit(".", 1)[1]
            swap = {"fr": "com", "com": "fr", "example": "exemple", "org": "fr"}.get(tld, "fr")
            candidate = f"{local}@{domain.rsplit('.', 1)[0]}.{swap}"
        norm = normalize_address(candidate)
        if norm and norm != address:
            out.add(norm)
    return sorted(out)


_SUBJECT_NORM = re.compile(r"[\d\W_]+")


def _batch_key(message: Message) -> tuple[str, str, str]:
    subject = _SUBJECT_NORM.sub(" ", fold(message.subject)).strip()
    sender = message.sender.address if message.sender else ""
    return sender, subject, message.date.date().isoformat()


def find_batches(messages: Sequence[Message]) -> dict[int, list[int]]:
    """Mail-merge batches: same sender, same subject pattern, same day, one recipient each."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, m in enumerate(messages):
        if len(m.recipient_addresses()) == 1 and m.subject.strip():
            groups[_batch_key(m)].append(i)
    out: dict[int, list[int]] = {}
    for members in groups.values():
        recipients = {messages[i].recipient_addresses()[0] for i in members}
        if len(members) >= 3 and len(recipients) >= 3:
            for i in members:
                out[i] = members
    return out


class Simulator:
    """Draws wrong recipients from the organisation's own address book (the past profiles)."""

    def __init__(self, profiles: HistoryProfiles, seed: int = 0,
                 weights: dict[str, float] | None = None) -> None:
        self.profiles = profiles
        self.rng = random.Random(seed)
        self.weights = weights or DEFAULT_WEIGHTS
        self.all_addresses = sorted(profiles.addresses)
        self.by_first: dict[str, list[str]] = defaultdict(list)
        self.by_last: dict[str, list[str]] = defaultdict(list)
        self.by_prefix: dict[str, list[str]] = defaultdict(list)
        self.by_compact: dict[str, list[str]] = defaultdict(list)
        for a in self.all_addresses:
            self.by_compact[re.sub(r"[._\-]", "", a.split("@", 1)[0])].append(a)
            name = profiles.name_of(a)
            first, last = first_last(name, a)
            if first and len(first) >= 3:
                self.by_first[first].append(a)
            if last and len(last) >= 3:
                self.by_last[last].append(a)
            keys = {fold(a.split("@", 1)[0])[:3]}
            if name:
                keys.add(fold(name)[:3])
            for k in keys:
                if len(k) == 3:
                    self.by_prefix[k].append(a)

    # ------------------------------------------------------------------ pools
    def _book(self, sender: str) -> list[str]:
        """The sender's address book, else the organisation's."""
        book = sorted(self.profiles.contacts(sender))
        if len(book) < 5:
            book = sorted(set(book) | self.profiles.org_out.get(org_key(sender), set()))
        return book

    def _pick(self, pool: Iterable[str], exclude: set[str]) -> str | None:
        choices = [a for a in pool if a not in exclude]
        return self.rng.choice(choices) if choices else None

    def not_wrong(self, message: Message) -> set[str]:
        """Addresses that cannot be a wrong recipient of ``message``: its sender, its
        recipients and their other addresses (aliases: the same person, so no slip)."""
        out = {message.sender.address} if message.sender else set()
        for a in message.recipient_addresses():
            out.add(a)
            out |= self.profiles.aliases(a)
        return out

    # ------------------------------------------------------------------ scenarios
    def wrong_for(self, scenario: str, message: Message, intended: str,
                  batch_peers: Sequence[Message] = ()) -> str | None:
        """A wrong address for ``intended`` under ``scenario``, or None when none fits."""
        sender = message.sender.address if message.sender else ""
        exclude = self.not_wrong(message)
        book = self._book(sender)
        rng = self.rng
        if scenario == "S1":
            if rng.random() < 0.5:
                near = process.extract(intended, self.all_addresses, scorer=Levenshtein.distance,
                                       score_cutoff=2, limit=6)
                local = re.sub(r"[._\-]", "", intended.split("@", 1)[0])
                near_local = [a for a in self.by_compact.get(local, ()) if a != intended]
                pool = [a for a, _, _ in near] + near_local
                hit = self._pick(pool, exclude)
                if hit:
                    return hit
            return self._pick(typo_variants(intended, rng), exclude)
        if scenario == "S2":
            name = self.profiles.name_of(intended)
            keys = {fold(intended.split("@", 1)[0])[:3]} | ({fold(name)[:3]} if name else set())
            pool = [a for k in sorted(keys) for a in self.by_prefix.get(k, ())]
            in_book = set(book)
            return self._pick([a for a in pool if a in in_book], exclude) or self._pick(pool, exclude)
        if scenario == "S3":
            first, last = first_last(self.profiles.name_of(intended), intended)
            pool = self.by_first.get(first or "", []) + self.by_last.get(last or "", [])
            return self._pick(pool, exclude)
        if scenario == "S4":
            kind = recipient_kind(sender, intended)
            if kind == "internal":
                return None
            org = org_key(intended)
            pool = [a for a in set(book) | self.profiles.org_out.get(org_key(sender), set())
                    if recipient_kind(sender, a) == kind and org_key(a) != org]
            return self._pick(sorted(pool), exclude)
        if scenario == "S5":
            pool = [a for a in book if is_private(recipient_kind(sender, a))]
            if not pool:
                pool = [a for a in self.all_addresses if is_private(recipient_kind(sender, a))]
            return self._pick(pool, exclude)
        if scenario == "S6":
            peers = [p.recipient_addresses()[0] for p in batch_peers]
            hit = self._pick(peers, exclude)
            if hit:
                return hit
            kind = recipient_kind(sender, intended)
            pool = [a for a in book if recipient_kind(sender, a) == kind]
            return self._pick(pool, exclude)
        if scenario in ("S7", "S8"):
            return self._pick(book, exclude)
        raise ValueError(f"unknown scenario {scenario}")

    def misdirect(self, message: Message, scenario: str,
                  batch_peers: Sequence[Message] = ()) -> Example | None:
        """A misdirected copy of ``message`` under ``scenario``, or None if it does not apply."""
        recipients = [a for _, a in message.recipients()]
        if not recipients or message.sender is None:
            return None
        to_first = [a for a in message.to] or recipients
        intended = self.rng.choice(to_first).address
        wrong = self.wrong_for(scenario, message, intended, batch_peers)
        if wrong is None:
            return None
        name = self.profiles.name_of(wrong)
        if scenario == "S1" and self.rng.random() < 0.5:
            # A wrong address saved under the right name (an autocomplete entry, a contact
            # card): the display name is the intended person's.
            name = next((a.name for _, a in message.recipients() if a.address == intended),
                        None) or self.profiles.name_of(intended) or name
        new_addr = Address(wrong, name)
        if scenario == "S8":
            if self.rng.random() < 0.6:
                variant = replace(message, cc=[*message.cc, new_addr])
            else:
                variant = replace(message, to=[*message.to, new_addr])
            intended_out = None
        else:
            def swap(addrs: list[Address]) -> list[Address]:
                return [new_addr if a.address == intended else a for a in addrs]

            variant = replace(message, to=swap(message.to), cc=swap(message.cc),
                              bcc=swap(message.bcc))
            intended_out = intended
        labels = {a: 0 for a in variant.recipient_addresses()}
        labels[wrong] = 1
        return Example(variant, labels, scenario, [wrong], intended_out)

    def first_contact(self, message: Message) -> Example | None:
        """A legitimate hard negative: one recipient replaced by a brand-new person (new
        address in the same organisation or webmail, new name), the body's mentions of the
        original recipient's name rewritten to the new one. Nothing flags a first contact but
        the absence of history, so the model must learn that absence alone is not an error."""
        to_first = [a for a in message.to] or [a for _, a in message.recipients()]
        if not to_first or message.sender is None:
            return None
        old = self.rng.choice(to_first)
        if not self.by_first or not self.by_last:
            return None
        # The newcomer has the old recipient's gender: the greeting ("Madame,") stays true.
        gender = recipient_gender(old.name or self.profiles.name_of(old.address), old.address)
        firsts = sorted(self.by_first)
        if gender is not None:
            firsts = [f for f in firsts if first_name_gender(f) == gender] or firsts
        first = self.rng.choice(firsts)
        last = self.rng.choice(sorted(self.by_last))
        local_old, domain = old.address.split("@", 1)
        if is_private(recipient_kind(message.sender.address, old.address)):
            local = f"{first}.{last}" + (str(self.rng.randint(1, 99)) if self.rng.random() < 0.4 else "")
        elif re.match(r"^[a-z]\.", local_old):
            local = f"{first[0]}.{last}"
        else:
            local = f"{first}.{last}"
        address = normalize_address(f"{local}@{domain}")
        if address is None or address in self.profiles.addresses:
            return None
        if process.extractOne(address, self.all_addresses, scorer=Levenshtein.distance,
                              score_cutoff=2) is not None:
            return None  # too close to a known address: that would be a typo, not a newcomer
        new_name = f"{first.capitalize()} {last.capitalize()}"
        body, subject = message.body, message.subject
        old_first, old_last = first_last(old.name or self.profiles.name_of(old.address), old.address)
        for before, after in ((old_first, first), (old_last, last)):
            if before and len(before) >= 3:
                pattern = re.compile(rf"\b{re.escape(before)}\b", re.IGNORECASE)
                body = pattern.sub(after.capitalize(), body)
                subject = pattern.sub(after.capitalize(), subject)
        new_addr = Address(address, new_name if old.name else None)

        def swap(addrs: list[Address]) -> list[Address]:
            return [new_addr if a.address == old.address else a for a in addrs]

        variant = replace(message, to=swap(message.to), cc=swap(message.cc), bcc=swap(message.bcc),
                          body=body, subject=subject)
        return Example(variant, {a: 0 for a in variant.recipient_addresses()}, "legit")

    def new_sender(self, message: Message) -> Message | None:
        """The same message from a newcomer of the sender's organisation (no history of their
        own): the model must fall back on the organisation's priors, not on "never written"."""
        if message.sender is None or not self.by_first or not self.by_last:
            return None
        first = self.rng.choice(sorted(self.by_first))
        last = self.rng.choice(sorted(self.by_last))
        local_old, domain = message.sender.address.split("@", 1)
        local = f"{first[0]}.{last}" if re.match(r"^[a-z]\.", local_old) else f"{first}.{last}"
        address = normalize_address(f"{local}@{domain}")
        if address is None or address in self.profiles.addresses:
            return None
        return replace(message, sender=Address(address, f"{first.capitalize()} {last.capitalize()}"))

    def examples(self, messages: Sequence[Message], rate: float = 1.0,
                 first_contacts: float = 0.15, new_senders: float = 0.05) -> list[Example]:
        """The legitimate example of every message, plus misdirected variants at ``rate``."""
        batches = find_batches(messages)
        out: list[Example] = []
        names = list(self.weights)
        weights = [self.weights[n] for n in names]
        for i, message in enumerate(messages):
            if message.sender is None or not message.recipient_addresses():
                continue
            if self.rng.random() < new_senders:
                message = self.new_sender(message) or message
            out.append(Example(message, {a: 0 for a in message.recipient_addresses()}, origin=i))
            n_variants = int(rate) + (1 if self.rng.random() < rate - int(rate) else 0)
            for _ in range(n_variants):
                peers = [messages[j] for j in batches.get(i, ()) if j != i]
                scenario = "S6" if peers and self.rng.random() < 0.5 else self.rng.choices(
                    names, weights)[0]
                example = None
                for attempt in (scenario, "S7", "S1"):
                    example = self.misdirect(message, attempt, peers)
                    if example is not None:
                        break
                if example is not None:
                    example.origin = i
                    out.append(example)
            if self.rng.random() < first_contacts:
                fresh = self.first_contact(message)
                if fresh is not None:
                    out.append(fresh)  # new content (rewritten names): its own origin
        return out
