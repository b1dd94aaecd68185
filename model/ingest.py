"""Mail ingestion: mbox, maildir (Enron layout included), folders of .eml, single .eml, and
JSONL of check requests, read into :class:`~model.mail.Message` objects.

Everything streams in constant memory: mbox files are split on their ``From `` lines by this
module (``mailbox.mbox`` first builds a table of contents of the whole file), directories are
walked lazily and read one file at a time. Damaged input never raises out of
:func:`read_messages`; each dropped message is counted in :class:`IngestStats` under a reason.

Headers are parsed by a small, lenient parser of our own, addresses by a fast path for the
usual shapes; the ``email`` package handles the rest (odd address lists, RFC 2047 words,
dates) and the MIME parsing of multipart messages (``policy.compat32``: lenient, never raises
on bad headers). Single-part messages (all of Enron) skip the MIME parser.
Nothing here writes anywhere: bodies and attachment bytes stay in memory.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import hashlib
import json
import os
import quopri
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email import policy as email_policy
from email.header import decode_header
from email.message import Message as EmailMessage
from email.utils import getaddresses, parsedate_tz
from functools import lru_cache
from pathlib import Path
from typing import Any

from model.mail import Address, Attachment, Message, normalize_address, normalize_display_name

__all__ = [
    "FORMATS",
    "MAX_HEADER_BYTES",
    "MAX_MESSAGE_BYTES",
    "IngestStats",
    "SkipMessage",
    "clear_caches",
    "detect_format",
    "iter_input_files",
    "parse_email_bytes",
    "print_summary",
    "read_messages",
]

FORMATS = ("mbox", "maildir", "eml_dir", "jsonl", "eml")

# Bounds against hostile or broken input. A header block is usually a few KB; Enron's longest
# (a distribution list of hundreds of people) is 92 KB.
MAX_HEADER_BYTES = 256 * 1024
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_JSONL_LINE_BYTES = 64 * 1024 * 1024
_READ_CHUNK = 1 << 20  # mbox block size (a longer line is passed on in pieces)
_MAX_MIME_PARTS = 500
_MAX_MIME_DEPTH = 20
# Dates outside this window are placeholders (Enron has 1979-12-31 = epoch 0, and year 0001).
_MIN_YEAR, _MAX_YEAR = 1980, 2100


class SkipMessage(Exception):
    """Raised by :func:`parse_email_bytes` when a message cannot be used; ``reason`` is counted."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class IngestStats:
    """What a load did: counts only, never content."""

    read: int = 0  # messages yielded
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    duplicates: int = 0  # dropped as copies (Message.dedup_key())
    by_format: Counter[str] = field(default_factory=Counter)  # messages yielded per format
    by_file: Counter[str] = field(default_factory=Counter)  # messages yielded per input path
    # Repairs that kept the message (e.g. "dropped_address", "bcc_copy_of_cc").
    notes: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict:
        """JSON-ready counts."""
        return {
            "read": self.read,
            "skipped": dict(sorted(self.skipped.items())),
            "skipped_total": self.skipped_total,
            "duplicates": self.duplicates,
            "by_format": dict(sorted(self.by_format.items())),
            "by_file": dict(self.by_file),
            "notes": dict(sorted(self.notes.items())),
            "bytes_read": self.bytes_read,
        }


# --------------------------------------------------------------------------------------------
# Format detection and file enumeration
# --------------------------------------------------------------------------------------------

_HEADER_LINE_RE = re.compile(rb"^[!-9;-~]{1,100}[ \t]*:")
# Enron ("1_", "12.") and maildir unique names ("1234.M5P6Q7.host,S=12:2,S").
_NUMBERED_FILE_RE = re.compile(r"^\d+[._]?$")
_MAILDIR_NAME_RE = re.compile(r"^\d+\.[^/]+(:2,[A-Za-z]*)?$")
_MAILDIR_META = ("dovecot", "courier", "maildirfolder", "subscriptions", ".")
_SCAN_LIMIT = 20_000  # directory entries looked at before giving up on detection


def detect_format(path: Path) -> str:
    """``"mbox" | "maildir" | "eml_dir" | "jsonl" | "eml"``; ``ValueError`` otherwise."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path} : fichier ou dossier introuvable")
    if path.is_dir():
        return _detect_dir(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".mbox", ".mbx") or path.name.lower() == "mbox":
        return "mbox"
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise ValueError(f"{path} : illisible ({exc.strerror})") from exc
    if suffix == ".eml":
        return "eml"
    start = head.lstrip()
    if start.startswith(b"From "):
        return "mbox"
    if start.startswith(b"{"):
        return "jsonl"
    if _HEADER_LINE_RE.match(start):
        return "eml"
    raise ValueError(
        f"{path} : format non reconnu (attendu : mbox, maildir, dossier de .eml, .eml ou JSONL)"
    )


def _detect_dir(path: Path) -> str:
    if (path / "cur").is_dir() or (path / "new").is_dir():
        return "maildir"
    seen = 0
    numbered = False
    for _dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        if "cur" in dirnames or "new" in dirnames:
            return "maildir"
        for name in filenames:
            if name.lower().endswith(".eml"):
                return "eml_dir"
            if _NUMBERED_FILE_RE.match(name) or _MAILDIR_NAME_RE.match(name):
                numbered = True
        seen += len(filenames) + len(dirnames)
        if seen > _SCAN_LIMIT:
            break
    if numbered:
        return "maildir"
    boxes = sorted(p.name for p in path.iterdir() if p.suffix.lower() in (".mbox", ".jsonl"))
    if boxes:
        raise ValueError(
            f"{path} : ce dossier contient des fichiers ({', '.join(boxes[:3])}…) ; "
            "passez-les un par un (--history a.mbox --history b.mbox)"
        )
    raise ValueError(
        f"{path} : aucun message trouvé (ni maildir cur/new, ni fichiers .eml, "
        "ni fichiers numérotés à la Enron)"
    )


def _natural_key(name: str) -> list:
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", name)]


def iter_input_files(path: Path, fmt: str) -> Iterator[tuple[Path, str | None]]:
    """The message files of a maildir or .eml folder with their folder name, sorted naturally."""
    root = Path(path)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort(key=_natural_key)
        rel = Path(dirpath).relative_to(root)
        parts = list(rel.parts)
        if fmt == "maildir":
            if parts and parts[-1] == "tmp":
                dirnames[:] = []  # messages being delivered: not ours to read
                continue
            if parts and parts[-1] in ("cur", "new"):
                parts = parts[:-1]
            # Maildir++ names sub-folders ".Sent", ".Archive.2023".
            parts = [p[1:] if p.startswith(".") and len(p) > 1 else p for p in parts]
        folder = "/".join(parts) or None
        for name in sorted(filenames, key=_natural_key):
            if fmt == "eml_dir":
                if not name.lower().endswith(".eml"):
                    continue
            elif name.startswith(_MAILDIR_META) or name.endswith((".lock", ".index", ".cache")):
                continue
            yield Path(dirpath) / name, folder


# --------------------------------------------------------------------------------------------
# Raw sources: each yields (raw bytes | None, skip reason | None, folder, bytes consumed)
# --------------------------------------------------------------------------------------------

_Raw = tuple[bytes | None, str | None, str | None, int]

# The classic envelope line: "From sender Sat Nov 28 15:12:11 2026" (asctime, any sender).
# No "^": it is used with match(block, pos), where "^" would only match at offset 0.
_ENVELOPE_RE = re.compile(rb"From \S*\s+[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]?\d \d{1,2}:\d\d")
_UNESCAPE_RE = re.compile(rb"^>(>*From )", re.M)


def _line_starts_from(block: bytes, mid_line: bool) -> Iterator[int]:
    """Offsets of the lines of ``block`` that start with ``From `` (memchr-speed search)."""
    if not mid_line and block.startswith(b"From "):
        yield 0
    i = block.find(b"\nFrom ")
    while i >= 0:
        yield i + 1
        i = block.find(b"\nFrom ", i + 1)


def _iter_mbox(path: Path) -> Iterator[_Raw]:
    """Split an mbox on its ``From `` lines, one message in memory at a time.

    A line starting with ``From `` separates messages when it begins the file, follows a
    blank line, or has the asctime envelope shape. ``>From `` lines are unescaped (mboxrd).
    The file is read in 1 MB blocks of whole lines and separators are found with
    ``bytes.find`` (memchr speed); a message past MAX_MESSAGE_BYTES is dropped while reading
    and reported.
    """
    parts: list[bytes] = []  # the current message, block by block
    size = 0
    consumed = 0  # bytes of the file attributed to the current message (progress bar)
    skip: str | None = None
    tail = b"\n\n"  # last bytes before the current block: the file start counts as blank
    mid_line = False  # the block starts inside a line longer than a block
    in_separator = False  # ... and that line is an envelope line

    def finish() -> _Raw | None:
        if skip is not None:
            return (None, skip, None, consumed)
        if size == 0:
            return None
        data = b"".join(parts)
        if data.isspace():
            return None
        if b">From " in data:
            data = _UNESCAPE_RE.sub(rb"\1", data)
        return (data, None, None, consumed)

    def add(piece: bytes) -> None:
        nonlocal size, skip, parts
        if skip is not None or not piece:
            return
        parts.append(piece)
        size += len(piece)
        if size > MAX_MESSAGE_BYTES:
            skip, parts, size = "message_too_large", [], 0

    with path.open("rb") as fh:
        carry = b""
        while True:
            chunk = fh.read(_READ_CHUNK)
            data = carry + chunk
            if not data:
                break
            if chunk:
                cut = data.rfind(b"\n") + 1
                if cut == 0 and len(data) < _READ_CHUNK:
                    carry = data  # wait for the end of this line
                    continue
                if cut == 0:
                    cut = len(data)  # a line longer than a block: pass it on in pieces
                block, carry = data[:cut], data[cut:]
            else:
                block, carry = data, b""
            cur = 0
            if in_separator:  # the rest of an envelope line longer than a block
                nl = block.find(b"\n")
                cur = len(block) if nl < 0 else nl + 1
                in_separator = nl < 0
                consumed += cur
            for s in _line_starts_from(block, mid_line):
                if s < cur:
                    continue
                before = (tail + block[:s])[-3:] if s < 3 else block[s - 3 : s]
                blank_before = before.endswith(b"\n\n") or before.endswith(b"\n\r\n")
                if not blank_before and not _ENVELOPE_RE.match(block, s):
                    continue
                end = block.find(b"\n", s)
                in_separator = end < 0
                end = len(block) if end < 0 else end + 1
                add(block[cur:s])
                consumed += s - cur
                item = finish()
                if item is not None:
                    yield item
                    consumed = 0
                parts, size, skip = [], 0, None
                consumed += end - s
                cur = end
            add(block[cur:])
            consumed += len(block) - cur
            tail = (tail + block)[-3:]
            mid_line = not block.endswith(b"\n")
            if not chunk:
                break
    item = finish()
    if item is not None:
        yield item
    elif consumed:
        yield (None, None, None, consumed)  # trailing bytes, for the progress bar only


def _iter_files(files: Iterable[tuple[Path, str | None]]) -> Iterator[_Raw]:
    for file, folder in files:
        try:
            st = file.stat()
            if st.st_size > MAX_MESSAGE_BYTES:
                yield (None, "message_too_large", folder, st.st_size)
                continue
            data = file.read_bytes()
        except OSError:
            yield (None, "unreadable", folder, 0)
            continue
        yield (data, None, folder, len(data))


# --------------------------------------------------------------------------------------------
# Header decoding
# --------------------------------------------------------------------------------------------

_CHARSET_ALIASES = {
    "unknown-8bit": None,
    "x-unknown": None,
    "default": None,
    "x-user-defined": None,
    "unknown": None,
    "charset": None,
}


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    cs = charset.strip().strip("\"'").lower()
    if not cs or cs in _CHARSET_ALIASES:
        return None
    try:
        return codecs.lookup(cs).name
    except LookupError:
        return None


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Bytes to text: the declared charset if it decodes cleanly, else UTF-8, else cp1252.

    Declared charsets are often wrong (us-ascii holding Latin-1, iso-8859-1 holding UTF-8);
    the final fallback never fails (undefined bytes become U+FFFD).
    """
    codec = _codec(charset)
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
        except Exception:  # exotic codecs (utf-7, ...) raise other errors on junk
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; leave the text alone when it has none or is broken."""
    if "=?" not in value:
        return value
    try:
        chunks = decode_header(value)
    except Exception:  # malformed encoded words: keep the raw text
        return value
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            out.append(decode_text(chunk, charset))
        else:
            out.append(chunk)
    return "".join(out)


def _unfold(value: str) -> str:
    return " ".join(value.split()) if ("\n" in value or "\t" in value or "  " in value) else value


_FIELD_SPLIT_RE = re.compile(r"\n(?![ \t])")


def _parse_header_block(block: bytes) -> dict[str, list[str]]:
    """Name (lower case) -> unfolded values, in order. Lines that are not headers are ignored.

    Fields are split by regex on newlines not followed by folding whitespace (C speed: Enron
    headers fold distribution lists over hundreds of lines).
    """
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = block.decode("cp1252", errors="replace")
    headers: dict[str, list[str]] = {}
    for item in _FIELD_SPLIT_RE.split(text):
        colon = item.find(":")
        if colon <= 0 or colon > 100:
            continue  # not a header line (broken input), or a fold with nothing to fold into
        name = item[:colon].rstrip()
        if not name or " " in name or "\t" in name or "\n" in name or name[0] in " \t":
            continue
        value = item[colon + 1 :]
        headers.setdefault(name.lower(), []).append(_unfold(value).strip())
    return headers


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parts = parsedate_tz(value)
    except Exception:
        return None
    if parts is None:
        return None
    try:
        year = parts[0]
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            return None
        offset = parts[9]
        tz = UTC if offset is None else timezone(timedelta(seconds=offset))
        return datetime(year, parts[1], parts[2], parts[3], parts[4], parts[5], tzinfo=tz)
    except (ValueError, OverflowError, TypeError):
        return None


_MSGID_RE = re.compile(r"<([^<>\s]+)>")


def _msgid(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID_RE.search(value)
    if found:
        return found.group(1)
    token = value.strip().split()
    return token[0].strip("<>") if token else None


def _msgid_list(value: str | None) -> list[str]:
    if not value:
        return []
    found = _MSGID_RE.findall(value)
    return found if found else [t.strip("<>") for t in value.split() if t.strip("<>")]


# --- Enron's X-From / X-To / X-cc: display names (Lotus Notes style) ------------------------

_NOTES_SUFFIX_RE = re.compile(r"\s*/[^,<>]*$")  # "Jeff Skilling/Corp/Enron@ENRON"
_NOTES_AT_RE = re.compile(r"@[A-Za-z_ \-]+$")  # "Kenneth Lay@ENRON" (no dot: not a domain)


_LIST_ITEM_RE = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|<[^>]*>?|[^,"<])+')


def _split_list(value: str) -> list[str]:
    """Split on commas outside quotes and angle brackets (regex: C speed on long lists)."""
    if '"' not in value and "<" not in value:
        items = value.split(",")
    else:
        items = _LIST_ITEM_RE.findall(value)
    return [i.strip() for i in items if i.strip()]


def _x_entries_uncached(value: str | None) -> tuple[tuple[str | None, str | None], ...]:
    """(name, address) per entry of an X-To-like header."""
    if not value or not value.strip():
        return ()
    entries: list[tuple[str | None, str | None]] = []
    for item in _split_list(_decode_words(value)):
        addr: str | None = None
        name = item
        lt = item.find("<")
        if lt >= 0:
            gt = item.find(">", lt)
            addr = _norm_address(item[lt + 1 : gt if gt > lt else None])
            name = item[:lt]
        direct = _norm_address(name)
        if direct is not None:
            entries.append((None, addr or direct))
            continue
        if "@" in name or "/" in name:
            name = _NOTES_AT_RE.sub("", _NOTES_SUFFIX_RE.sub("", name))
        entries.append((_norm_name(name), addr))
    return tuple(entries)


# --- SMTP address headers --------------------------------------------------------------------


# Copies of one message repeat the same long lists; values are cached only when short enough
# to bound the cache (2048 x 8 KB) against hostile input.
_CACHEABLE = 8192
_x_entries_cached = lru_cache(maxsize=2048)(_x_entries_uncached)


def _x_entries(value: str | None) -> tuple[tuple[str | None, str | None], ...]:
    if value is not None and len(value) > _CACHEABLE:
        return _x_entries_uncached(value)
    return _x_entries_cached(value)


_ANGLE_RE = re.compile(r"^(.*?)<\s*([^<>\s]*)\s*>$", re.S)


def _bounded_cache(fn: Callable[[Any], Any], maxsize: int, maxlen: int) -> Callable[[Any], Any]:
    """``lru_cache`` for short string arguments only, so hostile input cannot bloat it."""
    cached = lru_cache(maxsize=maxsize)(fn)

    def call(value: Any) -> Any:
        if value is not None and len(value) > maxlen:
            return fn(value)
        return cached(value)

    call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return call


_norm_address = _bounded_cache(normalize_address, 1 << 16, 512)
_norm_name = _bounded_cache(normalize_display_name, 1 << 16, 512)


def _split_addresses_uncached(value: str) -> tuple[tuple[str, str], ...]:
    """(name, address) pairs of an address-list header.

    Fast path for the usual shapes (``a@b``, ``Name <a@b>``, ``"Last, First" <a@b>``);
    anything with comments, groups or stray brackets goes to ``email.utils.getaddresses``,
    whose pure-Python tokenizer is ~10x slower.
    """
    out: list[tuple[str, str]] = []
    for item in _split_list(value):
        if "(" in item or ":" in item or ";" in item or "\\" in item:
            out.extend(_stdlib_addresses(item))
            continue
        m = _ANGLE_RE.match(item)
        if m:
            name = m.group(1).strip()
            if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
                name = name[1:-1]
            out.append((name, m.group(2)))
        elif "<" in item or ">" in item or '"' in item:
            out.extend(_stdlib_addresses(item))
        else:
            out.append(("", item))
    return tuple(out)


_split_addresses_cached = lru_cache(maxsize=2048)(_split_addresses_uncached)


def _split_addresses(value: str) -> tuple[tuple[str, str], ...]:
    if len(value) > _CACHEABLE:
        return _split_addresses_uncached(value)
    return _split_addresses_cached(value)


def _stdlib_addresses(value: str) -> list[tuple[str, str]]:
    try:
        return [(n, a) for n, a in getaddresses([value]) if n or a]
    except Exception:  # pathological input in the stdlib parser
        return [("", value)]


def _addresses(
    values: list[str] | None, notes: Counter[str] | None
) -> tuple[list[Address], list[str | None]]:
    """Parsed addresses, and the normalised address (or None) of every raw entry, by position."""
    if not values:
        return [], []
    out: list[Address] = []
    raw_positions: list[str | None] = []
    for value in values:
        for name, addr in _split_addresses(value):
            normalized = _norm_address(addr)
            raw_positions.append(normalized)
            if normalized is None:
                if notes is not None:
                    notes["dropped_address"] += 1
                continue
            out.append(Address(normalized, _norm_name(_decode_words(name)) if name else None))
    return out, raw_positions


def _apply_x_names(
    addrs: list[Address], positions: list[str | None], x_value: str | None
) -> list[Address]:
    """Fill missing display names from an Enron X- header when its entries line up."""
    if not addrs or not x_value or all(a.name for a in addrs):
        return addrs
    entries = _x_entries(x_value)
    if not entries:
        return addrs
    by_addr = {a: n for n, a in entries if a and n}
    by_pos: dict[str, str] = {}
    if len(entries) == len(positions):
        for (name, _), addr in zip(entries, positions, strict=True):
            if addr and name:
                by_pos.setdefault(addr, name)
    else:
        # Lists that do not line up (Notes-only people in X-To): match "Joseph W Sutton" to
        # joseph.sutton@..., "Jeffrey A Shankman" to a..shankman@... by last name and initial.
        index = _name_index([n for n, _ in entries if n])
        for a in addrs:
            if a.name is None and a.address not in by_addr:
                found = _match_name(a.local, index)
                if found:
                    by_pos[a.address] = found
    if not by_addr and not by_pos:
        return addrs
    return [
        a if a.name else Address(a.address, by_addr.get(a.address) or by_pos.get(a.address))
        for a in addrs
    ]


_TOKEN_RE = re.compile(r"[a-z0-9]+")


def _name_index(names: list[str]) -> dict[str, list[tuple[set[str], str]]]:
    """Last word -> (initials of the other words, name), built once per header."""
    index: dict[str, list[tuple[set[str], str]]] = {}
    for name in names:
        words = _TOKEN_RE.findall(_fold(name))
        if len(words) >= 2:
            index.setdefault(words[-1], []).append(({w[0] for w in words[:-1]}, name))
    return index


def _match_name(local: str, index: dict[str, list[tuple[set[str], str]]]) -> str | None:
    """The one name whose last word is the address's last token and whose initials include
    the address's first letter; None when none or several match."""
    tokens = _TOKEN_RE.findall(local.lower())
    if len(tokens) < 2:
        return None
    found = {name for initials, name in index.get(tokens[-1], ()) if tokens[0][0] in initials}
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=1 << 14)
def _fold(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _recipient_list_uncached(
    values: tuple[str, ...], x_value: str | None
) -> tuple[tuple[Address, ...], int]:
    """Addresses of one recipient field (names filled from X-headers, duplicates removed)
    and the number of malformed entries dropped."""
    dropped: Counter[str] = Counter()
    addrs, positions = _addresses(list(values), dropped)
    addrs = _apply_x_names(addrs, positions, x_value)
    return tuple(_dedupe_addresses(addrs)), dropped["dropped_address"]


_recipient_list_cached = lru_cache(maxsize=1024)(_recipient_list_uncached)


def _recipient_list(
    values: tuple[str, ...], x_value: str | None
) -> tuple[tuple[Address, ...], int]:
    # Copies of a message and recurring distribution lists repeat the same headers; Address
    # is frozen, so cached results are safe to share. Bounded: 1024 x 32 KB at most.
    if sum(map(len, values)) + len(x_value or "") > 4 * _CACHEABLE:
        return _recipient_list_uncached(values, x_value)
    return _recipient_list_cached(values, x_value)


def clear_caches() -> None:
    """Empty the header caches (benchmarks call this so that every pass starts cold)."""
    _recipient_list_cached.cache_clear()
    _x_entries_cached.cache_clear()
    _split_addresses_cached.cache_clear()
    _fold.cache_clear()
    for fn in (_norm_address, _norm_name):
        fn.cache_clear()  # type: ignore[attr-defined]


def _dedupe_addresses(addrs: list[Address]) -> list[Address]:
    seen: set[str] = set()
    out = []
    for a in addrs:
        if a.address not in seen:
            seen.add(a.address)
            out.append(a)
    return out


# --------------------------------------------------------------------------------------------
# Bodies and attachments
# --------------------------------------------------------------------------------------------


def _ctype_params(value: str | None) -> tuple[str, dict[str, str]]:
    """(maintype/subtype, params) of a Content-Type header, lenient."""
    if not value:
        return "text/plain", {}
    parts = value.split(";")
    ctype = parts[0].strip().lower()
    if "/" not in ctype or " " in ctype:
        ctype = "text/plain"  # RFC 2045: invalid type means text/plain
    params: dict[str, str] = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return ctype, params


def _decode_transfer(body: bytes, cte: str | None) -> bytes:
    cte = (cte or "").strip().lower()
    try:
        if cte == "base64":
            cleaned = re.sub(rb"[^A-Za-z0-9+/=]", b"", body)
            cleaned = cleaned.rstrip(b"=")
            cleaned = cleaned[: len(cleaned) - len(cleaned) % 4 if len(cleaned) % 4 == 1 else None]
            return base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))
        if cte == "quoted-printable":
            return quopri.decodestring(body)
    except (binascii.Error, ValueError):
        return body
    return body


def _part_payload(part: EmailMessage) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # broken base64/qp in the stdlib decoder
        data = None
    if data is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            return raw.encode("ascii", "surrogateescape")
        return b""
    return data


def _walk_mime(
    msg: EmailMessage, keep_attachments: bool, notes: Counter[str] | None
) -> tuple[str, list[Attachment]]:
    """Body text (text/plain preferred, else HTML converted) and attachments of a MIME tree."""
    from model.htmltext import html_to_text

    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    stack: list[tuple[EmailMessage, int]] = [(msg, 0)]
    visited = 0
    while stack:
        part, depth = stack.pop()
        visited += 1
        if visited > _MAX_MIME_PARTS or depth > _MAX_MIME_DEPTH:
            if notes is not None:
                notes["mime_truncated"] += 1
            break
        ctype = part.get_content_type()
        if ctype == "message/rfc822" or (part.is_multipart() and ctype.startswith("message/")):
            if keep_attachments:
                inner = part.get_payload()
                try:
                    data = (
                        inner[0].as_bytes(policy=email_policy.compat32)
                        if isinstance(inner, list) and inner
                        else _part_payload(part)
                    )
                except Exception:
                    data = b""
                attachments.append(Attachment(_filename(part) or "message.eml", ctype, data))
            continue
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                # Reversed so that the stack pops parts in their original order.
                stack.extend((sub, depth + 1) for sub in reversed(payload))
            continue
        filename = _filename(part)
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        is_attachment = disposition == "attachment" or filename is not None
        if not is_attachment and ctype in ("text/plain", "text/html"):
            text = decode_text(_part_payload(part), part.get_content_charset())
            (plain if ctype == "text/plain" else html).append(text)
            continue
        if ctype.startswith("multipart/"):
            continue  # a multipart whose boundary is broken: no usable payload
        if keep_attachments:
            attachments.append(Attachment(filename or "attachment", ctype, _part_payload(part)))
    if plain:
        body = "\n".join(t.strip("\n") for t in plain)
    elif html:
        body = "\n".join(html_to_text(t) for t in html)
    else:
        body = ""
    return body, attachments


def _filename(part: EmailMessage) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    name = _decode_words(str(name))
    # Keep only the last path component: names are shown, never used as paths.
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or None


# --------------------------------------------------------------------------------------------
# One message
# --------------------------------------------------------------------------------------------


def parse_email_bytes(
    raw: bytes,
    *,
    folder: str | None = None,
    keep_attachments: bool = True,
    notes: Counter[str] | None = None,
) -> Message:
    """Parse one RFC 5322 message; raises :class:`SkipMessage` with a reason when unusable.

    ``folder`` is used when the message has no ``X-Folder`` header. ``notes`` (optional)
    counts repairs that kept the message, such as dropped malformed addresses.
    """
    if not raw or raw.isspace():
        raise SkipMessage("empty")
    if raw.startswith(b"From "):  # an mbox envelope line left in a single file
        nl = raw.find(b"\n")
        raw = raw[nl + 1 :] if nl >= 0 else b""
    if b"\r\n" in raw[:4096]:
        raw = raw.replace(b"\r\n", b"\n")
    raw = raw.lstrip(b"\n")
    end = raw.find(b"\n\n")
    header_len = end if end >= 0 else len(raw)
    if header_len > MAX_HEADER_BYTES:
        raise SkipMessage("header_too_large")
    header_block = raw[:header_len]
    if not _HEADER_LINE_RE.match(header_block) or b"\x00" in header_block:
        raise SkipMessage("not_email")
    headers = _parse_header_block(header_block)

    date = _parse_date(_first(headers, "date"))
    if date is None:
        raise SkipMessage("no_date")

    sender: Address | None = None
    for name in ("from", "sender", "return-path"):
        found, _ = _addresses(headers.get(name), None)
        if found:
            sender = found[0]
            break
    if sender is None:
        raise SkipMessage("no_sender")
    if sender.name is None:
        x_from = _x_entries(_first(headers, "x-from"))
        if len(x_from) == 1 and x_from[0][0]:
            sender = Address(sender.address, x_from[0][0])

    lists: dict[str, list[Address]] = {}
    for fld in ("to", "cc", "bcc"):
        values = headers.get(fld)
        if not values:
            lists[fld] = []
            continue
        found, dropped = _recipient_list(tuple(values), _first(headers, "x-" + fld))
        lists[fld] = list(found)
        if dropped and notes is not None:
            notes["dropped_address"] += dropped
    # Enron artefact: its Bcc header is a copy of Cc while X-bcc is empty. Counting those
    # people twice would distort the history.
    x_bcc = _first(headers, "x-bcc")
    if (
        lists["bcc"]
        and x_bcc is not None
        and not x_bcc.strip()
        and [a.address for a in lists["bcc"]] == [a.address for a in lists["cc"]]
    ):
        lists["bcc"] = []
        if notes is not None:
            notes["bcc_copy_of_cc"] += 1
    if not (lists["to"] or lists["cc"] or lists["bcc"]):
        raise SkipMessage("no_recipients")

    subject = _decode_words(_first(headers, "subject") or "").strip()
    x_folder = _first(headers, "x-folder")
    msg_folder = _decode_words(x_folder).strip() if x_folder and x_folder.strip() else folder

    ctype, params = _ctype_params(_first(headers, "content-type"))
    attachments: list[Attachment] = []
    body_bytes = raw[end + 2 :] if end >= 0 else b""
    if ctype.startswith(("multipart/", "message/")):
        try:
            mime = message_from_bytes(raw, policy=email_policy.compat32)
            body, attachments = _walk_mime(mime, keep_attachments, notes)
            if not body and isinstance(mime.get_payload(), str):
                # "multipart" without a usable boundary: the payload is the text itself.
                body = decode_text(_part_payload(mime), params.get("charset"))
        except Exception:  # broken MIME beyond what compat32 tolerates: keep the headers
            if notes is not None:
                notes["broken_mime"] += 1
            body = ""
    else:
        data = _decode_transfer(body_bytes, _first(headers, "content-transfer-encoding"))
        disposition = (_first(headers, "content-disposition") or "").split(";")[0].strip().lower()
        if ctype in ("text/plain", "text/html") and disposition != "attachment":
            body = decode_text(data, params.get("charset"))
            if ctype == "text/html":
                from model.htmltext import html_to_text

                body = html_to_text(body)
        else:
            body = ""
            if keep_attachments:
                mime = message_from_bytes(header_block + b"\n\n", policy=email_policy.compat32)
                attachments = [Attachment(_filename(mime) or "attachment", ctype, data)]

    # The mbox separator and MIME boundaries leave blank lines at the ends: not content.
    body = body.lstrip("\n").rstrip()
    message_id = _msgid(_first(headers, "message-id"))
    if not message_id:
        message_id = "sha1:" + hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:32]

    return Message(
        message_id=message_id,
        date=date,
        sender=sender,
        to=lists["to"],
        cc=lists["cc"],
        bcc=lists["bcc"],
        subject=subject,
        body=body,
        attachments=attachments,
        in_reply_to=_msgid(_first(headers, "in-reply-to")),
        references=_msgid_list(_first(headers, "references")),
        folder=msg_folder,
    )


# --------------------------------------------------------------------------------------------
# JSONL of check requests
# --------------------------------------------------------------------------------------------


def _iter_jsonl(
    path: Path, keep_attachments: bool, notes: Counter[str]
) -> Iterator[tuple[Message | None, str | None, int]]:
    from pydantic import ValidationError

    from model.schemas import CheckRequest

    with path.open("rb") as fh:
        lineno = 0
        while True:
            line = fh.readline(MAX_JSONL_LINE_BYTES + 1)
            if not line:
                break
            lineno += 1
            n = len(line)
            if len(line) > MAX_JSONL_LINE_BYTES and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # drain the rest of the line
                    line = fh.readline(_READ_CHUNK)
                    n += len(line)
                yield None, "line_too_large", n
                continue
            if not line.strip():
                yield None, None, n
                continue
            try:
                obj = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                yield None, "bad_json", n
                continue
            if not isinstance(obj, dict):
                yield None, "invalid_request", n
                continue
            if not keep_attachments:
                obj.pop("attachments", None)
            try:
                req = CheckRequest.model_validate(obj)
            except ValidationError:
                yield None, "invalid_request", n
                continue
            if req.sent_at is None:
                yield None, "no_date", n  # without sent_at it would be dated "now"
                continue
            mid = f"{path.name}:{lineno}"
            try:
                msg = req.to_message(message_id=mid)
            except ValueError:
                msg = _lenient_request(req, mid, notes)
            if msg is None:
                yield None, "no_sender", n
            elif not (msg.to or msg.cc or msg.bcc):
                yield None, "no_recipients", n
            else:
                yield msg, None, n


def _lenient_request(req: Any, mid: str, notes: Counter[str]) -> Message | None:
    """Like ``CheckRequest.to_message`` but dropping bad addresses and attachments."""

    def conv(values: list) -> list[Address]:
        out = []
        for v in values:
            addr = Address.parse(v.model_dump() if hasattr(v, "model_dump") else v)
            if addr is None:
                notes["dropped_address"] += 1
            else:
                out.append(addr)
        return out

    sender = conv([req.sender])
    if not sender:
        return None
    good = []
    for a in req.attachments:
        try:
            a.decode()
            good.append(a)
        except ValueError:
            notes["dropped_attachment"] += 1
    to, cc, bcc = conv(req.to), conv(req.cc), conv(req.bcc)
    clean = req.model_copy(
        update={
            "sender": sender[0].address,
            "to": [a.address for a in to],
            "cc": [a.address for a in cc],
            "bcc": [a.address for a in bcc],
            "attachments": good,
        }
    )
    msg = clean.to_message(message_id=mid)
    # Keep the display names that the address-only copy above lost.
    msg.sender, msg.to, msg.cc, msg.bcc = sender[0], to, cc, bcc
    return msg


# --------------------------------------------------------------------------------------------
# The public reader
# --------------------------------------------------------------------------------------------


def _dedup_digest(msg: Message) -> bytes:
    return hashlib.blake2b(
        "\x1f".join(msg.dedup_key()).encode("utf-8", "surrogatepass"), digest_size=16
    ).digest()


def _plan(paths: Iterable[Path | str], sizes: bool) -> list[tuple[Path, str, int]]:
    """(path, format, total bytes or 0) per input; raises ``ValueError`` on unknown input.

    Directory sizes are summed only for the progress bar, by a walk that keeps nothing: the
    files themselves are listed again, lazily, while reading (Enron's full tree is 500k files).
    """
    plan = []
    for p in paths:
        path = Path(p)
        fmt = detect_format(path)
        total = 0
        if sizes and fmt in ("maildir", "eml_dir"):
            for f, _ in iter_input_files(path, fmt):
                with contextlib.suppress(OSError):
                    total += f.stat().st_size
        elif sizes:
            total = path.stat().st_size
        plan.append((path, fmt, total))
    return plan


def read_messages(
    paths: Iterable[Path | str],
    *,
    stats: IngestStats | None = None,
    progress: bool = False,
    dedup: bool = True,
    keep_attachments: bool = True,
) -> Iterator[Message]:
    """Yield the messages of every input, in input order, copies dropped when ``dedup``.

    Each path may be an mbox file, a maildir (or a tree of Enron-style numbered files), a
    folder of ``.eml`` files, a single ``.eml``, or JSONL of check requests. Unreadable or
    unusable messages are counted in ``stats.skipped`` by reason; this never raises on bad
    content. An input that is not mail at all raises ``ValueError`` before anything is read.
    """
    stats = stats if stats is not None else IngestStats()
    if isinstance(paths, str | Path):  # one path given bare: not an iterable of characters
        paths = [paths]
    plan = _plan(paths, sizes=progress)
    seen: set[bytes] = set()
    advance: Callable[[int], None]
    bar_ctx: Any = None
    if progress:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        bar_ctx = Progress(
            TextColumn("[bold]lecture[/bold] {task.fields[msgs]} messages"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        bar_ctx.__enter__()
        task = bar_ctx.add_task("ingest", total=sum(t for *_, t in plan) or None, msgs=0)
        pending = [0, 0]

        def advance(n: int) -> None:
            pending[0] += n
            pending[1] += 1
            if pending[1] >= 256:
                bar_ctx.update(task, advance=pending[0], msgs=stats.read)
                pending[0] = pending[1] = 0

    else:

        def advance(n: int) -> None:
            return None

    def accept(msg: Message, fmt: str, source: str) -> bool:
        if dedup:
            digest = _dedup_digest(msg)
            if digest in seen:
                stats.duplicates += 1
                return False
            seen.add(digest)
        stats.read += 1
        stats.by_format[fmt] += 1
        stats.by_file[source] += 1
        return True

    try:
        for path, fmt, _total in plan:
            source = str(path)
            if fmt == "jsonl":
                for msg, reason, n in _iter_jsonl(path, keep_attachments, stats.notes):
                    stats.bytes_read += n
                    advance(n)
                    if reason is not None:
                        stats.skipped[reason] += 1
                    elif msg is not None and accept(msg, fmt, source):
                        yield msg
                continue
            if fmt == "mbox":
                raws: Iterator[_Raw] = _iter_mbox(path)
            elif fmt == "eml":
                raws = _iter_files([(path, None)])
            else:
                raws = _iter_files(iter_input_files(path, fmt))
            for data, reason, folder, n in raws:
                stats.bytes_read += n
                advance(n)
                if reason is not None:
                    stats.skipped[reason] += 1
                    continue
                if data is None:
                    continue
                try:
                    msg = parse_email_bytes(
                        data, folder=folder, keep_attachments=keep_attachments, notes=stats.notes
                    )
                except SkipMessage as skip:
                    stats.skipped[skip.reason] += 1
                    continue
                except Exception:  # a parser bug must not end a load of millions of messages
                    stats.skipped["unparseable"] += 1
                    continue
                if accept(msg, fmt, source):
                    yield msg
    finally:
        if bar_ctx is not None:
            bar_ctx.update(task, completed=stats.bytes_read, msgs=stats.read)
            bar_ctx.__exit__(None, None, None)


_REASON_FR = {
    "no_date": "date absente ou invalide",
    "no_sender": "expéditeur absent ou invalide",
    "no_recipients": "aucun destinataire valide",
    "header_too_large": "en-têtes trop volumineux",
    "message_too_large": "message trop volumineux",
    "not_email": "pas un e-mail",
    "unparseable": "illisible",
    "unreadable": "fichier illisible",
    "empty": "vide",
    "bad_json": "ligne JSON invalide",
    "invalid_request": "requête invalide",
    "line_too_large": "ligne trop longue",
}


def print_summary(stats: IngestStats, console: Any = None, *, seconds: float | None = None) -> None:
    """Print the counts of a load as a table (on stderr by default). Never any content."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(stderr=True)
    table = Table(title="Ingestion", show_header=True)
    table.add_column("", style="bold")
    table.add_column("messages", justify="right")
    table.add_row("lus", f"{stats.read:,}".replace(",", " "))
    table.add_row("doublons retirés", f"{stats.duplicates:,}".replace(",", " "))
    for reason, count in sorted(stats.skipped.items(), key=lambda kv: -kv[1]):
        table.add_row(f"ignorés : {_REASON_FR.get(reason, reason)} ({reason})", str(count))
    for fmt, count in sorted(stats.by_format.items()):
        table.add_row(f"format {fmt}", str(count))
    for src, count in stats.by_file.items():
        table.add_row(f"  {src}", str(count))
    for note, count in sorted(stats.notes.items()):
        table.add_row(f"réparé : {note}", str(count))
    if seconds is not None and seconds > 0:
        table.add_row("durée (s)", f"{seconds:.2f}")
        table.add_row("messages/s", f"{stats.read / seconds:,.0f}".replace(",", " "))
    console.print(table)
