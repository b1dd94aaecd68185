"""PERSON recognition: stock ``fr_core_news_md`` (PER label) against misdirect's pipeline.

Three corpora, exact-span precision / recall / F1:

(a) synthetic French mails from held-out templates (``model.synthetic.annotated_mails``,
    split "heldout"), plus role attribution accuracy (addressee / signer / third party);
(b) WikiNEuRal French test split (``index<TAB>token<TAB>IOB2``);
(c) Europeana BnF newspapers (``token TAG``, IO scheme, OCR noise).

For (b) and (c) both systems read the same pre-tokenised sentences. (c) has no sentence
breaks: it is cut into chunks of about 60 tokens at full stops, and (being IO) adjacent
predicted PER spans are merged as the gold ones are. Values are read from the data files and
kept in memory; only figures are printed and written.

    .venv/bin/python bench/ner.py \\
        --wikineural ../shared/data/fr-ner/wikineural-fr-test.conllu \\
        --europeana ../shared/data/fr-ner/europeana-fr-bnf.bio \\
        --synthetic 400 --out bench/results/ner.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

Sentence = tuple[list[str], set[tuple[int, int]]]  # tokens, gold PER token spans [start, end)


def prf(gold: int, pred: int, hit: int) -> dict[str, float | int]:
    p = hit / pred if pred else 0.0
    r = hit / gold if gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "gold": gold, "predicted": pred, "correct": hit}


def read_wikineural(path: Path) -> list[Sentence]:
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    for line in [*path.read_text("utf-8").splitlines(), ""]:
        if not line.strip():
            if tokens:
                sentences.append((tokens, spans_from_tags(tags, iob=True)))
            tokens, tags = [], []
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            tokens.append(parts[1])
            tags.append(parts[2].strip())
    return sentences


def read_europeana(path: Path, chunk: int = 60) -> list[Sentence]:
    tokens: list[str] = []
    tags: list[str] = []
    for line in path.read_text("utf-8").splitlines():
        parts = line.rsplit(" ", 1)
        if len(parts) == 2 and parts[0]:
            tokens.append(parts[0])
            tags.append(parts[1].strip())
    sentences: list[Sentence] = []
    start = 0
    for i, tok in enumerate(tokens):
        long_enough = i + 1 - start >= chunk and tok in {".", "!", "?"}
        too_long = i + 1 - start >= 3 * chunk and tags[i] == "O"
        if long_enough or too_long or i == len(tokens) - 1:
            sentences.append((tokens[start : i + 1], spans_from_tags(tags[start : i + 1], iob=False)))
            start = i + 1
    return sentences


def spans_from_tags(tags: list[str], iob: bool) -> set[tuple[int, int]]:
    spans: set[tuple[int, int]] = set()
    start: int | None = None
    for i, tag in enumerate([*tags, "O"]):
        is_per = tag.endswith("PER")
        begins = is_per and (start is None or (iob and tag.startswith("B-")))
        if start is not None and (not is_per or begins):
            spans.add((start, i))
            start = None
        if begins:
            start = i
    return spans


def merge_io(spans: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """IO scheme: adjacent spans cannot be told apart, so merge them."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return {(s, e) for s, e in merged}


def eval_tokens(stock, analyzer, sentences: list[Sentence], io: bool) -> dict:
    from spacy.tokens import Doc

    ours_nlp = analyzer.nlp
    gold_n = stock_pred = stock_hit = ours_pred = ours_hit = 0
    t0 = time.perf_counter()

    def docs(vocab):
        for words, _ in sentences:
            yield Doc(vocab, words=words, spaces=[True] * len(words))

    def ours_pipe(stream):
        # What analyze runs: the NER on the windows that can hold a name, then the rules.
        batch = []
        for doc in stream:
            batch.append(doc)
            if len(batch) >= 256:
                yield from analyzer.annotate(batch, batch_size=256)
                batch = []
        if batch:
            yield from analyzer.annotate(batch, batch_size=256)

    stock_docs = stock.pipe(docs(stock.vocab), batch_size=256)
    ours_docs = ours_pipe(docs(ours_nlp.vocab))
    for (_, gold), sdoc, odoc in zip(sentences, stock_docs, ours_docs, strict=True):
        s_spans = {(e.start, e.end) for e in sdoc.ents if e.label_ == "PER"}
        o_spans = set()
        for name in analyzer.person_spans(odoc):
            span = odoc.char_span(name.start, name.end, alignment_mode="expand")
            if span is not None:
                o_spans.add((span.start, span.end))
        if io:
            s_spans, o_spans = merge_io(s_spans), merge_io(o_spans)
        gold_n += len(gold)
        stock_pred += len(s_spans)
        stock_hit += len(s_spans & gold)
        ours_pred += len(o_spans)
        ours_hit += len(o_spans & gold)
    return {
        "stock": prf(gold_n, stock_pred, stock_hit),
        "ours": prf(gold_n, ours_pred, ours_hit),
        "sentences": len(sentences),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def merge_adjacent_gold(text: str, persons: list[tuple[int, int, str]]) -> dict[tuple[int, int], str]:
    """One written name is one gold span: merge same-role spans separated by one space (an
    earlier generator recorded "{S.first} {S.last}" as two spans; no-op with the current one)."""
    merged: list[list] = []
    for s, e, role in sorted(persons):
        if merged and merged[-1][2] == role and text[merged[-1][1] : s] == " ":
            merged[-1][1] = e
        else:
            merged.append([s, e, role])
    return {(s, e): role for s, e, role in merged}


def eval_synthetic(stock, analyzer, n: int, seed: int) -> dict:
    from model.mail import Message
    from model.synthetic import annotated_mails

    mails = annotated_mails(seed, n, split="heldout")
    gold_n = stock_pred = stock_hit = ours_pred = ours_hit = 0
    role_ok = role_matched = 0
    by_role: dict[str, list[int]] = {}
    now = datetime.now(UTC)
    for mail in mails:
        gold = merge_adjacent_gold(mail.text, mail.persons)
        sdoc = stock(mail.text)
        s_spans = {(e.start_char, e.end_char) for e in sdoc.ents if e.label_ == "PER"}
        result = analyzer.analyze(Message("bench", now, None, body=mail.text))
        o_roles = {(s.start, s.end): s.role for s in result.spans if s.kind == "PERSON"}
        o_spans = set(o_roles)
        gold_n += len(gold)
        stock_pred += len(s_spans)
        stock_hit += len(s_spans & set(gold))
        ours_pred += len(o_spans)
        ours_hit += len(o_spans & set(gold))
        for span, role in gold.items():
            counts = by_role.setdefault(role, [0, 0, 0])
            counts[0] += 1
            if span in o_roles:
                role_matched += 1
                counts[1] += 1
                if o_roles[span] == role:
                    role_ok += 1
                    counts[2] += 1
    return {
        "stock": prf(gold_n, stock_pred, stock_hit),
        "ours": prf(gold_n, ours_pred, ours_hit),
        "mails": len(mails),
        "split": "heldout",
        "seed": seed,
        "role_accuracy_on_found": round(role_ok / role_matched, 4) if role_matched else 0.0,
        "role_accuracy_on_gold": round(role_ok / gold_n, 4) if gold_n else 0.0,
        "by_role": {r: {"gold": c[0], "found": c[1], "role_correct": c[2]} for r, c in by_role.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wikineural", type=Path)
    parser.add_argument("--europeana", type=Path)
    parser.add_argument("--synthetic", type=int, default=400, help="held-out mails (0: skip)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-sentences", type=int, default=0,
                        help="subsample (b) and (c) to this many sentences/chunks (0: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ner.json")
    args = parser.parse_args(argv)

    import spacy

    from model.content import ContentAnalyzer

    stock = spacy.load("fr_core_news_md")
    analyzer = ContentAnalyzer().load()
    results: dict = {
        "model": f"fr_core_news_md {stock.meta.get('version')}",
        "matching": "exact span",
        "stock": "fr_core_news_md full pipeline, PER entities",
        "ours": "misdirect: ner (only on windows around possible names unless "
                "MISDIRECT_CONTENT_NER_SELECT=false) + misdirect_person_rules (INSEE first names, "
                "titles, greetings), then cleaning; (a) through ContentAnalyzer.analyze, (b) and "
                "(c) through ContentAnalyzer.annotate",
        "ner_select": analyzer.ner_select,
        "synthetic_gold_note": "adjacent same-role gold spans separated by one space are merged "
                               "(an earlier generator split '{S.first} {S.last}' in two; "
                               "a no-op with the current one)",
    }
    rng = random.Random(args.seed)
    if args.synthetic:
        results["synthetic_heldout"] = eval_synthetic(stock, analyzer, args.synthetic, args.seed)
        print("synthetic", json.dumps(results["synthetic_heldout"]))
    for name, path, reader, io in (("wikineural", args.wikineural, read_wikineural, False),
                                   ("europeana", args.europeana, read_europeana, True)):
        if path is None:
            continue
        sentences = reader(path)
        total = len(sentences)
        if args.max_sentences and total > args.max_sentences:
            sentences = rng.sample(sentences, args.max_sentences)
        res = eval_tokens(stock, analyzer, sentences, io)
        res["subsampled"] = f"{len(sentences)} of {total}" if len(sentences) < total else "no"
        res["path"] = path.name
        res["f1_delta_points"] = round(100 * (res["ours"]["f1"] - res["stock"]["f1"]), 2)
        results[name] = res
        print(name, json.dumps(res))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
