"""Valid French identifiers for the synthetic world: NIR, IBAN/RIB, phone numbers.

Every generator takes an explicit ``random.Random`` so the world is reproducible.
"""

from __future__ import annotations

import random
from datetime import date

# Départements of birth and their weights: the centre is in Seine-Maritime, patients come
# mostly from Normandy, some from elsewhere, Corsica (2A/2B), overseas (97x) and abroad (99).
_DEPTS: list[tuple[str, int]] = [
    ("76", 50), ("14", 8), ("27", 8), ("75", 5), ("50", 3), ("61", 2), ("59", 3), ("92", 2),
    ("35", 2), ("69", 2), ("13", 2), ("2A", 1), ("2B", 1), ("971", 1), ("974", 1), ("99", 3),
]
_BANKS = ["30004", "30003", "20041", "10278", "11306", "17515", "30002", "13335", "18306",
          "16275", "10907", "30066"]
_RIB_LETTERS = {c: str(v) for v, letters in enumerate(
    ["", "AJ", "BKS", "CLT", "DMU", "ENV", "FOW", "GPX", "HQY", "IRZ"]) for c in letters}


def nir_key(first13: str) -> str:
    """The two-digit NIR key (Corsica: 2A→19, 2B→18 before the modulo)."""
    digits = first13.upper().replace("2A", "19").replace("2B", "18")
    return f"{97 - int(digits) % 97:02d}"


def make_nir(rng: random.Random, sex: str, birth: date, dept: str | None = None) -> str:
    """A valid 15-character NIR for a person born on ``birth`` (sex ``"M"`` or ``"F"``)."""
    if dept is None:
        dept = rng.choices([d for d, _ in _DEPTS], [w for _, w in _DEPTS])[0]
    sex_digit = "1" if sex == "M" else "2"
    month = f"{birth.month:02d}"
    if rng.random() < 0.01:  # born abroad with unknown month, as the register allows
        month = str(rng.randint(20, 42))
    commune = f"{rng.randint(1, 99):02d}" if len(dept) == 3 else f"{rng.randint(1, 999):03d}"
    order = f"{rng.randint(1, 999):03d}"
    first13 = f"{sex_digit}{birth.year % 100:02d}{month}{dept}{commune}{order}"
    return first13 + nir_key(first13)


def format_nir(nir: str, style: int = 0) -> str:
    """``2 55 08 14 168 025 38`` (style 0), compact (1), or ``2550814168025 38`` (2)."""
    if style == 1:
        return nir
    if style == 2:
        return f"{nir[:13]} {nir[13:]}"
    if nir[5:7] == "97" or nir[5:7] == "98":  # overseas: 3-digit département, 2-digit commune
        return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:8]} {nir[8:10]} {nir[10:13]} {nir[13:]}"
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"


def _rib_digits(text: str) -> str:
    return "".join(_RIB_LETTERS.get(c, c) for c in text.upper())


def rib_key(bank: str, branch: str, account: str) -> str:
    """RIB key = 97 − ((89·bank + 15·branch + 3·account) mod 97), letters mapped to digits."""
    total = 89 * int(_rib_digits(bank)) + 15 * int(_rib_digits(branch)) + 3 * int(_rib_digits(account))
    return f"{97 - total % 97:02d}"


def iban_check(country: str, bban: str) -> str:
    """ISO 7064 mod 97-10 check digits."""
    moved = bban + country + "00"
    numeric = "".join(str(int(c, 36)) for c in moved.upper())
    return f"{98 - int(numeric) % 97:02d}"


def make_iban(rng: random.Random) -> str:
    """A valid French IBAN (27 characters, compact), RIB key and mod-97 both right."""
    bank = rng.choice(_BANKS)
    branch = f"{rng.randint(0, 99999):05d}"
    account = f"{rng.randint(0, 10**11 - 1):011d}"
    if rng.random() < 0.15:  # some banks put letters in the account number
        pos = rng.randint(6, 9)
        account = account[:pos] + rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + account[pos + 1:]
    bban = bank + branch + account + rib_key(bank, branch, account)
    return "FR" + iban_check("FR", bban) + bban


def format_iban(iban: str, grouped: bool = True) -> str:
    """``FR76 3000 4012 ...`` (grouped by 4) or compact."""
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if grouped else iban


def make_phone(rng: random.Random, mobile: bool | None = None, area: str = "2") -> str:
    """A French number as 10 digits: mobile 06/07, or geographic (02 35 for Le Havre)."""
    if mobile is None:
        mobile = rng.random() < 0.6
    if mobile:
        head = rng.choice(["06", "07"])
        rest = "".join(str(rng.randint(0, 9)) for _ in range(8))
        return head + rest
    if area == "2":
        return "0235" + "".join(str(rng.randint(0, 9)) for _ in range(6))
    return "0" + area + "".join(str(rng.randint(0, 9)) for _ in range(8))


def format_phone(number: str, style: int = 0) -> str:
    """``06 12 34 56 78`` (0), ``06.12.34.56.78`` (1), ``+33 6 12 34 56 78`` (2), compact (3)."""
    pairs = [number[i:i + 2] for i in range(0, 10, 2)]
    if style == 1:
        return ".".join(pairs)
    if style == 2:
        return "+33 " + number[1] + " " + " ".join(pairs[1:])
    if style == 3:
        return number
    return " ".join(pairs)
