"""Small text helpers shared by the detectors and person rules.

:func:`fold` lower-cases and strips accents *without changing the length* of the text, so
offsets found in the folded text are offsets in the original.
"""

from __future__ import annotations

import unicodedata


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x00C0, 0x0250):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0].lower()
        if len(base) == 1 and base != char:
            table[code] = base
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = chr(code + 32)
    table[0x0130] = "i"  # 'İ'.lower() has two characters: keep the length
    # Typographic apostrophes and dashes written by Outlook and Word.
    table[0x2019] = "'"
    table[0x2018] = "'"
    table[0x2010] = "-"
    table[0x2011] = "-"
    table[0x00A0] = " "
    table[0x202F] = " "
    return table


_FOLD_TABLE = _build_fold_table()


def fold(text: str) -> str:
    """Lower-case, accent-free copy of ``text`` with exactly the same length.

    >>> fold("Née le ÉTÉ")
    'nee le ete'
    """
    return text.translate(_FOLD_TABLE)


def strip_accents(text: str) -> str:
    """Accent-free copy (length may change: used for comparisons, not offsets)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
