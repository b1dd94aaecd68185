"""Who was probably meant: the address a warning proposes instead of a suspicious recipient.

A wrong suggestion invites a second misdirection (the add-in offers it as the fix), so a
suggestion is made only from evidence that points at one person:

1. the greeting names someone the recipient does not answer to ("Bonjour Mme Duhamel" to
   ``julie.blin@``): the known address that answers to that name, the sender's correspondents
   first, then the organisation's (a patient written to by a colleague);
2. a contact one or two letters away that the sender writes to more (``s.lemaire@`` for
   ``s.lemaire@gmail.com``), unless the greeting or its gender points elsewhere;
3. an autocomplete or namesake neighbour, only when the greeting does not contradict it.

Nothing is proposed from topic fit alone: on the synthetic test month the contact whose
exchanges fit the topic best was the address meant in fewer than one case in five
(docs/model.md, "Suggestions"). Pure functions over the evidence, the message context and the
profiles; nothing is stored.
"""

from __future__ import annotations

import math

from rapidfuzz.distance import Levenshtein

from model.features import Evidence, MessageContext, answers_greeting
from model.history.names import glued_local, name_tokens, recipient_gender
from model.history.profiles import HistoryProfiles

# Where a suggestion came from, for measurement (bench/detect.py counts them).
SOURCES = ("greeting", "edit", "prefix", "homonym")
# Messages the sender exchanged with an autocomplete or namesake neighbour before it is
# proposed (set on a development world, seed 7, not on the reported test month).
MIN_NAME_NEIGHBOUR_COUNT = 10
# Weights of a greeted candidate's score, besides log(1 + messages) with the sender and half
# that with the organisation: likeness to the wrong address, fit of the message to what is
# exchanged with the candidate, every greeted word in its name.
W_ALIKE, W_TOPIC, W_WHOLE = 2.0, 3.0, 2.0


def suggest(ev: Evidence, ctx: MessageContext, profiles: HistoryProfiles
            ) -> tuple[str | None, str | None]:
    """The address probably meant instead of ``ev.address``, and the evidence it rests on
    (one of :data:`SOURCES`), or ``(None, None)``."""
    on_message = {a for _, a in ctx.recipients}
    if ctx.greeting and ev.greeting_state < 0 and ev.field == "to":
        # The greeting names someone else: only a person who answers to it can be meant.
        greeted = greeted_contacts(ev, ctx, profiles, on_message)
        return (greeted, "greeting") if greeted else (None, None)
    neighbour = ev.neighbour
    if (not neighbour or neighbour in on_message or ev.neighbour_count <= ev.sent
            or ev.neighbour_why not in ("edit", "prefix", "homonym")):
        return None, None
    look_alike = Levenshtein.distance(ev.address, neighbour, score_cutoff=3) <= 2
    if ev.neighbour_why != "edit" and not look_alike and (
            ev.neighbour_count < MIN_NAME_NEIGHBOUR_COUNT or ev.neighbour_topic_gap < 0):
        # A shared prefix or name is weak evidence on its own: only a contact the sender
        # writes to regularly, which the message fits at least as well as the recipient
        # (``roger_ery@`` / ``roger_rey@``, two letters apart, is a look-alike whatever the
        # features called it).
        return None, None
    if not _fits_greeting(neighbour, ctx, profiles):
        return None, None
    return neighbour, ev.neighbour_why


def _fits_greeting(address: str, ctx: MessageContext, profiles: HistoryProfiles) -> bool:
    """Nothing in the greeting contradicts ``address``: the name it greets (if any) answers to
    it, and its gender ("Madame,") is not the other one."""
    name = profiles.name_of(address)
    if ctx.greeting and not answers_greeting(ctx.greeting, ctx.greeting_titled, name, address):
        return False
    if ctx.greeting_gender:
        gender = recipient_gender(name, address)
        if gender is not None and gender != ctx.greeting_gender:
            return False
    return True


def greeted_contacts(ev: Evidence, ctx: MessageContext, profiles: HistoryProfiles,
                     exclude: set[str]) -> str | None:
    """The known address that best answers to the greeting's name, or None.

    The recipient's look-alike comes first when it answers to the name (the look-alike is why
    the wrong address was picked). Otherwise the candidates are the sender's correspondents and,
    for a surname, every address of the organisation's history that bears it; the one the sender
    and the organisation write to most wins, with a bonus for an address like the wrong one."""
    assert ctx.greeting is not None
    tokens = [t for t in ctx.greeting.split() if len(t) > 1]
    if not tokens:
        return None
    exclude = exclude | {ev.address, ctx.sender}
    if ev.neighbour and ev.neighbour not in exclude and _fits_greeting(ev.neighbour, ctx, profiles):
        return ev.neighbour
    index = profiles.sender_index(ctx.sender)
    org = profiles.org_index(ctx.sender)
    pool = set(index.addresses)
    if ctx.greeting_titled or len(tokens) >= 2:
        # The last word is a surname: the gazetteer of named addresses, and the organisation's
        # correspondents whose address spells it (``annickverdier47@`` has no display name).
        surname = tokens[-1]
        pool.update(address for _, _, address in profiles.name_index().get(surname, ()))
        if len(surname) >= 3:
            pool.update(a for a in org.addresses if surname in a.split("@", 1)[0])
    pool -= exclude
    wrong_local = ev.address.split("@", 1)[0]
    best, best_score = None, -math.inf
    for address in sorted(pool):
        if not _fits_greeting(address, ctx, profiles):
            continue
        own = float(index.counts[index.pos[address]]) if address in index.pos else 0.0
        theirs = float(org.counts[org.pos[address]]) if address in org.pos else 0.0
        alike = Levenshtein.normalized_similarity(wrong_local, address.split("@", 1)[0])
        topic = profiles.address_topic(address)
        fit = float(topic @ ctx.vector) if topic is not None else 0.0
        # Every word of "Didier Pascal" in didierpascal83@, not just the surname of Pascal
        # Grondin.
        words = set(name_tokens(profiles.name_of(address), address))
        glued = glued_local(address)
        whole = all(t in words or t in glued for t in tokens)
        score = (math.log1p(own) + 0.5 * math.log1p(theirs) + W_ALIKE * alike + W_TOPIC * fit
                 + W_WHOLE * whole)
        if score > best_score:
            best, best_score = address, score
    return best
