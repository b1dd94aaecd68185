"""Who was probably meant: the address a warning proposes instead of a suspicious recipient.

A wrong suggestion invites a second misdirection (the add-in offers it as the fix), so a
suggestion is made only from evidence that points at one person, in this order:

1. a look-alike one or two letters away that the sender writes to more (``s.lemaire@`` for
   ``s.lemaire@gmail.com``), unless the greeting's name or gender rules it out;
2. when the greeting names someone the recipient does not answer to ("Bonjour Mme Duhamel" to
   ``julie.blin@``): the known address that answers to that name, among the sender's
   correspondents and, for a surname, the organisation's (a patient written to by a
   colleague), when one clearly beats the others; nobody else;
3. the same mailbox name at another organisation of the same kind (``tiers-payant@``);
4. an autocomplete or namesake neighbour holding at least 2 % of the sender's mail, which the
   message fits clearly better than the recipient.

A greeting counts as a name only when it holds a known first name or a surname of the history
(not "Hi Shacklepuss"), and a list answers to any name (so does a mailbox with neither a
display name of two words nor a known first name). Nothing is proposed
from topic fit alone: on the development world the best-fitting contact was the address meant
3 times out of 34 (docs/model.md, "Suggestions"). Pure functions over the evidence, the message
context and the profiles; nothing is stored.
"""

from __future__ import annotations

import math

from rapidfuzz.distance import Levenshtein

from model.features import Evidence, MessageContext, answers_greeting
from model.history.names import glued_local, known_first_names, name_tokens, recipient_gender
from model.history.profiles import HistoryProfiles

# Where a suggestion came from, for measurement (bench/detect.py counts them).
SOURCES = ("greeting", "edit", "prefix", "homonym")
# An autocomplete or namesake neighbour is proposed only when the sender exchanged this share of
# their mail with it and the message fits it this much better than the recipient (cosine gap):
# set on a development world (seed 7), not on the reported test month nor on Enron.
MIN_NAME_NEIGHBOUR_SHARE = 0.02
MIN_NAME_NEIGHBOUR_GAP = 0.3
# Weights of a greeted candidate's score, besides log(1 + messages) with the sender and half
# that with the organisation: likeness to the wrong address, fit of the message to what is
# exchanged with the candidate, every greeted word in its name.
W_ALIKE, W_TOPIC, W_WHOLE = 2.0, 3.0, 2.0
# The greeted candidate must beat the runner-up by this much (e times the messages, or a third
# of a cosine of topic fit); on the development world it turned 66 right proposals of 79 into
# 58 of 63.
MIN_GREETING_MARGIN = 1.0


def suggest(ev: Evidence, ctx: MessageContext, profiles: HistoryProfiles
            ) -> tuple[str | None, str | None]:
    """The address probably meant instead of ``ev.address``, and the evidence it rests on
    (one of :data:`SOURCES`), or ``(None, None)``."""
    on_message = {a for _, a in ctx.recipients}
    greeting = ctx.greeting if _is_a_name(ctx.greeting, profiles) else None
    neighbour = ev.neighbour
    usable = (neighbour is not None and neighbour not in on_message
              and ev.neighbour_count > ev.sent
              and _fits_greeting(neighbour, greeting, ctx, profiles))
    look_alike = usable and Levenshtein.distance(ev.address, neighbour, score_cutoff=3) <= 2
    if look_alike:
        # One or two letters away (``roger_ery@`` / ``roger_rey@``), whatever the features
        # called the neighbour: the strongest evidence there is.
        return neighbour, ev.neighbour_why if ev.neighbour_why in SOURCES else "edit"
    if greeting and ev.greeting_state < 0 and ev.field == "to":
        # The greeting names someone else: only a person who answers to it can be meant.
        greeted = greeted_contacts(ev, ctx, profiles, on_message)
        return (greeted, "greeting") if greeted else (None, None)
    if not usable:
        return None, None
    if ev.neighbour_why == "edit":
        # The same mailbox name at another organisation of the same kind (S4's pattern).
        return neighbour, "edit"
    if ev.neighbour_why in ("prefix", "homonym"):
        # A shared prefix or name is weak evidence on its own: only a contact the sender
        # exchanged at least 2 % of their mail with, which fits the message clearly better.
        index = profiles.sender_index(ctx.sender)
        share = ev.neighbour_count / max(float(index.counts.sum()), 1.0)
        if share >= MIN_NAME_NEIGHBOUR_SHARE and ev.neighbour_topic_gap >= MIN_NAME_NEIGHBOUR_GAP:
            return neighbour, ev.neighbour_why
    return None, None


def _is_a_name(greeting: str | None, profiles: HistoryProfiles) -> bool:
    """Does the greeting name a person: a known first name or a surname of the history ("Bonjour
    Mme Duhamel"), not a nickname or a group ("Hi brothers", "Shacklepuss")?"""
    if not greeting:
        return False
    surnames = profiles.name_index()
    return any(t in known_first_names() or t in surnames for t in greeting.split())


def _bears_a_name(address: str, name: str | None) -> bool:
    """Is ``address`` (shown as ``name``) a person's, rather than a list or a mailbox without a
    display name (``smu-betas@``): a display name of two words or more, or a known first name
    in the display name or the address? A role mailbox shown under two words ("Tiers payant")
    counts as a person here."""
    if name and len(name_tokens(name)) >= 2:
        return True
    return any(t in known_first_names() for t in name_tokens(name, address))


def _fits_greeting(address: str, greeting: str | None, ctx: MessageContext,
                   profiles: HistoryProfiles, strict: bool = False) -> bool:
    """Nothing in the greeting contradicts ``address``: the name it greets (if any) answers to
    it, and its gender ("Madame,") is not the other one. An address that bears no person's name
    (a list: a post greets one of its members) answers to any name, unless ``strict``."""
    name = profiles.name_of(address)
    if greeting and not answers_greeting(greeting, ctx.greeting_titled, name, address) and (
            strict or _bears_a_name(address, name)):
        return False
    if ctx.greeting_gender:
        known = recipient_gender(name, address)
        if known is not None and known != ctx.greeting_gender:
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
    neighbour = ev.neighbour
    if neighbour and neighbour not in exclude and _fits_greeting(neighbour, ctx.greeting, ctx,
                                                                 profiles, strict=True):
        return neighbour
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
    best, best_score, runner_up = None, -math.inf, -math.inf
    for address in sorted(pool):
        if not _fits_greeting(address, ctx.greeting, ctx, profiles, strict=True):
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
            best, best_score, runner_up = address, score, best_score
        elif score > runner_up:
            runner_up = score
    # Two people who answer to the name and score alike ("Sophie": Sophie Pons or Sophie
    # Lemaire): proposing either would be a guess.
    return best if best_score - runner_up >= MIN_GREETING_MARGIN else None
