"""No content leaves the request: names, NIR and IBAN sent to check, sent and feedback never
appear in the logs, the history/feedback store files, the metrics or the MLflow store."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model.settings import Settings
from service.app import create_app
from service.logs import JsonFormatter, RequestIdFilter

pytestmark = pytest.mark.slow

KEY = "privacy-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}

# Unusual values so that a hit cannot come from the synthetic world itself.
NAMES = ["Anatolie Zbigniewska", "Gwendoline Kerhervé", "Théophraste Quillebeuf"]
NIR_PLAIN = "184127645108946"
NIR_SPACED = "1 84 12 76 451 089 46"
IBAN = "FR76 3000 6000 0112 3456 7890 189"
SECRET_WORDS = ["ostéosarcome", "Quillebeuf", "Zbigniewska", "Kerhervé"]


def forbidden_values() -> list[str]:
    values = [*NAMES, NIR_SPACED, NIR_PLAIN, IBAN, IBAN.replace(" ", ""), *SECRET_WORDS]
    for name in NAMES:
        values.extend(name.split())
    return sorted(set(values))


def message() -> dict:
    body = (
        f"Bonjour,\nVoici le dossier de Mme {NAMES[0]} (NIR {NIR_SPACED}), suivie pour un "
        f"ostéosarcome, et celui de M. {NAMES[2]}.\nRIB du patient : {IBAN}.\n"
        f"Le Dr {NAMES[1]} attend les résultats.\nCordialement"
    )
    return {
        "sender": {"address": "c.martin@cds-havre.example", "name": "Camille Martin"},
        "to": ["s.lemaire@cds-havre.example"],
        "cc": [{"address": "secretariat@clinique-caux.example", "name": "Secrétariat"}],
        "subject": f"Dossier {NAMES[0]} — ostéosarcome",
        "body": body,
        "attachments": [{
            "filename": "bordereau.csv", "content_type": "text/csv",
            "content_base64": __import__("base64").b64encode(
                f"nom;nir;iban\n{NAMES[2]};{NIR_PLAIN};{IBAN}\n".encode()).decode(),
        }],
    }


def scan(path: Path, values: list[str]) -> list[str]:
    """Every (file, value) where a value occurs, in UTF-8 or UTF-16 (SQLite text) encodings."""
    hits = []
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for f in files:
        data = f.read_bytes()
        for v in values:
            for enc in ("utf-8", "utf-16-le", "utf-16-be"):
                if v.encode(enc) in data or v.lower().encode(enc) in data:
                    hits.append(f"{f}: {v!r}")
    return hits


def test_no_content_in_logs_stores_metrics_mlflow(small_bundle, small_bundle_settings,
                                                  tmp_path) -> None:
    bundle = Path(small_bundle)
    var = tmp_path / "var"
    settings = Settings(
        var_dir=var, history_url=f"sqlite:///{var / 'history.db'}", key_store=var / "keys.json",
        model_dir=bundle, api_keys=[KEY], reload_poll_s=0, log_level="DEBUG",
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.setLevel(logging.DEBUG)
    watched = [logging.getLogger(), logging.getLogger("misdirect"), logging.getLogger("uvicorn")]
    old_levels = [lg.level for lg in watched]
    for lg in watched:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        app = create_app(settings)
        with TestClient(app) as c:
            msg = message()
            r = c.post("/v1/check", json=msg, headers=AUTH)
            assert r.status_code == 200, r.text
            check = r.json()
            assert check["sensitive"].get("NIR", 0) >= 1
            assert check["sensitive"].get("IBAN", 0) >= 1
            assert c.post("/v1/sent", json=msg, headers=AUTH).status_code == 202
            fb = {"check_id": check["check_id"], "sender": msg["sender"],
                  "action": "changed_recipient", "recipient": "s.lemaire@cds-havre.example",
                  "replaced_by": "secretariat@clinique-caux.example"}
            assert c.post("/v1/feedback", json=fb, headers=AUTH).status_code == 201
            # Bad input is logged too: it must not be echoed either.
            bad = {**msg, "to": [f"{NAMES[0]} <pas-une-adresse>"]}
            assert c.post("/v1/check", json=bad, headers=AUTH).status_code == 422
            metrics_text = c.get("/metrics").text
    finally:
        for lg, level in zip(watched, old_levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)

    logs = stream.getvalue()
    assert '"message": "check"' in logs and check["check_id"] in logs  # the log did capture
    values = forbidden_values()
    assert [v for v in values if v in logs or v.lower() in logs.lower()] == []
    assert [v for v in values if v in metrics_text] == []
    # History and feedback stores (SQLite files incl. WAL) and everything else under var/.
    assert var.exists() and any(var.rglob("*.db*"))
    assert scan(var, values) == []
    # The bundle (its history snapshot, which /v1/sent may update) and the MLflow store.
    assert scan(bundle, values) == []
    # The MLflow store the small bundle was logged to (tracking DB and artifacts).
    mlflow_dir = Path(small_bundle_settings.var_dir)
    assert any(mlflow_dir.rglob("mlflow.db"))
    assert scan(mlflow_dir, values) == []
