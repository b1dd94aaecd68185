"""``misdirect retrain``: the retraining loop of a running installation.

What the service keeps, and so what retraining can use (see docs/retraining.md):

* the **history store** (``settings.history_url``) holds aggregated profiles only — addresses,
  names, counts, dates, topic vectors — seeded from the bundle's snapshot and updated by
  ``POST /v1/sent``. It holds no messages (privacy rule), so its deltas cannot be replayed as
  messages for the misdirection simulator;
* the **feedback table** (``settings.feedback_url``, default the same database) holds what users
  did after a warning, addresses only.

So a retrain (1) refits on the original history paths (plus any newer export given with
``--history``) through :func:`model.train.train_from_messages` — the simulator needs messages;
(2) turns feedback into real labelled rows, scored against the *live* profiles (snapshot +
``/v1/sent`` deltas, the state the user saw): "changed recipient X to Y" is a caught
misdirection (X wrong, Y right), "sent anyway" confirms X. These rows join the evaluation rows,
so calibration, the warn threshold and the champion gate see real mistakes (and, with
``feedback_fit_share``, the oldest share joins the fit rows); (3) lets the model issue's gate
move the ``champion`` alias only when the candidate is not worse on the same evaluation rows;
(4) when promoted, points the service's bundle folder at the new version (atomic symlink swap)
and asks the service to reload (``POST /v1/admin/reload``).

The same history paths and seed give the same training-data hash and the same topic model,
hence the same ``snapshot_id``: the service then keeps its live store (with every message learnt
since) when it loads the new bundle. A different history, or another topic model (another seed,
another version of the code), gives a new snapshot, which replaces the live store: the store's
topic vectors only mean something in the topic space that computed them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from model.mail import Address, Message
from model.settings import Settings, get_settings
from model.simulate import Example

if TYPE_CHECKING:
    import httpx

    from model.history.profiles import HistoryProfiles
    from model.train import Rows

log = logging.getLogger(__name__)

FEEDBACK_SCENARIO = "feedback"


@dataclass
class FeedbackExamples:
    """Labelled examples built from the feedback table, oldest first."""

    examples: list[Example] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _skeleton(message_id: str, at: datetime, sender: str, recipient: str) -> Message | None:
    """A content-free message (the feedback table keeps no content): sender, one recipient,
    the time of the decision. Its features come from the history alone."""
    s, r = Address.parse(sender), Address.parse(recipient)
    if s is None or r is None or s.address == r.address:
        return None
    return Message(message_id=message_id, date=at, sender=s, to=[r])


def feedback_examples(feedback_url: str, since: datetime | None = None) -> FeedbackExamples:
    """Examples from the service's feedback table (``service.store.Feedback``).

    ``changed_recipient`` X → Y: a message to X labelled wrong (scenario ``feedback``, intended
    Y) and a message to Y labelled right; ``sent_anyway`` X: a message to X labelled right;
    ``cancelled`` says nothing about who was wrong and is only counted.
    """
    from sqlalchemy import select

    from service.store import Feedback, FeedbackStore

    store = FeedbackStore(feedback_url)
    out = FeedbackExamples(counts={"changed_recipient": 0, "sent_anyway": 0, "cancelled": 0,
                                   "unusable": 0})
    try:
        stmt = select(Feedback).order_by(Feedback.at, Feedback.id)
        if since is not None:
            stmt = stmt.where(Feedback.at >= since)
        with store.session() as session:
            rows = list(session.execute(stmt).scalars())
    finally:
        store.close()
    for row in rows:
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
        out.counts[row.action] = out.counts.get(row.action, 0) + 1
        if row.action == "changed_recipient" and row.recipient and row.replaced_by:
            wrong = _skeleton(f"feedback-{row.id}-x", at, row.sender, row.recipient)
            right = _skeleton(f"feedback-{row.id}-y", at, row.sender, row.replaced_by)
            if wrong is None or right is None or row.recipient == row.replaced_by:
                out.counts["unusable"] += 1
                continue
            out.examples.append(Example(wrong, {wrong.to[0].address: 1}, FEEDBACK_SCENARIO,
                                        wrong=[wrong.to[0].address],
                                        intended=right.to[0].address))
            out.examples.append(Example(right, {right.to[0].address: 0}, "legit"))
        elif row.action == "sent_anyway" and row.recipient:
            confirmed = _skeleton(f"feedback-{row.id}", at, row.sender, row.recipient)
            if confirmed is None:
                out.counts["unusable"] += 1
                continue
            out.examples.append(Example(confirmed, {confirmed.to[0].address: 0}, "legit"))
    return out


def live_profiles(settings: Settings, bundle_dir: Path) -> tuple[HistoryProfiles, int]:
    """The profiles the service scores with: the live history store when it was seeded from
    this bundle's snapshot, else the bundle's own snapshot. Returns them and the number of
    messages learnt since the snapshot."""
    from model.bundle import load_bundle
    from model.history.store import HistoryStore

    bundle = load_bundle(bundle_dir)
    snapshot_id = str(bundle.metadata.get("snapshot_id", ""))
    base = int(bundle.metadata.get("n_history_messages") or 0)
    if settings.history_url and settings.history_url.lower() != "none":
        store = HistoryStore(settings.history_url)
        try:
            if store.holds_snapshot(snapshot_id):
                return store.load(bundle.topics), max(0, store.count_messages() - base)
        finally:
            store.close()
    return bundle.load_profiles(), 0


def learnt_since_snapshot(settings: Settings, bundle_dir: Path) -> int:
    """How many messages the live store learnt (``/v1/sent``) since the bundle's snapshot;
    0 when the store was not seeded from this bundle."""
    import json

    from model.bundle import METADATA_FILE
    from model.history.store import HistoryStore

    meta = json.loads((Path(bundle_dir) / METADATA_FILE).read_text())
    if not settings.history_url or settings.history_url.lower() == "none":
        return 0
    store = HistoryStore(settings.history_url)
    try:
        if not store.holds_snapshot(str(meta.get("snapshot_id", ""))):
            return 0
        return max(0, store.count_messages() - int(meta.get("n_history_messages") or 0))
    finally:
        store.close()


def split_rows(examples: Sequence[Example], profiles: HistoryProfiles,
               fit_share: float) -> tuple[Rows | None, Rows | None]:
    """Feature rows of the feedback examples: the oldest ``fit_share`` for fitting, the rest
    for calibration and evaluation (examples of one feedback stay together)."""
    from model.train import build_rows

    if not examples:
        return None, None
    cut = round(len(examples) * min(max(fit_share, 0.0), 1.0))
    if 0 < cut < len(examples) and examples[cut].scenario == "legit" and \
            examples[cut - 1].scenario == FEEDBACK_SCENARIO:
        cut += 1  # keep a "changed recipient" pair (wrong X, right Y) on one side
    fit, evaluation = list(examples[:cut]), list(examples[cut:])
    return (build_rows(fit, profiles) if fit else None,
            build_rows(evaluation, profiles) if evaluation else None)


# ---------------------------------------------------------------------- deployment
def deploy(bundle_dir: Path, target: Path) -> Path:
    """Make ``target`` (the service's ``MISDIRECT_MODEL_DIR``) point at ``bundle_dir``.

    ``target`` becomes a symlink swapped atomically (``os.replace``): a service reloading at
    that moment reads either the old or the new bundle, never a mix. A real folder found at
    ``target`` (a first ``misdirect train --model``) is moved aside, next to ``bundle_dir``.
    """
    target = Path(target).absolute()
    bundle_dir = Path(bundle_dir).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not target.is_symlink():
        aside = bundle_dir.parent / f"{target.name}-before-{datetime.now(UTC):%Y%m%d%H%M%S}"
        target.rename(aside)
        log.info("moved the previous bundle folder aside to %s", aside)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(bundle_dir, target_is_directory=True)
    os.replace(tmp, target)
    return target


def request_reload(service_url: str | None, api_key: str, *, client: httpx.Client | None = None,
                   timeout: float = 120.0) -> dict:
    """``POST /v1/admin/reload`` (admin key): the service loads its ``MISDIRECT_MODEL_DIR``
    again — the new bundle after :func:`deploy` — without failing requests in flight."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"}
    path = "/v1/admin/reload"
    if client is not None:
        url = f"{service_url.rstrip('/')}{path}" if service_url else path
        response = client.post(url, headers=headers)  # the client's own timeout
    else:
        if not service_url:
            raise ValueError("service_url is needed without a client")
        response = httpx.post(f"{service_url.rstrip('/')}{path}", headers=headers,
                              timeout=timeout)
    response.raise_for_status()
    return response.json()


@contextlib.contextmanager
def _single_run(var_dir: Path) -> Iterator[None]:
    """One retrain at a time on this machine (a cron job overlapping a slow run)."""
    import fcntl

    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / "retrain.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RuntimeError("another retrain is running (var_dir/retrain.lock)") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------------- the loop
def retrain(
    history_paths: Sequence[Path],
    *,
    settings: Settings | None = None,
    deploy_dir: Path | None = None,
    versions_dir: Path | None = None,
    mlflow_uri: str | None = None,
    seed: int = 0,
    feedback_fit_share: float = 0.0,
    service_url: str | None = None,
    api_key: str | None = None,
    client: httpx.Client | None = None,
    estimator: str = "lgbm",
) -> dict:
    """Train a candidate from the history and the feedback, gate it against the champion,
    deploy and reload when promoted. Returns a summary (counts and versions only)."""
    from mlflow.tracking import MlflowClient

    from model.train import load_history, train_from_messages

    settings = settings or get_settings()
    uri = mlflow_uri or settings.mlflow_uri
    if uri.lower() == "none":
        raise ValueError("retrain needs the MLflow registry: the champion gate lives there")
    deploy_dir = Path(deploy_dir or settings.model_dir)
    versions_dir = Path(versions_dir or deploy_dir.absolute().parent / "versions")
    started = time.perf_counter()
    with _single_run(Path(settings.var_dir)):
        registry = MlflowClient(uri)
        name = settings.registered_model_name
        try:
            before = str(registry.get_model_version_by_alias(name, "champion").version)
        except Exception:
            before = None

        feedback = feedback_examples(settings.feedback_url or settings.history_url)
        n_learnt = 0
        extra_fit = extra_eval = None
        if feedback.examples:
            if not (deploy_dir / "model.joblib").exists():
                raise FileNotFoundError(
                    f"no deployed bundle in {deploy_dir}: feedback is scored against its profiles")
            profiles, n_learnt = live_profiles(settings, deploy_dir)
            extra_fit, extra_eval = split_rows(feedback.examples, profiles, feedback_fit_share)
        elif (deploy_dir / "model.joblib").exists():
            n_learnt = learnt_since_snapshot(settings, deploy_dir)

        messages, ingest_stats = load_history(history_paths)
        pending = versions_dir / f"pending-{datetime.now(UTC):%Y%m%d%H%M%S}-{os.getpid()}"
        try:
            result = train_from_messages(messages, pending, mlflow_uri=uri, seed=seed,
                                         settings=settings, estimator=estimator,
                                         ingest_stats=ingest_stats, extra_fit=extra_fit,
                                         extra_eval=extra_eval)
        except BaseException:
            shutil.rmtree(pending, ignore_errors=True)
            raise
        info = result.get("mlflow") or {}
        promoted = bool(info.get("promoted"))
        summary: dict = {
            "model_version": result["model_version"],
            "registered_version": info.get("version"),
            "promoted": promoted,
            "gate": info.get("gate"),
            "score": info.get("score"),
            "champion_score": info.get("champion_score"),
            "champion_before": before,
            "champion_after": info.get("version") if promoted else before,
            "history_messages": result["messages"],
            "learnt_since_snapshot": n_learnt,
            "feedback": feedback.counts,
            "feedback_rows": {"fit": 0 if extra_fit is None else len(extra_fit.y),
                              "evaluation": 0 if extra_eval is None else len(extra_eval.y)},
            "feedback_metrics": result["metrics"].get("per_scenario", {}).get(FEEDBACK_SCENARIO),
            "deployed": None,
            "reload": None,
        }
        if not promoted:
            # MLflow keeps the candidate's artifacts (a registered version without the alias).
            shutil.rmtree(pending, ignore_errors=True)
        else:
            final = versions_dir / result["model_version"]
            if final.exists():
                shutil.rmtree(final)
            pending.rename(final)
            summary["deployed"] = str(deploy(final, deploy_dir))
            if service_url or client is not None:
                key = api_key or (settings.api_keys[0] if settings.api_keys else None)
                if not key:
                    raise ValueError("an admin API key is needed to ask the service to reload")
                summary["reload"] = request_reload(service_url, key, client=client)
        summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary
