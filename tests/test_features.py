"""Features: fixed names, and each family moves in the expected direction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from model.content.types import ContentAnalysis
from model.features import (
    FEATURE_NAMES,
    light_analysis,
    message_context,
    message_features,
    titled_surnames,
)
from model.history import HistoryProfiles, TopicModel
from model.mail import Address, Message

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
CLAIRE = Address.parse("Claire Martin <c.martin@cds-havre.example>")


@pytest.fixture(scope="module")
def profiles() -> HistoryProfiles:
    out = []
    for d in range(40):
        out.append(Message(f"a{d}", T0 + timedelta(days=d), CLAIRE,
                           [Address.parse("Sophie Lemaire <s.lemaire@cds-havre.example>")],
                           subject="Télétransmission", body="Bonjour Sophie, bordereau CPAM lot"))
        if d % 8 == 0:
            out.append(Message(f"b{d}", T0 + timedelta(days=d), CLAIRE,
                               [Address.parse("Sébastien Lemaire <slemaire@gmail.com>")],
                               subject="Rendez-vous", body="Bonjour M. Lemaire, votre rendez-vous"))
            out.append(Message(f"c{d}", T0 + timedelta(days=d), CLAIRE,
                               [Address.parse("Paul Durand <paul.durand@free.fr>")],
                               subject="Rendez-vous", body="Bonjour M. Durand, votre rendez-vous"))
    p = HistoryProfiles(TopicModel(dim=8).fit([m.subject + " " + m.body for m in out]))
    p.update_many(out)
    return p


def features_of(profiles, to: str, body: str, subject: str = "Télétransmission",
                analysis: ContentAnalysis | None = None) -> dict[str, float]:
    message = Message("x", T0 + timedelta(days=50), CLAIRE, [Address.parse(to)],
                      subject=subject, body=body)
    ctx = message_context(message, profiles, analysis or light_analysis(message))
    matrix, evidence = message_features(ctx, profiles)
    assert matrix.shape == (1, len(FEATURE_NAMES))
    assert np.isfinite(matrix).all()
    return dict(zip(FEATURE_NAMES, matrix[0].tolist(), strict=True)) | {"_ev": evidence[0]}


def test_feature_names_are_fixed_and_unique() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert FEATURE_NAMES[0] == "log_sent"


def test_relationship_strength(profiles) -> None:
    usual = features_of(profiles, "s.lemaire@cds-havre.example", "Bonjour Sophie, bordereau")
    new = features_of(profiles, "nobody@cds-rouen.example", "Bonjour Sophie, bordereau")
    assert usual["log_sent"] > 3 and usual["never_contact"] == 0
    assert new["never_contact"] == 1 and new["log_sent"] == 0
    assert new["log_days_since_last"] > usual["log_days_since_last"]


def test_confusability_finds_the_colleague_one_letter_away(profiles) -> None:
    f = features_of(profiles, "slemaire@gmail.com", "Re-bonjour Sophie, le bordereau CPAM")
    ev = f["_ev"]
    assert ev.neighbour == "s.lemaire@cds-havre.example"
    assert f["edit_distance"] <= 2
    assert f["greeting"] == -1  # greets Sophie, recipient is Sébastien
    typo = features_of(profiles, "s.lemaire@cds-havre.exemple", "Bonjour Sophie")
    assert typo["edit_distance"] == 1 and typo["domain_edit_distance"] >= 1


def test_topic_fit(profiles) -> None:
    on_topic = features_of(profiles, "s.lemaire@cds-havre.example", "bordereau CPAM lot")
    off_topic = features_of(profiles, "s.lemaire@cds-havre.example", "votre rendez-vous",
                            subject="Rendez-vous")
    assert on_topic["topic_pair"] > off_topic["topic_pair"]


def test_content_consistency(profiles) -> None:
    about_self = features_of(profiles, "paul.durand@free.fr", "Bonjour M. Durand, votre rendez-vous",
                             subject="Rendez-vous")
    assert about_self["greeting"] == 1
    about_other = features_of(profiles, "paul.durand@free.fr",
                              "Bonjour,\nle dossier de Sébastien Lemaire NIR 2 55 08 14 168 025 38",
                              subject="Dossier")
    assert about_other["third_party_private"] == 1
    assert about_other["log_nir"] > 0 and about_other["sensitive_private"] == 1
    assert about_other["is_private"] == 1


def test_greeting_gender_against_the_recipient_first_name(profiles) -> None:
    body = "{},\nvos résultats sont disponibles."
    # "Madame" to Paul Durand: the mail-merge shift signature; "Monsieur" agrees; no gender, 0.
    assert features_of(profiles, "paul.durand@free.fr", body.format("Bonjour Madame"))[
        "greeting_gender"] == -1
    assert features_of(profiles, "paul.durand@free.fr", body.format("Bonjour Monsieur"))[
        "greeting_gender"] == 1
    assert features_of(profiles, "paul.durand@free.fr", body.format("Madame, Monsieur"))[
        "greeting_gender"] == 0
    # The history's display name decides ("Sophie Lemaire"); an initial alone says nothing.
    assert features_of(profiles, "s.lemaire@cds-havre.example", body.format("Bonjour Monsieur"))[
        "greeting_gender"] == -1
    assert features_of(profiles, "j.dupont@cds-havre.example", body.format("Bonjour Monsieur"))[
        "greeting_gender"] == 0


@pytest.mark.parametrize(("to", "nir", "recipient", "gender_mismatch"), [
    # A patient's Mon espace santé address is their INS, the NIR's first 13 characters.
    ("1810327110405@patient.mssante.fr", "181032711040534", 1, 0),
    ("2750476379938@patient.mssante.fr", "181032711040534", -1, 1),  # a man's NIR, a woman's INS
    ("2750476379938@patient.mssante.fr", "1 60 01 14 068 621 01", -1, 1),
    ("1810327110405@patient.mssante.fr", None, 0, 0),
    # The first digit is the holder's sex: a man's NIR to Monique, a woman's to Monique.
    ("Monique Martineau <moniquemartineau@laposte.net>", "181032711040534", 0, 1),
    ("Monique Martineau <moniquemartineau@laposte.net>", "275047637993868", 0, 0),
    ("moniquemartineau@laposte.net", "181032711040534", 0, 1),  # glued local part
    ("m.martineau@laposte.net", "181032711040534", 0, 0),  # an initial: sex unknown
    ("Paul Durand <paul.durand@free.fr>", "275047637993868 et 181032711040534", 0, 0),
    # Towards a colleague or a CPAM the NIR is of a patient, whoever reads it.
    ("Sophie Lemaire <s.lemaire@cds-havre.example>", "181032711040534", 0, 0),
])
def test_nir_against_the_recipient(profiles, to: str, nir: str | None, recipient: float,
                                   gender_mismatch: float) -> None:
    body = f"Bonjour,\nvotre dossier de tiers payant est à jour (NIR {nir})." if nir else \
        "Bonjour,\nvotre dossier de tiers payant est à jour."
    f = features_of(profiles, to, body)
    assert (f["nir_recipient"], f["nir_gender_mismatch"]) == (recipient, gender_mismatch)


@pytest.mark.parametrize(("to", "greeting", "expected"), [
    # "Madame Martin" is not Martine Barre, although "martinebarre" starts with "martin".
    ("Martine Barre <martine.barre@cpam-seine-maritime.example>", "Madame Martin", -1),
    ("Delphine Martin <delphine.martin@cpam-eure.example>", "Madame Martin", 1),
    # A glued local part: surname then initial, surname then first name, first name then surname.
    ("descampsm@gmail.com", "Monsieur Descamps", 1),
    ("lemairesophie@orange.fr", "Madame Lemaire", 1),
    ("celineblanchard@free.fr", "Madame Blanchard", 1),
    ("martinez.paul@free.fr", "Monsieur Martin", -1),
    # A title puts a surname after it: "Monsieur Alexandre" is not Alexandre Hervé.
    ("Alexandre Herve <alexandreherve62@orange.fr>", "Monsieur Alexandre", -1),
    ("Jean-Bernard Alexandre <jalexandre@yahoo.fr>", "Monsieur Alexandre", 1),
    ("Alexandre Herve <alexandreherve62@orange.fr>", "Bonjour Alexandre", 1),
    # Same surname, another first name: the namesake.
    ("Christiane Mace <christiane.mace51@free.fr>", "Chère Madame Solange Mace", -1),
    ("Solange Mace <solange.mace@wanadoo.fr>", "Chère Madame Solange Mace", 1),
    ("j.cousin@free.fr", "Monsieur Cousin", 1),
    # Short forms of a first name, without a title; honorifics that are also first names.
    ("Jeffrey Garten <jeffrey.garten@yale.edu>", "Hi Jeff", 1),
    ("markskilling@hotmail.com", "Hi Mark", 1),
    ("mitchell_daniels@omb.eop.gov", "Dear Mitch", 1),
    ("Kenneth Lay <kenneth.lay@enron.com>", "Dear Ken Lay", 1),
    ("Chuck Paul <chuck.paul@a-closer-look.com>", "Mr. Paul", 1),
    ("Bruce J. Walker <walker@missouri.edu>", "Dear Dean Walker", 1),
    ("HERVE Alexandre <a.herve@orange.fr>", "Monsieur Alexandre", -1),
    # A short form is no excuse for another surname: "Emma Laporte" is not Emmanuelle Berthelot.
    ("Emmanuelle Berthelot <e.berthelot@orange.fr>", "Bonjour Emma Laporte", -1),
])
def test_greeted_surname_against_the_recipient(profiles, to: str, greeting: str,
                                               expected: int) -> None:
    f = features_of(profiles, to, f"{greeting},\nvotre dossier est à jour.", subject="Dossier")
    assert f["greeting"] == expected


def test_the_person_greeted_does_not_hide_a_third_party(profiles) -> None:
    # The greeting names the addressee; the patient named below is someone else: third-party
    # data to a private address, not "a patient written to about themselves".
    f = features_of(profiles, "paul.durand@free.fr",
                    "Monsieur Durand,\nM. Sébastien Lemaire est en ALD depuis le 3 juin.",
                    subject="Question dossier")
    assert f["greeting"] == 1
    assert f["about_recipient"] == 0 and f["third_party_private"] == 1
    alone = features_of(profiles, "paul.durand@free.fr", "Monsieur Durand,\nvotre rendez-vous.",
                        subject="Rendez-vous")
    assert alone["third_party_private"] == 0 and alone["greeting"] == 1


@pytest.mark.parametrize(("text", "surnames"), [
    ("Mme Lemaire est en ALD", {"lemaire"}),
    ("Bonjour M. Paul Girard, NIR 1 85 05", {"girard"}),  # a first name, then the surname
    ("M. Jean-Pierre Dupont", {"dupont"}),
    ("Mme BLIN Julie", {"blin"}),  # the surname first: it is not a first name
    ("Monsieur Alexandre,\nvotre dossier", {"alexandre"}),  # alone after a title: a surname
    ("Bonjour M. Godard\nVotre rendez-vous", {"godard"}),  # the next line is not a name
    ("Mme Lemaire et M. Martin Dupont", {"lemaire", "dupont"}),
    ("Bonjour,\nvotre dossier", set()),
])
def test_the_surname_after_a_title(text: str, surnames: set[str]) -> None:
    assert titled_surnames(text) == surnames


def test_a_first_name_after_a_title_is_not_a_namesakes_surname() -> None:
    # "M. Paul Girard" names Paul Girard, not Pierre Paul of the address book.
    history = [Message(f"p{d}{who}", T0 + timedelta(days=d), CLAIRE, [Address.parse(who)],
                       subject="Rendez-vous", body="Bonjour, votre rendez-vous")
               for d in range(5) for who in ("Pierre Paul <pierre.paul@free.fr>",
                                             "Bruno Bousquet <b.bousquet@sfr.fr>",
                                             "Anne Bousquet <anne.bousquet@orange.fr>")]
    p = HistoryProfiles(TopicModel(dim=4).fit([m.body for m in history] * 3))
    p.update_many(history)

    def third_parties(body: str) -> list[str]:
        message = Message("x", T0 + timedelta(days=9), CLAIRE,
                          [Address.parse("Anne Roux <anne.roux@gmail.com>")],
                          subject="Dossier", body=body)
        _, evidence = message_features(message_context(message, p, light_analysis(message)), p)
        return evidence[0].third_parties

    assert third_parties("Bonjour,\nM. Paul Girard est en ALD depuis le 3 juin.") == []
    assert third_parties("Bonjour,\nM. Paul est en ALD depuis le 3 juin.") == ["Paul"]
    # Named whole, Bruno Bousquet is one person, not also "a Bousquet" (his namesake Anne).
    assert third_parties("Bonjour,\nM. Bruno Bousquet est en ALD.") == ["Bruno Bousquet"]
    assert third_parties("Bonjour,\nM. Bousquet est en ALD.") == ["Bousquet"]


def test_same_full_name_at_another_address_of_the_domain() -> None:
    history = []
    for d in range(12):
        for to in ("CH Estuaire <urgences@ch-estuaire.example>",
                   "Sophie Lemaire <s.lemaire@ch-estuaire.example>"):
            history.append(Message(f"h{d}{to[:2]}", T0 + timedelta(days=d), CLAIRE,
                                   [Address.parse(to)], subject="Patient", body="Bonjour, dossier"))
    corpus = ["Bonjour, dossier du patient", "Résultats de biologie", "Planning de la semaine",
              "Télétransmission du lot", "Compte-rendu opératoire", "Réunion d'équipe"]
    p = HistoryProfiles(TopicModel(dim=4).fit(corpus))
    p.update_many(history)
    # The name of a contact on a look-alike address of the same domain: a wrong address saved
    # under the right name.
    f = features_of(p, "Sophie Lemaire <s.lemaire2@ch-estuaire.example>", "Bonjour Sophie,")
    assert f["same_name_log_count"] > 0
    assert f["_ev"].neighbour == "s.lemaire@ch-estuaire.example"
    # Another domain (the same person's personal mailbox) says nothing; nor does an
    # organisation's display name shared by its mailboxes.
    assert features_of(p, "Sophie Lemaire <sophie.lemaire@free.fr>",
                       "Bonjour Sophie,")["same_name_log_count"] == 0
    assert features_of(p, "CH Estuaire <imagerie@ch-estuaire.example>",
                       "Bonjour,")["same_name_log_count"] == 0


def test_another_address_of_the_same_person_is_not_a_look_alike() -> None:
    history = []
    for d in range(12):
        history.append(Message(f"k{d}", T0 + timedelta(days=d), CLAIRE,
                               [Address.parse("Kenneth Lay <kenneth.lay@enron.com>")],
                               subject="Board", body="Hello Ken"))
    # Someone else once wrote to his other address: known, never written to by Claire.
    history.append(Message("o", T0, Address.parse("rosalee.fleming@enron.com"),
                           [Address.parse("Kenneth Lay <kenneth_lay@enron.com>"),
                            Address.parse("Ken Lay <klay@enron.com>")],
                           subject="Board", body="Hello Ken"))
    p = HistoryProfiles(TopicModel(dim=2).fit(["board hello", "hello there", "board meeting"]))
    p.update_many(history)
    alias = features_of(p, "Kenneth Lay <kenneth_lay@enron.com>", "Hello Ken", subject="Board")
    assert alias["alias_log_count"] > 2
    assert alias["edit_distance"] == 9 and alias["_ev"].neighbour is None
    # Another form of his name (a short first name, glued): the same person too.
    short = features_of(p, "Ken Lay <klay@enron.com>", "Hello Ken", subject="Board")
    assert short["alias_log_count"] > 2
    assert short["_ev"].neighbour is None and short["homonym"] == 0
    # A slip one letter away that nobody used is still a look-alike.
    slip = features_of(p, "Kenneth Lay <kenneth.lau@enron.com>", "Hello Ken", subject="Board")
    assert slip["alias_log_count"] == 0
    assert slip["edit_distance"] == 1 and slip["_ev"].neighbour == "kenneth.lay@enron.com"


def _kind_history() -> HistoryProfiles:
    """Claire writes about télétransmission to five colleagues and about appointments to five
    patients' webmail."""
    colleagues = ["s.lemaire", "m.durand", "p.roux", "a.blin", "j.morel"]
    patients = ["slemaire@gmail.com", "paul.durand@free.fr", "jroux@orange.fr",
                "anne.blin@gmail.com", "morelj@laposte.net"]
    history = []
    for d in range(20):
        for c in colleagues:
            history.append(Message(f"c{d}{c}", T0 + timedelta(days=d), CLAIRE,
                                   [Address.parse(f"{c}@cds-havre.example")],
                                   subject="Télétransmission", body="Bonjour, bordereau CPAM lot"))
        history.append(Message(f"p{d}", T0 + timedelta(days=d), CLAIRE,
                               [Address.parse(patients[d % 5])],
                               subject="Rendez-vous", body="Bonjour, votre rendez-vous"))
    p = HistoryProfiles(TopicModel(dim=4).fit([m.subject + " " + m.body for m in history] + [
        "Résultats de biologie", "Planning de la semaine", "Compte-rendu opératoire"]))
    p.update_many(history)
    return p


def test_topic_of_the_kind_of_mailbox() -> None:
    # The team's subject sent to a patient fits "webmail" worse than "internal".
    p = _kind_history()
    assert set(p.kind_topics("c.martin@cds-havre.example")) == {"internal", "webmail"}
    team = "Bonjour, bordereau CPAM lot"
    to_patient = features_of(p, "slemaire@gmail.com", team)
    to_colleague = features_of(p, "s.lemaire@cds-havre.example", team)
    assert to_colleague["topic_kind_gap"] == 0.0 < to_patient["topic_kind_gap"]
    assert to_colleague["topic_kind"] > to_patient["topic_kind"]
    appointment = features_of(p, "slemaire@gmail.com", "Bonjour, votre rendez-vous",
                              subject="Rendez-vous")
    assert appointment["topic_kind_gap"] == 0.0
    # A kind written to at fewer than 5 addresses has no profile: no gap either way.
    cpam = features_of(p, "accueil@cpam-seine-maritime.example", "Bonjour, votre rendez-vous")
    assert cpam["topic_kind"] == 0.0 and cpam["topic_kind_gap"] == 0.0


_HASH_SEED_PROBE = """
import hashlib, sys
from datetime import timedelta
sys.path.insert(0, {tests!r})
from test_features import CLAIRE, T0, features_of
from model.history import HistoryProfiles, TopicModel
from model.mail import Address, Message
words = ["bordereau", "planning", "garde", "facture", "stock", "réunion", "congés", "dossier",
         "biologie", "radiologie", "vaccin", "pansement", "ordonnance", "courrier", "agenda"]
history = [Message(f"m{{i}}", T0 + timedelta(hours=i), CLAIRE,
                   [Address.parse(f"c{{i}}@cds-havre.example")],
                   subject=words[i % 15], body=" ".join(words[(i * 7 + k) % 15] for k in range(i % 5 + 1)))
           for i in range(80)]
p = HistoryProfiles(TopicModel(dim=8).fit([m.subject + " " + m.body for m in history]))
p.update_many(history)
digest = hashlib.sha256()
for vector in p.kind_topics(CLAIRE.address).values():
    digest.update(vector.tobytes())
for to in ("c3@cds-havre.example", "x@gmail.com"):
    f = features_of(p, to, "planning de garde et congés")
    digest.update(repr(sorted((k, v) for k, v in f.items() if k != "_ev")).encode())
print(digest.hexdigest())
"""


def test_features_do_not_depend_on_the_hash_seed() -> None:
    # Sets iterate in an order that depends on PYTHONHASHSEED; a float sum over one would give
    # the training process and each service worker slightly different features.
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = _HASH_SEED_PROBE.format(tests=str(Path(__file__).parent))
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2", "3")}
    assert len(digests) == 1, digests
