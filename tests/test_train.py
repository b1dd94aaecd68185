"""Training: time split, MLflow logging, registry and the champion gate."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_champion_moves_only_when_not_worse(small_world: Path, small_bundle: Path,
                                            small_bundle_settings, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from model.bundle import load_bundle
    from model.train import _gate, train_model

    settings = small_bundle_settings
    client = MlflowClient(settings.mlflow_uri)
    name = settings.registered_model_name
    first = client.get_model_version_by_alias(name, "champion")
    assert load_bundle(small_bundle).metadata["mlflow_run_id"] == first.run_id

    # Same data, same seed: not worse, so the alias moves to the new version.
    result = train_model([small_world / "history.mbox"], tmp_path / "m2",
                         mlflow_uri=settings.mlflow_uri, seed=0, settings=settings)
    assert result["mlflow"]["promoted"] is True
    # The same history and seed give the same topic model, hence the same snapshot: a service
    # keeps its live store (the mail learnt since) when it loads the new bundle.
    assert (load_bundle(tmp_path / "m2").metadata["snapshot_id"]
            == load_bundle(small_bundle).metadata["snapshot_id"])
    champion = client.get_model_version_by_alias(name, "champion")
    assert str(champion.version) == result["mlflow"]["version"] != str(first.version)

    # A model scoring worse on the same evaluation rows is refused.
    from model.train import Rows  # noqa: F401 - rows come from a real run below
    meta = load_bundle(tmp_path / "m2").metadata
    rows = _eval_rows(small_world, settings)
    promoted, champ_score, reason = _gate(client, name, meta, rows, (0.0, 0.0))
    assert promoted is False and reason == "worse than champion"
    assert champ_score[1] > 0.5


def _eval_rows(world: Path, settings):
    """Evaluation rows built the way training builds them (small sample)."""
    import random

    from model.history import HistoryProfiles, TopicModel, topic_text
    from model.simulate import Simulator
    from model.train import build_rows, load_history

    messages, _ = load_history([world / "history.mbox"])
    cut = int(len(messages) * 0.8)
    topics = TopicModel(dim=16).fit([topic_text(m) for m in messages[:cut]])
    profiles = HistoryProfiles(topics)
    profiles.update_many(messages[:cut])
    random.seed(0)
    examples = Simulator(profiles, seed=5).examples(messages[cut:], rate=1.0)
    return build_rows(examples, profiles)


def test_train_summary_has_metrics_per_scenario(small_bundle: Path) -> None:
    from model.bundle import load_bundle

    meta = load_bundle(small_bundle).metadata
    metrics = meta["metrics"]
    assert "roc_auc" in metrics and metrics["roc_auc"] > 0.7
    assert any(k.startswith("per_scenario.S1") for k in metrics)
    split = meta["split"]
    assert split["past"] > 0 and split["fit"] > 0 and split["calibration"] > 0
    from model.train import LGBM_SETTINGS

    scores = meta["estimator_setting_pr_auc"]  # the tree size chosen on the calibration rows
    assert set(scores) == set(LGBM_SETTINGS) and meta["estimator_setting"] == max(scores, key=scores.get)
    # The personal/professional side classifier's check is recorded, used or not.
    private = meta["private_fit"]
    assert private["examples"] > 0 and private["used"] == (private["auc"] >= 0.9)


def _rows(sender_sent: list[int], scenarios: list[str]):
    import numpy as np

    from model.features import FEATURE_NAMES
    from model.train import Rows

    X = np.zeros((len(sender_sent), len(FEATURE_NAMES)), dtype=np.float32)
    X[:, FEATURE_NAMES.index("log_sender_sent")] = np.log1p(sender_sent)
    n = len(sender_sent)
    return Rows(X, np.array([s != "legit" for s in scenarios], dtype=int), np.arange(n),
                scenarios, np.zeros(n, dtype=bool))


def test_warn_threshold_is_set_on_the_messages_of_senders_with_a_history() -> None:
    """Outsiders who wrote once (mail received by a mailbox export) have risky-looking
    legitimate messages; the add-in checks the users' own: the threshold follows theirs."""
    import numpy as np

    from model.train import CALIBRATION_MIN_SENDER_SENT, MIN_CALIBRATION_MESSAGES, thresholds

    rng = np.random.default_rng(0)
    n_users, n_outsiders = MIN_CALIBRATION_MESSAGES, 400
    sent = [50] * n_users + [1] * n_outsiders
    risk = np.concatenate([rng.uniform(0.0, 0.5, n_users), rng.uniform(0.5, 1.0, n_outsiders)])
    warn = thresholds(risk, _rows(sent, ["legit"] * len(sent)), 0.005)["warn"]
    assert warn < 0.55  # all outsiders' risks ignored: the users' tail sets it
    # Too few users' messages: every legitimate message counts.
    few = MIN_CALIBRATION_MESSAGES - 1
    sent = [CALIBRATION_MIN_SENDER_SENT] * few + [1] * n_outsiders
    risk = np.concatenate([rng.uniform(0.0, 0.5, few), rng.uniform(0.5, 1.0, n_outsiders)])
    assert thresholds(risk, _rows(sent, ["legit"] * len(sent)), 0.005)["warn"] > 0.9


def test_tree_size_is_chosen_on_the_calibration_rows(monkeypatch) -> None:
    """Each LightGBM setting is fitted and scored on the calibration rows; the best PR-AUC is
    kept, whatever its place in the list (here a one-stump model listed first must lose)."""
    import numpy as np

    from model.features import FEATURE_NAMES
    from model.train import LGBM_SETTINGS, Rows, select_estimator

    rng = np.random.default_rng(0)

    def rows(n: int) -> Rows:
        x = rng.normal(size=(n, len(FEATURE_NAMES))).astype(np.float32)
        x[:, FEATURE_NAMES.index("kind")] = rng.integers(0, 5, n)  # a category
        # Columns without a monotone constraint (the first ones have: a label rising with
        # log_sent left the constrained trees only the interaction to learn).
        a, b, c = (FEATURE_NAMES.index(f) for f in ("topic_pair", "topic_rank", "n_recipients"))
        y = (x[:, a] + 0.8 * x[:, b] * x[:, c] + rng.normal(scale=0.5, size=n) > 1.0).astype(int)
        return Rows(x, y, np.arange(n), ["legit"] * n, np.zeros(n, dtype=bool))

    fit, cal = rows(2000), rows(2000)
    pipeline, name, scores = select_estimator("lgbm", 0, fit, cal)
    assert set(scores) == set(LGBM_SETTINGS) and name == max(scores, key=scores.get)
    assert pipeline.predict_proba(cal.X).shape == (2000, 2)
    stump = {"n_estimators": 1, "num_leaves": 2, "min_child_samples": 20, "reg_lambda": 0.0}
    monkeypatch.setattr("model.train.LGBM_SETTINGS", {"stump": stump, **LGBM_SETTINGS})
    _, name, scores = select_estimator("lgbm", 0, fit, cal)
    assert name != "stump" and scores["stump"] < min(v for k, v in scores.items() if k != "stump")
    _, only, none = select_estimator("hgb", 0, fit, cal)
    assert only == "default" and none == {}
