"""Behavioural tests of the trained model on the small synthetic world (Made-With-ML style):
minimum functionality (the seed leak is blocked), invariance (legitimate hard cases pass) and
directional checks (a mail-merge shift is caught)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.evaluate import as_sent
from model.schemas import CheckRequest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scorer(small_bundle: Path, small_bundle_settings, tmp_path_factory):
    from model.scoring import Scorer

    tmp = tmp_path_factory.mktemp("behavioral_store")
    settings = small_bundle_settings.model_copy(update={"history_url": f"sqlite:///{tmp}/h.db"})
    s = Scorer.load(small_bundle, settings)
    yield s
    s.close()


def cases_of(world: Path, kind: str) -> list[tuple[CheckRequest, dict]]:
    cases = (world / "cases.jsonl").read_text().splitlines()
    labels = (world / "labels.jsonl").read_text().splitlines()
    out = []
    for case, label in zip(cases, labels, strict=True):
        truth = json.loads(label)
        if truth.get("kind") == kind:
            out.append((CheckRequest.model_validate_json(case), truth))
    return out


def test_seed_leak_is_blocked_with_colleague_suggested(scorer, small_world: Path) -> None:
    seeds = cases_of(small_world, "seed")
    assert seeds, "the small world has no seed case"
    for request, truth in seeds:
        response = scorer.check(request)
        wrong = {r.address: r for r in response.recipients if r.address in truth["wrong"]}
        assert wrong, truth
        for rec in wrong.values():
            assert rec.verdict == "block", (rec.risk, [r.code for r in rec.reasons])
            assert rec.suggestion == truth["intended"]
            assert rec.reasons, "a blocked recipient must come with reasons"
        assert response.verdict == "block"
        assert response.sensitive.get("NIR", 0) > 0


def test_seed_leak_reasons_are_french_and_name_the_colleague(scorer, small_world: Path) -> None:
    request, truth = cases_of(small_world, "seed")[0]
    response = scorer.check(request)
    rec = next(r for r in response.recipients if r.address in truth["wrong"])
    codes = [r.code for r in rec.reasons]
    assert "near_duplicate" in codes
    text = " ".join(r.message for r in rec.reasons)
    assert truth["intended"] in text and "fois" in text


def _share_sent(scorer, pairs) -> float:
    verdicts = [scorer.check(request).verdict for request, _ in pairs]
    return sum(v == "send" for v in verdicts) / len(verdicts)


def test_patient_written_to_about_themselves_passes(scorer, small_world: Path) -> None:
    pairs = cases_of(small_world, "self")
    assert len(pairs) >= 10
    assert _share_sent(scorer, pairs) >= 0.95


def test_usual_correspondent_on_a_new_topic_passes(scorer, small_world: Path) -> None:
    pairs = cases_of(small_world, "new_topic")
    assert pairs
    assert _share_sent(scorer, pairs) >= 0.8


@pytest.fixture(scope="module")
def seed_scorers(scorer, small_world: Path, small_bundle_settings, tmp_path_factory):
    """The session's model (training seed 0) and two more trained with seeds 1 and 2."""
    from model.scoring import Scorer
    from model.train import train_model

    scorers = [scorer]
    for seed in (1, 2):
        tmp = tmp_path_factory.mktemp(f"behavioral_seed{seed}")
        settings = small_bundle_settings.model_copy(
            update={"history_url": f"sqlite:///{tmp}/h.db", "mlflow_uri": "none"})
        train_model([small_world / "history.mbox"], tmp / "model", mlflow_uri="none", seed=seed,
                    settings=settings)
        scorers.append(Scorer.load(tmp / "model", settings))
    yield scorers
    for extra in scorers[1:]:
        extra.close()


def test_mail_merge_shift_is_caught(seed_scorers, small_world: Path) -> None:
    """Directional: the shifted recipient is riskier than the person the content was for;
    minimum functionality: every model flags some shifts, and at least a fifth of them over
    three training seeds. S6 is the hardest scenario: about 60 % are caught on the default
    world (docs/model.md), but the small world's warn threshold rests on ~160 legitimate
    calibration messages and sits at 0.89-0.95, so one model flags 3 to 7 of its 15 shifts
    depending on the training seed (25 of 90 over seeds 0-5 in session 3, 28 %): the share is
    measured over three seeds, not on one draw, with a floor below that mean."""
    pairs = cases_of(small_world, "mail_merge_shift")
    assert pairs
    caught = riskier = 0
    for scorer in seed_scorers:
        caught_here = 0
        for request, truth in pairs:
            (wrong,) = truth["wrong"]
            response = scorer.check(request)
            rec = next(r for r in response.recipients if r.address == wrong)
            caught_here += rec.verdict != "send"
            fixed = scorer.check(as_sent(request, {wrong}, truth["intended"]))
            right = next(r for r in fixed.recipients if r.address == truth["intended"])
            riskier += rec.risk > right.risk
        assert caught_here >= 1
        caught += caught_here
    n = len(pairs) * len(seed_scorers)
    assert riskier / n >= 0.8
    assert caught / n >= 0.2


def test_greeting_swap_raises_risk(scorer, small_world: Path) -> None:
    """Directional: the same routine message with another person's name in the greeting is
    riskier than the original."""
    request, _ = cases_of(small_world, "routine")[0]
    base = scorer.check(request).recipients[0].risk
    swapped = request.model_copy(update={"body": "Bonjour Bérénice,\n\n" + request.body})
    assert scorer.check(swapped).recipients[0].risk >= base


def test_a_warning_proposes_the_address_meant_or_nothing(scorer, small_world: Path) -> None:
    """Minimum functionality of "who was probably meant": over the small world's warned
    misdirections, the proposal is the intended address at least 60 % of the time, and a
    proposal made is right at least 85 % of the time (the add-in offers it as the fix: a wrong
    one invites a second misdirection). Measured in session 10: 69 % and 96 %; the suggestion
    rules of sessions 1-9 gave 41 % and 44 %."""
    from model.evaluate import suggestion_quality, suggestion_row

    cases = (small_world / "cases.jsonl").read_text().splitlines()
    labels = (small_world / "labels.jsonl").read_text().splitlines()
    rows = []
    for case, label in zip(cases, labels, strict=True):
        truth = json.loads(label)
        response = scorer.check(CheckRequest.model_validate_json(case))
        rows.append(suggestion_row(response, set(truth["wrong"]), truth["scenario"],
                                   truth["intended"]))
    quality = suggestion_quality(rows)
    assert quality["n"] >= 30
    assert quality["correct"] >= 0.6, quality
    assert quality["precision"] >= 0.85, quality
