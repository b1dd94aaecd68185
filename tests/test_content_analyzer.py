"""ContentAnalyzer end to end with the real spaCy model: persons, roles, links, counts."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import pytest

from model.content import ContentAnalysis, ContentAnalyzer
from model.mail import Address, Attachment, Message

SENDER = Address("c.martin@cds-havre.example", "Catherine Martin")
SOPHIE = Address("s.lemaire@cds-havre.example", "Sophie Lemaire")
PATIENT = Address("kevin.moreau76@gmail.com")

BODY = """Bonjour Sophie,

Je vous transmets le compte-rendu de Mme DURAND Marie (née le 12/03/1955, NIR 2 55 08 14 168 025 38) ainsi que l'ordonnance de M. Jean-Pierre LEFEBVRE.
Merci de voir avec le Dr Claire Petit pour le bilan sanguin de Kevin Moreau. IBAN FR14 2004 1010 0505 0001 3M02 606.

Cordialement,
Catherine Martin
Secrétaire médicale - Centre de santé du Havre
Tél : 02 35 12 34 56

Le 2 juin 2023 à 10:12, Sophie Lemaire <s.lemaire@cds-havre.example> a écrit :
> Bonjour Catherine,
> Pouvez-vous m'envoyer le dossier de M. Thomas Girard ?
> Merci
> Sophie
"""


def message(body: str = BODY, attachments: list[Attachment] | None = None, to=None) -> Message:
    return Message("t", datetime(2023, 6, 3, 9, 12, tzinfo=UTC), SENDER,
                   to=to if to is not None else [SOPHIE, PATIENT],
                   subject="Télétransmission du 2 juin", body=body, attachments=attachments or [])


@pytest.fixture(scope="module")
def result(content_analyzer: ContentAnalyzer) -> ContentAnalysis:
    return content_analyzer.analyze(message())


def roles(result: ContentAnalysis, source: str = "body") -> dict[str, str]:
    return {p.name: p.role for p in result.persons if p.source == source}


def test_persons_and_roles(result: ContentAnalysis) -> None:
    assert roles(result) == {
        "Sophie": "addressee",
        "DURAND Marie": "third_party",
        "Jean-Pierre LEFEBVRE": "third_party",
        "Claire Petit": "third_party",
        "Kevin Moreau": "third_party",
        "Catherine Martin": "signer",
    }


def test_quoted_message_roles(result: ContentAnalysis) -> None:
    assert roles(result, "quoted") == {"Sophie Lemaire": "signer", "Catherine": "addressee",
                                       "Thomas Girard": "third_party", "Sophie": "signer"}


def test_links(result: ContentAnalysis) -> None:
    links = {p.name: p.linked_address for p in result.persons if p.source == "body"}
    assert links["Sophie"] == SOPHIE.address
    assert links["Catherine Martin"] == SENDER.address
    assert links["Kevin Moreau"] == PATIENT.address  # the patient is a recipient
    assert links["DURAND Marie"] is None


def test_counts(result: ContentAnalysis) -> None:
    counts = result.sensitive_counts()
    assert counts["NIR"] == 1 and counts["IBAN"] == 1 and counts["BIRTH_DATE"] == 1
    assert counts["PHONE"] == 1
    assert counts["PERSON"] >= 6
    assert counts["HEALTH"] >= 4
    assert 0.7 < result.health_score <= 1.0
    assert {s.source for s in result.spans if s.kind == "HEALTH"} >= {"subject", "body"}


def test_no_values_in_repr(result: ContentAnalysis) -> None:
    shown = repr(result)
    for value in ("Durand", "DURAND", "255081416802538", "2 55 08", "FR14", "Sophie"):
        assert value not in shown


def test_no_values_logged(content_analyzer: ContentAnalyzer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        content_analyzer.analyze(message())
    assert "DURAND" not in caplog.text and "255081416802538" not in caplog.text


def test_attachment_text_is_analysed(content_analyzer: ContentAnalyzer) -> None:
    csv = "Nom;Prénom;Date de naissance;NIR\nGirard;Thomas;01/02/1960;255081416802538\n".encode()
    res = content_analyzer.analyze(message("Bonjour,\nci-joint la liste.\nCordialement",
                                           [Attachment("liste.csv", "text/csv", csv)]))
    assert res.attachments[0].status == "read"
    kinds = {(s.kind, s.source) for s in res.spans}
    assert ("NIR", "attachment") in kinds and ("BIRTH_DATE", "attachment") in kinds


def test_encrypted_attachment_summarised(content_analyzer: ContentAnalyzer) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret", algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    res = content_analyzer.analyze(message("Bonjour,\nci-joint.\nCordialement",
                                           [Attachment("cr.pdf", "application/pdf", buf.getvalue())]))
    assert res.attachments[0].status == "encrypted"


def test_mail_merge_shift_visible(content_analyzer: ContentAnalyzer) -> None:
    """S6: the body greets Mme Durand but goes to M. Petit: the addressee links to nobody."""
    body = "Bonjour Madame Durand,\n\nVoici vos résultats d'analyses.\n\nCordialement,\nDr Claire Petit"
    res = content_analyzer.analyze(message(body, to=[Address("jean.petit@gmail.com", "Jean Petit")]))
    addressees = [p for p in res.persons if p.role == "addressee"]
    assert [p.name for p in addressees] == ["Durand"]
    assert addressees[0].linked_address is None


def test_patient_written_about_themselves(content_analyzer: ContentAnalyzer) -> None:
    body = "Bonjour Madame Durand,\n\nVoici vos résultats.\n\nCordialement,\nLe secrétariat"
    res = content_analyzer.analyze(message(body, to=[Address("marie.durand@gmail.com", "Marie Durand")]))
    assert [p.linked_address for p in res.persons if p.role == "addressee"] == ["marie.durand@gmail.com"]


def test_analyze_many_matches_analyze(content_analyzer: ContentAnalyzer) -> None:
    msgs = [message(), message("Bonjour Paul,\nRDV demain.\nMerci\nJulie")]
    many = list(content_analyzer.analyze_many(msgs, batch_size=2))
    single = [content_analyzer.analyze(m) for m in msgs]
    assert [a.counts for a in many] == [b.counts for b in single]
    assert [[(p.name, p.role) for p in a.persons] for a in many] == \
        [[(p.name, p.role) for p in b.persons] for b in single]


def test_empty_message(content_analyzer: ContentAnalyzer) -> None:
    res = content_analyzer.analyze(Message("e", datetime.now(UTC), None))
    assert res.persons == [] and res.sensitive_counts() == {}


def test_load_is_lazy_and_idempotent(content_analyzer: ContentAnalyzer) -> None:
    assert ContentAnalyzer()._nlp is None  # nothing loaded in __init__
    analyzer = ContentAnalyzer(nlp=content_analyzer.nlp)  # a shared pipeline is reused
    nlp = analyzer.load().nlp
    assert analyzer.load().nlp is nlp
    assert nlp.pipe_names[-2:] == ["ner", "misdirect_person_rules"]


def test_huge_body_bounded(content_analyzer: ContentAnalyzer) -> None:
    """A 1 MB body: NER and detectors read bounded prefixes, the check stays fast."""
    import time

    body = (BODY + "\n") * (1_000_000 // len(BODY))
    start = time.perf_counter()
    res = content_analyzer.analyze(message(body))
    assert time.perf_counter() - start < 4.0  # the service's request budget
    assert len(res.text) <= content_analyzer.max_text_chars
    assert res.counts["NIR"] == 1  # the same NIR repeated is one value
