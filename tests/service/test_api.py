"""The API over the real small model bundle (``small_bundle``), lifespan running.

One module-scoped client serves most tests (spaCy loads once); audit mode, reload and timeouts
build their own app.
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.settings import Settings
from service.app import create_app

pytestmark = pytest.mark.slow

KEY = "api-test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
NIR = "1 84 12 76 451 089 46"

REQUEST = {
    "sender": {"address": "c.martin@cds-havre.example", "name": "Camille Martin"},
    "to": ["s.lemaire@cds-havre.example", {"address": "slemaire@gmail.com", "name": None}],
    "cc": ["facturation@cds-havre.example"],
    "bcc": [],
    "subject": "Télétransmission du 2 juin",
    "body": f"Bonjour Sophie,\nci-joint le bordereau de M. Paul Roux, NIR {NIR}.\nCamille",
    "body_format": "text",
    "sent_at": "2023-06-03T09:12:00+02:00",
}


def settings_for(tmp: Path, bundle: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "var_dir": tmp / "var",
        "history_url": f"sqlite:///{tmp / 'var' / 'history.db'}",
        "key_store": tmp / "var" / "keys.json",
        "model_dir": bundle,
        "api_keys": [KEY],
        "reload_poll_s": 0,
        "max_attachment_bytes": 4096,
        "max_attachments": 3,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def eager_bundle(small_bundle, tmp_path_factory) -> Path:
    """The small bundle with low warn/block thresholds, so the service's policy paths (warnings,
    sent-anyway feedback, audit mode) are exercised whatever the small model's calibration."""
    path = tmp_path_factory.mktemp("eager") / "bundle"
    shutil.copytree(small_bundle, path)
    meta = json.loads((path / "metadata.json").read_text())
    meta["thresholds"] = {**meta.get("thresholds", {}), "warn": 0.2, "block": 0.3}
    (path / "metadata.json").write_text(json.dumps(meta))
    return path


@pytest.fixture(scope="module")
def client(eager_bundle, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    app = create_app(settings_for(tmp, eager_bundle))
    with TestClient(app) as c:
        yield c


@contextmanager
def overridden(client, **changes: object):
    """Change the running app's settings for a moment (they are read on every request)."""
    app = client.app
    saved = app.state.settings
    app.state.settings = saved.model_copy(update=changes)
    try:
        yield
    finally:
        app.state.settings = saved


def recipients_of(req: dict) -> list[str]:
    return [(r if isinstance(r, str) else r["address"]).lower()
            for f in ("to", "cc", "bcc") for r in req.get(f, [])]


def test_ready_and_health(client) -> None:
    assert client.get("/healthz").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "ready" and r.json()["model_version"]


def test_check_contract(client) -> None:
    r = client.post("/v1/check", json=REQUEST, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] in ("send", "warn", "block")
    assert [x["address"] for x in body["recipients"]] == recipients_of(REQUEST)
    assert [x["field"] for x in body["recipients"]] == ["to", "to", "cc"]
    assert body["risk"] == pytest.approx(max(x["risk"] for x in body["recipients"]))
    assert all(isinstance(v, int) for v in body["sensitive"].values())
    assert body["sensitive"].get("NIR", 0) >= 1
    assert NIR.replace(" ", "") not in json.dumps(body).replace(" ", "")
    assert body["model_version"] == client.get("/readyz").json()["model_version"]
    assert r.headers["x-request-id"]


def test_check_html_and_attachment(client) -> None:
    csv = b"nom;nir\nRoux;184127645108946\n"
    req = {**REQUEST, "body_format": "html", "body": "<p>Bonjour <b>Sophie</b></p>" * 3,
           "attachments": [{"filename": "b.csv", "content_type": "text/csv",
                            "content_base64": base64.b64encode(csv).decode()}]}
    r = client.post("/v1/check", json=req, headers=AUTH)
    assert r.status_code == 200, r.text
    deep = {**REQUEST, "body_format": "html", "body": "<div>" * 5000 + "x" + "</div>" * 5000}
    r = client.post("/v1/check", json=deep, headers=AUTH)
    assert r.status_code in (200, 422), r.text


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        ({"sender": 5, "to": "x"}, 422, "sender"),
        ({"to": ["pas une adresse"]}, 422, "adresse"),
        ({"sender": "nobody"}, 422, "sender"),
        ({"cc": [{"address": "a@@b.fr"}]}, 422, "cc"),
        ({"body_format": "markdown"}, 422, "body_format"),
        ({"sent_at": "hier"}, 422, "sent_at"),
        ({"attachments": [{"filename": "x.pdf", "content_base64": "abc"}]}, 422, "base64"),
        ({"attachments": [{"filename": "x.bin", "content_base64": "A" * 8000}]}, 413, "jointe"),
        ({"attachments": [{"filename": f"{i}.txt", "content_base64": ""} for i in range(4)]},
         413, "pièces jointes"),
        ({"to": "s.lemaire@cds-havre.example"}, 422, "to"),
    ],
)
def test_check_bad_input(client, change: dict, status: int, needle: str) -> None:
    r = client.post("/v1/check", json={**REQUEST, **change}, headers=AUTH)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]


def test_check_malformed_json(client) -> None:
    r = client.post("/v1/check", content=b'{"sender": "a@b.fr", "to": [',
                    headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["detail"]
    r = client.post("/v1/check", json=REQUEST)
    assert r.status_code == 401


def test_sent_learns(client) -> None:
    """/v1/sent updates the served profiles and the persistent history store."""
    sender, rcpt = "c.martin@cds-havre.example", "nouveau.partenaire@clinique-caux.example"
    req = {**REQUEST, "to": [rcpt], "cc": []}
    scorer = client.app.state.holder.scorer
    assert scorer.profiles.pair(sender, rcpt) is None
    stored_before = scorer.store.count_messages()
    for _ in range(5):
        r = client.post("/v1/sent", json=req, headers=AUTH)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "learned"
    assert scorer.profiles.pair(sender, rcpt).count == 5
    assert scorer.store.count_messages() == stored_before + 5
    assert client.post("/v1/check", json=req, headers=AUTH).status_code == 200
    assert 'misdirect_sent_total 5.0' in client.get("/metrics").text
    r = client.post("/v1/sent", json={**req, "to": ["bad address"]}, headers=AUTH)
    assert r.status_code == 422


def test_feedback_sent_anyway_lowers_warning(client) -> None:
    """S5: a NIR to an unknown webmail is flagged; after the sender sent anyway twice to that
    recipient (feedback), the same draft is flagged one level lower."""
    order = {"send": 0, "warn": 1, "block": 2}
    req = {**REQUEST, "to": ["inconnu.total@gmail.com"], "cc": []}
    first = client.post("/v1/check", json=req, headers=AUTH).json()
    rcpt = first["recipients"][0]
    assert rcpt["verdict"] in ("warn", "block"), first
    for _ in range(2):
        r = client.post("/v1/feedback", headers=AUTH, json={
            "check_id": first["check_id"], "sender": req["sender"], "action": "sent_anyway",
            "recipient": rcpt["address"]})
        assert r.status_code == 201
    again = client.post("/v1/check", json=req, headers=AUTH).json()["recipients"][0]
    assert order[again["verdict"]] == order[rcpt["verdict"]] - 1, (rcpt, again)
    # Another sender's feedback does not change this sender's answer.
    other = {**req, "sender": "autre.personne@cds-havre.example"}
    third = client.post("/v1/check", json=other, headers=AUTH).json()["recipients"][0]
    assert third["verdict"] != "send"


def test_metrics_after_checks(client) -> None:
    client.post("/v1/check", json=REQUEST, headers=AUTH)
    text = client.get("/metrics").text
    version = client.get("/readyz").json()["model_version"]
    assert f'misdirect_model_info{{model_version="{version}"}} 1.0' in text
    assert "misdirect_check_duration_seconds_count" in text
    assert "misdirect_check_verdicts_total{verdict=" in text
    assert 'misdirect_sensitive_detected_total{kind="NIR"}' in text
    assert "misdirect_ready 1.0" in text
    # Counts and timings only: nothing of the messages.
    for value in ("Roux", "Sophie", "c.martin", "slemaire", NIR, "184127645108946"):
        assert value not in text


def test_audit_mode(client) -> None:
    risky = {**REQUEST, "to": ["slemaire@gmail.com"], "cc": ["x.inconnu@hotmail.fr"]}
    before = client.get("/v1/admin/audit", headers=AUTH).json()
    assert before["audit_mode"] is False and before["checks"] == 0
    normal = client.post("/v1/check", json=risky, headers=AUTH).json()
    assert normal["verdict"] != "send"  # what the model says, warnings on
    with overridden(client, audit_mode=True):
        answers = [client.post("/v1/check", json=r, headers=AUTH).json() for r in (REQUEST, risky)]
        for a in answers:
            assert a["verdict"] == "send" and not a["advice"]
            assert all(x["verdict"] == "send" and not x["reasons"] and x["suggestion"] is None
                       for x in a["recipients"])
        assert answers[1]["risk"] == normal["risk"]
        summary = client.get("/v1/admin/audit", headers=AUTH).json()
        assert summary["audit_mode"] is True and summary["checks"] == 2
        assert summary["would_verdicts"][normal["verdict"]] >= 1
        assert summary["would_flag_rate"] >= 0.5
        assert client.get("/readyz").json()["audit_mode"] is True
    text = client.get("/metrics").text
    assert f'misdirect_audit_would_verdict_total{{verdict="{normal["verdict"]}"}}' in text
    r = client.get("/v1/admin/audit", headers=AUTH, params={"since": "2999-01-01T00:00:00"})
    assert r.json()["checks"] == 0


def test_timeout_is_504(client) -> None:
    with overridden(client, request_timeout_s=0.0001):
        r = client.post("/v1/check", json=REQUEST, headers=AUTH)
    assert r.status_code == 504 and "temps" in r.json()["detail"]
    assert client.post("/v1/check", json=REQUEST, headers=AUTH).status_code == 200


def test_reload_without_failing_requests(small_bundle, tmp_path) -> None:
    """Two apps sharing var_dir stand for two workers. A reload on one, under load, fails no
    request; the other worker follows it; a broken bundle is refused and the old one serves."""
    a = create_app(settings_for(tmp_path, Path(small_bundle), reload_poll_s=0.2))
    b = create_app(settings_for(tmp_path, Path(small_bundle), reload_poll_s=0.2))
    with TestClient(a) as ca, TestClient(b) as cb:
        version = ca.get("/readyz").json()["model_version"]
        loaded_b = b.state.holder.current.loaded_at
        statuses: list[int] = []
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                statuses.append(ca.post("/v1/check", json=REQUEST, headers=AUTH).status_code)

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            r = ca.post("/v1/admin/reload", headers=AUTH)
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert r.status_code == 200, r.text
        assert r.json()["model_version"] == version and r.json()["previous_version"] == version
        assert statuses and set(statuses) == {200}
        deadline = time.time() + 30
        while b.state.holder.current.loaded_at == loaded_b and time.time() < deadline:
            time.sleep(0.2)
        assert b.state.holder.current.loaded_at > loaded_b
        assert cb.post("/v1/check", json=REQUEST, headers=AUTH).status_code == 200
        # A broken bundle is refused and the old one keeps serving.
        r = ca.post("/v1/admin/reload", headers=AUTH, json={"model_dir": str(tmp_path / "nope")})
        assert r.status_code == 409 and "ancien modèle" in r.json()["detail"]
        assert ca.post("/v1/check", json=REQUEST, headers=AUTH).status_code == 200
        text = ca.get("/metrics").text
        assert 'misdirect_model_reloads_total{outcome="ok"}' in text
        assert 'misdirect_model_reloads_total{outcome="failed"} 1.0' in text
