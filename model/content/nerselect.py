"""Run the statistical NER only where a name can be.

``fr_core_news_md``'s ``ner`` costs about 0.05 ms per token here (its own tok2vec: hash
embeddings + static vectors + four maxout CNN layers, then the transition loop), linear in the
number of tokens: it is most of a check. Most tokens of a mail cannot start or hold a person
name: lower-case prose, numbers, punctuation, sentence-initial function words ("Je", "Pour",
"Merci"). So the NER reads only *windows* of ``margin`` tokens around each *candidate* token (a
capitalised word that is not an acronym and, at the start of a sentence, not a common French
word; an INSEE first name always), glued into one ``Doc``; its entities are mapped back to the
full document. The person rules (:mod:`model.content.namerules`) still read the whole text,
and their *strong* matches (a title or a greeting and a name: "Mme Durand", "Bonjour Sophie",
"Dr Marc Lefebvre") are settled before the NER runs: those rules replace whatever entity
overlaps them, so what the NER would say there is never used and their tokens are not
candidates.

Why the entities do not change: the NER's tok2vec is four convolution layers of window 1, so
a token's vector depends on the 4 tokens on each side only; with ``margin`` >= 5 every
candidate and its neighbours get exactly the vectors they get in the full text, and the
transition system's features (the current token, the entity being built, the previous
token) are local too. What can change is an entity made only of non-candidate tokens
(sentence-initial "Bonne" tagged PER, which cleaning drops anyway) or, rarely, one reaching
more than ``margin`` lower-case tokens past a candidate. ``bench/ner.py`` measures the
served path (this one) and ``tests/test_content_nerselect.py`` compares it with the NER on the
whole text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from model.content.persons import ACRONYMS, GREETINGS, NOT_NAMES, first_names
from model.content.textutil import fold

if TYPE_CHECKING:
    from spacy.tokens import Doc

MARGIN = 5  # tokens kept on each side of a candidate (the CNN sees 4 on each side; +1 for
# the token next to a candidate)
MERGE_GAP = 4  # windows closer than this many tokens are merged (fewer junctions)
# Below this share of the tokens selected, windows pay; above it, the whole text is read.
MAX_SHARE = 0.9
_SENTENCE_END = frozenset({".", "!", "?", ":", ";", "…", "...", "•", "-", "–", "—", "*",
                           "«", "\"", "(", ">"})


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    from spacy.lang.fr.stop_words import STOP_WORDS

    return frozenset(fold(w) for w in (*STOP_WORDS, *NOT_NAMES, *GREETINGS))


@lru_cache(maxsize=100_000)
def token_kind(text: str) -> int:
    """2: a candidate wherever it stands; 1: a candidate unless it starts a sentence (a
    capitalised common word: "Pour", "Merci", "Madame"); 0: never (lower case, digits,
    punctuation, acronyms)."""
    if not text[:1].isupper() or any(c.isdigit() for c in text):
        return 0
    folded = fold(text).rstrip(".")
    if text.isupper() and len(text) > 1 and folded in ACRONYMS:
        return 0
    if folded in first_names():
        return 2
    if folded in _common_words():
        return 1
    return 2


# Per token text (by its 64-bit hash, the same in every vocab): (kind, ends a sentence, is a
# line break). Reading the hashes as one array spares creating a Python Token per token.
_INFO: dict[int, tuple[int, bool, bool]] = {}
_INFO_MAX = 500_000


def _info(strings, orth: int) -> tuple[int, bool, bool]:
    info = _INFO.get(orth)
    if info is None:
        text = strings[orth]
        if text.isspace():
            info = (0, False, "\n" in text)
        else:
            info = (token_kind(text), text in _SENTENCE_END, False)
        if len(_INFO) < _INFO_MAX:
            _INFO[orth] = info
    return info


def candidates(doc: Doc, orths: Sequence[int] | None = None) -> list[int]:
    """Indices of the tokens that may start or hold a name (``orths``: the doc's ORTH column,
    if the caller has it)."""
    from spacy.attrs import ORTH

    if orths is None:
        orths = doc.to_array(ORTH).tolist()
    strings = doc.vocab.strings
    out: list[int] = []
    initial = True
    for i, orth in enumerate(orths):
        kind, ends, newline = _info(strings, orth)
        if newline:
            initial = True
            continue
        if kind == 2 or (kind == 1 and not initial):
            out.append(i)
        initial = ends
    return out


def windows(n_tokens: int, cands: Sequence[int], margin: int = MARGIN,
            gap: int = MERGE_GAP) -> list[tuple[int, int]]:
    """Token ranges [start, end) of ``margin`` tokens around each candidate, merged."""
    out: list[list[int]] = []
    for i in cands:
        start, end = max(0, i - margin), min(n_tokens, i + margin + 1)
        if out and start <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


def _subdoc(doc: Doc, ranges: list[tuple[int, int]], table) -> tuple[Doc, list[int]]:
    """The tokens of ``ranges`` as one Doc (same words, spaces, norms) and their indices in
    ``doc``. ``table``: the doc's (ORTH, SPACY, NORM) array."""
    import numpy as np
    from spacy.attrs import NORM
    from spacy.tokens import Doc as DocType

    index = [i for s, e in ranges for i in range(s, e)]
    rows = table[np.asarray(index, dtype=np.int64)]
    strings = doc.vocab.strings
    words = [strings[o] for o in rows[:, 0].tolist()]
    sub = DocType(doc.vocab, words=words, spaces=rows[:, 1].astype(bool).tolist())
    # The tokenizer's special cases may set a token norm other than the lexeme's.
    sub.from_array([NORM], rows[:, 2:3])
    return sub, index


def _map_back(doc: Doc, sub: Doc, index: list[int]) -> None:
    from spacy.tokens import Span

    ents = []
    for ent in sub.ents:
        start, end = ent.start, ent.end
        # An entity running over a junction of two windows is cut at the junction.
        while end - 1 > start and index[end - 1] - index[start] != end - 1 - start:
            end -= 1
        ents.append(Span(doc, index[start], index[end - 1] + 1, label=ent.label))
    doc.ents = ents


def run_ner(ner, docs: Iterable[Doc], *, select: bool = True, margin: int = MARGIN,
            batch_size: int = 64, settled: Sequence[Sequence[tuple[int, int]]] | None = None
            ) -> list[Doc]:
    """Run the ``ner`` pipe on ``docs`` (in place), only on the windows that can hold a name
    when ``select``; returns the docs in order. ``settled``: per doc, token spans whose
    entities are decided without the NER (the strong person rules, which replace any entity
    overlapping them): their tokens are not candidates."""
    docs = list(docs)
    if not select:
        return list(ner.pipe(docs, batch_size=batch_size)) if len(docs) > 1 else [ner(d) for d in docs]
    from spacy.attrs import NORM, ORTH, SPACY

    jobs: list[tuple[Doc, Doc, list[int] | None]] = []
    for k, doc in enumerate(docs):
        table = doc.to_array([ORTH, SPACY, NORM])
        cands = candidates(doc, table[:, 0].tolist())
        if settled is not None and settled[k]:
            cands = [i for i in cands if not any(s <= i < e for s, e in settled[k])]
        ranges = windows(len(doc), cands, margin)
        selected = sum(e - s for s, e in ranges)
        if selected >= MAX_SHARE * len(doc):
            jobs.append((doc, doc, None))  # nothing to save: the whole text
        elif selected == 0:
            doc.ents = []  # no candidate: no name (and every token is "outside")
        else:
            sub, index = _subdoc(doc, ranges, table)
            jobs.append((doc, sub, index))
    subs = [sub for _, sub, _ in jobs]
    if len(subs) == 1:
        ner(subs[0])
    elif subs:
        for _ in ner.pipe(subs, batch_size=batch_size):
            pass
    for doc, sub, index in jobs:
        if index is not None:
            _map_back(doc, sub, index)
    return docs
