"""The model bundle: self-contained, metadata complete, no message text on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.bundle import load_bundle
from model.features import FEATURE_NAMES

pytestmark = pytest.mark.slow


def test_bundle_metadata(small_bundle: Path) -> None:
    bundle = load_bundle(small_bundle)
    meta = bundle.metadata
    assert meta["feature_names"] == list(FEATURE_NAMES)
    assert 0 < meta["thresholds"]["warn"] <= meta["thresholds"]["block"] <= 1
    for key in ("model_version", "training_data_hash", "libraries", "mlflow_run_id", "snapshot_id"):
        assert meta[key], key
    assert meta["libraries"]["scikit-learn"]
    assert hasattr(bundle.pipeline, "predict_proba")
    profiles = bundle.load_profiles()
    assert profiles.n_messages > 100


def test_bundle_holds_no_message_text(small_bundle: Path) -> None:
    for path in small_bundle.iterdir():
        data = path.read_bytes()
        for word in (b"Bonjour", b"Cordialement", b"rendez-vous"):
            assert word not in data, (path.name, word)


def test_missing_bundle_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no model bundle"):
        load_bundle(tmp_path)
