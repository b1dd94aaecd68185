"""History profiles, recipient kinds, names and the SQLAlchemy store (SQLite; PostgreSQL when
a server is reachable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from model.history import HistoryProfiles, HistoryStore, TopicModel, recipient_kind
from model.history.names import (
    first_last,
    first_name_gender,
    greeting_gender,
    greeting_name,
    greeting_titled,
    known_first_names,
    recipient_gender,
)
from model.history.profiles import person_form
from model.mail import Address, Message

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def msg(sender: str, to: list[str], subject: str, body: str, days: int, cc: list[str] = ()) -> Message:
    return Message(f"m{days}-{sender}", T0 + timedelta(days=days), Address.parse(sender),
                   [Address.parse(a) for a in to], [Address.parse(a) for a in cc],
                   subject=subject, body=body)


def corpus() -> list[Message]:
    out = []
    for d in range(30):
        out.append(msg("Claire Martin <c.martin@cds-havre.example>",
                       ["Sophie Lemaire <s.lemaire@cds-havre.example>"],
                       "Télétransmission", "Bonjour Sophie, le bordereau de télétransmission CPAM", d))
        if d % 3 == 0:
            out.append(msg("c.martin@cds-havre.example", ["accueil@cpam-seine-maritime.example"],
                           "Rejet de facture", "Bonjour, rejet de la facture du lot", d,
                           cc=["s.lemaire@cds-havre.example"]))
        if d % 10 == 0:
            out.append(msg("slemaire@gmail.com", ["c.martin@cds-havre.example"],
                           "Rendez-vous", "Bonjour, je souhaite déplacer mon rendez-vous", d))
    return out


@pytest.fixture()
def profiles() -> HistoryProfiles:
    messages = corpus()
    topics = TopicModel(dim=8).fit([m.subject + " " + m.body for m in messages])
    p = HistoryProfiles(topics)
    assert p.update_many(messages) == len(messages)
    return p


def test_pair_counts_dates_and_both_directions(profiles: HistoryProfiles) -> None:
    pair = profiles.pair("c.martin@cds-havre.example", "s.lemaire@cds-havre.example")
    assert pair.count == 30 + 10  # 30 direct, 10 in cc
    assert pair.first == T0.timestamp()
    assert pair.last == (T0 + timedelta(days=29)).timestamp()
    back = profiles.pair("slemaire@gmail.com", "c.martin@cds-havre.example")
    assert back.count == 3
    assert profiles.pair("c.martin@cds-havre.example", "slemaire@gmail.com") is None
    assert "slemaire@gmail.com" in profiles.contacts("c.martin@cds-havre.example")


def test_recency_weight_decays(profiles: HistoryProfiles) -> None:
    pair = profiles.pair("c.martin@cds-havre.example", "s.lemaire@cds-havre.example")
    now = pair.last
    assert pair.weight_at(now) > pair.weight_at(now + 86400 * 180) > 0


def test_corecipients_and_names(profiles: HistoryProfiles) -> None:
    assert profiles.together("s.lemaire@cds-havre.example", "accueil@cpam-seine-maritime.example") == 10
    assert profiles.name_of("s.lemaire@cds-havre.example") == "Sophie Lemaire"


def test_indexes_kept_up_to_date_equal_a_rebuild() -> None:
    """The name gazetteer, the organisation index and the kind topics, updated message by
    message after first use, equal those of profiles that never built them before."""
    messages = corpus()
    extra = [msg("Claire Martin <c.martin@cds-havre.example>",
                 [f"Paul Durand <paul.durand{k}@free.fr>", "Jeanne Durand <j.durand@gmail.com>"],
                 "RDV", "votre rendez-vous", 40 + k) for k in range(5)]
    # An address known since the start, named only now: filed at its old position.
    extra.append(msg("c.martin@cds-havre.example", ["Sébastien Durand <slemaire@gmail.com>"], "RDV",
                     "votre rendez-vous", 48))
    # An address first seen as Jean Blin, then twice as Jean Morel: filed under Morel only.
    extra += [msg("c.martin@cds-havre.example", [f"{name} <jm@partenaire.example>"], "Dossier",
                  "dossier", 50 + k) for k, name in enumerate(["Jean Blin", "Jean Morel", "Jean Morel"])]
    # A patient who had only received mail writes back: their organisation gains a member
    # (what they received counts for it) and the centre's member hears from them.
    extra += [msg("Paul Durand <paul.durand0@free.fr>", ["c.martin@cds-havre.example"], "Re: RDV",
                  "merci", 55), msg("paul.durand0@free.fr", ["c.martin@cds-havre.example"], "Re: RDV",
                                    "à jeudi", 56)]
    topics = TopicModel(dim=8).fit([m.subject + " " + m.body for m in messages + extra])
    live, fresh = HistoryProfiles(topics), HistoryProfiles(topics)
    live.update_many(messages)
    fresh.update_many(messages)
    sender = "c.martin@cds-havre.example"
    for m in extra:
        live.name_index(), live.org_index(sender), live.kind_topics(sender)
        live.update(m)
        fresh.update(m)
    assert live.name_index() == fresh.name_index()
    # The older address first, as a rebuild in the order of addresses gives.
    assert [row[2] for row in live.name_index()["durand"]][:2] == ["slemaire@gmail.com",
                                                                   "paul.durand0@free.fr"]
    assert "blin" not in live.name_index() and live.name_index()["morel"][0][2] == "jm@partenaire.example"
    for who in (sender, "paul.durand0@free.fr", "s.lemaire@cds-havre.example"):
        a, b = live.org_index(who), fresh.org_index(who)
        assert a.addresses == b.addresses and np.array_equal(a.topics, b.topics)
        assert np.array_equal(a.counts, b.counts)
    assert "paul.durand0@free.fr" in live.org_index(sender).pos
    kinds_a, kinds_b = live.kind_topics(sender), fresh.kind_topics(sender)
    assert kinds_a.keys() == kinds_b.keys()
    assert all(np.array_equal(kinds_a[k], kinds_b[k]) for k in kinds_a)


def test_topic_vectors_are_numeric_and_separate_topics(profiles: HistoryProfiles) -> None:
    billing = profiles.topics.vector("télétransmission bordereau CPAM")
    appointment = profiles.topics.vector("déplacer mon rendez-vous")
    pair = profiles.pair("c.martin@cds-havre.example", "s.lemaire@cds-havre.example")
    unit = pair.topic / np.linalg.norm(pair.topic)
    assert pair.topic.dtype == np.float32
    assert float(unit @ billing) > float(unit @ appointment)


def test_topic_model_learns_which_subjects_go_to_personal_mailboxes() -> None:
    from model.train import fit_private_model

    messages = []
    for d in range(20):
        messages.append(msg("c.martin@cds-havre.example", [f"patient{d}@gmail.com"], "Rendez-vous",
                            "Bonjour, votre rendez-vous de consultation est confirmé", d))
        messages.append(msg("c.martin@cds-havre.example", ["accueil@cpam-eure.example"],
                            "Bordereau", "Bordereau de télétransmission du lot, facture rejetée", d))
    topics = TopicModel(dim=4).fit([m.subject + " " + m.body for m in messages])
    appointment = topics.vector("votre rendez-vous de consultation")
    billing = topics.vector("bordereau de télétransmission rejetée")
    assert topics.private_probability(appointment) is None  # not fitted: no opinion
    # A history with one side only teaches nothing.
    fit_private_model(topics, [m for m in messages if "cpam" in m.to[0].address], seed=0)
    assert topics.private_probability(appointment) is None
    decision = fit_private_model(topics, messages, seed=0)
    assert decision["used"] and decision["auc"] >= 0.9 and decision["examples"] == 40
    assert topics.private_probability(appointment) > 0.5 > topics.private_probability(billing)
    assert topics.private_probability(np.zeros(topics.dim, dtype=np.float32)) is None
    assert topics.private_coef.shape == (topics.dim + 1,)  # numbers only


def test_private_fit_is_left_out_where_the_topic_does_not_tell_the_side() -> None:
    from model.train import fit_private_model

    # The same letters go to patients and to the CPAM: the topic cannot tell the side.
    messages = [msg("c.martin@cds-havre.example",
                    [f"patient{d}@gmail.com" if d % 2 else "accueil@cpam-eure.example"],
                    "Dossier", f"Bonjour, voici le dossier numéro {d} demandé", d) for d in range(40)]
    topics = TopicModel(dim=4).fit([m.subject + " " + m.body for m in messages])
    decision = fit_private_model(topics, messages, seed=0)
    assert not decision["used"] and decision["auc"] < 0.9
    assert topics.private_probability(topics.vector("voici le dossier demandé")) is None


@pytest.mark.parametrize(
    ("sender", "recipient", "kind"),
    [
        ("a@cds-havre.example", "b@cds-havre.example", "internal"),
        ("a@cds-havre.example", "x@gmail.com", "webmail"),
        ("a@cds-havre.example", "x@orange.fr", "webmail"),
        ("a@cds-havre.example", "1234567890123@patient.mssante.fr", "patient"),
        ("a@cds-havre.example", "dupont@ch-xyz.mssante.fr", "mssante"),
        ("a@cds-havre.example", "accueil@cpam-eure.example", "cpam"),
        ("a@cds-havre.example", "contact@cds-fecamp.example", "partner"),
        ("kenneth.lay@enron.com", "jeff@ect.enron.com", "internal"),
    ],
)
def test_recipient_kind(sender: str, recipient: str, kind: str) -> None:
    assert recipient_kind(sender, recipient) == kind


@pytest.mark.parametrize(
    ("body", "name"),
    [("Bonjour Sophie,\n...", "sophie"), ("Re-bonjour Sophie,", "sophie"),
     ("Cher Monsieur Denis,", "denis"), ("Dear Ken:", "ken"), ("Bonjour à tous,", None),
     ("Bonjour,\nmerci", None), ("Ken will attend", None)],
)
def test_greeting_name(body: str, name: str | None) -> None:
    assert greeting_name(body) == name


@pytest.mark.parametrize(
    ("body", "gender"),
    [("Bonjour Madame,\nvos résultats", "F"), ("Chère Madame Petit,", "F"), ("Mme Durand,", "F"),
     ("Monsieur,\n", "M"), ("Cher Monsieur Denis,", "M"), ("Bonjour M. Roux,", "M"),
     ("Madame, Monsieur,", None), ("Mesdames, Messieurs,", None), ("Bonjour Sophie,", None),
     ("Bonjour à tous,", None), ("", None), ("\n\nBonjour Madame", "F"),
     # Only the greeting line counts: a "Madame" further down is someone else.
     ("Bonjour,\nMadame Durand a appelé", None)],
)
def test_greeting_gender(body: str, gender: str | None) -> None:
    assert greeting_gender(body) == gender


@pytest.mark.parametrize(
    ("body", "titled"),
    [("Monsieur Alexandre,\nvotre dossier", True), ("Bonjour M. Godard,", True),
     ("Chère Madame Solange Mace,", True), ("Dear Mr Smith,", True), ("Cher Dr. House,", True),
     ("Bonjour Sophie,", False), ("Hi, I'm Sam", False), ("Madame,\n", False),
     ("Bonjour,\nMonsieur Durand a appelé", False)],
)
def test_greeting_titled(body: str, titled: bool) -> None:
    assert greeting_titled(body) is titled


@pytest.mark.parametrize(
    ("display", "address", "gender"),
    [("Sabrina Gillet", "x@orange.fr", "F"), (None, "sabrina.gillet@orange.fr", "F"),
     (None, "fabrice.fernandes@outlook.fr", "M"), (None, "mauriceclement48@gmail.com", "M"),
     (None, "laurencelucas42@orange.fr", "F"), ("Jean-Marc Leblanc", "jm@x.fr", "M"),
     # Unknown: initials, role mailboxes, epicene names, numbers.
     (None, "c.morvan@cds-havre.example", None), (None, "resultats@lab.example", None),
     (None, "tiers-payant@mutuelle.example", None), ("Dominique Hardy", "dh@x.fr", None),
     ("Camille Roux", "c@x.fr", None), (None, "13208769617@gmail.com", None),
     # A patient's Mon espace santé address is their INS, whose first digit is the sex
     # (1 a man, 2 a woman; temporary numbers say nothing).
     (None, "1320876961752@patient.mssante.fr", "M"),
     (None, "2840176258289@patient.mssante.fr", "F"),
     (None, "7320876961752@patient.mssante.fr", None),
     ("Lemaire, Sophie", "x@y.fr", "F")],
)
def test_recipient_gender(display: str | None, address: str, gender: str | None) -> None:
    assert recipient_gender(display, address) == gender


def test_first_name_gender_from_insee_counts() -> None:
    assert first_name_gender("marie") == "F" and first_name_gender("pierre") == "M"
    assert first_name_gender("marie-claire") == "F"  # a listed compound
    assert first_name_gender("jean-zzz") == "M"  # unlisted compound: its first part decides
    assert first_name_gender("zzzz") is None and first_name_gender(None) is None


def test_first_last() -> None:
    assert first_last("Lemaire, Sophie") == ("sophie", "lemaire")
    assert first_last("Dr Sophie Lemaire") == ("sophie", "lemaire")
    assert first_last(None, "s.lemaire@x.fr") == (None, "lemaire")


def test_first_last_drops_comments() -> None:
    # Outlook appends where an address points: "(E-mail)" is not a surname.
    assert first_last("Kenneth L. Lay \\(E-mail\\)") == ("kenneth", "lay")
    assert first_last("Steve Kean (E-mail)") == ("steve", "kean")


ALIAS_BOOK = [
    ("Kenneth Lay <kenneth.lay@enron.com>", "kenneth_lay@enron.com"),
    ("Kenneth Lay <lay.kenneth@enron.com>", "kenneth.lay@ect.enron.com"),
    ("Sophie Lemaire <s.lemaire@cds-havre.example>", "sophie.lemaire@cds-havre.example"),
    ("Sophie Lemaire <slemaire@gmail.com>", "sophie.lemaire@gmail.com"),
    ("Sophie Lemaire <sophie.lemaire@yahoo.fr>", "sophie.lemaire@hotmail.fr"),
    ("Jean Dupont <jean.dupont@gmail.com>", "jeandupont@gmail.com"),
    ("Secrétariat CPAM <contact@cpam-76.example>", "secretariat.cpam@cpam-76.example"),
    ("Secrétariat CPAM <teletransmission@cpam-76.example>", "x@cpam-76.example"),
    ("Marc Petit <m.petit@cds-havre.example>", "marc.petit@hopital.example"),
    ("Ken Lay <klay@enron.com>", "kenneth.l.lay@enron.com"),
]


@pytest.mark.parametrize(("address", "aliases"), [
    # Same local part but for dots / underscores / word order, same registered domain.
    ("kenneth.lay@enron.com", {"kenneth_lay@enron.com", "lay.kenneth@enron.com",
                               "kenneth.lay@ect.enron.com",
                               # Other forms of the name: a short form, a middle initial.
                               "klay@enron.com", "kenneth.l.lay@enron.com"}),
    ("jean.dupont@gmail.com", {"jeandupont@gmail.com"}),
    # The same person's name on the organisation's domain.
    ("s.lemaire@cds-havre.example", {"sophie.lemaire@cds-havre.example"}),
    # Webmail: every address is its own organisation; namesakes there are two people.
    ("slemaire@gmail.com", set()),
    ("sophie.lemaire@yahoo.fr", set()),
    # Two role mailboxes under one organisation's name are not one person.
    ("contact@cpam-76.example", set()),
    # The same name at two organisations: a person's two jobs or two namesakes, not an alias.
    ("m.petit@cds-havre.example", set()),
    ("nobody@nowhere.example", set()),
])
def test_aliases(address: str, aliases: set[str]) -> None:
    messages = [msg("c.martin@cds-havre.example", [a, b], "x", "y", i)
                for i, (a, b) in enumerate(ALIAS_BOOK)]
    # The second address of each pair is known under the first one's name.
    messages += [msg(f"{a.split('<')[0]}<{b}>", ["c.martin@cds-havre.example"], "x", "y", 20 + i)
                 for i, (a, b) in enumerate(ALIAS_BOOK)]
    p = HistoryProfiles(TopicModel(dim=2).fit(["x y", "y z", "z x"]))
    p.update_many(messages)
    assert p.aliases(address) == aliases
    for other in aliases:
        assert address in p.aliases(other)  # symmetric


@pytest.mark.parametrize(("address", "name", "form"), [
    ("kenneth.lay@enron.com", None, ("kenneth", "lay")),
    ("kenneth.l.lay@enron.com", None, ("kenneth", "lay")),  # middle initial dropped
    ("k.lay@enron.com", None, ("k", "lay")),
    ("k.lay@enron.com", "Ken Lay", ("ken", "lay")),  # the display name spells the initial
    ("klay@enron.com", "Ken Lay", ("ken", "lay")),  # glued: only with a name that spells it
    ("klay@enron.com", None, None),
    ("markkoenig@enron.com", None, None),
    ("s.lemaire@cds-havre.example", "Sophie Lemaire", ("sophie", "lemaire")),
    ("jean-pierre.morel@cds-havre.example", None, None),  # two first names: not a form
    ("slemaire@gmail.com", "Sophie Lemaire", None),  # webmail: every address its own person
    ("2481176150032@patient.mssante.fr", "Liliane Prevost", None),
    ("tiers-payant@mns-mutuelle.example", None, None),  # role mailboxes
    ("secretariat.cds@cds-havre.example", "Secrétariat", None),
])
def test_person_form(address: str, name: str | None, form: tuple[str, str] | None) -> None:
    assert person_form(address, name, known_first_names()) == form


def test_an_initial_that_fits_two_people_is_no_alias() -> None:
    def profiles(*addresses: str) -> HistoryProfiles:
        p = HistoryProfiles(TopicModel(dim=2).fit(["x y", "y z", "z x"]))
        p.update_many([msg("c.martin@cds-havre.example", [a], "x", "y", i)
                       for i, a in enumerate(addresses)])
        return p

    p = profiles("Jean Morel <jean.morel@cds-fecamp.example>", "j.morel@cds-fecamp.example")
    assert p.aliases("j.morel@cds-fecamp.example") == {"jean.morel@cds-fecamp.example"}
    # Julie Morel joins the organisation's address book: j.morel@ could be either of them.
    p = profiles("Jean Morel <jean.morel@cds-fecamp.example>", "j.morel@cds-fecamp.example",
                 "Julie Morel <julie.morel@cds-fecamp.example>")
    assert p.aliases("j.morel@cds-fecamp.example") == frozenset()
    assert p.aliases("jean.morel@cds-fecamp.example") == frozenset()
    assert p.aliases("julie.morel@cds-fecamp.example") == frozenset()
    # Another organisation's J. Morel is another person.
    p = profiles("Jean Morel <jean.morel@cds-fecamp.example>", "j.morel@ch-estuaire.example")
    assert p.aliases("j.morel@ch-estuaire.example") == frozenset()


def test_aliases_follow_updates() -> None:
    p = HistoryProfiles(TopicModel(dim=2).fit(["x y", "y z", "z x"]))
    p.update(msg("c.martin@cds-havre.example", ["kenneth.lay@enron.com"], "x", "y", 0))
    assert p.aliases("kenneth.lay@enron.com") == frozenset()
    p.update(msg("c.martin@cds-havre.example", ["kenneth_lay@enron.com"], "x", "y", 1))
    assert p.aliases("kenneth.lay@enron.com") == {"kenneth_lay@enron.com"}


def _roundtrip(url: str, profiles: HistoryProfiles) -> None:
    store = HistoryStore(url)
    try:
        assert not store.holds_snapshot("snap-1")  # an empty store holds no snapshot
        store.save(profiles, snapshot_id="snap-1")
        assert store.get_meta("snapshot_id") == "snap-1"
        assert store.holds_snapshot("snap-1") and not store.holds_snapshot("snap-2")
        loaded = store.load(profiles.topics)
        assert loaded.pairs.keys() == profiles.pairs.keys()
        key = ("c.martin@cds-havre.example", "s.lemaire@cds-havre.example")
        assert loaded.pairs[key].count == profiles.pairs[key].count
        assert np.allclose(loaded.pairs[key].topic, profiles.pairs[key].topic)
        assert loaded.corecipients == profiles.corecipients
        assert loaded.name_of("s.lemaire@cds-havre.example") == "Sophie Lemaire"
        # Incremental update, computed from the rows in the database.
        new = msg("c.martin@cds-havre.example", ["s.lemaire@cds-havre.example", "new@cds-havre.example"],
                  "x", "y", 40)
        vec = profiles.topics.vector("x y")
        assert store.update(new, vec)
        again = store.load(profiles.topics)
        assert again.pairs[key].count == profiles.pairs[key].count + 1
        assert again.pairs[("c.martin@cds-havre.example", "new@cds-havre.example")].count == 1
        assert again.together("s.lemaire@cds-havre.example", "new@cds-havre.example") == 1
        assert store.count_messages() == profiles.n_messages + 1
    finally:
        store.close()


def test_store_sqlite_roundtrip_and_update(profiles: HistoryProfiles, tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/history.db"
    _roundtrip(url, profiles)
    store = HistoryStore(url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def test_store_keeps_no_text(profiles: HistoryProfiles, tmp_path) -> None:
    path = tmp_path / "h.db"
    store = HistoryStore(f"sqlite:///{path}")
    store.save(profiles)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    raw = path.read_bytes()
    for word in (b"bordereau", b"rendez-vous", b"facture", "Télétransmission".encode()):
        assert word not in raw


def test_store_postgresql(profiles: HistoryProfiles, postgres_url: str) -> None:
    _roundtrip(postgres_url, profiles)


def test_topic_fingerprint_tells_topic_spaces_apart() -> None:
    import pickle

    texts = [m.subject + " " + m.body for m in corpus()]
    a, b = TopicModel(dim=8, seed=0).fit(texts), TopicModel(dim=8, seed=0).fit(texts)
    other = TopicModel(dim=8, seed=1).fit(texts)
    assert a.fingerprint() == b.fingerprint() == pickle.loads(pickle.dumps(a)).fingerprint()
    assert other.fingerprint() != a.fingerprint()
    with pytest.raises(RuntimeError, match="not fitted"):
        TopicModel(dim=8).fingerprint()
