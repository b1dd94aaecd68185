"""One typed settings object for the command line, the model and the service.

Every field can be set from the environment with the ``MISDIRECT_`` prefix, e.g.
``MISDIRECT_HISTORY_URL=postgresql+psycopg://...``. Reading settings has no side effects:
directories are created by the code that writes into them, not here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_KEYS = {"changeme", "change-me", "secret", "test", "dev"}


class Settings(BaseSettings):
    """Runtime configuration (environment variables ``MISDIRECT_*``)."""

    model_config = SettingsConfigDict(env_prefix="MISDIRECT_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    language: Literal["fr", "en"] = "fr"

    # Storage: everything local by default (SQLite files under var/).
    var_dir: Path = Path("var")
    history_url: str = "sqlite:///var/history.db"
    mlflow_uri: str = "sqlite:///var/mlflow.db"
    mlflow_experiment: str = "misdirect"
    registered_model_name: str = "misdirect"
    model_dir: Path = Path("models/current")

    # Content analysis.
    spacy_model: str = "fr_core_news_md"

    # Decision policy.
    target_false_alarm_rate: float = Field(0.005, gt=0, lt=0.5)
    audit_mode: bool = False

    # Service.
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    key_store: Path = Path("var/api_keys.json")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_request_bytes: int = 15 * 1024 * 1024
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 20
    request_timeout_s: float = 4.0
    log_level: str = "INFO"

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        # MISDIRECT_API_KEYS="k1,k2": plain comma-separated, not JSON.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            weak = [k for k in self.api_keys if k.lower() in PLACEHOLDER_KEYS or len(k) < 16]
            if weak:
                raise ValueError(
                    "MISDIRECT_API_KEYS holds a placeholder or short key in production"
                )
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
