"""Render the benchmark results as PNG figures.

    .venv/bin/python bench/plots.py [--results bench/results] [--out bench/results]

Reads what the other benchmarks wrote, when present, and draws:

* ``detect.json`` (bench/detect.py): detection per scenario on the synthetic test month
  (``detect_synthetic.png``), per Enron mailbox (``detect_enron_<mailbox>.png``) and Enron next
  to the published figures (``enron_vs_published.png``);
* ``latency.json`` (bench/latency.py): latency percentiles and throughput per load level
  (``latency.png``).

Writes ``bench/results/plots.json`` (which figures came from which file). Missing inputs are
reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model import plots  # noqa: E402
from model.report import PUBLISHED_ENRON  # noqa: E402


def _rel(path: Path) -> str:
    """Paths inside the repository are written relative to it (plots.json is committed)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def render(results: Path, out: Path) -> dict:
    """Draw every figure whose input exists; returns ``{"written": [...], "skipped": [...]}``."""
    written: list[dict] = []
    skipped: list[str] = []
    detect = results / "detect.json"
    if detect.exists():
        data = json.loads(detect.read_text())
        month = (data.get("synthetic") or {}).get("test_month")
        if month and month.get("per_scenario"):
            fig = plots.detection_per_scenario(
                month["per_scenario"], title="Monde synthétique, mois de test : détection par scénario")
            written.append({"png": _rel(plots.save_png(fig, out / "detect_synthetic.png")),
                            "from": _rel(detect)})
        ours: dict[str, dict] = {}
        for box in data.get("enron") or []:
            metrics = box.get("metrics") or {}
            name = Path(box.get("mailbox", "enron")).stem
            if metrics.get("per_scenario"):
                fig = plots.detection_per_scenario(
                    metrics["per_scenario"], keys=("detection_at_verdict", "detection_at_target", "top1"),
                    title=f"Enron {name} : détection par scénario injecté")
                written.append({"png": _rel(plots.save_png(fig, out / f"detect_enron_{name}.png")),
                                "from": _rel(detect)})
            ours[name] = {a["source"]: metrics.get(a["ours"]) for a in PUBLISHED_ENRON}
        if ours:
            fig = plots.published_bars(ours, {a["source"]: a["value"] for a in PUBLISHED_ENRON})
            written.append({"png": _rel(plots.save_png(fig, out / "enron_vs_published.png")),
                            "from": _rel(detect)})
    else:
        skipped.append(f"{_rel(detect)} (run bench/detect.py)")
    latency = results / "latency.json"
    if latency.exists():
        data = json.loads(latency.read_text())
        runs = list(data.get("runs") or [])
        if data.get("reload_under_load"):
            runs.append({**data["reload_under_load"], "concurrency":
                         f"{data['reload_under_load'].get('concurrency', '?')} + reload"})
        if runs:
            workers = (data.get("server") or {}).get("workers", "?")
            fig = plots.latency_percentiles(
                runs, title=f"/v1/check en boucle locale ({workers} worker(s), NER comprise)")
            written.append({"png": _rel(plots.save_png(fig, out / "latency.png")),
                            "from": _rel(latency)})
    else:
        skipped.append(f"{_rel(latency)} (run bench/latency.py)")
    return {"written": written, "skipped": skipped}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--out", type=Path, default=None, help="default: --results")
    args = parser.parse_args(argv)
    out = args.out or args.results
    summary = render(args.results, out)
    summary["command"] = " ".join(["bench/plots.py", *(argv if argv is not None else sys.argv[1:])])
    out.mkdir(parents=True, exist_ok=True)
    (out / "plots.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    for item in summary["written"]:
        print("wrote", item["png"], "from", item["from"])
    for item in summary["skipped"]:
        print("skipped:", item)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
