"""Shared fixtures. Heavy fixtures (a small world, a trained bundle) are session-scoped so the
suite pays for them once."""

from __future__ import annotations

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
