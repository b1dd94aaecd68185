"""Shared fixtures. Heavy fixtures (a small world, a trained bundle) are session-scoped so the
suite pays for them once."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


# ---------------------------------------------------------------- a small world and its model
SMALL_WORLD_SEED = 7


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small synthetic world (history.mbox, cases.jsonl, labels.jsonl, world.json)."""
    from model.synthetic import generate_world

    out = tmp_path_factory.mktemp("small_world")
    generate_world(out, seed=SMALL_WORLD_SEED, size="small")
    return out


@pytest.fixture(scope="session")
def small_bundle_settings(tmp_path_factory: pytest.TempPathFactory):
    """Settings whose MLflow and history store live in a temporary folder."""
    from model.settings import Settings

    tmp = tmp_path_factory.mktemp("small_bundle_var")
    return Settings(var_dir=tmp, mlflow_uri=f"sqlite:///{tmp}/mlflow.db",
                    history_url=f"sqlite:///{tmp}/history.db")


@pytest.fixture(scope="session")
def small_bundle(small_world: Path, small_bundle_settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model bundle trained on the small world (MLflow in a temporary folder)."""
    from model.train import train_model

    out = tmp_path_factory.mktemp("small_bundle") / "model"
    train_model([small_world / "history.mbox"], out, mlflow_uri=small_bundle_settings.mlflow_uri,
                seed=0, settings=small_bundle_settings)
    return out


@pytest.fixture(scope="session")
def content_analyzer():
    """One loaded :class:`~model.content.ContentAnalyzer` (spaCy loads in a few seconds)."""
    from model.content import ContentAnalyzer

    return ContentAnalyzer().load()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """MISDIRECT_TEST_POSTGRES_URL, else a throw-away server (initdb + pg_ctl, as the postgres
    user when run as root) on a Unix socket; skipped when neither is possible."""
    pytest.importorskip("psycopg")
    url = os.environ.get("MISDIRECT_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("no PostgreSQL server and no initdb/pg_ctl")
    base = Path(tempfile.mkdtemp(prefix="misdirect-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        runuser = shutil.which("runuser")
        if not runuser:
            pytest.skip("running as root without runuser")
        shutil.chown(base, user="postgres")
        prefix = [runuser, "-u", "postgres", "--"]
    data, port = base / "data", 55000 + os.getpid() % 1000
    try:
        subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                        f"-k {base} -p {port} -c listen_addresses=''", "start"],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"could not start a PostgreSQL server: {exc}")
    yield f"postgresql+psycopg://postgres@/postgres?host={base}&port={port}"
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True,
                   timeout=120, check=False)
    shutil.rmtree(base, ignore_errors=True)
