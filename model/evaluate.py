"""Quality metrics of SPEC §5: per recipient, per message, top-1, per scenario, calibration.

``compute_metrics`` works on arrays (training uses it on its held-out slice);
``evaluate_cases`` scores a cases/labels pair (the synthetic world's test month) through the
same :class:`~model.scoring.Scorer` as the API.
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from model.settings import Settings, get_settings

if TYPE_CHECKING:
    from model.schemas import CheckRequest

SCENARIO_CODES = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8")


def message_risks(risk: np.ndarray, example_id: np.ndarray, n_examples: int) -> np.ndarray:
    """Per example, its highest recipient risk (0 for an example without rows)."""
    out = np.zeros(n_examples)
    np.maximum.at(out, np.asarray(example_id), np.asarray(risk, dtype=float))
    return out


def wrong_ranked_first(risk: np.ndarray, label: np.ndarray, example_id: np.ndarray,
                       n_examples: int) -> np.ndarray:
    """Per example: a wrong recipient has a higher risk than every legitimate one (top-1)."""
    risk, label, example_id = np.asarray(risk, float), np.asarray(label, int), np.asarray(example_id)
    wrong_max = np.full(n_examples, -np.inf)
    legit_max = np.full(n_examples, -np.inf)
    np.maximum.at(wrong_max, example_id[label == 1], risk[label == 1])
    np.maximum.at(legit_max, example_id[label == 0], risk[label == 0])
    return wrong_max > legit_max


def threshold_for_false_alarms(legit_message_risk: np.ndarray, target: float) -> float:
    """The lowest threshold t such that the share of legitimate messages with risk > t is at
    most ``target`` (flag when risk > t)."""
    if len(legit_message_risk) == 0:
        return 0.5
    ordered = np.sort(legit_message_risk)[::-1]
    k = int(np.floor(target * len(ordered)))
    return float(ordered[min(k, len(ordered) - 1)])


def tail_threshold(legit_message_risk: np.ndarray, target: float, tail: float = 0.1,
                   min_expected: float = 5.0) -> float:
    """The product's warn threshold: the (1 - ``target``) quantile of legitimate message risks.

    With enough messages (at least ``min_expected`` expected above it) it is the empirical
    quantile of :func:`threshold_for_false_alarms`. A small history has too few: with 160
    legitimate calibration messages the empirical 99.5 % quantile is the sample maximum, and
    one odd message moves it by several points. Then the tail above the (1 - ``tail``) quantile
    is fitted in logit space with an exponential (peaks over threshold: a generalised Pareto of
    shape 0) and the quantile read from the fit, which uses the 10 % largest risks instead of
    the largest one alone.
    """
    risk = np.asarray(legit_message_risk, dtype=float)
    if len(risk) == 0 or len(risk) * target >= min_expected:
        return threshold_for_false_alarms(risk, target)
    clipped = np.clip(risk, 1e-6, 1 - 1e-6)
    logit = np.log(clipped / (1 - clipped))
    u = float(np.quantile(logit, 1 - tail))
    excess = logit[logit > u] - u
    if len(excess) < 3 or float(excess.mean()) <= 0:
        return threshold_for_false_alarms(risk, target)
    q = u + float(excess.mean()) * math.log(tail / target)
    return float(1 / (1 + math.exp(-q)))


def expected_calibration_error(risk: np.ndarray, label: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(risk, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(float(risk[mask].mean()) - float(label[mask].mean()))
    return float(ece)


def _recipient_detection(risk: np.ndarray, label: np.ndarray, target: float,
                         negatives: np.ndarray | None = None) -> float | None:
    if not label.any() or label.all():
        return None
    legit = label == 0 if negatives is None else (label == 0) & negatives
    if not legit.any():
        return None
    thr = threshold_for_false_alarms(risk[legit], target)
    return float((risk[label == 1] > thr).mean())


def compute_metrics(
    risk: np.ndarray,
    label: np.ndarray,
    example_id: np.ndarray,
    scenarios: Sequence[str],
    flagged: np.ndarray | None = None,
    target: float = 0.005,
    negative_rows: np.ndarray | None = None,
) -> dict:
    """Metrics from per-recipient rows.

    ``risk``, ``label``, ``example_id``: one entry per recipient row; ``scenarios[e]`` is the
    scenario of example ``e`` ("legit" or S1..S8); ``flagged[e]`` whether the product's verdict
    for example ``e`` was warn or block. ``negative_rows``: which legitimate rows count as the
    legitimate recipients of the recipient-level rate (default: all), so that a benchmark that
    scores one message several times (once as sent, once per injected mistake) counts each
    real recipient once.
    """
    risk = np.asarray(risk, dtype=float)
    label = np.asarray(label, dtype=int)
    example_id = np.asarray(example_id)
    n_examples = len(scenarios)
    message_risk = message_risks(risk, example_id, n_examples)
    wrong_top = wrong_ranked_first(risk, label, example_id, n_examples)
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
        "recipient_detection_at_target": _recipient_detection(
            risk, label, target, None if negative_rows is None else np.asarray(negative_rows, bool)),
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


def suggestion_quality(cases: Sequence[tuple[str, bool, str | None, str | None]]) -> dict:
    """How often a warning proposes the address the sender meant.

    ``cases``: per scored message, ``(scenario, warned, suggestion, intended)``, where
    ``warned`` says the wrong recipient (legitimate messages: any recipient) was warned or
    blocked and ``suggestion`` is the address the product proposed for it. Misdirected
    messages count only when warned and when the label names the intended address (an extra
    recipient, S8, has none: the fix is to remove it). ``correct`` is over those messages,
    ``precision`` over the ones that got a suggestion; ``on_false_alarms`` is the share of
    warned legitimate messages that propose replacing a right recipient, and
    ``on_extra_recipients`` the share of warned extra recipients that propose someone.
    """

    def summary(rows: list[tuple[str | None, str | None]]) -> dict:
        n = len(rows)
        given = sum(1 for s, _ in rows if s)
        correct = sum(1 for s, i in rows if s and s == i)
        return {"n": n, "suggested": given / n if n else None,
                "correct": correct / n if n else None,
                "precision": correct / given if given else None}

    mis = [(sc, s, i) for sc, warned, s, i in cases if sc != "legit" and warned and i]
    out = summary([(s, i) for _, s, i in mis])
    out["per_scenario"] = {code: summary([(s, i) for sc, s, i in mis if sc == code])
                           for code in sorted({sc for sc, _, _ in mis})}
    false_alarms = [s for sc, warned, s, _ in cases if sc == "legit" and warned]
    out["on_false_alarms"] = (sum(1 for s in false_alarms if s) / len(false_alarms)
                              if false_alarms else None)
    extra = [s for sc, warned, s, i in cases if sc != "legit" and warned and not i]
    out["on_extra_recipients"] = sum(1 for s in extra if s) / len(extra) if extra else None
    return out


def suggestion_row(response, wrong: set[str], scenario: str, intended: str | None
                   ) -> tuple[str, bool, str | None, str | None]:
    """One message's entry for :func:`suggestion_quality` from a ``CheckResponse``: whether its
    wrong recipient (legitimate messages: any recipient) was warned, and what it proposed."""
    from model.mail import normalize_address

    watched = [r for r in response.recipients
               if r.verdict != "send" and (scenario == "legit" or r.address in wrong)]
    suggestion = next((r.suggestion for r in watched if r.suggestion), None)
    intended = (normalize_address(intended) or intended) if intended else None
    return scenario, bool(watched), suggestion, intended


def bootstrap_intervals(risk: np.ndarray, label: np.ndarray, example_id: np.ndarray,
                        scenarios: Sequence[str], target: float = 0.005, n_boot: int = 500,
                        seed: int = 0) -> dict[str, list[float]]:
    """95 % bootstrap intervals (messages resampled with replacement, the 0.5 % threshold
    recomputed each time) of the detection at ``target`` false alarms and of top-1, overall
    and per scenario: with 26 misdirected messages a scenario, one case is 4 points."""
    risk, label, example_id = np.asarray(risk, float), np.asarray(label, int), np.asarray(example_id)
    n = len(scenarios)
    message_risk = message_risks(risk, example_id, n)
    top = wrong_ranked_first(risk, label, example_id, n)
    scen = np.array(scenarios)
    is_mis = scen != "legit"
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = defaultdict(list)
    for _ in range(n_boot):
        pick = rng.integers(0, n, n)
        mis, legit = pick[is_mis[pick]], pick[~is_mis[pick]]
        if not len(mis) or not len(legit):
            continue
        thr = threshold_for_false_alarms(message_risk[legit], target)
        caught = message_risk[mis] > thr
        draws["detection_at_target"].append(float(caught.mean()))
        draws["top1"].append(float(top[mis].mean()))
        for code in np.unique(scen[mis]):
            here = scen[mis] == code
            draws[f"{code}.detection_at_target"].append(float(caught[here].mean()))
    return {k: [round(float(np.quantile(v, 0.025)), 4), round(float(np.quantile(v, 0.975)), 4)]
            for k, v in sorted(draws.items())}


@dataclass
class ScoredCases:
    """Per-recipient rows and per-case results of scoring a labelled set of check requests."""

    risk: np.ndarray  # per recipient row
    label: np.ndarray  # 1 = a wrong recipient
    example_id: np.ndarray  # the case each row belongs to
    scenarios: list[str]  # per case: "legit" or S1..S8
    flagged: np.ndarray  # per case: verdict warn or block
    verdicts: list[str]
    latency_ms: np.ndarray  # per case, wall time of Scorer.check (NER included)
    thresholds: dict[str, float]
    model_version: str
    target: float
    metrics: dict = field(default_factory=dict)

    @property
    def message_risk(self) -> np.ndarray:
        return message_risks(self.risk, self.example_id, len(self.scenarios))

    @property
    def is_misdirected(self) -> np.ndarray:
        return np.array([s != "legit" for s in self.scenarios])


def as_sent(request: CheckRequest, wrong: set[str], intended: str | None) -> CheckRequest:
    """The message that leaves once the user has fixed a misdirection: the wrong recipient
    replaced by the intended one, or removed (an extra recipient)."""
    from model.mail import normalize_address

    wrong = {normalize_address(w) or w for w in wrong}

    def fix(values: list) -> list:
        out = []
        for v in values:
            address = v if isinstance(v, str) else v.address
            if (normalize_address(address) or address) in wrong:
                if intended:
                    out.append(intended)
            else:
                out.append(v)
        return out

    return request.model_copy(update={"to": fix(request.to), "cc": fix(request.cc),
                                      "bcc": fix(request.bcc)})


def score_cases(model_dir: Path, cases: Path, labels: Path, settings: Settings | None = None,
                limit: int | None = None, learn_sent: bool = False) -> ScoredCases:
    """Score ``cases`` (JSONL check requests) with the bundle and compare with ``labels``.

    The history store is a temporary copy of the bundle's snapshot: evaluating never learns into,
    nor reads mail learnt by, a live store.
    """
    from model.schemas import CheckRequest
    from model.scoring import Scorer

    settings = settings or get_settings()
    case_lines = [x for x in Path(cases).read_text().splitlines() if x.strip()]
    label_lines = [x for x in Path(labels).read_text().splitlines() if x.strip()]
    if len(case_lines) != len(label_lines):
        raise ValueError(f"{cases} compte {len(case_lines)} lignes et {labels} "
                         f"{len(label_lines)} : il faut une étiquette par cas")
    if limit is not None:
        case_lines, label_lines = case_lines[:limit], label_lines[:limit]
    risk: list[float] = []
    label: list[int] = []
    example_id: list[int] = []
    scenarios: list[str] = []
    verdicts: list[str] = []
    latency: list[float] = []
    suggested: list[tuple[str, bool, str | None, str | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        isolated = settings.model_copy(update={"history_url": f"sqlite:///{tmp}/history.db"})
        scorer = Scorer.load(Path(model_dir), isolated)
        try:
            for e, (case_line, label_line) in enumerate(zip(case_lines, label_lines, strict=True)):
                request = CheckRequest.model_validate_json(case_line)
                truth = json.loads(label_line)
                t0 = time.perf_counter()
                response = scorer.check(request, check_id=str(truth.get("case_id", e)))
                latency.append((time.perf_counter() - t0) * 1000)
                wrong = set(truth.get("wrong") or [])
                for rec in response.recipients:
                    risk.append(rec.risk)
                    label.append(int(rec.address in wrong))
                    example_id.append(e)
                scenarios.append(truth.get("scenario", "legit") if wrong else "legit")
                verdicts.append(response.verdict)
                suggested.append(suggestion_row(response, wrong, scenarios[-1],
                                                truth.get("intended")))
                if learn_sent:
                    # As deployed: the add-in reports every message that leaves (/v1/sent),
                    # after the user has fixed the recipients.
                    with contextlib.suppress(ValueError):
                        scorer.learn(as_sent(request, wrong, truth.get("intended")))
            thresholds = dict(scorer.thresholds)
            version = scorer.model_version
        finally:
            scorer.close()
    scored = ScoredCases(
        risk=np.array(risk, dtype=float), label=np.array(label, dtype=int),
        example_id=np.array(example_id, dtype=int), scenarios=scenarios,
        flagged=np.array([v != "send" for v in verdicts], dtype=bool), verdicts=verdicts,
        latency_ms=np.array(latency, dtype=float), thresholds=thresholds,
        model_version=version, target=settings.target_false_alarm_rate)
    scored.metrics = compute_metrics(scored.risk, scored.label, scored.example_id,
                                     scored.scenarios, scored.flagged, scored.target)
    scored.metrics["suggestion"] = suggestion_quality(suggested)
    return scored


def evaluate_cases(model_dir: Path, cases: Path, labels: Path,
                   settings: Settings | None = None, learn_sent: bool = False) -> dict:
    """Score ``cases`` (JSONL check requests) and compare with ``labels`` (SPEC §4 format).
    ``learn_sent``: learn each message as it leaves, fixed, as the service does (/v1/sent)."""
    scored = score_cases(model_dir, cases, labels, settings, learn_sent=learn_sent)
    intervals = bootstrap_intervals(scored.risk, scored.label, scored.example_id, scored.scenarios,
                                    scored.target)
    return {**scored.metrics, "ci95": intervals, "model_version": scored.model_version}
