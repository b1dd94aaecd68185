"""``misdirect serve --workers 2``: forked workers all become ready, answer, reload on SIGHUP
and stop cleanly on SIGTERM (a real server on 127.0.0.1)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

KEY = "serve-test-key-0123456789abcdef"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_forked_workers(small_bundle, tmp_path: Path, repo_root: Path) -> None:
    port = _port()
    env = {**os.environ, "MISDIRECT_API_KEYS": KEY, "MISDIRECT_VAR_DIR": str(tmp_path),
           "MISDIRECT_HISTORY_URL": f"sqlite:///{tmp_path / 'history.db'}",
           "MISDIRECT_KEY_STORE": str(tmp_path / "keys.json"), "MISDIRECT_LOG_LEVEL": "INFO"}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "model.cli", "serve", "--model", str(small_bundle),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        cwd=repo_root, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        pids: set[int] = set()
        deadline = time.time() + 120
        while len(pids) < 2 and time.time() < deadline:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            try:
                r = httpx.get(url + "/readyz", timeout=2)
                if r.status_code == 200:
                    pids.add(r.json()["worker"])
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        assert len(pids) == 2, "both workers should become ready"
        assert server.pid not in pids  # the parent only supervises
        headers = {"Authorization": f"Bearer {KEY}"}
        req = {"sender": "c.martin@cds-havre.example", "to": ["s.lemaire@cds-havre.example"],
               "subject": "Rendez-vous", "body": "Bonjour Sophie, à demain."}
        assert httpx.post(url + "/v1/check", json=req, headers=headers, timeout=30).status_code == 200
        # The parent deals connections to the workers in turn: 6 keep-alive connections opened
        # one after the other are 3 + 3, and each stays with its worker.
        clients = [httpx.Client(base_url=url, timeout=10) for _ in range(6)]
        try:
            first = [c.get("/readyz").json()["worker"] for c in clients]
            again = [c.get("/readyz").json()["worker"] for c in clients]
        finally:
            for c in clients:
                c.close()
        assert sorted(first.count(p) for p in pids) == [3, 3], first
        assert again == first
        os.kill(server.pid, signal.SIGHUP)  # every worker reloads in place
        deadline = time.time() + 90
        while time.time() < deadline:
            text = (tmp_path / "server.log").read_text()
            if text.count('"message": "model loaded"') >= 4:
                break
            time.sleep(0.5)
        assert text.count('"message": "model loaded"') >= 4, text[-2000:]
        assert httpx.post(url + "/v1/check", json=req, headers=headers, timeout=30).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
        log.close()
    assert code == 0
