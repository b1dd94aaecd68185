"""Detection benchmark: the synthetic world's test month and Enron mailboxes with injected
misdirections, next to the published figures.

    .venv/bin/python bench/detect.py --synthetic /tmp/world --generate \\
        --enron ../shared/data/enron/lay-k.mbox ../shared/data/enron/skilling-j.mbox

Writes ``bench/results/detect.json``. Enron data is read in place, never copied.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PUBLISHED = {
    "carvalho_cohen_2007": {"what": "Enron, simulated leaks, leak detection", "detection": 0.82},
    "zilberman_2013": {"what": "Enron, leak recipients detected at 0.5% false positives",
                       "recipient_detection_at_0.5%_fp": 0.87},
}
ENRON_SCENARIOS = ("typo", "prefix", "first_name", "last_name", "random")


def _rss_peak_children_mb() -> float:
    # ru_maxrss of the largest waited-for child, in kB on Linux.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def synthetic(world: Path, work: Path, generate: bool, seed: int) -> dict:
    from model.evaluate import evaluate_cases
    from model.settings import Settings

    out: dict = {}
    if generate or not (world / "history.mbox").exists():
        from model.synthetic import generate_world

        out["generate"] = generate_world(world, seed=42, size="default")
    model_dir = work / "synthetic-model"
    mlflow_uri = f"sqlite:///{work}/mlflow.db"
    cmd = [str(ROOT / ".venv/bin/misdirect"), "train", "--history", str(world / "history.mbox"),
           "--model", str(model_dir), "--mlflow-uri", mlflow_uri, "--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"misdirect train failed: {proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout or proc.stderr[proc.stderr.index("{"):])
    out["train"] = {
        "command": " ".join(["misdirect", *cmd[1:]]),
        "seconds": round(seconds, 1),
        "peak_memory_mb": round(_rss_peak_children_mb(), 1),
        "history_messages": summary["messages"],
        "history_messages_per_s": round(summary["messages"] / seconds, 1),
        "timings_s": summary.get("timings_s"),
        "estimator_setting": summary.get("estimator_setting"),
        "estimator_setting_pr_auc": summary.get("estimator_setting_pr_auc"),
        "in_training_evaluation": {k: v for k, v in summary["metrics"].items()
                                   if k != "per_scenario"},
    }
    settings = Settings(history_url=f"sqlite:///{work}/history.db", mlflow_uri=mlflow_uri)
    t0 = time.perf_counter()
    out["test_month"] = evaluate_cases(model_dir, world / "cases.jsonl", world / "labels.jsonl",
                                       settings)
    out["test_month"]["seconds"] = round(time.perf_counter() - t0, 1)
    # As deployed: each message is learnt as it leaves, fixed (the add-in's /v1/sent), so a
    # patient first written to on the 3rd is a known correspondent on the 20th.
    t0 = time.perf_counter()
    out["test_month_learning_sent"] = evaluate_cases(
        model_dir, world / "cases.jsonl", world / "labels.jsonl", settings, learn_sent=True)
    out["test_month_learning_sent"]["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def to_request(message):
    from model.schemas import CheckRequest

    def rec(a):
        return {"address": a.address, "name": a.name}

    return CheckRequest(sender=rec(message.sender), to=[rec(a) for a in message.to],
                        cc=[rec(a) for a in message.cc], bcc=[rec(a) for a in message.bcc],
                        subject=message.subject, body=message.body[:20000],
                        sent_at=message.date)


def inject(sim, message, scenario: str, rng: random.Random):
    """A misdirected copy of ``message``: Carvalho & Cohen's leak types."""
    from dataclasses import replace

    from model.history.names import first_last
    from model.mail import Address
    from model.simulate import Example

    code = {"typo": "S1", "prefix": "S2", "random": "S7"}.get(scenario)
    if code:
        return sim.misdirect(message, code)
    intended = rng.choice(message.to or [a for _, a in message.recipients()]).address
    first, last = first_last(sim.profiles.name_of(intended), intended)
    pool = sim.by_first.get(first or "", []) if scenario == "first_name" else sim.by_last.get(last or "", [])
    exclude = sim.not_wrong(message)
    choices = [a for a in pool if a not in exclude]
    if not choices:
        return None
    wrong = rng.choice(choices)
    new = Address(wrong, sim.profiles.name_of(wrong))

    def swap(addrs):
        return [new if a.address == intended else a for a in addrs]

    variant = replace(message, to=swap(message.to), cc=swap(message.cc), bcc=swap(message.bcc))
    labels = {a: 0 for a in variant.recipient_addresses()}
    labels[wrong] = 1
    return Example(variant, labels, scenario, [wrong], intended)


def enron(paths: list[Path], work: Path, seed: int, test_fraction: float, min_history: int,
          debug: Path | None = None) -> dict:
    from model.evaluate import (
        bootstrap_intervals,
        compute_metrics,
        suggestion_quality,
        suggestion_row,
    )
    from model.scoring import Scorer
    from model.settings import Settings
    from model.simulate import Simulator
    from model.train import load_history, train_from_messages

    t0 = time.perf_counter()
    messages, stats = load_history(paths)
    name = "+".join(p.stem for p in paths)
    # Time split: the test period is the last ``test_fraction`` of the messages written by the
    # mailbox's regular senders (at least 2 x ``min_history`` messages in the mailbox: the
    # owner, their assistant, close colleagues); everything before it, sent and received, is
    # the history, nothing after it is seen in training. Every test message whose sender has
    # at least ``min_history`` messages in the history is scored, as is, and once per leak
    # type with one recipient replaced (Carvalho & Cohen scored the owner's sent mail with one
    # leak each: too few messages here to measure a 0.5 % false-alarm rate).
    ordered = sorted(messages, key=lambda m: m.date)
    total: dict[str, int] = {}
    for m in ordered:
        total[m.sender.address] = total.get(m.sender.address, 0) + 1
    regular = [m for m in ordered if total[m.sender.address] >= 2 * min_history]
    split = regular[int(len(regular) * (1 - test_fraction))].date
    past = [m for m in ordered if m.date < split]
    test = [m for m in ordered if m.date >= split]
    # One model folder and history store per mailbox and seed: a store seeded by another
    # seed's bundle holds topic vectors of another topic space.
    model_dir = work / f"enron-{name}-{seed}"
    settings = Settings(history_url=f"sqlite:///{work}/h-{name}-{seed}.db", mlflow_uri="none")
    summary = train_from_messages(past, model_dir, mlflow_uri="none", seed=seed, settings=settings)
    train_seconds = time.perf_counter() - t0
    scorer = Scorer.load(model_dir, settings)
    sent = {}
    for m in past:
        sent[m.sender.address] = sent.get(m.sender.address, 0) + 1
    eligible = [m for m in test if sent.get(m.sender.address, 0) >= min_history]
    rng = random.Random(seed)
    sim = Simulator(scorer.profiles, seed=seed + 7)
    risk, label, eid, scen, flagged = [], [], [], [], []
    cases: list[dict] = []
    as_sent: list[bool] = []  # rows of the messages as sent: each real recipient counted once
    suggested: list[tuple] = []  # per scored message: was the leak warned, what was proposed
    for m in eligible:
        examples = [(m, {a: 0 for a in m.recipient_addresses()}, "legit", None)]
        for scenario in ENRON_SCENARIOS:
            ex = inject(sim, m, scenario, rng)
            if ex is not None:
                examples.append((ex.message, ex.labels, scenario, ex.intended))
        for msg, labels, scenario_name, intended in examples:
            e = len(scen)
            response = scorer.check(to_request(msg))
            for r in response.recipients:
                if r.address == msg.sender.address:
                    continue
                risk.append(r.risk)
                label.append(labels.get(r.address, 0))
                eid.append(e)
                as_sent.append(scenario_name == "legit")
            scen.append(scenario_name)
            flagged.append(response.verdict != "send")
            suggested.append(suggestion_row(response, {a for a, y in labels.items() if y},
                                            scenario_name, intended))
            if debug is not None:
                cases.append({"scenario": scenario_name, "sender": msg.sender.address,
                              "risk": response.risk, "wrong": [a for a, y in labels.items() if y],
                              "recipients": [(r.address, r.risk) for r in response.recipients]})
    scorer.close()
    if debug is not None:
        debug.write_text(json.dumps(cases, indent=0))  # public Enron data, outside the repo
    metrics = compute_metrics(np.array(risk), np.array(label), np.array(eid), scen,
                              np.array(flagged), 0.005, negative_rows=np.array(as_sent))
    metrics["suggestion"] = suggestion_quality(suggested)
    metrics["ci95"] = bootstrap_intervals(np.array(risk), np.array(label), np.array(eid), scen)
    return {
        "mailbox": name,
        "messages": len(messages),
        "ingest": {k: stats.get(k) for k in ("read", "duplicates", "skipped_total")},
        "train_messages": len(past),
        "test_messages": len(test),
        "test_messages_scored": len(eligible),
        "test_period_from": split.isoformat(),
        "test_senders": len({m.sender.address for m in eligible}),
        "min_sender_history": min_history,
        "train_seconds": round(train_seconds, 1),
        "estimator_setting": summary.get("estimator_setting"),
        "estimator_setting_pr_auc": summary.get("estimator_setting_pr_auc"),
        "in_training_evaluation": {k: v for k, v in summary["metrics"].items()
                                   if k != "per_scenario"},
        "metrics": metrics,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=Path, help="synthetic world folder (default size)")
    parser.add_argument("--generate", action="store_true", help="generate the world first")
    parser.add_argument("--enron", type=Path, nargs="*", default=[], help="Enron mbox files")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/detect.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--enron-seeds", type=int, default=3,
                        help="training seeds per Enron mailbox (seed, seed+1, ...): the figures at "
                             "0.5 %% false alarms rest on a handful of legitimate recipients and "
                             "move by several points with the seed, so the spread is reported")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--min-sender-history", type=int, default=5)
    parser.add_argument("--debug-cases", type=Path, help="write every scored Enron case here")
    args = parser.parse_args(argv)

    result: dict = {"published": PUBLISHED, "command": " ".join(["bench/detect.py", *sys.argv[1:]])}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.synthetic:
            result["synthetic"] = synthetic(args.synthetic, work, args.generate, args.seed)
            print(json.dumps(_headline(result["synthetic"]["test_month"]), indent=1))
            print("learning each sent message:",
                  json.dumps(_headline(result["synthetic"]["test_month_learning_sent"]), indent=1))
        if args.enron:
            sets = [[p] for p in args.enron] + ([args.enron] if len(args.enron) > 1 else [])
            result["enron"] = []
            for ps in sets:
                runs = [enron(ps, work, args.seed + k, args.test_fraction, args.min_sender_history,
                              args.debug_cases.with_suffix(f".{'+'.join(p.stem for p in ps)}.json")
                              if args.debug_cases and k == 0 else None)
                        for k in range(max(1, args.enron_seeds))]
                entry = runs[0]  # the first seed in full, as before; the spread over all seeds
                entry["over_seeds"] = over_seeds(runs, args.seed)
                result["enron"].append(entry)
                print(entry["mailbox"], json.dumps(_headline(entry["metrics"]), indent=1))
                print(entry["mailbox"], "over seeds:", json.dumps(entry["over_seeds"]["summary"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    return 0


SEED_KEYS = ("roc_auc", "recipient_detection_at_target", "detection_at_target", "top1",
             "detection_at_verdict", "false_alarm_at_verdict", "ece")


def over_seeds(runs: list[dict], first_seed: int) -> dict:
    """The headline figures of each training seed, with their mean, minimum and maximum."""
    values = {k: [r["metrics"][k] for r in runs] for k in SEED_KEYS}
    summary = {k: {"mean": round(float(np.mean(v)), 4), "min": round(float(min(v)), 4),
                   "max": round(float(max(v)), 4)} for k, v in values.items()}
    per_scenario = {s: round(float(np.mean([r["metrics"]["per_scenario"][s]["top1"] for r in runs
                                            if s in r["metrics"]["per_scenario"]])), 4)
                    for s in runs[0]["metrics"].get("per_scenario", {})}
    return {"seeds": [first_seed + k for k in range(len(runs))],
            "values": {k: [round(x, 4) for x in v] for k, v in values.items()},
            "summary": summary, "top1_per_scenario_mean": per_scenario,
            "suggestion_n": [r["metrics"].get("suggestion", {}).get("n") for r in runs],
            "suggestion_correct": [r["metrics"].get("suggestion", {}).get("correct") for r in runs],
            "suggestion_precision": [r["metrics"].get("suggestion", {}).get("precision")
                                     for r in runs],
            "train_seconds": [r["train_seconds"] for r in runs],
            "estimator_settings": [r.get("estimator_setting") for r in runs]}


def _headline(m: dict) -> dict:
    keys = ("roc_auc", "pr_auc", "detection_at_verdict", "false_alarm_at_verdict",
            "detection_at_target", "false_alarm_at_target", "recipient_detection_at_target",
            "top1", "ece")
    out = {k: (round(m[k], 4) if isinstance(m.get(k), float) else m.get(k)) for k in keys}
    out["per_scenario_detection_at_target"] = {
        k: round(v["detection_at_target"], 3) for k, v in m.get("per_scenario", {}).items()}
    ci = m.get("ci95", {})
    out["ci95"] = {k: ci[k] for k in ("detection_at_target", "top1") if k in ci}
    sug = m.get("suggestion", {})
    out["suggestion"] = {k: (round(sug[k], 3) if isinstance(sug.get(k), float) else sug.get(k))
                         for k in ("n", "correct", "precision", "on_false_alarms")}
    return out


if __name__ == "__main__":
    raise SystemExit(main())
