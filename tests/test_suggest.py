"""Who was probably meant: each rule of ``model.suggest`` on a small hand-made history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from model.evaluate import suggestion_quality
from model.features import light_analysis, message_context, message_features
from model.history import HistoryProfiles, TopicModel
from model.mail import Address, Message
from model.suggest import suggest

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
CLAIRE = Address.parse("Claire Martin <c.martin@cds-havre.example>")
OLIVIA = Address.parse("Olivia Petit <o.petit@cds-havre.example>")  # a colleague of Claire's
SOPHIE = "Sophie Lemaire <s.lemaire@cds-havre.example>"
SOPHIE_PONS = "Sophie Pons <s.pons@cds-havre.example>"
SOPHIE_BERNARD = "Sophie Bernard <s.bernard@cds-havre.example>"  # the team's planning
FORMER = "Sébastien Lemaire <slemaire@gmail.com>"
DURAND = "Paul Durand <paul.durand@free.fr>"
BLIN = "Julie Blin <julie.blin86@wanadoo.fr>"
DUHAMEL = "Christelle Duhamel <christelle_duhamel@sfr.fr>"
MARC = "Marc Lefebvre <marc.lefebvre@cpam-eure.example>"
MARCEL = "Marcel Roux <marcel.roux@orange.fr>"


@pytest.fixture(scope="module")
def profiles() -> HistoryProfiles:
    def mail(i: str, d: int, sender: Address, to: str, subject: str, body: str) -> Message:
        return Message(i, T0 + timedelta(days=d), sender, [Address.parse(to)], subject=subject,
                       body=body)

    out = []
    for d in range(40):
        out.append(mail(f"a{d}", d, CLAIRE, SOPHIE, "Télétransmission",
                        "Bonjour Sophie, bordereau CPAM lot"))
        out.append(mail(f"m{d}", d, CLAIRE, MARC, "Lot FSE", "Bonjour, lot de FSE télétransmis"))
        out.append(mail(f"g{d}", d, CLAIRE, "smu-betas@yahoogroups.com", "Golf",
                        "Hi brothers, golf on Sunday"))
        out.append(mail(f"s{d}", d, CLAIRE, SOPHIE_BERNARD, "Planning",
                        "Bonjour Sophie, planning des congés de l'équipe"))
        if d % 2 == 0:
            out.append(mail(f"t{d}", d, CLAIRE, SOPHIE_BERNARD, "Réunion",
                            "Bonjour Sophie, réunion d'équipe et congés"))
        if d % 8 == 0:
            out.append(mail(f"b{d}", d, CLAIRE, FORMER, "Rendez-vous",
                            "Bonjour M. Lemaire, votre rendez-vous"))
            out.append(mail(f"c{d}", d, CLAIRE, DURAND, "Rendez-vous",
                            "Bonjour M. Durand, votre rendez-vous"))
            out.append(mail(f"r{d}", d, CLAIRE, MARCEL, "Rendez-vous",
                            "Bonjour M. Roux, votre rendez-vous"))
            out.append(mail(f"j{d}", d, CLAIRE, BLIN, "Rendez-vous",
                            "Bonjour Mme Blin, votre rendez-vous"))
        if d % 10 == 0:
            out.append(mail(f"p{d}", d, CLAIRE, SOPHIE_PONS, "Planning", "Bonjour Sophie, planning"))
            # Two Léas Claire writes to alike.
            for lea in ("Léa Roux <l.roux@cds-havre.example>", "Léa Rault <l.rault@cds-havre.example>"):
                out.append(mail(f"l{d}{lea[4]}", d, CLAIRE, lea, "Compte rendu",
                                "Bonjour Léa, le compte rendu du staff"))
            # Only a colleague writes to Mme Duhamel: Claire never did.
            out.append(mail(f"d{d}", d, OLIVIA, DUHAMEL, "Rendez-vous",
                            "Bonjour Mme Duhamel, votre rendez-vous"))
    p = HistoryProfiles(TopicModel(dim=8).fit([m.subject + " " + m.body for m in out]))
    p.update_many(out)
    return p


def suggestion_for(profiles: HistoryProfiles, to: str, body: str,
                   subject: str = "Rendez-vous", cc: list[str] | None = None
                   ) -> tuple[str | None, str | None]:
    message = Message("x", T0 + timedelta(days=50), CLAIRE, [Address.parse(to)],
                      cc=[Address.parse(a) for a in cc or []], subject=subject, body=body)
    ctx = message_context(message, profiles, light_analysis(message))
    _, evidence = message_features(ctx, profiles)
    return suggest(evidence[0], ctx, profiles)


@pytest.mark.parametrize(("to", "body", "subject", "expected"), [
    # The seed: the colleague one letter away, written to far more.
    ("slemaire@gmail.com", "Sophie, voici le bordereau : NIR 1 85 05 78 006 084 91",
     "Télétransmission", ("s.lemaire@cds-havre.example", "edit")),
    # The greeting names a patient only a colleague wrote to: the organisation's gazetteer.
    ("julie.blin86@wanadoo.fr", "Bonjour Mme Duhamel,\n\nvotre rendez-vous du 3 juin",
     "Rendez-vous", ("christelle_duhamel@sfr.fr", "greeting")),
    # "Bonjour Sophie" to the former patient Sébastien: the look-alike answers to the name.
    ("slemaire@gmail.com", "Bonjour Sophie,\n\nle bordereau du jour", "Télétransmission",
     ("s.lemaire@cds-havre.example", "greeting")),
    # The greeting names nobody the organisation knows: nobody to propose.
    ("paul.durand@free.fr", "Bonjour Mme Zorglub,\n\nvotre rendez-vous", "Rendez-vous",
     (None, None)),
    # "Madame," to a man's look-alike that is a man too: the greeting's gender rules him out.
    ("paul.durand@free.fr", "Madame,\n\nvotre rendez-vous", "Rendez-vous", (None, None)),
    # A patient written to about themselves, greeted by name: nobody else is meant.
    ("paul.durand@free.fr", "Bonjour M. Durand,\n\nvotre rendez-vous", "Rendez-vous",
     (None, None)),
])
def test_who_was_meant(profiles, to: str, body: str, subject: str,
                       expected: tuple[str | None, str | None]) -> None:
    assert suggestion_for(profiles, to, body, subject) == expected


def test_an_autocomplete_neighbour_needs_a_regular_correspondent_that_fits(profiles) -> None:
    # marcel.roux@ shares "marc" with marc.lefebvre@ (40 messages): proposed for a CPAM lot,
    # the message fitting what Claire sends the CPAM agent.
    assert suggestion_for(profiles, "marcel.roux@orange.fr", "Bonjour,\n\nlot de FSE télétransmis",
                          "Lot FSE") == ("marc.lefebvre@cpam-eure.example", "prefix")
    # Not for a message that fits neither of them better (the team's planning).
    assert suggestion_for(profiles, "marcel.roux@orange.fr", "Bonjour,\n\nplanning des congés",
                          "Planning") == (None, None)
    # The other way round, Marcel (5 messages) is written to less than the recipient.
    assert suggestion_for(profiles, "marc.lefebvre@cpam-eure.example",
                          "Bonjour,\n\nvotre rendez-vous", "Rendez-vous") == (None, None)


def test_a_nickname_or_a_group_greeted_is_not_a_name(profiles) -> None:
    # A post to a list greets its members ("Hi brothers"): the list's look-alike is still meant.
    got = suggestion_for(profiles, "smu-betas@yahoogroup.com", "Hi brothers,\n\ngolf on Sunday",
                         "Golf")
    assert got == ("smu-betas@yahoogroups.com", "edit")
    # Not a look-alike, an autocomplete neighbour: a nickname ("Shacklepuss", a list member's
    # in skilling-j) does not send it to the search for a person of that name.
    got = suggestion_for(profiles, "smu-betas-owner@egroups.com",
                         "Hi Shacklepuss,\n\ngolf on Sunday", "Golf")
    assert got == ("smu-betas@yahoogroups.com", "prefix")
    # A list answers to the name of any member it greets; a person does not.
    got = suggestion_for(profiles, "smu-betas@yahoogroup.com", "Hi Claude,\n\ngolf on Sunday",
                         "Golf")
    assert got == ("smu-betas@yahoogroups.com", "edit")


def test_two_namesakes_the_message_fits_decides(profiles) -> None:
    # Three Sophies: a billing lot is what Claire exchanges with Sophie Lemaire, not with
    # Sophie Bernard, to whom she writes more (about the team's planning), nor Sophie Pons.
    got = suggestion_for(profiles, "paul.durand@free.fr",
                         "Bonjour Sophie,\n\nbordereau CPAM lot", "Télétransmission")
    assert got == ("s.lemaire@cds-havre.example", "greeting")


def test_two_namesakes_alike_is_a_guess_not_a_proposal(profiles) -> None:
    got = suggestion_for(profiles, "paul.durand@free.fr",
                         "Bonjour Léa,\n\nle compte rendu du staff", "Compte rendu")
    assert got == (None, None)


def test_someone_already_on_the_message_is_not_proposed(profiles) -> None:
    got = suggestion_for(profiles, "slemaire@gmail.com", "Sophie, le bordereau du jour",
                         "Télétransmission", cc=["s.lemaire@cds-havre.example"])
    assert got[0] != "s.lemaire@cds-havre.example"


def test_suggestion_quality_counts() -> None:
    cases = [
        ("S1", True, "a@x.fr", "a@x.fr"),     # right
        ("S1", True, "b@x.fr", "a@x.fr"),     # wrong
        ("S6", True, None, "c@x.fr"),         # warned, nothing proposed
        ("S6", False, "c@x.fr", "c@x.fr"),    # not warned: the user never sees it
        ("S8", True, "d@x.fr", None),         # an extra recipient: nobody to propose
        ("legit", True, "e@x.fr", None),      # a false alarm proposing a replacement
        ("legit", True, None, None),
        ("legit", False, None, None),
    ]
    q = suggestion_quality(cases)
    assert q["n"] == 3
    assert q["correct"] == pytest.approx(1 / 3)
    assert q["suggested"] == pytest.approx(2 / 3)
    assert q["precision"] == pytest.approx(1 / 2)
    assert q["per_scenario"]["S1"] == {"n": 2, "suggested": 1.0, "correct": 0.5, "precision": 0.5}
    assert q["on_false_alarms"] == pytest.approx(1 / 2)
    assert q["on_extra_recipients"] == 1.0
