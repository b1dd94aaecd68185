"""A spaCy pipeline component that adds person entities from French naming rules.

It does what two ``entity_ruler`` components did (titles and greetings overwriting the
NER, first name + surname filling its gaps) at a fraction of the cost: each token gets a
one-letter class once (cached by token text), and the rules are regular expressions over
the string of classes. The ``Matcher`` behind ``entity_ruler`` evaluated ~150 patterns with
15,000-name sets at every token and cost as much as the NER itself.

Token classes:

====  ============================================================
G     greeting (Bonjour, Cher, Coucou...)
T     title (M., Mme, Dr, Docteur, Madame...)
F     title-case first name from the INSEE lexicon (Sophie, Jean-Pierre)
V     upper-case first name (SOPHIE)
U     upper-case word that may be a surname (DURAND), not an acronym
Y     hyphenated title-case name (Le-Gall, Martin-Dupont)
N     title-case word that may be a surname, not a stop word
P     particle (de, du, le, van...)
H     a hyphen token; D a full stop; E anything ending a name
====  ============================================================
"""

from __future__ import annotations

import re
from functools import lru_cache

from model.content.persons import (
    ACRONYMS,
    GREETINGS,
    NOT_NAMES,
    ORG_WORDS,
    PARTICLES,
    PLACE_WORDS,
    TITLES,
    _first_names_accented,
    first_names,
)
from model.content.textutil import fold

COMPONENT = "misdirect_person_rules"

_FIRSTS = r"F(?:HF|F)?"
_LAST = r"(?:[NFY]H[NFY]|P{1,2}[NFYUV]|[NFY]|[UV]{1,2})"
_FULL = _FIRSTS + _LAST
_INV = r"[UV]{1,2}" + _FIRSTS
# Strong rules overwrite the NER's entities: a title or a greeting announces a name, and
# "DURAND Marie" followed by the end of the name is a person whatever the NER said.
STRONG_RE = re.compile(
    rf"TD?(?:{_FULL}|{_INV}|{_LAST})"
    rf"|G(?:TD?)?(?:{_FULL}|{_LAST}|{_FIRSTS})"
    rf"|{_INV}(?=E|$)"
)
# Weak rules only fill gaps: first name + surname, SURNAME + first name.
WEAK_RE = re.compile(rf"{_FULL}|{_INV}|[UV]V|V[UV]")

_HYPHENATED = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)+$")
_TITLE_TOKENS = frozenset(
    t for base in TITLES - {"me", "sir", "miss", "sr", "veuve", "vve"} for t in (base, base + ".")
)
_GREETING_TOKENS = GREETINGS - {"re", "merci"}


@lru_cache(maxsize=1)
def _lexicons() -> tuple[frozenset[str], frozenset[str]]:
    firsts = first_names() | _first_names_accented()
    stop = frozenset(fold(w) for w in NOT_NAMES | ORG_WORDS | GREETINGS | TITLES | PLACE_WORDS
                     | ACRONYMS)
    return firsts, stop


@lru_cache(maxsize=200_000)
def token_class(text: str) -> str:
    """The one-letter class of a token text (see the module docstring)."""
    firsts, stop = _lexicons()
    lower = text.lower()
    if lower in _GREETING_TOKENS:
        return "G"
    if lower in _TITLE_TOKENS:
        return "T"
    if lower in PARTICLES:
        return "P"
    if text == "-":
        return "H"
    if text == ".":
        return "D"
    folded = fold(text)
    if text.isupper() and len(text) >= 2 and text.replace("-", "").isalpha():
        if folded in stop:
            return "E"
        return "V" if (lower in firsts or folded in firsts) else "U"
    if text.istitle() and text.replace("-", "").replace("'", "").isalpha():
        if lower in firsts or folded in firsts or (
            "-" in folded and all(p in firsts for p in folded.split("-") if p)
        ):
            return "F"
        if folded in stop:
            return "O"
        if _HYPHENATED.match(text):
            return "Y"
        return "N" if text.isalpha() else "O"
    if text[:1].isupper():
        return "O"
    return "E"


# Class by token hash (the same in every vocab): reading the hashes as one array spares
# creating a Python Token per token.
_CLASS: dict[int, str] = {}


def _class_of(strings, orth: int) -> str:
    text = strings[orth]
    cls = "E" if text.isspace() else token_class(text)
    if len(_CLASS) < 500_000:
        _CLASS[orth] = cls
    return cls


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def rule_matches(doc) -> tuple[str, list[tuple[int, int]]]:
    """The token classes of ``doc`` (one letter per token) and the token spans of its strong
    rule matches (a title or a greeting and a name, ``SURNAME First-name``)."""
    from spacy.attrs import ORTH

    strings = doc.vocab.strings
    classes = "".join([_CLASS.get(o) or _class_of(strings, o) for o in doc.to_array(ORTH).tolist()])
    strong = [(m.start(), m.end()) for m in STRONG_RE.finditer(classes)]
    # Line breaks end names: a rule match must not run across one.
    return classes, [s for s in strong if not _crosses_line(doc, *s)]


def add_person_entities(doc, matches: tuple[str, list[tuple[int, int]]] | None = None):
    """Set PER entities from the rules: strong ones replace overlapping entities, weak
    ones are added where the NER found nothing. ``matches``: :func:`rule_matches` of the
    doc, if the caller computed it already."""
    from spacy.tokens import Span

    if not len(doc):
        return doc
    classes, strong = matches if matches is not None else rule_matches(doc)
    ents = list(doc.ents)
    if strong:
        ents = [e for e in ents if not any(_overlaps((e.start, e.end), s) for s in strong)]
        ents += [Span(doc, s, e, label="PER") for s, e in strong]
    taken = [(e.start, e.end) for e in ents]
    for m in WEAK_RE.finditer(classes):
        span = (m.start(), m.end())
        if not _crosses_line(doc, *span) and not any(_overlaps(span, t) for t in taken):
            ents.append(Span(doc, span[0], span[1], label="PER"))
            taken.append(span)
    doc.ents = sorted(ents, key=lambda e: e.start)
    return doc


def _crosses_line(doc, start: int, end: int) -> bool:
    return any("\n" in doc[i].whitespace_ for i in range(start, end - 1))


def register() -> None:
    """Register the component with spaCy (once; no side effect at import)."""
    from spacy.language import Language

    if not Language.has_factory(COMPONENT):
        Language.component(COMPONENT, func=add_person_entities)
