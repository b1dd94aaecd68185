"""The model bundle: one self-contained folder that scoring needs and nothing else.

``model.joblib`` (calibrated pipeline + topic model), ``metadata.json`` (feature names, thresholds,
library versions, training-data hash, MLflow run id, model version) and ``history.sqlite`` (the
history profiles snapshot: addresses, display names, counts, dates, numeric vectors only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib

from model.history.profiles import HistoryProfiles
from model.history.store import HistoryStore
from model.history.topics import TopicModel

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
HISTORY_FILE = "history.sqlite"


@dataclass
class Bundle:
    path: Path
    pipeline: Any  # fitted estimator with predict_proba over FEATURE_NAMES columns
    topics: TopicModel
    metadata: dict

    @property
    def model_version(self) -> str:
        return str(self.metadata.get("model_version", "unknown"))

    @property
    def history_url(self) -> str:
        return f"sqlite:///{(self.path / HISTORY_FILE).resolve()}"

    def load_profiles(self) -> HistoryProfiles:
        store = HistoryStore(self.history_url)
        try:
            return store.load(self.topics)
        finally:
            store.close()


def library_versions() -> dict[str, str]:
    import platform

    import lightgbm
    import numpy
    import sklearn

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "lightgbm": lightgbm.__version__, "numpy": numpy.__version__}


def save_bundle(path: Path, pipeline: Any, topics: TopicModel, profiles: HistoryProfiles,
                metadata: dict) -> Path:
    """Write the bundle folder (created if needed; its files are replaced)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    joblib.dump({"pipeline": pipeline, "topics": topics}, path / MODEL_FILE, compress=3)
    history = path / HISTORY_FILE
    for suffix in ("", "-wal", "-shm"):
        Path(str(history) + suffix).unlink(missing_ok=True)
    store = HistoryStore(f"sqlite:///{history.resolve()}")
    try:
        store.save(profiles, snapshot_id=str(metadata.get("snapshot_id", "")))
        # Fold the WAL into the main file so the folder is self-contained when copied.
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    (path / METADATA_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False))
    return path


def load_bundle(path: Path) -> Bundle:
    """Load a bundle folder written by :func:`save_bundle`."""
    path = Path(path)
    if not (path / MODEL_FILE).exists():
        raise FileNotFoundError(f"no model bundle in {path} (missing {MODEL_FILE})")
    parts = joblib.load(path / MODEL_FILE)
    metadata = json.loads((path / METADATA_FILE).read_text())
    return Bundle(path=path, pipeline=parts["pipeline"], topics=parts["topics"], metadata=metadata)
