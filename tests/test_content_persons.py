"""Person rules without spaCy: span cleaning, name splitting, layout, linking."""

from __future__ import annotations

import pytest

from model.content.persons import (
    clean_entity,
    is_first_name,
    layout,
    line_names,
    link_person,
    split_name,
    split_quoted,
)
from model.content.types import Person
from model.mail import Address


@pytest.mark.parametrize(
    ("text", "label", "expected"),
    [
        ("Bonjour Sophie", "MISC", ["Sophie"]),
        ("Bonjour Sophie", "PER", ["Sophie"]),
        ("Mme Durand", "PER", ["Durand"]),
        ("M. Jean-Pierre LEFEBVRE", "PER", ["Jean-Pierre LEFEBVRE"]),
        ("Dr. Claire Petit", "PER", ["Claire Petit"]),
        ("Docteur Martin", "PER", ["Martin"]),
        ("Catherine Martin\nSecrétaire médicale -", "PER", ["Catherine Martin"]),
        ("Claire Petit,", "PER", ["Claire Petit"]),
        ("Kevin Moreau.", "PER", ["Kevin Moreau"]),
        ("Charles de Gaulle", "PER", ["Charles de Gaulle"]),
        ("Bernard Vallee – Directrice", "PER", ["Bernard Vallee"]),
        ("Re-bonjour Morgane", "PER", ["Morgane"]),
        ("Veuillez", "PER", []),
        ("Cordialement", "PER", []),
        ("Merci de voir", "MISC", []),
        ("Centre de santé du Havre", "PER", []),
        ("Clinique Pasteur", "PER", []),
        ("CPAM du Havre", "PER", []),
        ("Madame, Monsieur", "PER", []),
        ("Hong Kong", "LOC", []),  # not a person unless a greeting or title introduces it
        ("Nlercredi dernier", "PER", []),  # one word left after trimming: not a name
    ],
)
def test_clean_entity(text: str, label: str, expected: list[str]) -> None:
    assert [s.text for s in clean_entity(text, 0, len(text), label)] == expected


def test_clean_entity_drops_street_names() -> None:
    text = "45 rue Louis Brindeau, Le Havre"
    start = text.index("Louis")
    assert clean_entity(text, start, start + len("Louis Brindeau"), "PER") == []


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [("Sophie", "Sophie", None), ("Durand", None, "Durand"), ("Marie Durand", "Marie", "Durand"),
     ("DURAND Marie", "Marie", "DURAND"), ("Jean-Pierre LEFEBVRE", "Jean-Pierre", "LEFEBVRE"),
     ("Anne Marie Le Gall", "Anne Marie", "Le Gall"), ("Hélène Lefèvre", "Hélène", "Lefèvre")],
)
def test_split_name(name: str, first: str | None, last: str | None) -> None:
    assert split_name(name) == (first, last)


def test_first_names_accent_and_case_insensitive() -> None:
    assert is_first_name("Hélène") and is_first_name("HELENE") and is_first_name("Jean-Pierre")
    assert not is_first_name("Cordialement") and not is_first_name("Bonjour")


SOPHIE_L = Address("s.lemaire@cds-havre.example", "Sophie Lemaire")
SOPHIE_M = Address("sophie.martin@cds-havre.example", "Sophie Martin")
CLAIRE_M = Address("claire.martin@cds-havre.example", "Claire Martin")
JP = Address("jp.lefebvre@gmail.com")
HELENE = Address("helene.lefevre@orange.fr")
MD = Address("mdurand@gmail.com")
PATIENT = Address("kevin.moreau76@gmail.com")
CPAM = Address("teletransmission@cpam-havre.example", "CPAM du Havre")


def person(name: str, first: str | None = None, last: str | None = None) -> Person:
    return Person(name, "third_party", first_name=first, last_name=last)


@pytest.mark.parametrize(
    ("p", "candidates", "expected"),
    [
        (person("Sophie Lemaire"), [SOPHIE_L, SOPHIE_M], SOPHIE_L.address),
        (person("sophie LEMAIRE"), [SOPHIE_L, CLAIRE_M], SOPHIE_L.address),
        (person("Sophie"), [SOPHIE_L, CLAIRE_M], SOPHIE_L.address),
        (person("Sophie"), [SOPHIE_L, SOPHIE_M], None),  # two Sophie: ambiguous
        (person("Martin"), [SOPHIE_M, CLAIRE_M], None),  # two Martin
        (person("Claire Martin"), [SOPHIE_M, CLAIRE_M], CLAIRE_M.address),
        (person("Sophie Martin"), [CLAIRE_M], None),  # homonym (S3): another first name
        (person("Jean-Pierre Lefebvre"), [JP], JP.address),  # initials of a hyphenated name
        (person("Hélène Lefèvre"), [HELENE], HELENE.address),  # accents
        (person("Marie Durand"), [MD, SOPHIE_L], MD.address),  # initial + last name
        (person("DURAND Marie", "Marie", "DURAND"), [MD], MD.address),
        (person("Kevin Moreau"), [PATIENT], PATIENT.address),
        (person("Lemaire"), [SOPHIE_L, CPAM], SOPHIE_L.address),
        (person("Thomas Girard"), [SOPHIE_L, CPAM], None),
        (person("Sophie Lemaire"), [], None),
    ],
)
def test_link_person(p: Person, candidates: list[Address], expected: str | None) -> None:
    assert link_person(p, candidates) == expected


def test_layout_greeting_signature_and_quote() -> None:
    body = ("Bonjour Sophie,\n\nVoici le dossier de M. Girard.\n\nCordialement,\nCatherine Martin\n"
            "Secrétaire\n\nLe 2 juin 2023, Sophie Lemaire <s@x.fr> a écrit :\n> Bonjour Catherine\n")
    cut = split_quoted(body)
    assert body[cut:].startswith("Le 2 juin")
    lay = layout(body, 0, cut)
    assert lay.greeting is not None and body[lay.greeting[0] : lay.greeting[1]] == "Bonjour Sophie,"
    assert lay.signature is not None and body[lay.signature[0] :].startswith("Cordialement")
    names = [n.text for n in line_names(body, *lay.signature)]
    assert names == ["Catherine Martin"]
    quoted = layout(body, cut, len(body))
    assert quoted.header_from and body[quoted.header_from[0][0] :].startswith("Le 2 juin")


@pytest.mark.parametrize(
    "marker",
    ["-----Original Message-----", "-------- Message d'origine --------",
     "---------- Forwarded message ---------", "De : Sophie Lemaire\nEnvoyé : lundi\nÀ : moi",
     "> texte cité", "Le lun. 5 juin 2023 à 10:12, Sophie <s@x.fr> a écrit :",
     "On Mon, Jun 5, 2023 at 10:12 AM Sophie <s@x.fr> wrote:"],
)
def test_split_quoted_markers(marker: str) -> None:
    body = "Merci, bien reçu.\n\n" + marker + "\nsuite"
    assert split_quoted(body) == len("Merci, bien reçu.\n\n")


def test_no_quote() -> None:
    body = "Bonjour,\nle rendez-vous est à 10h.\nCordialement"
    assert split_quoted(body) == len(body)
