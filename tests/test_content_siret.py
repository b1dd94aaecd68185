"""SIREN (9 digits, context required) and SIRET (14 digits) detectors, Luhn checksums."""

from __future__ import annotations

import pytest
from stdnum import luhn

from model.content.detectors import REGISTRY, detect_all

DETECTORS = [REGISTRY["SiretDetector"], REGISTRY["SirenDetector"]]


def found(text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in detect_all(text, detectors=DETECTORS)]


def siren(prefix: str) -> str:
    return prefix + luhn.calc_check_digit(prefix)


S1 = siren("40483304")  # a Luhn-valid SIREN built from an 8-digit prefix
SIRET1 = S1 + "0001" + luhn.calc_check_digit(S1 + "0001")

CASES = [
    ("SIRET 732 829 320 00074", [("SIRET", "732 829 320 00074")]),
    ("SIRET : 73282932000074", [("SIRET", "73282932000074")]),
    ("établissement 73282932000074.", [("SIRET", "73282932000074")]),
    (f"siret {SIRET1}", [("SIRET", SIRET1)]),
    ("SIREN 732 829 320", [("SIREN", "732 829 320")]),
    ("RCS Paris 732829320", [("SIREN", "732829320")]),
    (f"n° SIREN : {S1}", [("SIREN", S1)]),
    ("immatriculée sous le numéro 732.829.320", [("SIREN", "732.829.320")]),
    ("La Poste SIRET 35600000000048", [("SIRET", "35600000000048")]),
    # invalid checksums
    ("SIRET 732 829 320 00075", []),
    ("SIRET 73282932000073", []),
    ("SIREN 732 829 321", []),
    ("RCS 732829322", []),
    # a valid SIREN without context is not reported (one number in ten passes Luhn)
    ("commande 732829320 livrée", []),
    ("lot 732 829 320", []),
    # shapes
    ("SIRET 7328293200007", []),  # 13 digits
    ("SIRET 732829320000745", []),  # 15 digits
    ("SIREN 73282932", []),
    ("SIREN 7328293201", []),
    ("NIR 255081416802538", []),
    ("tél 02 35 41 27 90", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_siret_siren_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_siren_inside_siret_counted_once() -> None:
    assert found("SIREN/SIRET 732 829 320 00074") == [("SIRET", "732 829 320 00074")]
