"""What the evaluation notebook computes, as reusable functions (the notebook only calls them).

* :func:`resolve_model` — a bundle path, or the registry's ``models:/<name>@champion``
  downloaded from MLflow;
* :func:`score_cases` — every labelled case of a world scored through the API's own
  :class:`~model.scoring.Scorer`, with per-recipient risks and per-case latency;
* :func:`enron_evaluation` — the time-split evaluation on Enron mailboxes (train on the past,
  simulated misdirections in the later mail), and :func:`published_comparison`, the table next
  to the published Enron figures.

Nothing here writes message content anywhere: only risks, labels, scenarios and timings.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Scoring a labelled set lives in model.evaluate (shared with `misdirect evaluate` and
# bench/detect.py); the notebook reaches it through this module.
from model.evaluate import ScoredCases, score_cases
from model.settings import Settings, get_settings

__all__ = [
    "PUBLISHED_ENRON", "ScoredCases", "enron_evaluation", "enron_mailboxes", "latency_summary",
    "published_comparison", "resolve_model", "score_cases", "summary_table",
]

# SPEC §5 anchors on the Enron corpus.
PUBLISHED_ENRON = (
    {"source": "Carvalho & Cohen (SDM 2007)", "measure": "leak detection (leak ranked first)",
     "value": 0.82, "ours": "top1"},
    {"source": "Zilberman et al. (JASIST 2013)",
     "measure": "leak recipients detected at 0.5% false positives", "value": 0.87,
     "ours": "recipient_detection_at_target"},
)


def resolve_model(spec: str | None, settings: Settings | None = None,
                  download_dir: Path | None = None) -> Path:
    """The bundle folder for ``spec``: a path as is; ``None``, ``""`` or ``"champion"``: the
    registry's champion; ``models:/<name>@<alias>`` or ``models:/<name>/<version>``: that
    registered version, its bundle artifacts downloaded from MLflow."""
    settings = settings or get_settings()
    if spec and spec != "champion" and not spec.startswith("models:/"):
        path = Path(spec)
        if not path.exists():
            raise FileNotFoundError(f"no model bundle at {path}")
        return path
    uri = spec if spec and spec.startswith("models:/") else (
        f"models:/{settings.registered_model_name}@champion")
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient(settings.mlflow_uri)
    ref = uri.removeprefix("models:/")
    if "@" in ref:
        name, alias = ref.split("@", 1)
        version = client.get_model_version_by_alias(name, alias)
    else:
        name, number = ref.rsplit("/", 1)
        version = client.get_model_version(name, number)
    mlflow.set_tracking_uri(settings.mlflow_uri)
    target = Path(download_dir or tempfile.mkdtemp(prefix="misdirect-champion-"))
    target.mkdir(parents=True, exist_ok=True)
    local = mlflow.artifacts.download_artifacts(artifact_uri=version.source, dst_path=str(target))
    return Path(local)


def summary_table(metrics: dict) -> list[dict]:
    """The headline figures of SPEC §5 as rows ``{"metric", "value"}``."""
    keys = ("n_messages", "n_misdirected", "n_legit", "roc_auc", "pr_auc", "detection_at_verdict",
            "false_alarm_at_verdict", "threshold_at_target", "detection_at_target",
            "false_alarm_at_target", "recipient_detection_at_target", "top1", "ece")
    return [{"metric": k, "value": metrics[k]} for k in keys if k in metrics]


def latency_summary(latency_ms: Sequence[float]) -> dict[str, float]:
    values = np.asarray(latency_ms, dtype=float)
    if not len(values):
        return {}
    return {"n": len(values), "mean_ms": float(values.mean()),
            "p50_ms": float(np.percentile(values, 50)), "p95_ms": float(np.percentile(values, 95)),
            "p99_ms": float(np.percentile(values, 99)), "max_ms": float(values.max())}


# ---------------------------------------------------------------------- Enron
def enron_mailboxes(path: Path | None) -> list[Path]:
    """The ``*.mbox`` files under ``path`` (or ``path`` itself); empty when absent."""
    if path is None:
        return []
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(path.glob("*.mbox"))


def enron_evaluation(mailboxes: Sequence[Path], settings: Settings | None = None,
                     work_dir: Path | None = None, seed: int = 0) -> list[dict]:
    """Per mailbox: train on its past, evaluate on simulated misdirections in its later mail
    (the time split of :func:`model.train.train_model`), no MLflow run. Returns one row of
    metrics per mailbox (the bundles go to ``work_dir``, a temporary folder by default)."""
    from model.train import train_model

    settings = settings or get_settings()
    work = Path(work_dir or tempfile.mkdtemp(prefix="misdirect-enron-"))
    rows: list[dict] = []
    for mbox in mailboxes:
        started = time.perf_counter()
        result = train_model([mbox], work / Path(mbox).stem, mlflow_uri="none", seed=seed,
                             settings=settings)
        m = result["metrics"]
        rows.append({
            "mailbox": Path(mbox).name,
            "messages": result["messages"],
            "evaluated_messages": m.get("n_messages"),
            "misdirected": m.get("n_misdirected"),
            "roc_auc": m.get("roc_auc"),
            "top1": m.get("top1"),
            "recipient_detection_at_target": m.get("recipient_detection_at_target"),
            "detection_at_target": m.get("detection_at_target"),
            "false_alarm_at_target": m.get("false_alarm_at_target"),
            "top1_S7": (m.get("per_scenario", {}).get("S7") or {}).get("top1"),
            "per_scenario": m.get("per_scenario", {}),
            "seconds": round(time.perf_counter() - started, 1),
        })
    return rows


def published_comparison(rows: Sequence[dict]) -> list[dict]:
    """Our Enron figures next to the published ones (one row per published anchor)."""
    table = []
    for anchor in PUBLISHED_ENRON:
        entry = {"source": anchor["source"], "measure": anchor["measure"],
                 "published": anchor["value"]}
        for row in rows:
            entry[f"misdirect {row['mailbox']}"] = row.get(anchor["ours"])
        table.append(entry)
    return table
