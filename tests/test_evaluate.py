"""Metrics of model.evaluate on hand-made rows: every figure the benchmarks quote."""

from __future__ import annotations

import numpy as np
import pytest

from model.evaluate import compute_metrics, tail_threshold, threshold_for_false_alarms


def test_threshold_leaves_at_most_the_target_share_of_legitimate_messages_above() -> None:
    legit = np.linspace(0.0, 1.0, 1001)
    thr = threshold_for_false_alarms(legit, 0.005)
    assert (legit > thr).mean() <= 0.005
    assert (legit >= thr).mean() > 0.005  # and no lower threshold would do
    assert threshold_for_false_alarms(np.array([]), 0.005) == 0.5


def _rows():
    # Example 0: legit, recipients risk 0.1 and 0.2. Example 1: misdirected, the wrong one at
    # 0.9 ranks first. Example 2: misdirected, the wrong one (0.3) below a legit one (0.4).
    risk = np.array([0.1, 0.2, 0.9, 0.05, 0.3, 0.4])
    label = np.array([0, 0, 1, 0, 1, 0])
    eid = np.array([0, 0, 1, 1, 2, 2])
    return risk, label, eid, ["legit", "S1", "S6"]


def test_message_level_detection_top1_and_per_scenario() -> None:
    risk, label, eid, scen = _rows()
    m = compute_metrics(risk, label, eid, scen, np.array([False, True, False]), target=0.005)
    assert m["n_messages"] == 3 and m["n_misdirected"] == 2 and m["n_legit"] == 1
    assert m["threshold_at_target"] == pytest.approx(0.2)  # the one legit message's risk
    # The message risk is the max over its recipients: example 2 (0.4 > 0.2) is caught at the
    # threshold even though its wrong recipient is not the riskiest one; top-1 says so.
    assert m["detection_at_target"] == pytest.approx(1.0)
    assert m["top1"] == pytest.approx(0.5)
    assert m["per_scenario"]["S1"]["top1"] == 1.0 and m["per_scenario"]["S6"]["top1"] == 0.0
    assert m["detection_at_verdict"] == pytest.approx(0.5)
    assert m["false_alarm_at_verdict"] == 0.0


def test_recipient_level_rate_can_count_each_real_recipient_once() -> None:
    risk, label, eid, scen = _rows()
    everyone = compute_metrics(risk, label, eid, scen, target=0.2)
    # Legit rows: 0.1, 0.2, 0.05, 0.4 → 20 % of 4 rows: threshold 0.4 → 0.9 caught, 0.3 not.
    assert everyone["recipient_detection_at_target"] == pytest.approx(0.5)
    # Only the rows of example 0 as negatives: threshold 0.2 → 0.9 and 0.3 caught.
    once = compute_metrics(risk, label, eid, scen, target=0.2,
                           negative_rows=np.array([True, True, False, False, False, False]))
    assert once["recipient_detection_at_target"] == pytest.approx(1.0)


def test_tail_threshold_is_steadier_than_the_sample_maximum_on_small_histories() -> None:
    # Legitimate message risks whose logit is logistic: the 99.5 % quantile is known.
    rng = np.random.default_rng(0)
    true_logit = np.log(0.995 / 0.005) - 2.0  # location -2, scale 1
    empirical, fitted = [], []
    for _ in range(300):
        risk = 1 / (1 + np.exp(-rng.logistic(-2.0, 1.0, size=160)))
        empirical.append(threshold_for_false_alarms(risk, 0.005))
        fitted.append(tail_threshold(risk, 0.005))
    logit = lambda x: np.log(np.asarray(x) / (1 - np.asarray(x)))  # noqa: E731
    # Less spread than the maximum of 160, and centred as close to the true quantile.
    assert np.std(logit(fitted)) < 0.8 * np.std(logit(empirical))
    assert abs(np.median(logit(fitted)) - true_logit) <= abs(np.median(logit(empirical)) - true_logit) + 0.1


def test_tail_threshold_is_the_empirical_quantile_with_enough_messages() -> None:
    risk = np.random.default_rng(1).uniform(size=4000)
    assert tail_threshold(risk, 0.005) == threshold_for_false_alarms(risk, 0.005)
    assert tail_threshold(np.array([]), 0.005) == 0.5


def test_bootstrap_intervals_contain_the_estimate_and_narrow_with_more_messages() -> None:
    from model.evaluate import bootstrap_intervals

    def world(n_legit: int, n_mis: int, seed: int):
        rng = np.random.default_rng(seed)
        risk = np.concatenate([rng.uniform(0, 0.8, n_legit), rng.uniform(0.5, 1.0, n_mis)])
        label = np.concatenate([np.zeros(n_legit, int), np.ones(n_mis, int)])
        scen = ["legit"] * n_legit + ["S1"] * n_mis
        return risk, label, np.arange(n_legit + n_mis), scen

    small, large = world(400, 40, 0), world(4000, 400, 0)
    point = compute_metrics(*small, target=0.005)["detection_at_target"]
    ci_small = bootstrap_intervals(*small, n_boot=300)
    ci_large = bootstrap_intervals(*large, n_boot=300)
    lo, hi = ci_small["detection_at_target"]
    assert lo <= point <= hi
    assert ci_small["S1.detection_at_target"] == ci_small["detection_at_target"]
    width = lambda ci: ci["detection_at_target"][1] - ci["detection_at_target"][0]  # noqa: E731
    assert width(ci_large) < width(ci_small)


def test_as_sent_replaces_or_removes_the_wrong_recipient() -> None:
    from model.evaluate import as_sent
    from model.schemas import CheckRequest

    request = CheckRequest(sender="c.martin@cds-havre.example",
                           to=[{"address": "S.Lemaire@gmail.com", "name": "Sophie"}],
                           cc=["x@cds-havre.example", "y@gmail.com"])
    fixed = as_sent(request, {"s.lemaire@gmail.com"}, "s.lemaire@cds-havre.example")
    assert fixed.to == ["s.lemaire@cds-havre.example"]
    assert fixed.cc == request.cc
    extra = as_sent(request, {"y@gmail.com"}, None)  # an extra recipient: removed
    assert extra.cc == ["x@cds-havre.example"] and extra.to == request.to


def test_enron_figures_over_seeds_give_each_value_and_the_spread() -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "bench_detect", Path(__file__).resolve().parents[1] / "bench" / "detect.py")
    detect = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(detect)  # type: ignore[union-attr]

    def run(recipients: float, top1: float) -> dict:
        metrics = {k: 0.5 for k in detect.SEED_KEYS}
        metrics.update(recipient_detection_at_target=recipients, top1=top1,
                       per_scenario={"typo": {"top1": top1}})
        return {"metrics": metrics, "train_seconds": 1.0}

    out = detect.over_seeds([run(0.58, 0.90), run(0.66, 0.92), run(0.65, 0.88)], first_seed=4)
    assert out["seeds"] == [4, 5, 6]
    assert out["values"]["recipient_detection_at_target"] == [0.58, 0.66, 0.65]
    spread = out["summary"]["recipient_detection_at_target"]
    assert spread == {"mean": 0.63, "min": 0.58, "max": 0.66}
    assert out["top1_per_scenario_mean"]["typo"] == pytest.approx(0.90)
