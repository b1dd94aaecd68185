"""Features-only diagnostic of a model bundle on a synthetic world's test month.

Scores every case with the features the model reads (``light_analysis``: detectors and the
gazetteer, no spaCy), sets the threshold that flags 0.5 % of the legitimate messages, and
prints how many misdirected messages of each scenario it catches. It is the quick measure used
to compare features and training seeds (a minute, against ten for ``bench/detect.py``); the
training seed alone moves the total by about ±3 of the default world's 208 cases, so compare
two seeds or more.

    misdirect train --history /tmp/w_default/history.mbox --model /tmp/m0 --mlflow-uri none \\
        --seed 0
    .venv/bin/python bench/diagnose.py --model /tmp/m0 --world /tmp/w_default \\
        [--show S2,S6] [--false-alarms 15]
    # the ceiling of the features, for bundles of training seeds 0-2 (bench/results/ceiling.json)
    .venv/bin/python bench/diagnose.py --model /tmp/m0 /tmp/m1 /tmp/m2 --world /tmp/w_default \\
        --oracle --out bench/results/ceiling.json

``--show`` lists the missed cases of those scenarios with their key features,
``--false-alarms N`` the N riskiest legitimate messages, and ``--oracle`` what the same features
reach with a classifier fitted on the test month's own labelled cases (five folds by case).
The misses are also counted by what the wrong recipient is to the sender. ``--show`` and
``--false-alarms`` print message subjects and body heads from the synthetic world: do not
point them at real mail you may not display.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY_FEATURES = (
    "log_sent", "log_received", "never_contact", "log_org_count", "topic_pair",
    "topic_best_gap", "topic_kind_gap", "edit_distance", "edit_neighbour_log_count",
    "prefix_len", "homonym", "same_name_log_count", "alias_log_count", "kind", "greeting",
    "greeting_gender", "about_recipient", "third_party_count", "log_nir", "health_score",
    "corecipient_frac",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, nargs="+", required=True,
                        help="model bundle folder(s), e.g. of training seeds 0, 1 and 2")
    parser.add_argument("--world", type=Path, required=True,
                        help="synthetic world folder (cases.jsonl, labels.jsonl)")
    parser.add_argument("--target", type=float, default=0.005,
                        help="share of legitimate messages flagged (default 0.005)")
    parser.add_argument("--show", default="", help="scenarios whose misses to list, e.g. S2,S6")
    parser.add_argument("--false-alarms", type=int, default=0,
                        help="list the N riskiest legitimate messages")
    parser.add_argument("--oracle", action="store_true",
                        help="also fit LightGBM on the test month's own labelled cases (five "
                             "folds by case, three seeds): what these features could reach "
                             "without the simulator")
    parser.add_argument("--out", type=Path,
                        help="also write the figures (counts only, no message text) here as JSON")
    args = parser.parse_args(argv)
    results = [diagnose(model, args) for model in args.model]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"world": str(args.world), "target": args.target,
                                        "command": " ".join(sys.argv), "bundles": results},
                                       indent=1))
        print(f"wrote {args.out}")
    return 0


def diagnose(model_dir: Path, args: argparse.Namespace) -> dict:
    """Print the diagnostic of one bundle; return its figures."""

    from model.bundle import load_bundle
    from model.evaluate import threshold_for_false_alarms
    from model.features import FEATURE_NAMES, light_analysis, message_context, message_features
    from model.schemas import CheckRequest
    from model.scoring import RiskPredictor

    print(f"== {model_dir}")
    bundle = load_bundle(model_dir)
    profiles = bundle.load_profiles()
    predictor = RiskPredictor(bundle.pipeline)
    column = {name: i for i, name in enumerate(FEATURE_NAMES)}
    rows = []
    with (args.world / "cases.jsonl").open() as cases, (args.world / "labels.jsonl").open() as labels:
        for case, label in zip(cases, labels, strict=True):
            truth = json.loads(label)
            message = CheckRequest.model_validate_json(case).to_message(truth["case_id"])
            matrix, evidence = message_features(
                message_context(message, profiles, light_analysis(message)), profiles)
            risks = predictor.risks(matrix)
            rows.append((truth, message, evidence, matrix, risks))

    legit = np.array([max(r, default=0.0) for t, _, _, _, r in rows if t["scenario"] == "legit"])
    threshold = threshold_for_false_alarms(legit, args.target)  # flag when risk > threshold
    total, caught = Counter(), Counter()
    show = set(filter(None, args.show.split(",")))

    def features(matrix: np.ndarray, i: int) -> str:
        return " ".join(f"{k}={matrix[i, column[k]]:.2g}" for k in KEY_FEATURES if k in column)

    for truth, message, evidence, matrix, risks in rows:
        scenario = truth["scenario"]
        if scenario == "legit":
            continue
        total[scenario] += 1
        risk = max(risks, default=0.0)
        if risk > threshold:
            caught[scenario] += 1
        elif scenario in show:
            print(f"--- {scenario} {truth['case_id']} risk={risk:.3f} kind={truth.get('kind')} "
                  f"wrong={truth['wrong']} intended={truth['intended']}")
            print(f"    {message.subject[:80]} | {message.body[:140]!r}")
            for i, ev in enumerate(evidence):
                mark = "W" if ev.address in truth["wrong"] else " "
                print(f"  {mark} {ev.field} {ev.address} r={risks[i]:.3f} {features(matrix, i)}")
    if args.false_alarms:
        ranked = sorted(((max(r, default=0.0), t, m, e, x, r) for t, m, e, x, r in rows
                         if t["scenario"] == "legit"), key=lambda row: -row[0])
        for risk, truth, message, evidence, matrix, risks in ranked[:args.false_alarms]:
            i = int(np.argmax(risks))
            print(f"FA {risk:.3f} kind={truth.get('kind')} {evidence[i].field} "
                  f"{evidence[i].address} | {features(matrix, i)}")
            print(f"    {message.subject[:80]} | {message.body[:120]!r}")
    print(f"threshold {threshold:.4f} ({len(legit)} legitimate messages, "
          f"{args.target:.1%} flagged)")
    print(" ".join(f"{s} {caught[s]}/{total[s]}" for s in sorted(total)))
    print(f"caught {sum(caught.values())} of {sum(total.values())} "
          f"({sum(caught.values()) / max(1, sum(total.values())):.1%})")
    missed = Counter(_miss_kind(evidence, matrix, column, truth) for truth, _, evidence, matrix, risks
                     in rows if truth["scenario"] != "legit" and max(risks, default=0.0) <= threshold)
    print("missed, by what the wrong recipient is:",
          ", ".join(f"{k} {v}" for k, v in missed.most_common()))
    oracle = _oracle(rows, args.target) if args.oracle else None
    if oracle is not None:
        print("oracle (fitted on the test month, 5 folds by case):",
              ", ".join(f"{c}/{sum(total.values())}" for c in oracle))
    # The product's verdict: the bundle's warn threshold, set in training (risk >= warn).
    warn = float(bundle.metadata["thresholds"]["warn"])
    wrong = np.array([max(r, default=0.0) for t, _, _, _, r in rows if t["scenario"] != "legit"])
    print(f"at the bundle's warn threshold {warn:.4f}: caught {(wrong >= warn).mean():.1%}, "
          f"false alarms {(legit >= warn).mean():.2%}")
    return {
        "model": str(model_dir),
        "seed": bundle.metadata.get("seed"),
        "legitimate_messages": len(legit),
        "misdirected_messages": int(sum(total.values())),
        "threshold_at_target": round(float(threshold), 4),
        "caught_at_target": int(sum(caught.values())),
        "per_scenario": {s: [caught[s], total[s]] for s in sorted(total)},
        "missed_by_kind": dict(missed),
        "oracle_caught_at_target": oracle,
        "warn_threshold": round(warn, 4),
        "caught_at_verdict": round(float((wrong >= warn).mean()), 4),
        "false_alarms_at_verdict": round(float((legit >= warn).mean()), 4),
    }


def _miss_kind(evidence, matrix: np.ndarray, column: dict[str, int], truth: dict) -> str:
    """What a missed case's wrong recipient is to the sender (first matching of the list)."""
    i = next((k for k, ev in enumerate(evidence) if ev.address in truth["wrong"]), None)
    if i is None:
        return "wrong recipient not scored"
    row = matrix[i]
    if row[column["greeting"]] < 0:
        return "greeting names someone else"
    if row[column["edit_distance"]] <= 2:
        return "look-alike of a contact"
    if row[column["log_sent"]] > 0 or row[column["log_received"]] > 0:
        return "a correspondent of the sender"
    if row[column["log_org_count"]] > 0:
        return "a correspondent of the organisation"
    return "a new address"


def _oracle(rows: list, target: float, folds: int = 5, seeds: int = 3) -> list[int]:
    """Misdirected messages caught at ``target`` by LightGBM fitted on the other folds of the
    test month itself (same features), for each seed."""
    from lightgbm import LGBMClassifier

    from model.evaluate import threshold_for_false_alarms

    case_ids = [truth["case_id"] for truth, *_ in rows]
    fold_of = {c: k % folds for k, c in enumerate(np.random.default_rng(0).permutation(case_ids))}
    x = np.vstack([matrix for _, _, _, matrix, _ in rows])
    y = np.concatenate([[int(ev.address in truth["wrong"]) for ev in evidence]
                        for truth, _, evidence, _, _ in rows])
    owner = np.concatenate([[k] * len(evidence) for k, (_, _, evidence, _, _) in enumerate(rows)])
    fold = np.array([fold_of[case_ids[k]] for k in owner])
    legit = np.array([truth["scenario"] == "legit" for truth, *_ in rows])
    caught = []
    for seed in range(seeds):
        risk = np.zeros(len(y))
        for k in range(folds):
            model = LGBMClassifier(n_estimators=400, learning_rate=0.05, min_child_samples=10,
                                   subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                                   random_state=seed, n_jobs=1, verbose=-1)
            model.fit(x[fold != k], y[fold != k])
            risk[fold == k] = model.predict_proba(x[fold == k])[:, 1]
        message = np.zeros(len(rows))
        np.maximum.at(message, owner, risk)
        threshold = threshold_for_false_alarms(message[legit], target)
        caught.append(int((message[~legit] > threshold).sum()))
    return caught


if __name__ == "__main__":
    raise SystemExit(main())
