"""Health-term lexicon (data/health_terms.txt) and the health score."""

from __future__ import annotations

import pytest

from model.content.detectors import REGISTRY, health_score, health_terms

HEALTH = REGISTRY["HealthTermDetector"]


def found(text: str) -> list[str]:
    return [s.text for s in HEALTH.detect(text)]


CASES = [
    ("Veuillez trouver le compte-rendu", ["compte-rendu"]),
    ("le compte rendu opératoire", ["compte rendu opératoire"]),
    ("Télétransmission du 2 juin", ["Télétransmission"]),
    ("teletransmission", ["teletransmission"]),
    ("ORDONNANCE", ["ORDONNANCE"]),
    ("les ordonnances", ["ordonnances"]),
    ("un bilan sanguin complet", ["bilan sanguin"]),
    ("bilan-sanguin", ["bilan-sanguin"]),
    ("IRM lombaire et scanner", ["IRM", "scanner"]),
    ("diabète de type 2", ["diabète"]),
    ("la carte Vitale", ["carte Vitale"]),
    ("prise de sang à jeun", ["prise de sang"]),
    ("son médecin traitant", ["médecin traitant"]),
    ("HbA1c à 7,2 %", ["HbA1c"]),
    ("arrêt de travail", ["arrêt de travail"]),
    ("chimiothérapie", ["chimiothérapie"]),
    # not health terms
    ("ordonnancement des tâches", []),  # a longer word
    ("la réunion de budget", []),
    ("scannerisé", []),
    ("le bilan comptable", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_health_table(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_lexicon_loaded_from_package_data() -> None:
    terms = health_terms()
    assert len(terms) > 150
    assert "teletransmission" in terms and "ordonnance" in terms and "bilan sanguin" in terms


@pytest.mark.parametrize(
    ("hits", "distinct", "nir", "low", "high"),
    [(0, 0, 0, 0.0, 0.0), (1, 1, 0, 0.2, 0.35), (3, 3, 0, 0.55, 0.7), (10, 8, 2, 0.95, 1.0),
     (20, 1, 0, 0.8, 0.99)],
)
def test_health_score_bounds(hits: int, distinct: int, nir: int, low: float, high: float) -> None:
    assert low <= health_score(hits, distinct, nir) <= high
