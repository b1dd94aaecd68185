"""E-mail addresses and MSSanté addresses (the health trust space)."""

from __future__ import annotations

import pytest

from model.content.detectors import REGISTRY, detect_all

DETECTORS = [REGISTRY["EmailDetector"], REGISTRY["MssanteDetector"]]


def found(text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in detect_all(text, detectors=DETECTORS)]


CASES = [
    ("écrire à s.lemaire@cds-havre.example", [("EMAIL", "s.lemaire@cds-havre.example")]),
    ("<jean.dupont@gmail.com>", [("EMAIL", "jean.dupont@gmail.com")]),
    ("Jean.Dupont+cpam@Orange.FR.", [("EMAIL", "Jean.Dupont+cpam@Orange.FR")]),
    ("mailto:a_b-c@sub.domain.fr", [("EMAIL", "a_b-c@sub.domain.fr")]),
    ("dupont@ch-xyz.mssante.fr", [("MSSANTE", "dupont@ch-xyz.mssante.fr")]),
    ("prenom.nom@medecin.mssante.fr", [("MSSANTE", "prenom.nom@medecin.mssante.fr")]),
    ("cardiologie@ch-xyz.mssante.fr", [("MSSANTE", "cardiologie@ch-xyz.mssante.fr")]),
    ("1234567890123456@patient.mssante.fr", [("MSSANTE", "1234567890123456@patient.mssante.fr")]),
    ("contact@mssante.fr", [("MSSANTE", "contact@mssante.fr")]),
    ("A@B.CO et c@d.fr", [("EMAIL", "A@B.CO"), ("EMAIL", "c@d.fr")]),
    ("x@mssante.fr.evil.com", [("EMAIL", "x@mssante.fr.evil.com")]),  # not the trust space
    ("x@fakemssante.fr", [("EMAIL", "x@fakemssante.fr")]),
    # not addresses
    ("@gmail.com", []),
    ("jean@", []),
    ("jean@localhost", []),
    ("jean..dupont@gmail.com", [("EMAIL", "jean..dupont@gmail.com")]),  # kept, as mail.py does
    ("jean@exa_mple.fr", []),
    ("jean@-bad.fr", []),
    ("prix 20 € @ 10h", []),
    ("jean dupont at gmail dot com", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_email_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected
