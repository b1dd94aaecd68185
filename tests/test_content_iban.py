"""IBAN (any country, mod 97-10) and French RIB key detectors."""

from __future__ import annotations

import pytest
from stdnum import iban as std_iban

from model.content.detectors import REGISTRY, detect_all, rib_key_ok

IBAN = REGISTRY["IbanDetector"]
RIB = REGISTRY["RibDetector"]


def found(text: str) -> list[str]:
    return [s.text for s in detect_all(text, detectors=[IBAN, RIB])]


CASES = [
    ("FR14 2004 1010 0505 0001 3M02 606", ["FR14 2004 1010 0505 0001 3M02 606"]),
    ("FR1420041010050500013M02606", ["FR1420041010050500013M02606"]),
    ("IBAN : FR14 2004 1010 0505 0001 3M02 606 BIC PSSTFRPPPAR",
     ["FR14 2004 1010 0505 0001 3M02 606"]),
    ("IBAN FR76 3000 6000 0112 3456 7890 189.", ["FR76 3000 6000 0112 3456 7890 189"]),
    ("DE89 3704 0044 0532 0130 00", ["DE89 3704 0044 0532 0130 00"]),
    ("GB82 WEST 1234 5698 7654 32", ["GB82 WEST 1234 5698 7654 32"]),
    ("BE71 0961 2345 6769", ["BE71 0961 2345 6769"]),
    ("BE68 5390 0754 7034", []),  # mod 97 passes, Belgian account check fails (stdnum)
    ("CH93 0076 2011 6238 5295 7", ["CH93 0076 2011 6238 5295 7"]),
    ("compte ES91 2100 0418 4502 0005 1332 ok", ["ES91 2100 0418 4502 0005 1332"]),
    ("MC58 1122 2000 0101 2345 6789 030", ["MC58 1122 2000 0101 2345 6789 030"]),
    # RIB without IBAN: bank, branch, account, key
    ("RIB 20041 01005 0500013M026 06", ["20041 01005 0500013M026 06"]),
    ("RIB 30006 00001 12345678901 89", ["30006 00001 12345678901 89"]),
    # invalid
    ("FR15 2004 1010 0505 0001 3M02 606", []),  # IBAN check digits
    ("FR14 2004 1010 0505 0001 3M02 607", []),
    ("FR14 2004 1010 0505 0001 3M02 60", []),  # too short
    ("DE89 3704 0044 0532 0130 01", []),
    ("GB82 WEST 1234 5698 7654 33", []),
    ("RIB 20041 01005 0500013M026 07", []),  # RIB key
    ("RIB 30006 00001 12345678901 88", []),
    ("XX00 1234 5678 9012", []),
    ("NIR 255081416802538", []),
    ("FRAIS 1234", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_iban_table(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_french_iban_with_good_mod97_but_bad_rib_key_is_rejected() -> None:
    bban = "20041010050500013M02607"  # RIB key 07 instead of 06
    iban = "FR" + std_iban.calc_check_digits("FR00" + bban) + bban
    assert std_iban.is_valid(iban)  # ISO 7064 alone accepts it
    assert found(iban) == []


def test_iban_inside_rib_counted_once() -> None:
    spans = detect_all("FR76 3000 6000 0112 3456 7890 189", detectors=[IBAN, RIB])
    assert len(spans) == 1 and spans[0].kind == "IBAN"


@pytest.mark.parametrize(
    ("bank", "branch", "account", "key", "ok"),
    [("20041", "01005", "0500013M026", "06", True), ("30006", "00001", "12345678901", "89", True),
     ("20041", "01005", "0500013M026", "05", False), ("3000A", "00001", "12345678901", "89", False)],
)
def test_rib_key(bank: str, branch: str, account: str, key: str, ok: bool) -> None:
    assert rib_key_ok(bank, branch, account, key) is ok
