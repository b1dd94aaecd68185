"""Attachment text, read in memory with bounds on size, pages, characters and time.

Plain text, CSV, HTML, PDF (pypdf) and DOCX (python-docx) are read. A password-protected
document is reported as ``encrypted`` (the CNIL's recommended way to send health data by
mail). Archives and unknown types are listed, never opened blindly; a zip bomb, a malformed
PDF or an oversized file is refused cleanly with a status, never an exception.
"""

from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from model.content.types import AttachmentSummary
from model.mail import Attachment


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds for reading one attachment."""

    max_bytes: int = 10 * 1024 * 1024
    max_pages: int = 50
    max_chars: int = 500_000
    timeout_s: float = 1.0
    max_uncompressed: int = 50 * 1024 * 1024  # sum of the members of a DOCX / zip
    max_ratio: float = 200.0  # uncompressed / compressed, per member and overall
    max_members: int = 2_000


_TEXT_EXT = {".txt", ".text", ".log", ".md", ".eml"}
_CSV_EXT = {".csv", ".tsv"}
_HTML_EXT = {".html", ".htm", ".xhtml"}
_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".webp"}
_ARCHIVE_EXT = {".zip", ".rar", ".7z", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".zst"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")


def sniff_kind(att: Attachment) -> str:
    """text, csv, html, pdf, docx, office, archive, image or unknown (magic bytes first)."""
    head = att.data[:1024]
    ext = PurePosixPath(att.filename.lower()).suffix
    ctype = (att.content_type or "").lower().split(";")[0].strip()
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        if ext == ".docx" or "wordprocessingml" in ctype:
            return "docx"
        if ext in {".xlsx", ".pptx", ".odt", ".ods", ".odp", ".docm", ".xlsm"}:
            return "office"
        return "archive"
    if head.startswith(_OLE_MAGIC):
        return "office"
    if head.startswith((b"Rar!", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh", b"\xfd7zXZ")) or (
        att.data[257:262] == b"ustar"
    ):
        return "archive"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*")):
        return "image"
    if ext in _ARCHIVE_EXT:
        return "archive"
    if ext in _IMAGE_EXT or ctype.startswith("image/"):
        return "image"
    if ext in _HTML_EXT or ctype in {"text/html", "application/xhtml+xml"}:
        return "html"
    if ext in _CSV_EXT or ctype in {"text/csv", "text/tab-separated-values"}:
        return "csv"
    if ext in _TEXT_EXT or ctype.startswith("text/"):
        return "text"
    if ext == ".docx":
        return "docx"
    if ext == ".pdf" or ctype == "application/pdf":
        return "pdf"  # claims to be a PDF without the header: the reader will refuse it
    return "unknown"


def decode_text(data: bytes, max_chars: int) -> str:
    """Bytes to text: UTF-8 (with or without BOM), else Windows-1252, else Latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)[:max_chars]
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")[:max_chars]


def _summary(att: Attachment, kind: str, status: str, **kw: object) -> AttachmentSummary:
    return AttachmentSummary(att.filename, att.content_type, att.size, kind, status, **kw)  # type: ignore[arg-type]


def _check_zip(zf: zipfile.ZipFile, size: int, limits: Limits) -> str | None:
    """Why this zip must not be opened (a bomb, too many members), or None."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        return f"too many members ({len(infos)})"
    total = 0
    for info in infos:
        total += info.file_size
        if info.compress_size > 0 and info.file_size / info.compress_size > limits.max_ratio:
            return "compression ratio too high (zip bomb)"
        if info.compress_size == 0 and info.file_size > 0:
            return "compression ratio too high (zip bomb)"
    if total > limits.max_uncompressed:
        return "uncompressed size too large (zip bomb)"
    if size and total / size > limits.max_ratio:
        return "compression ratio too high (zip bomb)"
    return None


def _read_zip_archive(att: Attachment, limits: Limits) -> AttachmentSummary:
    """List a zip archive from its central directory; members are never decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(att.data)) as zf:
            infos = zf.infolist()
            if any(info.flag_bits & 0x1 for info in infos):
                return _summary(att, "archive", "encrypted", detail=f"{len(infos)} entries")
            problem = _check_zip(zf, att.size, limits)
            if problem:
                return _summary(att, "archive", "refused", detail=problem)
            return _summary(att, "archive", "unsupported",
                            detail=f"archive not opened ({len(infos)} entries)")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return _summary(att, "archive", "error", detail="malformed archive")


def _read_pdf(att: Attachment, limits: Limits, deadline: float) -> tuple[AttachmentSummary, str]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(att.data), strict=False)
        if reader.is_encrypted:
            # An empty user password only restricts printing or copying: not a protection.
            try:
                if not reader.decrypt(""):
                    return _summary(att, "pdf", "encrypted", detail="password protected"), ""
            except Exception:
                return _summary(att, "pdf", "encrypted", detail="password protected"), ""
        n_pages = len(reader.pages)
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, IndexError,
            RecursionError, OSError, AssertionError, ZeroDivisionError):
        return _summary(att, "pdf", "error", detail="malformed PDF"), ""
    parts: list[str] = []
    chars = 0
    detail = None
    for index in range(min(n_pages, limits.max_pages)):
        if time.perf_counter() > deadline:
            detail = f"time limit after {index} pages"
            break
        try:
            page_text = reader.pages[index].extract_text() or ""
        except Exception:  # one broken page must not lose the others
            detail = "some pages unreadable"
            continue
        parts.append(page_text)
        chars += len(page_text)
        if chars >= limits.max_chars:
            detail = "character limit reached"
            break
    if detail is None and n_pages > limits.max_pages:
        detail = f"first {limits.max_pages} of {n_pages} pages read"
    text = "\n".join(parts)[: limits.max_chars]
    return _summary(att, "pdf", "read", pages=n_pages, chars=len(text), detail=detail), text


def _read_docx(att: Attachment, limits: Limits, deadline: float) -> tuple[AttachmentSummary, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(att.data)) as zf:
            if any(info.flag_bits & 0x1 for info in zf.infolist()):
                return _summary(att, "docx", "encrypted"), ""
            problem = _check_zip(zf, att.size, limits)
            if problem:
                return _summary(att, "docx", "refused", detail=problem), ""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return _summary(att, "docx", "error", detail="malformed DOCX"), ""
    try:
        import docx

        document = docx.Document(io.BytesIO(att.data))
        parts: list[str] = []
        chars = 0
        blocks = [p.text for p in document.paragraphs]
        for table in document.tables:
            if time.perf_counter() > deadline:
                break
            for row in table.rows:
                blocks.append(";".join(cell.text for cell in row.cells))
        for block in blocks:
            parts.append(block)
            chars += len(block) + 1
            if chars >= limits.max_chars:
                break
        text = "\n".join(parts)[: limits.max_chars]
    except Exception:  # python-docx raises many types on a broken package
        return _summary(att, "docx", "error", detail="malformed DOCX"), ""
    return _summary(att, "docx", "read", chars=len(text)), text


def extract_text(att: Attachment, limits: Limits | None = None) -> tuple[AttachmentSummary, str]:
    """Summary and text (memory only) of one attachment; never raises on hostile input."""
    limits = limits or Limits()
    deadline = time.perf_counter() + limits.timeout_s
    kind = sniff_kind(att)
    if att.size > limits.max_bytes:
        return _summary(att, kind, "too_large", detail=f"more than {limits.max_bytes} bytes"), ""
    try:
        if kind == "pdf":
            return _read_pdf(att, limits, deadline)
        if kind == "docx":
            return _read_docx(att, limits, deadline)
        if kind in {"text", "csv"}:
            text = decode_text(att.data, limits.max_chars)
            return _summary(att, kind, "read", chars=len(text)), text
        if kind == "html":
            from model.htmltext import html_to_text

            text = html_to_text(decode_text(att.data, limits.max_chars * 4), limits.max_chars)
            return _summary(att, kind, "read", chars=len(text)), text
        if kind == "office":
            if _ENCRYPTION_INFO in att.data[: 4 * 1024 * 1024] and att.data.startswith(_OLE_MAGIC):
                return _summary(att, kind, "encrypted", detail="password protected"), ""
            return _summary(att, kind, "unsupported", detail="office format not read"), ""
        if kind == "archive":
            if att.data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
                return _read_zip_archive(att, limits), ""
            return _summary(att, kind, "unsupported", detail="archive not opened"), ""
        return _summary(att, kind, "unsupported"), ""
    except MemoryError:
        return _summary(att, kind, "refused", detail="out of memory"), ""
    except Exception:  # last guard: hostile input must never break the check
        return _summary(att, kind, "error", detail="unreadable"), ""
