"""The API over the real small model bundle (``small_bundle``), lifespan running.

One module-scoped client serves most tests (spaCy loads once); audit mode, reload and timeouts
build their own app.
"""

from __future__ import annotations

import base64
import json
import threading
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
def client(small_bundle, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    app = create_app(settings_for(tmp, Path(small_bundle)))
    with TestClient(app) as c:
        yield c


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
    req = {**REQUEST, "to": ["nouveau.partenaire@clinique-caux.example"], "cc": []}
    before = client.post("/v1/check", json=req, headers=AUTH).json()["recipients"][0]["risk"]
    for _ in range(5):
        r = client.post("/v1/sent", json=req, headers=AUTH)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "learned"
    after = client.post("/v1/check", json=req, headers=AUTH).json()["recipients"][0]["risk"]
    # Five messages to this recipient make it a known correspondent: not riskier than before.
    assert after <= before + 1e-9
    r = client.post("/v1/sent", json={**req, "to": ["bad address"]}, headers=AUTH)
    assert r.status_code == 422


def test_feedback_sent_anyway_lowers_warning(client) -> None:
    req = {**REQUEST, "to": ["inconnu.total@gmail.com"], "cc": []}
    first = client.post("/v1/check", json=req, headers=AUTH).json()
    rcpt = first["recipients"][0]
    for _ in range(3):
        r = client.post("/v1/feedback", headers=AUTH, json={
            "check_id": first["check_id"], "sender": req["sender"], "action": "sent_anyway",
            "recipient": rcpt["address"]})
        assert r.status_code == 201
    again = client.post("/v1/check", json=req, headers=AUTH).json()["recipients"][0]
    assert again["risk"] <= rcpt["risk"]
    if rcpt["risk"] > 0.05:
        assert again["risk"] < rcpt["risk"], (rcpt, again)


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


def test_audit_mode(small_bundle, tmp_path) -> None:
    app = create_app(settings_for(tmp_path, Path(small_bundle), audit_mode=True))
    risky = {**REQUEST, "to": ["slemaire@gmail.com"], "cc": ["x.inconnu@hotmail.fr"]}
    with TestClient(app) as c:
        answers = [c.post("/v1/check", json=r, headers=AUTH).json() for r in (REQUEST, risky)]
        for a in answers:
            assert a["verdict"] == "send"
            assert all(x["verdict"] == "send" and not x["reasons"] for x in a["recipients"])
        summary = c.get("/v1/admin/audit", headers=AUTH).json()
        assert summary["audit_mode"] is True and summary["checks"] == 2
        assert sum(summary["would_verdicts"].values()) == 2
        text = c.get("/metrics").text
        assert "misdirect_audit_would_verdict_total" in text
        assert 'misdirect_check_verdicts_total{verdict="send"} 2.0' in text
        assert c.get("/readyz").json()["audit_mode"] is True


def test_reload_without_failing_requests(small_bundle, tmp_path) -> None:
    app = create_app(settings_for(tmp_path, Path(small_bundle)))
    with TestClient(app) as c:
        version = c.get("/readyz").json()["model_version"]
        statuses: list[int] = []
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                statuses.append(c.post("/v1/check", json=REQUEST, headers=AUTH).status_code)

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            r = c.post("/v1/admin/reload", headers=AUTH)
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert r.status_code == 200, r.text
        assert r.json()["model_version"] == version and r.json()["previous_version"] == version
        assert statuses and set(statuses) == {200}
        # A broken bundle is refused and the old one keeps serving.
        r = c.post("/v1/admin/reload", headers=AUTH, json={"model_dir": str(tmp_path / "nope")})
        assert r.status_code == 409 and "ancien modèle" in r.json()["detail"]
        assert c.post("/v1/check", json=REQUEST, headers=AUTH).status_code == 200
        text = c.get("/metrics").text
        assert 'misdirect_model_reloads_total{outcome="ok"}' in text
        assert 'misdirect_model_reloads_total{outcome="failed"} 1.0' in text


def test_reload_followed_by_other_workers(small_bundle, tmp_path) -> None:
    """Two apps sharing var_dir stand for two workers: a reload on one reaches the other."""
    import time

    a = create_app(settings_for(tmp_path, Path(small_bundle), reload_poll_s=0.2))
    b = create_app(settings_for(tmp_path, Path(small_bundle), reload_poll_s=0.2))
    with TestClient(a) as ca, TestClient(b) as cb:
        loaded_before = b.state.holder.current.loaded_at
        assert ca.post("/v1/admin/reload", headers=AUTH).status_code == 200
        deadline = time.time() + 30
        while b.state.holder.current.loaded_at == loaded_before and time.time() < deadline:
            time.sleep(0.2)
        assert b.state.holder.current.loaded_at > loaded_before
        assert cb.post("/v1/check", json=REQUEST, headers=AUTH).status_code == 200


def test_timeout_is_504(small_bundle, tmp_path) -> None:
    app = create_app(settings_for(tmp_path, Path(small_bundle), request_timeout_s=0.0001))
    with TestClient(app) as c:
        r = c.post("/v1/check", json=REQUEST, headers=AUTH)
        assert r.status_code == 504 and "temps" in r.json()["detail"]
