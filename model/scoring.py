"""The one scoring path shared by ``misdirect score`` and ``POST /v1/check``.

``Scorer.check`` turns a check request into a :class:`~model.schemas.CheckResponse`: content
analysis, features against the history profiles, calibrated risk per recipient, the verdict
policy (warn / block thresholds, "sent anyway" feedback), reasons, suggestion and advice.
``Scorer.learn`` adds a message that left to the profiles and to the history store.
Nothing here logs or stores message content.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from model.bundle import Bundle, load_bundle
from model.content import ContentAnalyzer
from model.content.types import SENSITIVE_KEYS, ContentAnalysis
from model.features import (
    FEATURE_NAMES,
    Evidence,
    MessageContext,
    light_analysis,
    message_context,
    message_features,
)
from model.history.kinds import is_private
from model.history.names import first_last, fold, name_matches
from model.history.profiles import HistoryProfiles
from model.history.store import HistoryStore
from model.mail import Message
from model.reasons import (
    DISTANCE_WORDS,
    GENDER_WORDS,
    HOMONYM_WORDS,
    KIND_WORDS,
    NIR_GENDER_WORDS,
    advice_text,
    reason_text,
    sensitive_label,
)
from model.schemas import CheckRequest, CheckResponse, Reason, RecipientVerdict
from model.settings import Settings, get_settings
from model.suggest import suggest

RISK_ORDER = {"send": 0, "warn": 1, "block": 2}
# A flagged recipient gets the "kind of mailbox" reason when the message fits another kind this
# much better: 39 % of wrong recipients and 4 % of legitimate ones on the synthetic test month.
KIND_GAP_REASON = 0.15


def _capitalised(name: str) -> str:
    return " ".join(part[:1].upper() + part[1:] for part in name.split())


class RiskPredictor:
    """The calibrated risk of each row: ``pipeline.predict_proba(matrix)[:, 1]``.

    For the bundle's usual shape (Platt-calibrated LightGBM: ``CalibratedClassifierCV`` with one
    sigmoid calibrator around ``FrozenEstimator(Pipeline([("gbm", LGBMClassifier)]))``) it calls
    the booster and the calibrator directly, with the very operations scikit-learn would run:
    the same probabilities, without ~2 ms of input validation per check. Any other estimator
    goes through ``predict_proba`` (``tests/test_scoring.py`` checks both paths agree)."""

    def __init__(self, pipeline: object) -> None:
        self.pipeline = pipeline
        self.fast = _fast_parts(pipeline)

    def risks(self, matrix: np.ndarray) -> np.ndarray:
        if not len(matrix):
            return np.zeros(0)
        if self.fast is None:
            return self.reference(matrix)
        booster, calibrator, num_threads = self.fast
        raw = booster.predict(matrix, raw_score=True, num_threads=num_threads)
        proba = np.zeros(len(matrix))
        proba += calibrator.predict(raw)  # CalibratedClassifierCV: mean over one calibrator
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    def reference(self, matrix: np.ndarray) -> np.ndarray:
        if not len(matrix):
            return np.zeros(0)
        return self.pipeline.predict_proba(matrix)[:, 1]  # type: ignore[attr-defined]


def _fast_parts(pipeline: object) -> tuple[object, object, int] | None:
    """(booster, sigmoid calibrator, threads) when ``pipeline`` has the usual bundle shape."""
    try:
        from lightgbm import LGBMClassifier
        from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
        from sklearn.pipeline import Pipeline

        if not isinstance(pipeline, CalibratedClassifierCV) or pipeline.method != "sigmoid":
            return None
        if len(pipeline.calibrated_classifiers_) != 1 or len(pipeline.classes_) != 2:
            return None
        cal = pipeline.calibrated_classifiers_[0]
        if len(cal.calibrators) != 1 or type(cal.calibrators[0]) is not _SigmoidCalibration:
            return None
        inner = getattr(cal.estimator, "estimator", cal.estimator)  # FrozenEstimator
        if isinstance(inner, Pipeline):
            if len(inner.steps) != 1:
                return None
            inner = inner.steps[0][1]
        if type(inner) is not LGBMClassifier or list(inner.classes_) != list(cal.classes):
            return None
        threads = inner._process_n_jobs(inner.n_jobs)
        return inner.booster_, cal.calibrators[0], threads
    except Exception:  # pragma: no cover - other library versions: the reference path
        return None


class Scorer:
    """A loaded model bundle, its history profiles and store, and the content analyzer."""

    def __init__(self, bundle: Bundle, settings: Settings, profiles: HistoryProfiles,
                 store: HistoryStore | None, analyzer: ContentAnalyzer) -> None:
        self.bundle = bundle
        self.settings = settings
        self.profiles = profiles
        self.store = store
        self.analyzer = analyzer
        self.model_version = bundle.model_version
        self.thresholds = dict(bundle.metadata.get("thresholds", {"warn": 0.5, "block": 0.9}))
        self._lock = threading.RLock()
        self._predictor = RiskPredictor(bundle.pipeline)

    @classmethod
    def load(cls, model_dir: Path, settings: Settings | None = None) -> Scorer:
        """Load the bundle, the history (live store, seeded from the bundle's snapshot) and the
        French content analyzer."""
        settings = settings or get_settings()
        bundle = load_bundle(Path(model_dir))
        names = bundle.metadata.get("feature_names")
        if names is not None and list(names) != list(FEATURE_NAMES):
            # A bundle of an older version: its trees would read the wrong columns.
            raise ValueError(
                f"le modèle {model_dir} a été entraîné sur {len(names)} caractéristiques, ce code "
                f"en calcule {len(FEATURE_NAMES)} d'autres : réentraînez-le (misdirect train)")
        snapshot_id = str(bundle.metadata.get("snapshot_id", ""))
        store: HistoryStore | None = None
        if settings.history_url and settings.history_url.lower() != "none":
            store = HistoryStore(settings.history_url)
            if store.holds_snapshot(snapshot_id):
                # The live store started from this snapshot and may hold mail learned since.
                profiles = store.load(bundle.topics)
            else:
                profiles = bundle.load_profiles()
                store.save(profiles, snapshot_id=snapshot_id)
        else:
            profiles = bundle.load_profiles()
        # No silent fallback: without the French pipeline the answers would lose the names and
        # the sensitive counts, so a failure to load it fails the load (the service stays not
        # ready and logs why).
        analyzer = ContentAnalyzer(settings).load()
        return cls(bundle, settings, profiles, store, analyzer)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    # ------------------------------------------------------------------ scoring
    def model_risks(self, message: Message, full: ContentAnalysis
                    ) -> tuple[dict[str, tuple[float, Evidence]], MessageContext]:
        """The model's calibrated risk and the evidence of each recipient (before the verdict's
        rules), and the message's context (for the suggestions)."""
        light = light_analysis(message, reuse=full)  # the analyzer's spans when same text
        with self._lock:
            ctx = message_context(message, self.profiles, light)
            matrix, evidence = message_features(ctx, self.profiles)
            risks = self._predictor.risks(matrix)
        by_address = {ev.address: (float(r), ev) for r, ev in zip(risks, evidence, strict=True)}
        return by_address, ctx

    def check(
        self,
        request: CheckRequest,
        *,
        check_id: str | None = None,
        now: datetime | None = None,
        sent_anyway: Mapping[tuple[str, str], int] | None = None,
    ) -> CheckResponse:
        """Score every recipient of ``request``. Raises ``ValueError`` on an unusable address."""
        started = time.perf_counter()
        check_id = check_id or uuid.uuid4().hex
        message = request.to_message(check_id, now)
        full = self.analyzer.analyze(message)
        by_address, ctx = self.model_risks(message, full)
        counts = full.sensitive_counts()
        sensitive = {k: int(counts.get(k, 0)) for k in SENSITIVE_KEYS}
        for k, v in counts.items():
            sensitive.setdefault(k, int(v))
        has_sensitive = bool(sensitive.get("NIR") or sensitive.get("IBAN")
                             or sensitive.get("BIRTH_DATE")
                             or full.health_score >= 0.5)
        spacy_third = [p.name for p in full.persons
                       if p.role == "third_party" and p.linked_address is None]
        sender = message.sender.address if message.sender else ""
        recipients: list[RecipientVerdict] = []
        for fld, addr in message.recipients():
            risk, ev = by_address.get(addr.address, (0.0, None))
            verdict = "send"
            if (ev is not None and ev.nir_only_recipient
                    and not _third_parties(ev, addr.name, spacy_third)):
                # Every NIR of the message is the INS this Mon espace santé address is made of,
                # and nobody else is named: the recipient is the person the letter is about.
                # The trees seldom see such letters and warned on a few (docs/model.md).
                risk = min(risk, self.thresholds["warn"] - 1e-4)
            if ev is not None:
                if risk >= self.thresholds["block"] and has_sensitive:
                    verdict = "block"
                elif risk >= self.thresholds["warn"]:
                    verdict = "warn"
                elif ev.nir_not_recipient:
                    # The message's NIRs are not this Mon espace santé address's INS: exact
                    # evidence that the history seldom shows (few letters carry a NIR to a
                    # patient's address), so the trees weigh it little (docs/model.md). A
                    # warning, not a block: a child's address may get a parent's NIR. The
                    # risk rises to the warning's threshold, so that the add-in does not show
                    # "8 %" beside a warning.
                    verdict = "warn"
                    risk = max(risk, self.thresholds["warn"])
                n_anyway = (sent_anyway or {}).get((sender, addr.address), 0)
                # The user sent anyway after a warning: they know this correspondent.
                if n_anyway >= 1 and verdict == "warn":
                    verdict = "send"
                elif n_anyway >= 2 and verdict == "block":
                    verdict = "warn"
            reasons: list[Reason] = []
            suggestion = None
            if verdict != "send" and ev is not None:
                reasons = self._reasons(ev, addr.name, has_sensitive, sensitive, spacy_third)
                suggestion = self.suggest(ev, ctx)
            recipients.append(RecipientVerdict(
                address=addr.address, field=fld, risk=round(min(max(risk, 0.0), 1.0), 4),
                verdict=verdict, reasons=reasons, suggestion=suggestion))
        verdict = max((r.verdict for r in recipients), key=RISK_ORDER.__getitem__, default="send")
        return CheckResponse(
            check_id=check_id,
            verdict=verdict,
            risk=max((r.risk for r in recipients), default=0.0),
            recipients=recipients,
            sensitive=sensitive,
            advice=self._advice([ev for _, ev in by_address.values()], sensitive, full, message,
                                verdict),
            model_version=self.model_version,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def learn(self, request: CheckRequest) -> None:
        """A message that left (``/v1/sent``): add it to the profiles and the history store."""
        message = request.to_message("sent")
        self.learn_message(message)

    def learn_message(self, message: Message) -> None:
        vector = self.profiles.vectorize([message])[0]
        with self._lock:
            self.profiles.update(message, vector)
        if self.store is not None:
            self.store.update(message, vector)

    # ------------------------------------------------------------------ explanations
    def suggest(self, ev: Evidence, ctx: MessageContext) -> str | None:
        """Who was probably meant instead of a warned recipient (``model.suggest``)."""
        with self._lock:
            return suggest(ev, ctx, self.profiles)[0]

    def _reasons(self, ev: Evidence, display: str | None, has_sensitive: bool,
                 sensitive: dict[str, int], spacy_third: list[str]) -> list[Reason]:
        lang = self.settings.language
        found: list[tuple[float, str, str]] = []

        def add(strength: float, code: str, **values: object) -> None:
            found.append((strength, code, reason_text(code, lang, **values)))

        private = is_private(ev.kind)
        if ev.neighbour and ev.neighbour_why == "edit" and ev.neighbour_distance <= 2:
            code = "near_duplicate" if ev.neighbour_scope == 1 else "near_duplicate_org"
            add(0.95, code, contact=ev.neighbour, count=ev.neighbour_count,
                distance=DISTANCE_WORDS[lang if lang in DISTANCE_WORDS else "fr"].get(
                    ev.neighbour_distance, str(ev.neighbour_distance)))
        if ev.greeting and ev.greeting_state < 0 and ev.field == "to":
            add(0.85, "greeting_mismatch", name=_capitalised(ev.greeting))
        elif ev.greeting_gender and ev.field == "to":
            word, who = GENDER_WORDS[lang if lang in GENDER_WORDS else "fr"][ev.greeting_gender]
            add(0.8, "greeting_gender", word=word, who=who)
        if ev.nir_not_recipient:
            add(0.85, "nir_not_recipient")
        elif ev.nir_holder:
            holder, who = NIR_GENDER_WORDS[lang if lang in NIR_GENDER_WORDS else "fr"][ev.nir_holder]
            add(0.7, "nir_gender", holder=holder, who=who)
        third = _third_parties(ev, display, spacy_third)
        if third and private and not ev.about_recipient:
            add(0.8, "third_party_data", name=third[0])
        if has_sensitive and private:
            what = ", ".join(sensitive_label(k, lang) for k in ("NIR", "IBAN", "BIRTH_DATE", "HEALTH")
                             if sensitive.get(k))
            add(0.75, "sensitive_to_private", what=what or sensitive_label("HEALTH", lang))
        if ev.sent == 0 and ev.received == 0:
            if not ev.domain_known:
                add(0.72, "new_domain", domain=ev.address.rsplit("@", 1)[1])
            add(0.7, "never_written")
        elif ev.sent + ev.received <= 2 and ev.days_since_last is not None:
            add(0.55, "rarely_written", count=ev.sent + ev.received, days=int(ev.days_since_last))
        if ev.neighbour and ev.neighbour_why == "prefix" and ev.neighbour_count > ev.sent:
            add(0.6, "autocomplete_neighbour", contact=ev.neighbour, count=ev.neighbour_count)
        if ev.neighbour and ev.neighbour_why == "homonym" and ev.neighbour_count > ev.sent:
            what = HOMONYM_WORDS[lang if lang in HOMONYM_WORDS else "fr"].get(ev.neighbour_distance, "nom")
            add(0.6, "homonym", what=what, contact=ev.neighbour, count=ev.neighbour_count)
        if ev.n_others >= 1 and ev.corecipient_frac == 0.0 and ev.sent > 0:
            add(0.45, "unusual_corecipient")
        if ev.best_kind and ev.best_kind != ev.kind and ev.kind_gap >= KIND_GAP_REASON:
            words = KIND_WORDS[lang if lang in KIND_WORDS else "fr"]
            add(0.62, "kind_mismatch", usual=words[ev.best_kind], this=words[ev.kind])
        if ev.best_topic_contact and ev.topic_best_gap > 0.3 and ev.best_topic_contact != ev.address:
            add(0.5, "better_topic_fit", contact=ev.best_topic_contact)
        elif ev.sent > 0 and ev.topic_pair < 0.15:
            add(0.4, "topic_mismatch")
        found.sort(key=lambda x: -x[0])
        return [Reason(code=code, message=text) for _, code, text in found[:4]]

    def _advice(self, evidence: list[Evidence], sensitive: dict[str, int],
                analysis: ContentAnalysis, message: Message, verdict: str) -> list[str]:
        lang = self.settings.language
        advice: list[str] = []
        health = bool(sensitive.get("NIR") or sensitive.get("HEALTH")) or analysis.health_score >= 0.3
        if health and any(is_private(ev.kind) and not ev.about_recipient for ev in evidence):
            advice.append(advice_text("use_mssante", lang))
        identifiers = sensitive.get("NIR", 0) + sensitive.get("IBAN", 0) + sensitive.get("BIRTH_DATE", 0)
        if message.attachments and (identifiers or health) and any(
                ev.kind not in ("internal", "mssante", "patient") for ev in evidence):
            advice.append(advice_text("encrypt_attachment", lang))
        if verdict != "send" and (identifiers or health):
            advice.append(advice_text("check_recipients", lang))
        return advice


def _third_parties(ev: Evidence, display: str | None, spacy_third: list[str]) -> list[str]:
    """People the message names who are neither this recipient nor another one: the light
    analysis's, else the French NER's third parties that are not the recipient."""
    if ev.third_parties or ev.about_recipient:
        # A bare surname found after a title ("Roux" of "Mme Anne Roux") is shown as the NER
        # wrote the person, first name included.
        return [next((n for n in spacy_third if " " not in name
                      and fold(n.split()[-1]) == fold(name)), name)
                for name in ev.third_parties]
    return [n for n in spacy_third if not _same_person(n, display, ev.address)]


def _same_person(name: str, display: str | None, address: str) -> bool:
    first, last = first_last(name)
    probe = " ".join(x for x in (first, last) if x)
    return bool(probe) and name_matches(fold(probe), display, address)


def score_file(model_dir: Path, input_path: Path, output_path: Path,
               settings: Settings | None = None) -> dict:
    """Score a JSONL file of check requests; one response (or error object) per line, in order."""
    scorer = Scorer.load(Path(model_dir), settings)
    counts = {"lines": 0, "scored": 0, "errors": 0, "send": 0, "warn": 0, "block": 0}
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(input_path, encoding="utf-8") as fin, open(output_path, "w", encoding="utf-8") as fout:
            for number, line in enumerate(fin, start=1):
                if not line.strip():
                    continue
                counts["lines"] += 1
                try:
                    request = CheckRequest.model_validate_json(line)
                    response = scorer.check(request)
                except (ValidationError, ValueError) as exc:
                    counts["errors"] += 1
                    detail = (exc.errors(include_input=False, include_url=False)
                              if isinstance(exc, ValidationError) else str(exc))
                    fout.write(json.dumps({"error": "invalid request", "line": number,
                                           "detail": detail}, ensure_ascii=False, default=str) + "\n")
                    continue
                counts["scored"] += 1
                counts[response.verdict] += 1
                fout.write(response.model_dump_json() + "\n")
    finally:
        scorer.close()
    return counts
