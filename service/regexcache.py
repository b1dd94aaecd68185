"""A disk cache of compiled *huge* regular expressions, for the start-up of ``misdirect serve``.

spaCy's French tokenizer builds a 1.45 MB ``token_match`` pattern (an alternation of every
hyphenated or elided exception word) and compiles it at import of
``spacy.lang.fr.tokenizer_exceptions``: Python's ``re`` parses and assembles it in pure Python,
5-10 s on this machine, at every start. The compiled form is a list of integers (the ``_sre``
program): this module keeps it on disk, keyed by the pattern, its flags and the exact Python
build, and rebuilds the pattern object with ``_sre.compile`` in milliseconds. The program is
byte for byte what ``re`` would produce (it *is* what ``re`` produced the first time), so
matching is unchanged. Only patterns of at least ``MIN_CHARS`` characters go through the cache:
library constants such as spaCy's tokenizer rules, never message content. Any problem (another
Python, an unreadable or corrupt file) falls back to the normal compilation.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
import sys
import tempfile
from array import array
from pathlib import Path

MIN_CHARS = 100_000
_installed: list[object] = []


def default_dir() -> Path:
    base = os.environ.get("MISDIRECT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "misdirect")
    return Path(base) / "regex"


def install(directory: Path | None = None) -> None:
    """Route the compilation of huge patterns through the disk cache (idempotent)."""
    if _installed:
        return
    import _sre
    from re import _compiler, _parser  # type: ignore[attr-defined]

    original = _compiler.compile
    folder = Path(directory) if directory is not None else default_dir()
    build = f"{sys.version}|{_sre.MAGIC}|{_sre.CODESIZE}|{_sre.MAXREPEAT}|{_sre.MAXGROUPS}"

    def compile_cached(p, flags=0):
        if not isinstance(p, str) or len(p) < MIN_CHARS or flags & re.DEBUG:
            return original(p, flags)
        key = hashlib.sha256(f"{build}|{flags}|".encode() + p.encode("utf-8", "surrogatepass"))
        path = folder / f"{key.hexdigest()}.pickle"
        with contextlib.suppress(Exception):
            with open(path, "rb") as fh:
                all_flags, code, groups, groupindex, indexgroup = pickle.load(fh)
            return _sre.compile(p, all_flags, code.tolist(), groups, groupindex, indexgroup)
        # What re._compiler.compile does, keeping the program to store it.
        parsed = _parser.parse(p, flags)
        code = _compiler._code(parsed, flags)
        groupindex = parsed.state.groupdict
        indexgroup = [None] * parsed.state.groups
        for k, i in groupindex.items():
            indexgroup[i] = k
        entry = (flags | parsed.state.flags, array("I", code), parsed.state.groups - 1,
                 dict(groupindex), tuple(indexgroup))
        compiled = _sre.compile(p, entry[0], code, entry[2], entry[3], entry[4])
        with contextlib.suppress(Exception):
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        return compiled

    _compiler.compile = compile_cached
    _installed.append(original)


def uninstall() -> None:
    """Restore ``re``'s own compilation (tests)."""
    if _installed:
        from re import _compiler  # type: ignore[attr-defined]

        _compiler.compile = _installed.pop()
