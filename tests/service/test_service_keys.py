"""The hashed API key store and the ``misdirect keys`` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.keys import KeyStore


def test_create_verify_revoke(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    info, key = store.create(label="add-in", role="client")
    assert key.startswith(f"md_{info.id}_") and len(key) > 40
    assert store.verify(key) == store.verify(key) is not None
    assert store.verify(key).role == "client"
    assert store.verify(key + "x") is None
    assert store.verify("") is None
    # Another process (the CLI) revokes: the running store sees it on the next request.
    assert KeyStore(tmp_path / "keys.json").revoke(info.id)
    assert store.verify(key) is None
    assert not store.revoke("nope")


def test_store_keeps_no_secret(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    _, key = store.create(label="x", role="admin")
    text = (tmp_path / "keys.json").read_text()
    secret = key.split("_", 2)[2]
    assert secret not in text and key not in text
    data = json.loads(text)
    assert len(bytes.fromhex(data["salt"])) == 16
    assert oct((tmp_path / "keys.json").stat().st_mode)[-3:] == "600"


@pytest.mark.parametrize(
    ("env_keys", "presented", "ok"),
    [
        (["a-long-trial-key-0001"], "a-long-trial-key-0001", True),
        (["a-long-trial-key-0001"], "a-long-trial-key-0002", False),
        (["k1", "k2"], "k2", True),
        ([], "k1", False),
    ],
)
def test_env_keys(tmp_path: Path, env_keys: list[str], presented: str, ok: bool) -> None:
    store = KeyStore(tmp_path / "absent.json", env_keys)
    principal = store.verify(presented)
    assert (principal is not None) == ok
    if ok:
        assert principal.role == "admin" and principal.key_id == "env"


def test_broken_store_does_not_crash(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("{not json")
    store = KeyStore(path, ["env-key-0123456789"])
    assert store.verify("whatever") is None
    assert store.verify("env-key-0123456789") is not None


def test_cli_create_list_revoke(tmp_path: Path) -> None:
    store = tmp_path / "keys.json"
    env = {**os.environ, "MISDIRECT_KEY_STORE": str(store)}
    cli = [sys.executable, "-m", "model.cli", "keys"]
    created = subprocess.run([*cli, "create", "--label", "poste 12"], env=env,
                             capture_output=True, text=True, check=True)
    key = created.stdout.strip()
    assert key.startswith("md_")
    listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True, check=True)
    assert "poste 12" in listed.stdout and "active" in listed.stdout and key not in listed.stdout
    key_id = listed.stdout.split("\t", 1)[0]
    subprocess.run([*cli, "revoke", key_id], env=env, capture_output=True, text=True, check=True)
    listed = subprocess.run([*cli, "list"], env=env, capture_output=True, text=True, check=True)
    assert "revoked" in listed.stdout
    bad = subprocess.run([*cli, "revoke", "zzzz"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert KeyStore(store).verify(key) is None
