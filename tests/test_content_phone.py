"""French phone numbers (phonenumbers, region FR)."""

from __future__ import annotations

import pytest

from model.content.detectors import REGISTRY

PHONE = REGISTRY["PhoneDetector"]


def found(text: str) -> list[str]:
    return [s.text for s in PHONE.detect(text)]


CASES = [
    ("Tél : 02 35 41 27 90", ["02 35 41 27 90"]),
    ("portable 06 12 34 56 78.", ["06 12 34 56 78"]),
    ("07.81.23.45.67", ["07.81.23.45.67"]),
    ("01-42-68-53-00", ["01-42-68-53-00"]),
    ("0612345678", ["0612345678"]),
    ("+33 6 12 34 56 78", ["+33 6 12 34 56 78"]),
    ("+33612345678", ["+33612345678"]),
    ("0033 1 42 68 53 00", ["0033 1 42 68 53 00"]),
    ("+33 (0)1 42 68 53 00", ["+33 (0)1 42 68 53 00"]),
    ("09 72 10 20 30", ["09 72 10 20 30"]),
    ("appelez le 05 56 79 00 00 ou le 04 91 00 00 00", ["05 56 79 00 00", "04 91 00 00 00"]),
    ("(02 35 41 27 90)", ["02 35 41 27 90"]),
    # invalid
    ("00 12 34 56 78", []),  # no 00 prefix number in France
    ("06 12 34 56 7", []),  # 9 digits
    ("06 12 34 56 789", []),  # 11 digits
    ("061234567890", []),
    ("NIR 255081416802538", []),
    ("montant 1 234,56 €", []),
    ("le 12/03/1955", []),
    ("FR76 3000 6000 0112 3456 7890 189", []),
    ("08 00", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_phone_table(text: str, expected: list[str]) -> None:
    assert found(text) == expected
