"""Birth dates: a date next to "né(e) le", "DDN", "date de naissance", or in a table column."""

from __future__ import annotations

import pytest

from model.content.detectors import REGISTRY

BIRTH = REGISTRY["BirthDateDetector"]


def found(text: str) -> list[str]:
    return [s.text for s in BIRTH.detect(text)]


CASES = [
    ("Mme Durand, née le 12/03/1955, ", ["12/03/1955"]),
    ("M. Petit, né le 1er avril 1948", ["1er avril 1948"]),
    ("né(e) le 03-11-1990", ["03-11-1990"]),
    ("Née le 7 juin 2001", ["7 juin 2001"]),
    ("DDN : 12/03/1955", ["12/03/1955"]),
    ("DDN 12.03.55", ["12.03.55"]),
    ("date de naissance : 29/02/1964", ["29/02/1964"]),
    ("Date de naissance 14 févr. 1970", ["14 févr. 1970"]),
    ("naissance le 31 décembre 1999", ["31 décembre 1999"]),
    ("NÉE LE 05/05/1985", ["05/05/1985"]),
    ("Nom;Prénom;Date de naissance\nDurand;Marie;12/03/1955\nPetit;Jean;01/02/1960",
     ["12/03/1955", "01/02/1960"]),
    ("nom\tddn\nDurand\t12/03/1955", ["12/03/1955"]),
    # not birth dates
    ("rendez-vous le 12/03/2024", []),
    ("facture du 12/03/1955", []),
    ("né le 31/02/1955", []),  # no such day
    ("né le 12/13/1955", []),
    ("né le 12/03/2999", []),  # in the future
    ("né le 12/03/1755", []),
    ("je ne peux pas le 12/03/2024", []),
    ("lot 2024-03-12", []),
    ("Durand;Marie;12/03/1955", []),  # a table without a birth-date header
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_birth_date_table(text: str, expected: list[str]) -> None:
    assert found(text) == expected
