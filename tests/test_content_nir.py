"""NIR detector: checksum, Corsica 2A/2B, spaced forms, French edge cases."""

from __future__ import annotations

import pytest

from model.content.detectors import REGISTRY

NIR = REGISTRY["NirDetector"]


def found(text: str) -> list[str]:
    return [s.text for s in NIR.detect(text)]


CASES = [
    # (text, expected matches) — valid vectors from REFERENCE.md and computed keys
    ("NIR 255081416802538", ["255081416802538"]),
    ("n° SS : 2 55 08 14 168 025 38.", ["2 55 08 14 168 025 38"]),
    ("253072B07300470", ["253072B07300470"]),
    ("253072A07300443", ["253072A07300443"]),
    ("2 53 07 2A 073 004 43", ["2 53 07 2A 073 004 43"]),
    ("né à l'étranger : 295109912611193", ["295109912611193"]),
    ("1.84.12.76.451.089.46", ["1.84.12.76.451.089.46"]),  # dotted form
    ("1.84.12.76.451.089.47", []),  # wrong key
    ("sécu 2-55-08-14-168-025-38", ["2-55-08-14-168-025-38"]),
    ("(255081416802538)", ["255081416802538"]),
    ("NIR:255081416802538,", ["255081416802538"]),
    # invalid
    ("255081416802539", []),  # key off by one
    ("255081416802537", []),
    ("555081416802538", []),  # sex digit 5 does not exist
    ("25508141680253", []),  # 14 characters
    ("2550814168025381", []),  # 16 digits: part of a longer number
    ("12550814168025385", []),
    ("253072C07300470", []),  # only 2A and 2B
    ("2 55 00 14 168 025 xx", []),
    ("255001416802592", []),  # month 00 is not a month (key recomputed: 92)
    ("tél 02 35 41 27 90", []),
    ("IBAN FR1420041010050500013M02606", []),
    ("commande 255081416802538A", []),  # glued to a letter
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_nir_table(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def nir_key(first13: str) -> str:
    number = first13.replace("2A", "19").replace("2B", "18") if first13[5:7] in ("2A", "2B") else first13
    return f"{97 - int(number) % 97:02d}"


@pytest.mark.parametrize(
    "body",
    ["1840376451089", "2991299999999", "1702099123456", "2505075012345", "1630542123456",
     "2781197123456", "7990199123456", "3851098765432", "1623099123456", "28012971234"+"56",
     "1690698123456"],
)
def test_nir_computed_keys(body: str) -> None:
    """Valid keys pass, every other key fails (month 20-42, 50-99 and overseas included)."""
    good = body + nir_key(body)
    assert found(good) == [good]
    bad = body + f"{(int(nir_key(body)) % 97) + 1:02d}"
    assert found(bad) == []


def test_context_raises_score() -> None:
    with_ctx = NIR.detect("Numéro de sécurité sociale : 255081416802538")[0]
    without = NIR.detect("référence 255081416802538")[0]
    assert with_ctx.score > without.score
