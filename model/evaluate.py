"""Quality metrics of SPEC §5: per recipient, per message, top-1, per scenario, calibration.

``compute_metrics`` works on arrays (training uses it on its held-out slice);
``evaluate_cases`` scores a cases/labels pair (the synthetic world's test month) through the
same :class:`~model.scoring.Scorer` as the API.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from model.settings import Settings

SCENARIO_CODES = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8")


def threshold_for_false_alarms(legit_message_risk: np.ndarray, target: float) -> float:
    """The lowest threshold t such that the share of legitimate messages with risk > t is at
    most ``target`` (flag when risk > t)."""
    if len(legit_message_risk) == 0:
        return 0.5
    ordered = np.sort(legit_message_risk)[::-1]
    k = int(np.floor(target * len(ordered)))
    return float(ordered[min(k, len(ordered) - 1)])


def expected_calibration_error(risk: np.ndarray, label: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(risk, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(float(risk[mask].mean()) - float(label[mask].mean()))
    return float(ece)


def _recipient_detection(risk: np.ndarray, label: np.ndarray, target: float) -> float | None:
    if not label.any() or label.all():
        return None
    thr = threshold_for_false_alarms(risk[label == 0], target)
    return float((risk[label == 1] > thr).mean())


def compute_metrics(
    risk: np.ndarray,
    label: np.ndarray,
    example_id: np.ndarray,
    scenarios: Sequence[str],
    flagged: np.ndarray | None = None,
    target: float = 0.005,
) -> dict:
    """Metrics from per-recipient rows.

    ``risk``, ``label``, ``example_id``: one entry per recipient row; ``scenarios[e]`` is the
    scenario of example ``e`` ("legit" or S1..S8); ``flagged[e]`` whether the product's verdict
    for example ``e`` was warn or block.
    """
    risk = np.asarray(risk, dtype=float)
    label = np.asarray(label, dtype=int)
    example_id = np.asarray(example_id)
    n_examples = len(scenarios)
    message_risk = np.zeros(n_examples)
    wrong_top = np.zeros(n_examples, dtype=bool)
    rows_of: dict[int, list[int]] = defaultdict(list)
    for i, e in enumerate(example_id):
        rows_of[int(e)].append(i)
    for e, rows in rows_of.items():
        r = risk[rows]
        message_risk[e] = r.max()
        lab = label[rows]
        if lab.any():
            wrong_max = r[lab == 1].max()
            legit = r[lab == 0]
            wrong_top[e] = bool(len(legit) == 0 or wrong_max > legit.max())
    is_mis = np.array([s != "legit" for s in scenarios], dtype=bool)
    legit_risk = message_risk[~is_mis]
    thr = threshold_for_false_alarms(legit_risk, target)
    at_thr = message_risk > thr
    out: dict = {
        "n_messages": int(n_examples),
        "n_misdirected": int(is_mis.sum()),
        "n_legit": int((~is_mis).sum()),
        "n_recipients": len(risk),
        "roc_auc": float(roc_auc_score(label, risk)) if 0 < label.sum() < len(label) else None,
        "pr_auc": float(average_precision_score(label, risk)) if label.sum() else None,
        "threshold_at_target": thr,
        "target_false_alarm_rate": target,
        "detection_at_target": float(at_thr[is_mis].mean()) if is_mis.any() else None,
        "false_alarm_at_target": float(at_thr[~is_mis].mean()) if (~is_mis).any() else None,
        "top1": float(wrong_top[is_mis].mean()) if is_mis.any() else None,
        # Zilberman et al. count recipients: share of wrong recipients caught when 0.5% of
        # legitimate recipients are flagged.
        "recipient_detection_at_target": _recipient_detection(risk, label, target),
        "ece": expected_calibration_error(risk, label),
    }
    if flagged is not None:
        flagged = np.asarray(flagged, dtype=bool)
        out["detection_at_verdict"] = float(flagged[is_mis].mean()) if is_mis.any() else None
        out["false_alarm_at_verdict"] = float(flagged[~is_mis].mean()) if (~is_mis).any() else None
    per: dict[str, dict] = {}
    for code in sorted({s for s in scenarios if s != "legit"}):
        mask = np.array([s == code for s in scenarios])
        entry = {"n": int(mask.sum()), "detection_at_target": float(at_thr[mask].mean()),
                 "top1": float(wrong_top[mask].mean())}
        if flagged is not None:
            entry["detection_at_verdict"] = float(flagged[mask].mean())
        per[code] = entry
    out["per_scenario"] = per
    return out


def evaluate_cases(model_dir: Path, cases: Path, labels: Path,
                   settings: Settings | None = None) -> dict:
    """Score ``cases`` (JSONL check requests) and compare with ``labels`` (SPEC §4 format)."""
    import tempfile

    from model.schemas import CheckRequest
    from model.scoring import Scorer
    from model.settings import get_settings

    settings = settings or get_settings()
    with tempfile.TemporaryDirectory() as tmp:
        # Evaluation must not learn into (or read learned mail from) the live store.
        isolated = settings.model_copy(update={"history_url": f"sqlite:///{tmp}/history.db"})
        scorer = Scorer.load(Path(model_dir), isolated)
        case_lines = Path(cases).read_text().splitlines()
        label_lines = Path(labels).read_text().splitlines()
        if len(case_lines) != len(label_lines):
            raise ValueError(f"{cases} has {len(case_lines)} lines, {labels} {len(label_lines)}")
        risk, label, example_id, scenarios, flagged = [], [], [], [], []
        for e, (case_line, label_line) in enumerate(zip(case_lines, label_lines, strict=True)):
            request = CheckRequest.model_validate_json(case_line)
            truth = json.loads(label_line)
            response = scorer.check(request, check_id=str(truth.get("case_id", e)))
            wrong = set(truth.get("wrong") or [])
            for rec in response.recipients:
                risk.append(rec.risk)
                label.append(int(rec.address in wrong))
                example_id.append(e)
            scenarios.append(truth.get("scenario", "legit") if wrong else "legit")
            flagged.append(response.verdict != "send")
        scorer.close()
    metrics = compute_metrics(np.array(risk), np.array(label), np.array(example_id), scenarios,
                              np.array(flagged), settings.target_false_alarm_rate)
    metrics["model_version"] = scorer.model_version
    return metrics
