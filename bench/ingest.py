"""Ingestion benchmark: messages per second and peak memory reading real mailboxes.

    python bench/ingest.py /work/shared/data/enron/lay-k.mbox /work/shared/data/enron/skilling-j.mbox
    python bench/ingest.py /work/shared/data/enron          # a folder: its *.mbox files, or a maildir

Reads every input in one ``read_messages`` call (dedup across files, as training does), then,
untimed, re-reads without dedup to check ``Message.dedup_key()`` against the README's
(Date, From, To, Subject) rule. Prints the figures and writes ``bench/results/ingest.json``
(counts and timings only: no addresses, subjects or bodies).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.ingest import IngestStats, clear_caches, detect_format, read_messages  # noqa: E402


def expand(paths: list[str]) -> list[Path]:
    """Files as given; a folder that is not itself a mail folder stands for its mailbox files."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            boxes = sorted(p for p in path.iterdir() if p.suffix.lower() in (".mbox", ".jsonl"))
            if boxes:
                out.extend(boxes)
                continue
            detect_format(path)  # raises a clear error when it is not mail at all
        out.append(path)
    return out


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "paths", nargs="+", help="mbox files, maildirs, .eml folders or a folder of them"
    )
    parser.add_argument(
        "--keep-attachments",
        action="store_true",
        help="also decode attachments (training does not need them)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed passes (best is kept)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = parser.parse_args(argv)

    inputs = expand(args.paths)
    rss_before = peak_rss_mb()
    # The machine is shared: repeat, keep the fastest wall time and report the median too.
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(max(1, args.repeat)):
        clear_caches()  # every pass starts cold, as a real load does
        stats = IngestStats()
        start = time.perf_counter()
        cpu_start = time.process_time()
        n_recipients = 0
        for msg in read_messages(inputs, stats=stats, keep_attachments=args.keep_attachments):
            n_recipients += len(msg.to) + len(msg.cc) + len(msg.bcc)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
    seconds = min(walls)
    cpu_seconds = min(cpus)
    median = sorted(walls)[len(walls) // 2]
    peak = peak_rss_mb()

    # Untimed check of the dedup rule on the same messages.
    keys: set[tuple] = set()
    readme_keys: set[tuple] = set()
    total = 0
    for msg in read_messages(inputs, dedup=False, keep_attachments=False):
        total += 1
        keys.add(msg.dedup_key())
        readme_keys.add(
            (
                msg.date.isoformat(),
                msg.sender.address if msg.sender else "",
                ",".join(a.address for a in msg.to),
                msg.subject,
            )
        )

    handled = stats.read + stats.duplicates + stats.skipped_total
    result = {
        "command": "python bench/ingest.py " + " ".join(args.paths),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": [str(p) for p in inputs],
        "bytes": stats.bytes_read,
        "messages_in_files": handled,
        "messages_read": stats.read,
        "duplicates_removed": stats.duplicates,
        "skipped": dict(stats.skipped),
        "skipped_total": stats.skipped_total,
        "repairs": dict(stats.notes),
        "per_file": dict(stats.by_file),
        "recipients": n_recipients,
        "seconds": round(seconds, 3),
        "seconds_median": round(median, 3),
        "seconds_all": [round(w, 3) for w in walls],
        "cpu_seconds": round(cpu_seconds, 3),
        "messages_per_s": round(stats.read / seconds, 1) if seconds else None,
        "messages_in_files_per_s": round(handled / seconds, 1) if seconds else None,
        "messages_per_cpu_s": round(stats.read / cpu_seconds, 1) if cpu_seconds else None,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "mb_per_s": round(stats.bytes_read / 1e6 / seconds, 2) if seconds else None,
        "peak_rss_mb": round(peak, 1),
        "rss_before_mb": round(rss_before, 1),
        "dedup_check": {
            "kept_messages_without_dedup": total,
            "unique_dedup_key": len(keys),
            "unique_date_from_to_subject": len(readme_keys),
        },
        "keep_attachments": args.keep_attachments,
        "python": platform.python_version(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")

    print(f"inputs               {len(inputs)} ({stats.bytes_read / 1e6:.1f} MB)")
    for src, count in stats.by_file.items():
        print(f"  {src}: {count} read")
    print(f"messages in files    {handled}")
    print(f"read (kept)          {stats.read}")
    print(f"duplicates removed   {stats.duplicates}")
    print(f"skipped              {stats.skipped_total} {dict(stats.skipped)}")
    print(f"repairs              {dict(stats.notes)}")
    print(
        f"seconds              best {seconds:.2f}, median {median:.2f} (cpu {cpu_seconds:.2f}),"
        f" load average {result['load_average_1min']}"
    )
    print(f"messages/s (kept)    {result['messages_per_s']}")
    print(f"messages/s (all)     {result['messages_in_files_per_s']}")
    print(f"peak RSS             {peak:.1f} MB")
    print(f"dedup check          {result['dedup_check']}")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
