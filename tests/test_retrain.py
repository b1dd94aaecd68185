"""model/retrain.py without training: feedback → labelled examples, the bundle swap, reload."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from model.retrain import FEEDBACK_SCENARIO, deploy, feedback_examples, request_reload

FEEDBACK = [
    # action, recipient, replaced_by, examples (scenario, address, label)
    ("changed_recipient", "s.lemaire@cds-havre.exemple", "s.lemaire@cds-havre.example",
     [(FEEDBACK_SCENARIO, "s.lemaire@cds-havre.exemple", 1),
      ("legit", "s.lemaire@cds-havre.example", 0)]),
    ("sent_anyway", "nouveau.patient@gmail.com", None,
     [("legit", "nouveau.patient@gmail.com", 0)]),
    ("cancelled", None, None, []),
    ("changed_recipient", "a.b@cds-havre.example", "a.b@cds-havre.example", []),  # no change
]


def test_feedback_becomes_labelled_examples(tmp_path: Path) -> None:
    from service.store import FeedbackStore

    url = f"sqlite:///{tmp_path / 'fb.db'}"
    store = FeedbackStore(url)
    for k, (action, recipient, replaced_by, _) in enumerate(FEEDBACK):
        store.add_feedback(sender="c.martin@cds-havre.example", action=action,
                           recipient=recipient, replaced_by=replaced_by, check_id=f"c{k}",
                           at=datetime(2024, 1, 1 + k, 9, tzinfo=UTC))
    store.close()
    got = feedback_examples(url)
    want = [e for *_, examples in FEEDBACK for e in examples]
    assert [(e.scenario, e.message.to[0].address, e.labels[e.message.to[0].address])
            for e in got.examples] == want
    assert got.counts == {"changed_recipient": 2, "sent_anyway": 1, "cancelled": 1, "unusable": 1}
    caught = got.examples[0]
    assert caught.intended == "s.lemaire@cds-havre.example" and caught.message.body == ""
    assert caught.message.date == datetime(2024, 1, 1, 9, tzinfo=UTC)
    assert feedback_examples(url, since=datetime(2024, 1, 2, tzinfo=UTC)).counts["changed_recipient"] == 1


def test_deploy_swaps_a_symlink_and_moves_a_real_folder_aside(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    v1, v2 = versions / "v1", versions / "v2"
    for v in (v1, v2):
        v.mkdir(parents=True)
        (v / "model.joblib").write_text(v.name)
    current = tmp_path / "current"
    current.mkdir()  # a first `misdirect train --model current`
    (current / "model.joblib").write_text("v0")
    deploy(v1, current)
    assert current.is_symlink() and (current / "model.joblib").read_text() == "v1"
    aside = [p for p in versions.iterdir() if p.name.startswith("current-before-")]
    assert len(aside) == 1 and (aside[0] / "model.joblib").read_text() == "v0"
    deploy(v2, current)
    assert (current / "model.joblib").read_text() == "v2"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_request_reload_needs_a_url_or_a_client() -> None:
    with pytest.raises(ValueError, match="service_url"):
        request_reload(None, "key")
