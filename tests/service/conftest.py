"""Fixtures of the service tests: settings in a temporary folder and a known API key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from model.settings import Settings

API_KEY = "test-key-0123456789abcdef"
ORIGIN = "https://addin.cds-havre.example"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings whose files all live in tmp_path; keyword arguments override fields."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "var_dir": tmp_path / "var",
            "history_url": f"sqlite:///{tmp_path / 'var' / 'history.db'}",
            "key_store": tmp_path / "var" / "keys.json",
            "model_dir": tmp_path / "no-model",
            "api_keys": [API_KEY],
            "cors_origins": [ORIGIN],
            "reload_poll_s": 0,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def api_key() -> str:
    return API_KEY


@pytest.fixture
def origin() -> str:
    return ORIGIN
