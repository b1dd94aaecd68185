"""The retraining loop end to end: train → serve → /v1/sent and /v1/feedback → retrain → the
champion moves only when not worse → the service answers with the new model version."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow

KEY = "retrain-loop-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _register(bundle: Path, settings) -> str:
    """Log an existing bundle as a run of this test's own registry (the first champion)."""
    from model.bundle import load_bundle
    from model.train import concat_rows, log_run

    meta = load_bundle(bundle).metadata
    metrics = {k: v for k, v in meta["metrics"].items()}
    info = log_run(bundle, meta, metrics, metrics, concat_rows([]), settings.mlflow_uri, settings)
    assert info["promoted"] and info["gate"] == "no champion yet"
    return info["version"]


def _worse_estimator(kind: str, seed: int, **_: object):
    """A constant-risk model: certainly worse than the champion on any evaluation rows."""
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import Pipeline

    return Pipeline([("gbm", DummyClassifier(strategy="prior"))])


def test_retrain_loop(small_world: Path, small_bundle: Path, tmp_path: Path, monkeypatch) -> None:
    from mlflow.tracking import MlflowClient

    from model.retrain import feedback_examples, retrain
    from model.settings import Settings
    from service.app import create_app

    var = tmp_path / "var"
    settings = Settings(
        var_dir=var, history_url=f"sqlite:///{var / 'history.db'}",
        mlflow_uri=f"sqlite:///{var / 'mlflow.db'}", registered_model_name="misdirect-loop",
        key_store=var / "keys.json", model_dir=tmp_path / "models" / "current",
        api_keys=[KEY], reload_poll_s=0)
    # The first model: the session's small bundle, deployed as versions/v0 ← current.
    v0 = tmp_path / "models" / "versions" / "v0"
    shutil.copytree(small_bundle, v0)
    first = _register(v0, settings)
    settings.model_dir.symlink_to(v0, target_is_directory=True)
    registry = MlflowClient(settings.mlflow_uri)

    cases = (small_world / "cases.jsonl").read_text().splitlines()
    labels = [json.loads(x) for x in (small_world / "labels.jsonl").read_text().splitlines()]
    new_pair = ("c.martin@cds-havre.example", "nouvelle.collegue@cds-rouen.example")

    with TestClient(create_app(settings)) as client:
        old_version = client.get("/readyz").json()["model_version"]
        assert old_version == json.loads((v0 / "metadata.json").read_text())["model_version"]

        # Mail that left: the live history store learns it (counts, no content).
        sent = 0
        for line, truth in zip(cases, labels, strict=True):
            if truth["scenario"] == "legit" and sent < 20:
                assert client.post("/v1/sent", json=json.loads(line), headers=AUTH).status_code == 202
                sent += 1
        for _ in range(3):
            r = client.post("/v1/sent", headers=AUTH, json={
                "sender": new_pair[0], "to": [new_pair[1]], "subject": "Planning",
                "body": "Bonjour, voici le planning de la semaine.",
                "sent_at": "2024-07-01T09:00:00+02:00"})
            assert r.status_code == 202

        # Users caught misdirections: "changed recipient X to Y" (and a few "sent anyway").
        changed = anyway = 0
        for line, truth in zip(cases, labels, strict=True):
            at = json.loads(line).get("sent_at")
            if truth["scenario"] != "legit" and truth["intended"] and truth["wrong"]:
                body = {"sender": json.loads(line)["sender"], "action": "changed_recipient",
                        "recipient": truth["wrong"][0], "replaced_by": truth["intended"],
                        "check_id": truth["case_id"], "at": at}
                assert client.post("/v1/feedback", json=body, headers=AUTH).status_code == 201
                changed += 1
            elif truth["scenario"] == "legit" and anyway < 5:
                request = json.loads(line)
                to = request["to"][0]
                body = {"sender": request["sender"], "action": "sent_anyway",
                        "recipient": to if isinstance(to, str) else to["address"], "at": at}
                assert client.post("/v1/feedback", json=body, headers=AUTH).status_code == 201
                anyway += 1
        assert changed >= 50
        fb = feedback_examples(settings.history_url)
        assert fb.counts["changed_recipient"] == changed and fb.counts["sent_anyway"] == anyway
        assert sum(e.scenario == "feedback" for e in fb.examples) == changed

        # 1) A worse candidate: the gate refuses it, nothing is deployed, the service keeps its model.
        with monkeypatch.context() as patch:
            patch.setattr("model.train.make_estimator", _worse_estimator)
            worse = retrain([small_world / "history.mbox"], settings=settings, seed=0,
                            client=client, api_key=KEY)
        assert worse["promoted"] is False and worse["gate"] == "worse than champion"
        assert worse["feedback_rows"]["evaluation"] == 2 * changed + anyway
        assert str(registry.get_model_version_by_alias("misdirect-loop", "champion").version) == first
        assert settings.model_dir.resolve() == v0.resolve()
        assert worse["reload"] is None
        assert client.get("/readyz").json()["model_version"] == old_version

        # 2) The real retrain (same history, seed and tree size as the champion, feedback in the
        # evaluation rows): the same trees, so not worse on the same rows; the alias moves, the
        # bundle is swapped, the service reloads. The tree size is pinned because choosing it
        # again on rows that now hold the feedback may pick another, which may score lower: the
        # gate would then rightly refuse it, and this test is about what follows a "not worse".
        from model import train as train_module

        setting = json.loads((v0 / "metadata.json").read_text())["estimator_setting"]
        with monkeypatch.context() as patch:
            patch.setattr(train_module, "LGBM_SETTINGS",
                          {setting: train_module.LGBM_SETTINGS[setting]})
            result = retrain([small_world / "history.mbox"], settings=settings, seed=0,
                             client=client, api_key=KEY)
        assert result["promoted"] is True, result
        assert result["learnt_since_snapshot"] == sent + 3
        assert result["feedback_metrics"]["n"] == changed
        champion = registry.get_model_version_by_alias("misdirect-loop", "champion")
        assert str(champion.version) == result["registered_version"] != first
        assert settings.model_dir.resolve().name == result["model_version"]
        assert result["reload"]["model_version"] == result["model_version"] != old_version

        response = client.post("/v1/check", json=json.loads(cases[0]), headers=AUTH)
        assert response.status_code == 200
        assert response.json()["model_version"] == result["model_version"]
        # Same history → same snapshot: the live store (with what /v1/sent taught) was kept.
        profiles = client.app.state.holder.scorer.profiles
        assert profiles.pair(*new_pair) is not None and profiles.pair(*new_pair).count == 3
