"""100,000 random NIR-shaped and IBAN-shaped strings that fail their checksum: no match.

Generated with numpy and scanned as one text per batch, so the test takes seconds.
"""

from __future__ import annotations

import numpy as np
from stdnum import iban as std_iban

from model.content.detectors import REGISTRY, detect_all

N = 100_000
DETECTORS = [REGISTRY["NirDetector"], REGISTRY["IbanDetector"], REGISTRY["RibDetector"]]


def _scan(strings: list[str]) -> list:
    text = " ; ".join(strings)
    return [s for s in detect_all(text, detectors=DETECTORS) if s.kind in ("NIR", "IBAN")]


def test_random_nir_shaped_strings_with_bad_keys_never_match() -> None:
    rng = np.random.default_rng(20230603)
    sex = rng.choice([1, 2, 7, 8], N)
    year = rng.integers(0, 100, N)
    month = rng.choice(np.r_[1:13, 20:43, 50:100], N)
    dept = rng.integers(1, 96, N)
    commune = rng.integers(1, 1000, N)
    order = rng.integers(1, 1000, N)
    body = (((((sex * 100 + year) * 100 + month) * 100 + dept) * 1000 + commune) * 1000 + order)
    good = 97 - body % 97
    bad = (good + rng.integers(1, 97, N)) % 97  # never the good key (0 is never a key)
    bad = np.where(bad == good, (bad + 1) % 97, bad)
    assert not np.any(bad == good)
    strings = []
    for i, (b, k) in enumerate(zip(body.tolist(), bad.tolist(), strict=True)):
        s = f"{b:013d}{k:02d}"
        if i % 2:  # half in the spaced form "2 55 08 14 168 025 38"
            s = f"{s[0]} {s[1:3]} {s[3:5]} {s[5:7]} {s[7:10]} {s[10:13]} {s[13:]}"
        strings.append(s)
    assert len(strings) == N
    assert _scan(strings) == []


def test_random_uniform_15_digit_strings_failing_checksum_never_match() -> None:
    rng = np.random.default_rng(7)
    numbers = rng.integers(10**14, 10**15, N, dtype=np.int64)
    body, key = numbers // 100, numbers % 100
    failing = numbers[(97 - body % 97) != key]
    strings = [str(n) for n in failing.tolist()]
    # Top up to exactly N strings that fail the key.
    extra = rng.integers(10**14, 10**15, 2 * (N - len(strings)), dtype=np.int64)
    extra = extra[(97 - (extra // 100) % 97) != extra % 100][: N - len(strings)]
    strings += [str(n) for n in extra.tolist()]
    assert len(strings) == N
    assert _scan(strings) == []


def test_random_french_ibans_with_bad_check_digits_never_match() -> None:
    rng = np.random.default_rng(1)
    digits = rng.integers(0, 10, (N, 23))
    strings = []
    for row in digits:
        bban = "".join(map(str, row.tolist()))
        good = std_iban.calc_check_digits("FR00" + bban)
        wrong = (int(good) + int(rng.integers(1, 97))) % 97
        if f"{wrong:02d}" == good:
            wrong = (wrong + 1) % 97
        iban = f"FR{wrong:02d}{bban}"
        strings.append(" ".join(iban[i : i + 4] for i in range(0, 27, 4)))
    assert len(strings) == N
    assert _scan(strings) == []
