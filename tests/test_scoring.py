"""The scoring path: response shape, score_file == check, feedback policy, learning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model.schemas import CheckRequest
from model.scoring import Scorer, score_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(small_bundle_settings, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scoring_store")
    return small_bundle_settings.model_copy(update={"history_url": f"sqlite:///{tmp}/h.db"})


@pytest.fixture(scope="module")
def scorer(small_bundle: Path, settings):
    s = Scorer.load(small_bundle, settings)
    yield s
    s.close()


def requests(world: Path, n: int) -> list[str]:
    return (world / "cases.jsonl").read_text().splitlines()[:n]


def test_response_lists_every_recipient_in_order(scorer, small_world: Path) -> None:
    for line in requests(small_world, 30):
        request = CheckRequest.model_validate_json(line)
        response = scorer.check(request, check_id="abc")
        message = request.to_message()
        assert [(r.field, r.address) for r in response.recipients] == [
            (f, a.address) for f, a in message.recipients()]
        assert response.risk == max(r.risk for r in response.recipients)
        assert response.check_id == "abc"
        assert response.model_version == scorer.model_version
        assert set(response.sensitive) >= {"NIR", "IBAN", "PERSON", "BIRTH_DATE", "PHONE", "HEALTH"}
        assert all(isinstance(v, int) for v in response.sensitive.values())
        for rec in response.recipients:
            assert 0.0 <= rec.risk <= 1.0
            if rec.verdict == "send":
                assert rec.reasons == []
            else:
                assert rec.reasons
        order = {"send": 0, "warn": 1, "block": 2}
        assert order[response.verdict] == max(order[r.verdict] for r in response.recipients)


def test_score_file_equals_check(scorer, small_bundle: Path, small_world: Path, settings,
                                 tmp_path: Path) -> None:
    lines = requests(small_world, 25)
    bad = ['{"sender": "not an address", "to": ["x@y.fr"]}', "{broken json", '{"to": []}']
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines[:10] + bad + lines[10:]) + "\n")
    out = tmp_path / "out.jsonl"
    counts = score_file(small_bundle, src, out, settings)
    assert counts["lines"] == 28 and counts["errors"] == 3 and counts["scored"] == 25
    outputs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(outputs) == 28
    assert all("error" in o for o in outputs[10:13])
    for line, got in zip(lines, outputs[:10] + outputs[13:], strict=True):
        want = scorer.check(CheckRequest.model_validate_json(line)).model_dump(mode="json")
        for key in ("check_id", "elapsed_ms"):
            got.pop(key)
            want.pop(key)
        assert got == want


def flagged_case(scorer, world: Path):
    for line in requests(world, 400):
        request = CheckRequest.model_validate_json(line)
        response = scorer.check(request)
        for rec in response.recipients:
            if rec.verdict == "warn":
                return request, rec
    pytest.skip("no warned recipient in the first cases")


def test_sent_anyway_lowers_the_warning(scorer, small_world: Path) -> None:
    request, rec = flagged_case(scorer, small_world)
    sender = request.to_message().sender.address
    again = scorer.check(request, sent_anyway={(sender, rec.address): 1})
    after = next(r for r in again.recipients if r.address == rec.address)
    assert after.verdict == "send"
    assert after.risk == rec.risk  # the risk is still reported honestly


def test_learn_updates_profiles_and_store(small_bundle: Path, settings, tmp_path: Path) -> None:
    local = settings.model_copy(update={"history_url": f"sqlite:///{tmp_path}/learn.db"})
    s = Scorer.load(small_bundle, local)
    request = CheckRequest(sender="c.martin@cds-havre.example", to=["nouvelle.personne@cds-rouen.example"],
                           subject="Bonjour", body="Bonjour Nouvelle, voici le planning.")
    before = s.check(request)
    assert s.profiles.pair("c.martin@cds-havre.example", "nouvelle.personne@cds-rouen.example") is None
    for _ in range(5):
        s.learn(request)
    after = s.check(request)
    assert after.recipients[0].risk < before.recipients[0].risk
    s.close()
    reloaded = Scorer.load(small_bundle, local)  # same snapshot: the live store is kept
    assert reloaded.profiles.pair("c.martin@cds-havre.example",
                                  "nouvelle.personne@cds-rouen.example").count == 5
    reloaded.close()


def test_a_bundle_of_another_topic_space_replaces_the_live_store(
        small_world: Path, small_bundle: Path, settings, tmp_path: Path) -> None:
    """The live store keeps what it learnt since the snapshot only for a bundle of the same
    history *and* topic space: the same history trained with another seed has other topic
    vectors, and the store's would be compared with the new model's."""
    from model.bundle import load_bundle
    from model.train import train_model

    other = tmp_path / "seed1"
    train_model([small_world / "history.mbox"], other, mlflow_uri="none", seed=1, settings=settings)
    seed0, seed1 = load_bundle(small_bundle), load_bundle(other)
    assert seed0.metadata["training_data_hash"] == seed1.metadata["training_data_hash"]
    assert seed0.metadata["snapshot_id"] != seed1.metadata["snapshot_id"]
    assert seed1.metadata["snapshot_id"].endswith(seed1.topics.fingerprint())

    live = settings.model_copy(update={"history_url": f"sqlite:///{tmp_path}/live.db"})
    sender, new = "c.martin@cds-havre.example", "nouvelle.personne@cds-rouen.example"
    first = Scorer.load(small_bundle, live)
    first.learn(CheckRequest(sender=sender, to=[new], subject="Planning", body="Voici le planning."))
    first.close()
    second = Scorer.load(other, live)
    try:
        assert second.profiles.pair(sender, new) is None  # the store was seeded again
        expected = seed1.load_profiles()
        key = max(expected.pairs, key=lambda k: expected.pairs[k].count)
        np.testing.assert_array_equal(second.profiles.pairs[key].topic, expected.pairs[key].topic)
        assert not np.allclose(seed0.load_profiles().pairs[key].topic, expected.pairs[key].topic)
    finally:
        second.close()


def test_english_reasons(small_bundle: Path, settings, small_world: Path, tmp_path: Path) -> None:
    english = settings.model_copy(update={"language": "en",
                                          "history_url": f"sqlite:///{tmp_path}/en.db"})
    s = Scorer.load(small_bundle, english)
    _, rec = flagged_case(s, small_world)
    assert not any(w in rec.reasons[0].message for w in ("Vous ", "Le message", "À "))
    s.close()


def test_bad_address_raises_value_error(scorer) -> None:
    with pytest.raises(ValueError, match="not an e-mail address"):
        scorer.check(CheckRequest(sender="a@b.fr", to=["nope"]))


def test_fast_risk_path_equals_predict_proba(scorer, small_world: Path) -> None:
    """The direct booster + calibrator path gives predict_proba's risks on every case row."""
    from model.features import light_analysis, message_context, message_features

    predictor = scorer._predictor
    assert predictor.fast is not None  # the small bundle has the usual shape: fast path used
    rows = []
    for line in requests(small_world, 400):
        message = CheckRequest.model_validate_json(line).to_message("t")
        ctx = message_context(message, scorer.profiles, light_analysis(message))
        matrix, _ = message_features(ctx, scorer.profiles)
        rows.append(matrix)
    matrix = np.vstack(rows)
    assert len(matrix) >= 300
    fast, reference = predictor.risks(matrix), predictor.reference(matrix)
    assert fast.shape == reference.shape
    np.testing.assert_allclose(fast, reference, rtol=0, atol=1e-12)
    # Random rows too (other branches of the trees), and one row at a time.
    rng = np.random.default_rng(0)
    noisy = (matrix[rng.integers(0, len(matrix), 200)]
             * rng.uniform(0.5, 1.5, (200, matrix.shape[1]))).astype(matrix.dtype)
    np.testing.assert_allclose(predictor.risks(noisy), predictor.reference(noisy), rtol=0, atol=1e-12)
    for row in matrix[:20]:
        assert predictor.risks(row[None, :])[0] == pytest.approx(predictor.reference(row[None, :])[0],
                                                                 abs=1e-12)
    assert predictor.risks(matrix[:0]).shape == (0,)


def test_check_same_with_and_without_fast_risks(scorer, small_world: Path) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    cases = [CheckRequest.model_validate_json(line) for line in requests(small_world, 60)]
    fast = [scorer.check(r, check_id="c", now=now) for r in cases]
    saved, scorer._predictor.fast = scorer._predictor.fast, None
    try:
        reference = [scorer.check(r, check_id="c", now=now) for r in cases]
    finally:
        scorer._predictor.fast = saved
    for a, b in zip(fast, reference, strict=True):
        assert a.model_dump(exclude={"elapsed_ms"}) == b.model_dump(exclude={"elapsed_ms"})


def test_topic_transform_equals_truncated_svd_transform(scorer, small_world: Path) -> None:
    """TopicModel.transform's contiguous-components product gives TruncatedSVD's floats."""
    topics = scorer.bundle.topics
    texts = [CheckRequest.model_validate_json(line).body for line in requests(small_world, 150)]

    def reference(batch: list[str]) -> np.ndarray:
        v = topics.svd.transform(topics.tfidf.transform(topics.hasher.transform(batch))).astype(np.float32)
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return v / norms

    assert np.array_equal(topics.transform(texts), reference(texts))
    assert all(np.array_equal(topics.transform([t]), reference([t])) for t in texts[:40])


def test_light_analysis_reusing_analyzer_spans_gives_identical_features(
        scorer, small_world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Serving hands the analyzer's identifier spans to ``light_analysis`` when both read the
    same text; the features must stay byte-identical to training's ``light_analysis(message)``
    (which never sees the analyzer). Messages with a quoted part or attachments are scanned
    again, and must match too."""
    from model.content import detectors
    from model.features import light_analysis, message_context, message_features

    real = detectors.detect_all
    scans: list[int] = []

    def counting(*args, **kwargs):
        scans.append(1)
        return real(*args, **kwargs)

    reused = rescanned = identifiers = 0
    lines = requests(small_world, 250)
    for line in lines:
        message = CheckRequest.model_validate_json(line).to_message("t")
        full = scorer.analyzer.analyze(message)
        reference = light_analysis(message)  # the training path
        scans.clear()
        with monkeypatch.context() as patch:
            patch.setattr(detectors, "detect_all", counting)
            served = light_analysis(message, reuse=full)
        reused += not scans
        rescanned += bool(scans)
        assert served.counts == reference.counts
        assert served.health_score == reference.health_score
        identifiers += sum(v for k, v in reference.counts.items() if k != "HEALTH")
        a, _ = message_features(message_context(message, scorer.profiles, reference), scorer.profiles)
        b, _ = message_features(message_context(message, scorer.profiles, served), scorer.profiles)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    # Both paths were exercised, on messages holding identifiers.
    assert reused >= len(lines) // 2 and rescanned >= 10
    assert identifiers >= 50


def _reason_messages(scorer, ev, display: str | None, code: str,
                     sensitive: dict[str, int] | None = None) -> list[str]:
    """The messages of ``code`` among the reasons given for ``ev``, in the scorer's language."""
    reasons = scorer._reasons(ev, display, bool(sensitive), sensitive or {}, [])
    return [r.message for r in reasons if r.code == code]


@pytest.mark.parametrize(("language", "greeting", "expected"), [
    ("fr", "F", "Le message s'adresse à « Madame », mais ce destinataire semble être un homme"),
    ("fr", "M", "Le message s'adresse à « Monsieur », mais ce destinataire semble être une femme"),
    ("en", "F", "The message greets “Madam”, but this recipient appears to be a man"),
])
def test_greeting_gender_reason(scorer, monkeypatch, language: str, greeting: str,
                                expected: str) -> None:
    from model.features import Evidence

    ev = Evidence(address="paul.durand@free.fr", field="to", kind="webmail", sent=3,
                  greeting_gender=greeting)
    monkeypatch.setattr(scorer.settings, "language", language)
    assert _reason_messages(scorer, ev, "Paul Durand", "greeting_gender") == [expected]
    # Copied recipients are not the one greeted.
    ev.field = "cc"
    assert not _reason_messages(scorer, ev, "Paul Durand", "greeting_gender")


@pytest.mark.parametrize(("language", "holder", "expected"), [
    ("fr", "M", "Le NIR du message est celui d'un homme, mais ce destinataire semble être une femme"),
    ("fr", "F", "Le NIR du message est celui d'une femme, mais ce destinataire semble être un homme"),
    ("en", "M", "The NIR in the message is a man's, but this recipient appears to be a woman"),
])
def test_nir_gender_reason(scorer, monkeypatch, language: str, holder: str,
                           expected: str) -> None:
    from model.features import Evidence

    ev = Evidence(address="moniquemartineau@laposte.net", field="to", kind="webmail", sent=3,
                  nir_holder=holder)
    monkeypatch.setattr(scorer.settings, "language", language)
    assert _reason_messages(scorer, ev, "Monique Martineau", "nir_gender", {"NIR": 1}) == [expected]


def test_nir_not_recipient_reason(scorer) -> None:
    from model.features import Evidence

    ev = Evidence(address="2750476379938@patient.mssante.fr", field="to", kind="patient",
                  sent=3, nir_not_recipient=True, nir_holder="M")
    codes = [r.code for r in scorer._reasons(ev, None, True, {"NIR": 1}, [])]
    # The stronger of the two NIR reasons only: the INS says more than a sex.
    assert "nir_not_recipient" in codes and "nir_gender" not in codes


def _nir(ins: str) -> str:
    from stdnum.fr import nir

    return ins + nir.calc_check_digits(ins)


# A secretary's letter to a patient's Mon espace santé address (<INS>@patient.mssante.fr).
SECRETARY, PATIENT_MSSANTE = "c.martin@cds-havre.example", "2661276387031@patient.mssante.fr"


def _attestation(nir: str, more: str = "") -> CheckRequest:
    body = ("Madame, Monsieur,\n\nVeuillez trouver votre attestation de soins (NIR {}) pour la "
            "consultation du 5 mars 2025.{}\n\nBien cordialement,\nLe secrétariat")
    return CheckRequest(sender=SECRETARY, to=[PATIENT_MSSANTE], subject="Attestation de soins",
                        body=body.format(nir, more))


def test_another_patients_nir_to_a_mon_espace_sante_address_warns(scorer) -> None:
    patient = PATIENT_MSSANTE

    def check(nir: str, sent_anyway: int = 0):
        request = _attestation(nir)
        return scorer.check(request, sent_anyway={(SECRETARY, patient):
                                                  sent_anyway}).recipients[0]

    other = check(_nir("2740576624638"))  # a woman's NIR, not this address's INS
    assert other.verdict in ("warn", "block")
    assert other.risk >= round(scorer.thresholds["warn"], 4) - 1e-4  # risk and verdict agree
    assert "nir_not_recipient" in [r.code for r in other.reasons]
    # The patient's own NIR: no such reason, whatever the model says of a new address.
    own = check(_nir("2661276387031"))
    assert "nir_not_recipient" not in [r.code for r in own.reasons]
    # Sent anyway once: the user knows (a parent's NIR on a child's address).
    if other.verdict == "warn":
        assert check(_nir("2740576624638"), sent_anyway=1).verdict == "send"


def test_a_bundle_of_other_features_is_refused_at_load(small_bundle, small_bundle_settings,
                                                       tmp_path) -> None:
    import shutil

    old = tmp_path / "old-bundle"
    shutil.copytree(small_bundle, old)
    metadata = json.loads((old / "metadata.json").read_text())
    metadata["feature_names"] = metadata["feature_names"][:-1]  # one feature fewer
    (old / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ValueError, match="réentraînez"):
        Scorer.load(old, small_bundle_settings)


def test_a_patients_own_nir_to_their_mon_espace_sante_address_passes(scorer, monkeypatch) -> None:
    patient, request = PATIENT_MSSANTE, _attestation
    own_nir = _nir("2661276387031")
    message = request(own_nir).to_message("probe", None)
    model_risk = scorer.model_risks(message, scorer.analyzer.analyze(message))[0][patient][0]
    # A warn threshold under the model's risk: without the rule the letter would be warned.
    warn = model_risk / 2
    monkeypatch.setitem(scorer.thresholds, "warn", warn)
    monkeypatch.setitem(scorer.thresholds, "block", 0.999)
    own = scorer.check(request(own_nir)).recipients[0]
    assert own.verdict == "send"
    assert own.risk < round(warn, 4)
    # Another patient named too, or a NIR that is not the holder's: the rule does not apply.
    named = scorer.check(request(own_nir, " Celle de votre voisin, M. Laurent Girard, suivra."))
    assert named.recipients[0].verdict != "send"
    two = scorer.check(request(own_nir, f" Et celle de votre fille (NIR {_nir('2740576624638')})."))
    assert two.recipients[0].verdict != "send"


@pytest.mark.parametrize(("language", "expected"), [
    ("fr", "Ce message ressemble à ce que votre organisation écrit à vos collègues, pas à une "
           "messagerie personnelle"),
    ("en", "This message looks like what your organisation writes to your colleagues, not to a "
           "personal mailbox"),
])
def test_kind_mismatch_reason(scorer, monkeypatch, language: str, expected: str) -> None:
    from model.features import Evidence

    ev = Evidence(address="cecile.turpin@orange.fr", field="to", kind="webmail", received=1,
                  best_kind="internal", kind_gap=0.4)
    monkeypatch.setattr(scorer.settings, "language", language)
    assert _reason_messages(scorer, ev, "Cécile Turpin", "kind_mismatch") == [expected]
    # A small gap says nothing worth a sentence.
    ev.kind_gap = 0.05
    assert not _reason_messages(scorer, ev, "Cécile Turpin", "kind_mismatch")


@pytest.mark.parametrize(("light", "ner", "shown"), [
    (["Roux"], ["Paul Girard", "Anne Roux"], ["Anne Roux"]),  # a bare surname after a title
    (["Julie Blin"], ["Julie Blin", "Anne Roux"], ["Julie Blin"]),  # already whole
    (["Roux"], ["Paul Girard"], ["Roux"]),  # the NER did not see it: the surname alone
])
def test_a_third_party_is_named_as_the_ner_wrote_them(light: list[str], ner: list[str],
                                                       shown: list[str]) -> None:
    from model.features import Evidence
    from model.scoring import _third_parties

    evidence = Evidence(address="anne.b@gmail.com", field="to", kind="webmail",
                        third_parties=light)
    assert _third_parties(evidence, "Anne Bertin", ner) == shown
