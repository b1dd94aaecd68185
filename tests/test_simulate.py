"""The misdirection simulator: every scenario yields a wrong recipient from the history only."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from rapidfuzz.distance import Levenshtein

from model.history import HistoryProfiles, TopicModel, recipient_kind
from model.history.kinds import is_private
from model.mail import Address, Message
from model.simulate import SCENARIOS, Simulator, find_batches, typo_variants

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
STAFF = ["Sophie Lemaire <s.lemaire@cds-havre.example>", "Marie Durand <m.durand@cds-havre.example>",
         "Marc Dubois <marc.dubois@cds-havre.example>", "Sophie Petit <s.petit@cds-havre.example>"]
PATIENTS = ["Sébastien Lemaire <slemaire@gmail.com>", "Jeanne Roux <jeanne.roux@orange.fr>",
            "Paul Durand <paul.durand@free.fr>"]
ORGS = ["CPAM Seine-Maritime <accueil@cpam-seine-maritime.example>",
        "CPAM Eure <accueil@cpam-eure.example>", "CDS Fécamp <contact@cds-fecamp.example>",
        "CDS Rouen <contact@cds-rouen.example>"]


def history() -> list[Message]:
    out = []
    sender = Address.parse("Claire Martin <c.martin@cds-havre.example>")
    everyone = STAFF + PATIENTS + ORGS
    for d in range(60):
        for i, who in enumerate(everyone):
            if (d + i) % 3 == 0:
                out.append(Message(f"h{d}-{i}", T0 + timedelta(days=d, minutes=i), sender,
                                   [Address.parse(who)], subject=f"Sujet {i}", body="Bonjour"))
    return out


@pytest.fixture(scope="module")
def sim() -> Simulator:
    messages = history()
    p = HistoryProfiles(TopicModel(dim=4).fit([m.subject for m in messages]))
    p.update_many(messages)
    return Simulator(p, seed=3)


def test_typo_variants_are_one_or_two_edits_and_valid() -> None:
    variants = typo_variants("s.lemaire@cds-havre.example", random.Random(0), n=10)
    assert len(variants) >= 5
    for v in variants:
        assert v != "s.lemaire@cds-havre.example"
        assert 1 <= Levenshtein.distance(v, "s.lemaire@cds-havre.example") <= 3
        assert "@" in v


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_scenario_produces_a_labelled_wrong_recipient(sim: Simulator, scenario: str) -> None:
    sender = Address.parse("c.martin@cds-havre.example")
    to = "accueil@cpam-seine-maritime.example" if scenario == "S4" else "s.lemaire@cds-havre.example"
    message = Message("x", T0 + timedelta(days=70), sender, [Address.parse(to)],
                      subject="Télétransmission", body="Bonjour Sophie")
    example = sim.misdirect(message, scenario)
    assert example is not None, scenario
    assert example.scenario == scenario
    (wrong,) = example.wrong
    assert example.labels[wrong] == 1
    assert wrong not in (to, "c.martin@cds-havre.example")
    assert sum(example.labels.values()) == 1
    if scenario == "S8":
        assert example.labels[to] == 0 and example.intended is None
    else:
        assert to not in example.labels and example.intended == to
    if scenario == "S1":
        assert Levenshtein.distance(wrong.replace(".", ""), to.replace(".", "")) <= 3
    if scenario == "S4":
        assert recipient_kind("c.martin@cds-havre.example", wrong) == "cpam"
        assert wrong != to
    if scenario == "S5":
        assert is_private(recipient_kind("c.martin@cds-havre.example", wrong))


def test_examples_keep_every_original_as_negative(sim: Simulator) -> None:
    messages = history()[-20:]
    examples = sim.examples(messages, rate=1.0, first_contacts=0.0)
    legit = [e for e in examples if e.scenario == "legit"]
    assert len(legit) == len(messages)
    assert all(sum(e.labels.values()) == 0 for e in legit)
    assert sum(e.scenario != "legit" for e in examples) >= len(messages) * 0.9


def test_find_batches_groups_mail_merge() -> None:
    sender = Address.parse("m.durand@cds-havre.example")
    batch = [Message(f"b{i}", T0 + timedelta(minutes=i), sender, [Address.parse(p)],
                     subject=f"Votre rendez-vous n°{i}", body="x") for i, p in enumerate(PATIENTS)]
    other = Message("o", T0, sender, [Address.parse(STAFF[0])], subject="Autre", body="x")
    groups = find_batches([*batch, other])
    assert set(groups) == {0, 1, 2}


def test_first_contact_is_a_new_address_far_from_known_ones(sim: Simulator) -> None:
    message = Message("x", T0 + timedelta(days=70), Address.parse("c.martin@cds-havre.example"),
                      [Address.parse("Jeanne Roux <jeanne.roux@orange.fr>")],
                      subject="Rendez-vous", body="Bonjour Mme Roux, votre rendez-vous")
    fresh = None
    for _ in range(20):
        fresh = sim.first_contact(message)
        if fresh:
            break
    assert fresh is not None and fresh.scenario == "legit"
    (address,) = fresh.message.recipient_addresses()
    assert address not in sim.profiles.addresses
    assert all(Levenshtein.distance(address, a) > 2 for a in sim.all_addresses)
    new_last = fresh.message.to[0].name.split()[-1]
    assert fresh.message.body.startswith(f"Bonjour Mme {new_last},")  # greets the newcomer
    assert fresh.labels == {address: 0}


def test_no_wrong_recipient_is_another_address_of_the_intended_person() -> None:
    # kenneth_lay@ is kenneth.lay@ under another spelling: one letter away and the same last
    # name, so S1, S2 and S3 would pick it, but a message to it reaches the right person.
    people = ["Kenneth Lay <kenneth.lay@enron.com>", "Kenneth Lay <kenneth_lay@enron.com>",
              "Jeff Skilling <jeff.skilling@enron.com>", "Mark Lay <mark.lay@enron.com>"]
    sender = Address.parse("Rosalee Fleming <rosalee.fleming@enron.com>")
    messages = [Message(f"k{d}-{i}", T0 + timedelta(days=d, minutes=i), sender,
                        [Address.parse(who)], subject="Board", body="Hello")
                for d in range(20) for i, who in enumerate(people)]
    p = HistoryProfiles(TopicModel(dim=2).fit(["board hello", "hello there", "board meeting"]))
    p.update_many(messages)
    assert p.aliases("kenneth.lay@enron.com") == {"kenneth_lay@enron.com"}
    simulator = Simulator(p, seed=0)
    picks = set()
    for scenario in ("S1", "S2", "S3", "S7"):
        for _ in range(30):
            wrong = simulator.wrong_for(scenario, messages[0], "kenneth.lay@enron.com")
            picks.add(wrong)
    assert "kenneth_lay@enron.com" not in picks
    assert {"mark.lay@enron.com", "jeff.skilling@enron.com"} <= picks  # other people still are
