"""HTTP behaviour that needs no model: auth, CORS, size bounds, bad input, feedback, metrics.

The app runs its lifespan (``with TestClient(app)``) with no bundle: /readyz says 503 and
/v1/check 503, everything else works. Model-backed behaviour is in test_api.py.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from service.app import create_app


@pytest.fixture
def client(make_settings):
    app = create_app(make_settings(max_request_bytes=64 * 1024))
    with TestClient(app) as c:
        yield c


def test_health_without_model(client, api_key) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "not_ready"
    r = client.post("/v1/check", json={"sender": "a@b.fr", "to": ["c@d.fr"]},
                    headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 503 and "modèle" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/v1/check", "/v1/sent", "/v1/feedback", "/v1/admin/reload"])
@pytest.mark.parametrize(
    "header", [None, "Bearer ", "Bearer wrong-key-000000000", "Basic {key}", "{key}"]
)
def test_auth_required(client, api_key, path: str, header: str | None) -> None:
    header = header.format(key=api_key) if header else header
    headers = {"Authorization": header} if header is not None else {}
    r = client.post(path, json={}, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "clé" in r.json()["detail"].lower()


def test_admin_needs_admin_key(make_settings) -> None:
    settings = make_settings()
    app = create_app(settings)
    from service.keys import KeyStore

    _, client_key = KeyStore(settings.key_store).create(label="poste", role="client")
    with TestClient(app) as c:
        r = c.post("/v1/admin/reload", headers={"Authorization": f"Bearer {client_key}"})
        assert r.status_code == 403
        r = c.get("/v1/admin/audit", headers={"Authorization": f"Bearer {client_key}"})
        assert r.status_code == 403
        # The client key is fine for client endpoints.
        r = c.post("/v1/feedback", headers={"Authorization": f"Bearer {client_key}"},
                   json={"sender": "a@b.fr", "action": "cancelled"})
        assert r.status_code == 201


def test_open_endpoints(client) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert client.get(path).status_code in (200, 503)
    spec = client.get("/openapi.json").json()
    for path in ("/v1/check", "/v1/feedback", "/v1/sent", "/v1/admin/reload", "/healthz"):
        assert path in spec["paths"]


def test_cors_preflight(client, origin) -> None:
    r = client.options(
        "/v1/check",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == origin
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    assert "POST" in r.headers["access-control-allow-methods"]
    # An origin that is not configured gets no permission.
    r = client.options(
        "/v1/check",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization"},
    )
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers
    # A simple request from the add-in carries the allow-origin header too.
    r = client.get("/healthz", headers={"Origin": origin})
    assert r.headers["access-control-allow-origin"] == origin


def test_request_too_large(client, auth) -> None:
    big = {"sender": "a@b.fr", "action": "cancelled", "pad": "x" * (70 * 1024)}
    r = client.post("/v1/feedback", json=big, headers=auth)
    assert r.status_code == 413 and "volumineuse" in r.json()["detail"]

    def chunks():  # no Content-Length: the bound holds while streaming
        for _ in range(100):
            yield b"x" * 1024

    r = client.post("/v1/feedback", content=chunks(), headers=auth)
    assert r.status_code == 413
    # Unauthenticated and too large: refused before anything is parsed.
    r = client.post("/v1/check", content=b"x" * (65 * 1024))
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("content", "ctype", "status"),
    [
        (b'{"sender": "a@b.fr", "action": ', "application/json", 400),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        (b"[]", "application/json", 422),
        (b'"just a string"', "application/json", 422),
        (b'{"sender": 5, "action": "cancelled"}', "application/json", 422),
        (b'{"sender": "a@b.fr", "action": "deleted"}', "application/json", 422),
        (b'{"sender": "not an address", "action": "cancelled"}', "application/json", 422),
        (b'{"sender": "a@b.fr", "action": "sent_anyway"}', "application/json", 422),
        (b'{"sender": "a@b.fr", "action": "changed_recipient", "recipient": "x@y.fr"}',
         "application/json", 422),
        (b'{"sender": "a@b.fr", "action": "cancelled", "at": "yesterday"}', "application/json",
         422),
        (b"sender=a@b.fr", "application/x-www-form-urlencoded", 422),
        (b"", "application/json", 422),
    ],
)
def test_bad_input_is_4xx(client, auth, content: bytes, ctype: str, status: int) -> None:
    r = client.post("/v1/feedback", content=content, headers={**auth, "Content-Type": ctype})
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"]
    # The offending input is never echoed back (it could be a message body).
    assert "garbage" not in r.text


def test_english_messages(make_settings) -> None:
    app = create_app(make_settings(language="en"))
    with TestClient(app) as c:
        r = c.post("/v1/feedback", json={})
        assert r.status_code == 401 and "Missing API key" in r.json()["detail"]


def test_feedback_stored_without_content(client, auth, tmp_path) -> None:
    r = client.post("/v1/feedback", headers=auth, json={
        "check_id": "abc", "sender": {"address": "C.Martin@cds-havre.example", "name": "Camille"},
        "action": "changed_recipient", "recipient": "slemaire@gmail.com",
        "replaced_by": "s.lemaire@cds-havre.example", "at": "2023-06-03T09:13:00+02:00"})
    assert r.status_code == 201
    for _ in range(2):
        r = client.post("/v1/feedback", headers=auth, json={
            "sender": "c.martin@cds-havre.example", "action": "sent_anyway",
            "recipient": "dr.petit@clinique.example"})
        assert r.status_code == 201
    store = client.app.state.store
    counts = store.sent_anyway(
        "c.martin@cds-havre.example", ["dr.petit@clinique.example", "slemaire@gmail.com"]
    )
    assert counts == {("c.martin@cds-havre.example", "dr.petit@clinique.example"): 2}
    from sqlalchemy import select

    from service.store import Feedback

    with store.session() as s:
        rows = s.scalars(select(Feedback).order_by(Feedback.id)).all()
    assert rows[0].sender == "c.martin@cds-havre.example"  # normalised
    assert rows[0].replaced_by == "s.lemaire@cds-havre.example"
    assert rows[0].check_id == "abc"
    assert {c.name for c in Feedback.__table__.columns} == {
        "id", "check_id", "sender", "action", "recipient", "replaced_by", "at", "received_at"}


def test_request_id_and_metrics(client, auth) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"
    client.post("/v1/feedback", json={}, headers={"Authorization": "Bearer nope"})
    text = client.get("/metrics").text
    assert 'misdirect_errors_total{kind="auth"}' in text
    assert 'misdirect_http_requests_total{method="POST",route="/v1/feedback",status="401"}' in text
    assert "misdirect_ready 0.0" in text


def test_unknown_route_and_method(client, auth) -> None:
    r = client.get("/v1/nope", headers=auth)
    assert r.status_code == 404 and r.json()["detail"] == "Ressource introuvable."
    r = client.get("/v1/check", headers=auth)
    assert r.status_code == 405
    assert json.loads(r.text)["detail"]
