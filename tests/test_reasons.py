"""Reason texts: every code has French and English, and user-facing text hides internal keys."""

from __future__ import annotations

import string

import pytest

from model.reasons import ADVICE, REASONS, reason_text, sensitive_label


@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_has_both_languages_with_the_same_fields(code: str) -> None:
    fields = {lang: {f for _, f, _, _ in string.Formatter().parse(text) if f}
              for lang, text in REASONS[code].items()}
    assert set(fields) >= {"fr", "en"}
    assert fields["fr"] == fields["en"]


@pytest.mark.parametrize("code", sorted(ADVICE))
def test_every_advice_has_both_languages(code: str) -> None:
    assert set(ADVICE[code]) >= {"fr", "en"}


@pytest.mark.parametrize(
    ("kind", "language", "expected"),
    [
        ("NIR", "fr", "NIR"),
        ("BIRTH_DATE", "fr", "dates de naissance"),
        ("HEALTH", "fr", "données de santé"),
        ("BIRTH_DATE", "en", "birth dates"),
        ("IBAN", "en", "IBANs"),
        ("OTHER", "fr", "OTHER"),
    ],
)
def test_sensitive_label(kind: str, language: str, expected: str) -> None:
    assert sensitive_label(kind, language) == expected


def test_sensitive_reason_names_no_internal_key() -> None:
    what = ", ".join(sensitive_label(k) for k in ("NIR", "BIRTH_DATE", "HEALTH"))
    text = reason_text("sensitive_to_private", "fr", what=what)
    assert "BIRTH_DATE" not in text and "HEALTH" not in text
    assert "dates de naissance" in text
