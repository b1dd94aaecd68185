"""Identifier and health-term detectors, presidio style.

A detector is a small class with class-level ``PATTERNS`` (candidate regexes with a base
score), ``CONTEXT`` (keywords that lift the score when found near the match) and a
``validate()`` that checks a candidate (checksum, calendar, ...) and drops it when it fails.
Detectors register themselves in :data:`REGISTRY`; :func:`detect_all` runs every detector
on one text and resolves overlaps. Adding a detector is one class plus one table of tests
(see ``docs/content.md``).

Detected values live in :class:`~model.content.types.Span` objects in memory only: nothing
here logs or writes them.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import ClassVar

import phonenumbers
from stdnum import iban as std_iban
from stdnum.fr import nir as std_nir
from stdnum.fr import siren as std_siren
from stdnum.fr import siret as std_siret

from model.content.textutil import fold
from model.content.types import Span, TextSource
from model.mail import normalize_address


@dataclass(frozen=True, slots=True)
class Pattern:
    """A candidate regex with the score a match gets before validation and context."""

    name: str
    regex: str
    score: float


class Detector:
    """Base class: find candidates with ``PATTERNS``, keep those ``validate()`` accepts.

    Subclasses set ``kind`` (the counts key), ``PATTERNS`` and optionally ``CONTEXT``
    (accent-free, lower-case keywords). ``REQUIRES_CONTEXT`` drops matches with no keyword in
    the window (for weak checksums such as the 9-digit SIREN).
    """

    kind: ClassVar[str] = ""
    PATTERNS: ClassVar[tuple[Pattern, ...]] = ()
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    CONTEXT_BEFORE: ClassVar[int] = 300
    CONTEXT_AFTER: ClassVar[int] = 40
    CONTEXT_BOOST: ClassVar[float] = 0.3
    REQUIRES_CONTEXT: ClassVar[bool] = False
    FLAGS: ClassVar[int] = 0

    def __init__(self) -> None:
        self._patterns = [(p, re.compile(p.regex, self.FLAGS)) for p in self.PATTERNS]
        self._context_re = (
            re.compile(r"(?<!\w)(?:" + "|".join(re.escape(c) for c in self.CONTEXT) + r")(?!\w)")
            if self.CONTEXT
            else None
        )

    def validate(self, value: str) -> bool:
        """True when the candidate is a real identifier (checksum, calendar...)."""
        return True

    def refine(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """Final (start, end) of a candidate, or None to drop it. Default: ``validate``."""
        return (start, end) if self.validate(text[start:end]) else None

    def has_context(self, folded: str, start: int, end: int) -> bool:
        if self._context_re is None:
            return False
        window = folded[max(0, start - self.CONTEXT_BEFORE) : end + self.CONTEXT_AFTER]
        return self._context_re.search(window) is not None

    def detect(self, text: str, folded: str | None = None, source: TextSource = "body") -> list[Span]:
        """Spans of this detector's kind in ``text``."""
        if folded is None:
            folded = fold(text)
        spans: list[Span] = []
        seen: set[tuple[int, int]] = set()
        for pattern, regex in self._patterns:
            for match in regex.finditer(text):
                start, end = match.span("v") if "v" in regex.groupindex else match.span()
                refined = self.refine(text, start, end)
                if refined is None or refined in seen:
                    continue
                start, end = refined
                score = pattern.score
                if self._context_re is not None:
                    if self.has_context(folded, start, end):
                        score = min(1.0, score + self.CONTEXT_BOOST)
                    elif self.REQUIRES_CONTEXT:
                        continue
                seen.add((start, end))
                spans.append(Span(self.kind, start, end, text[start:end], score, source))
        return spans


REGISTRY: dict[str, Detector] = {}


def register(cls: type[Detector]) -> type[Detector]:
    """Class decorator: instantiate the detector once and add it to :data:`REGISTRY`."""
    REGISTRY[cls.__name__] = cls()
    return cls


def compact_value(value: str) -> str:
    """An identifier as one string, whatever its grouping: spaces, dots and dashes removed,
    upper case (``2 75 04 76 379 938 68`` → ``275047637993868``, Corsica's ``2a`` → ``2A``)."""
    return re.sub(r"[\s.\-]", "", value).upper()


# --------------------------------------------------------------------------- NIR
@register
class NirDetector(Detector):
    """French social-security number (NIR): 13 characters + 2-digit key, Corsica 2A/2B."""

    kind = "NIR"
    # Written compact, or grouped the standard way with one separator throughout:
    # "2 55 08 14 168 025 38", "1.84.12.76.451.089.46", overseas "2 55 08 971 12 025 38",
    # or the 13 characters then the key. Digits grouped otherwise (an IBAN's groups of
    # four) are not read as a NIR.
    PATTERNS = (
        Pattern("nir_compact", r"(?<![\w+])[1-478]\d{4}(?:\d{2}|2[ABab])\d{6}(?: ?\d{2})(?![\w])", 0.7),
        Pattern(
            "nir_grouped",
            r"(?<![\w+])[1-478]([ .\-])\d{2}\1\d{2}\1(?:\d{2}|2[ABab])\1\d{3}\1\d{3}\1\d{2}(?![\w])",
            0.7,
        ),
        Pattern(
            "nir_overseas",
            r"(?<![\w+])[1-478]([ .\-])\d{2}\1\d{2}\1\d{3}\1\d{2}\1\d{3}\1\d{2}(?![\w])",
            0.7,
        ),
    )
    CONTEXT = ("nir", "securite sociale", "secu", "n° ss", "numero ss", "insee", "ins",
               "assure", "immatriculation", "carte vitale", "vitale", "nss")

    def validate(self, value: str) -> bool:
        number = compact_value(value)
        if len(number) != 15 or number[0] not in "123478":
            return False
        month = int(number[3:5])
        # 01-12 real months; 20-42 and 50-99 unknown or fictitious months.
        if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
            return False
        return std_nir.is_valid(number)

    def refine(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        return (start, end) if self.validate(text[start:end]) else None


# --------------------------------------------------------------------------- IBAN / RIB
@register
class IbanDetector(Detector):
    """IBAN of any country (ISO 7064 mod 97-10); French ones also pass the RIB key."""

    kind = "IBAN"
    PATTERNS = (
        Pattern("iban", r"(?<![\w])[A-Z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])", 0.8),
    )
    CONTEXT = ("iban", "rib", "bic", "releve d'identite bancaire", "virement", "compte",
               "bancaire", "banque", "swift")

    def validate(self, value: str) -> bool:
        number = compact_value(value)
        if not std_iban.is_valid(number):
            return False
        if number[:2] in _RIB_COUNTRIES:
            return rib_key_ok(number[4:9], number[9:14], number[14:25], number[25:27])
        return True

    def refine(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        # The candidate may run into a following word ("... 189 BIC"): cut it at the
        # country's IBAN length, on a boundary between groups of characters.
        candidate = text[start:end]
        positions = [i for i, c in enumerate(candidate) if c.isalnum()]
        length = IBAN_LENGTHS.get(candidate[:2])
        lengths = [length] if length else range(min(len(positions), 34), 14, -1)
        for n in lengths:
            if n > len(positions):
                continue
            stop = positions[n - 1] + 1
            if stop < len(candidate) and candidate[stop].isalnum():
                continue  # would cut a group of characters in two
            if self.validate(candidate[:stop]):
                return start, start + stop
        return None


# IBAN length by country (SWIFT IBAN registry); French overseas territories use FR's.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    **dict.fromkeys(("GF", "GP", "MQ", "RE", "PF", "TF", "YT", "NC", "PM", "WF", "BL", "MF"), 27),
}


_RIB_COUNTRIES = frozenset({"FR", "MC", "GF", "GP", "MQ", "RE", "PF", "TF", "YT", "NC", "PM",
                            "WF", "BL", "MF"})
_RIB_LETTERS = {c: str(v) for v, letters in enumerate(
    ("", "AJ", "BKS", "CLT", "DMU", "ENV", "FOW", "GPX", "HQY", "IRZ")) for c in letters}


def rib_key_ok(bank: str, branch: str, account: str, key: str) -> bool:
    """French RIB key: 97 − ((89·bank + 15·branch + 3·account) mod 97), letters mapped."""
    try:
        account_digits = "".join(_RIB_LETTERS.get(c, c) for c in account.upper())
        total = 89 * int(bank) + 15 * int(branch) + 3 * int(account_digits)
        return 97 - (total % 97) == int(key)
    except ValueError:
        return False


@register
class RibDetector(Detector):
    """A French RIB written without IBAN (bank, branch, account, key); counted as IBAN."""

    kind = "IBAN"
    PATTERNS = (
        Pattern(
            "rib",
            r"(?<![\w])(?P<b>\d{5})[ \-]?(?P<g>\d{5})[ \-]?(?P<c>[0-9A-Za-z]{11})[ \-]?(?P<k>\d{2})(?![\w])",
            0.6,
        ),
    )
    CONTEXT = IbanDetector.CONTEXT

    def validate(self, value: str) -> bool:
        number = compact_value(value)
        if len(number) != 23:
            return False
        return rib_key_ok(number[:5], number[5:10], number[10:21], number[21:])


# --------------------------------------------------------------------------- SIREN / SIRET
@register
class SiretDetector(Detector):
    """SIRET (14 digits, Luhn; La Poste exception handled by python-stdnum)."""

    kind = "SIRET"
    PATTERNS = (Pattern("siret", r"(?<![\w])\d{3}[ .]?\d{3}[ .]?\d{3}[ .]?\d{5}(?![\w])", 0.5),)
    CONTEXT = ("siret", "siren", "etablissement", "rcs", "immatricule", "immatriculee",
               "immatriculation", "numero d'identification")

    def validate(self, value: str) -> bool:
        number = compact_value(value)
        return len(number) == 14 and std_siret.is_valid(number)


@register
class SirenDetector(Detector):
    """SIREN (9 digits, Luhn). One random number in ten passes Luhn: context required."""

    kind = "SIREN"
    PATTERNS = (Pattern("siren", r"(?<![\w])\d{3}[ .]?\d{3}[ .]?\d{3}(?![\w])", 0.4),)
    CONTEXT = ("siren", "rcs", "immatricule", "immatriculee", "immatriculation",
               "registre du commerce")
    CONTEXT_BEFORE = 60
    CONTEXT_AFTER = 10
    REQUIRES_CONTEXT = True

    def validate(self, value: str) -> bool:
        number = compact_value(value)
        return len(number) == 9 and std_siren.is_valid(number)


# --------------------------------------------------------------------------- phones
@register
class PhoneDetector(Detector):
    """French phone numbers (0X XX XX XX XX, +33, 0033), checked by ``phonenumbers``."""

    kind = "PHONE"
    PATTERNS = (
        Pattern(
            "fr_phone",
            r"(?<![\w+])(?:(?:\+|00)[ ]?33[ .\-]?(?:\(0\)[ .\-]?)?[1-9]|0[1-9])(?:[ .\-]?\d{2}){4}(?![\w])",
            0.7,
        ),
    )
    CONTEXT = ("tel", "telephone", "portable", "mobile", "fixe", "fax", "joindre", "appeler",
               "numero", "tél")

    def validate(self, value: str) -> bool:
        try:
            number = phonenumbers.parse(value, "FR")
        except phonenumbers.NumberParseException:
            return False
        return phonenumbers.is_valid_number(number)


# --------------------------------------------------------------------------- birth dates
_MONTHS = {
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4,
    "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9,
    "sept": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12,
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
# Dates are matched on the folded text (lower case, no accents), same offsets.
_DATE_RE = re.compile(
    r"(?<![\w/.\-])(?:(?P<d>[0-3]?\d)[/.\-](?P<m>[01]?\d)[/.\-](?P<y>(?:18|19|20)\d{2}|\d{2})"
    r"|(?P<d2>1er|[0-3]?\d)\s+(?P<mn>" + _MONTH_RE + r")\.?\s+(?P<y2>(?:18|19|20)\d{2}))(?![\w/])"
)
_BIRTH_NEAR_RE = re.compile(
    r"(?<!\w)(?:nee?s?\s+le|ne\(e\)\s+le|nee?\s*\(e\)\s+le|nee|ne\(e\)|ddn|d\.d\.n\.?"
    r"|date\s+de\s+naissance|naissance|naiss\.?|birth\s*date|date\s+of\s+birth|dob)(?!\w)"
)
_BIRTH_HEADER_RE = re.compile(r"(?<!\w)(?:date\s+de\s+naissance|naissance|ddn|date_naissance|"
                              r"datenaissance|date_de_naissance|dob)(?!\w)")
_TABLE_SEPARATORS = (";", "\t", "|", ",")


@register
class BirthDateDetector(Detector):
    """A date written next to a birth keyword ("né le", "DDN", "date de naissance") or in a
    table column whose header names the birth date. A bare date is not a birth date."""

    kind = "BIRTH_DATE"

    def detect(self, text: str, folded: str | None = None, source: TextSource = "body") -> list[Span]:
        if folded is None:
            folded = fold(text)
        spans: list[Span] = []
        today = date.today()
        header_positions: list[int] | None = None
        for match in _DATE_RE.finditer(folded):
            parsed = _parse_date(match)
            if parsed is None or not (date(1880, 1, 1) <= parsed <= today):
                continue
            start, end = match.span()
            line_start = folded.rfind("\n", 0, start) + 1
            near = folded[max(line_start, start - 40) : start]
            score = 0.0
            if _BIRTH_NEAR_RE.search(near):
                score = 0.95
            else:
                line_end = folded.find("\n", end)
                line = folded[line_start : line_end if line_end >= 0 else len(folded)]
                if any(sep in line for sep in _TABLE_SEPARATORS):
                    if header_positions is None:
                        header_positions = [m.start() for m in _BIRTH_HEADER_RE.finditer(folded)]
                    # A header naming the birth date earlier in the same table (20 kB).
                    k = bisect.bisect_right(header_positions, start)
                    if k and start - header_positions[k - 1] <= 20_000:
                        score = 0.6
            if score:
                spans.append(Span(self.kind, start, end, text[start:end], score, source))
        return spans


def _parse_date(match: re.Match[str]) -> date | None:
    try:
        if match.group("d"):
            day, month, year = int(match.group("d")), int(match.group("m")), match.group("y")
        else:
            d2 = match.group("d2")
            day = 1 if d2 == "1er" else int(d2)
            month = _MONTHS[match.group("mn")]
            year = match.group("y2")
        y = int(year)
        if len(year) == 2:
            # Two-digit years: a birth date is in the past.
            y += 2000 if 2000 + y <= date.today().year else 1900
        return date(y, month, day)
    except (ValueError, KeyError):
        return None


# --------------------------------------------------------------------------- e-mail
_EMAIL_RE = r"(?<![\w.%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*\.)+[A-Za-z]{2,}(?![\w\-])"


def _is_mssante(address: str) -> bool:
    domain = address.rsplit("@", 1)[-1]
    return domain == "mssante.fr" or domain.endswith(".mssante.fr")


@register
class EmailDetector(Detector):
    """E-mail addresses outside the MSSanté trust space."""

    kind = "EMAIL"
    PATTERNS = (Pattern("email", _EMAIL_RE, 0.9),)

    def validate(self, value: str) -> bool:
        address = normalize_address(value)
        return address is not None and not _is_mssante(address)


@register
class MssanteDetector(Detector):
    """MSSanté addresses (``…@….mssante.fr``, patients' ``…@patient.mssante.fr``)."""

    kind = "MSSANTE"
    PATTERNS = (Pattern("mssante", _EMAIL_RE, 1.0),)

    def validate(self, value: str) -> bool:
        address = normalize_address(value)
        return address is not None and _is_mssante(address)


# --------------------------------------------------------------------------- health terms
@lru_cache(maxsize=1)
def health_terms() -> tuple[str, ...]:
    """The health lexicon (``data/health_terms.txt``), folded, longest first."""
    raw = resources.files("model.content").joinpath("data/health_terms.txt").read_text("utf-8")
    terms = {fold(line.split("#", 1)[0].strip()) for line in raw.splitlines()}
    terms.discard("")
    return tuple(sorted(terms, key=len, reverse=True))


@lru_cache(maxsize=1)
def _health_re() -> re.Pattern[str]:
    alternation = "|".join(re.escape(t).replace(r"\ ", r"[\s\-]+") for t in health_terms())
    # Plural -s/-x allowed after any term; matched on folded text.
    return re.compile(r"(?<![\w])(?:" + alternation + r")(?:s|x)?(?![\w])")


@register
class HealthTermDetector(Detector):
    """Medical acts, exams, conditions, prescriptions and health-insurance vocabulary."""

    kind = "HEALTH"

    def detect(self, text: str, folded: str | None = None, source: TextSource = "body") -> list[Span]:
        if folded is None:
            folded = fold(text)
        return [
            Span(self.kind, m.start(), m.end(), text[m.start() : m.end()], 0.8, source)
            for m in _health_re().finditer(folded)
        ]


# --------------------------------------------------------------------------- running all
# Identifier kinds compete for the same characters: the longest valid reading wins
# (a SIRET contains a SIREN; an IBAN contains a RIB).
_EXCLUSIVE_KINDS = frozenset({"NIR", "IBAN", "SIRET", "SIREN", "PHONE", "BIRTH_DATE"})


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Drop identifier spans covered by a longer (then higher-scored) identifier span."""
    spans = list(spans)
    exclusive = sorted(
        (s for s in spans if s.kind in _EXCLUSIVE_KINDS),
        key=lambda s: (-(s.end - s.start), -s.score, s.start),
    )
    kept: list[Span] = []
    starts: list[int] = []  # kept spans never overlap: sorted by start, so are their ends
    ends: list[int] = []
    for span in exclusive:
        i = bisect.bisect_right(starts, span.start)
        if i > 0 and ends[i - 1] > span.start:
            continue
        if i < len(starts) and starts[i] < span.end:
            continue
        starts.insert(i, span.start)
        ends.insert(i, span.end)
        kept.append(span)
    others = [s for s in spans if s.kind not in _EXCLUSIVE_KINDS]
    return sorted(kept + others, key=lambda s: (s.start, s.end))


def detect_all(
    text: str,
    source: TextSource = "body",
    detectors: Iterable[Detector] | None = None,
    folded: str | None = None,
) -> list[Span]:
    """Run every registered detector (or ``detectors``) on ``text``; overlaps resolved."""
    if folded is None:
        folded = fold(text)
    found: list[Span] = []
    for detector in detectors if detectors is not None else REGISTRY.values():
        found.extend(detector.detect(text, folded, source))
    return resolve_overlaps(found)


def health_score(health_hits: int, distinct_terms: int, nir_count: int = 0) -> float:
    """0..1: how much a text is health data. Distinct terms weigh more than repeats; a NIR
    (the health-insurance number) counts as one term."""
    weight = distinct_terms + 0.25 * max(0, health_hits - distinct_terms) + min(nir_count, 4)
    return round(1.0 - math.exp(-weight / 3.0), 4)

