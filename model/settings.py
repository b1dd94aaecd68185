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
    # Latency bounds (2-core machine): NER ~25 ms/KB, identifier detectors ~2 ms/KB.
    content_max_ner_chars: int = 20_000  # NER runs on this prefix of the analysed text
    content_max_text_chars: int = 300_000  # identifiers are searched in this much
    # NER only on windows around the tokens that can be names (model/content/nerselect.py).
    content_ner_select: bool = True
    # Cache every chunk the tokenizer has seen, as spaCy means to (model/content/tokcache.py).
    content_tokenizer_cache: bool = True
    attachment_max_pages: int = 50
    attachment_max_chars: int = 500_000
    attachment_timeout_s: float = 1.0

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
    # Feedback and audit tables (SQLAlchemy URL); None: the history store's database.
    feedback_url: str | None = None
    # Checks scored at once per worker: more threads only fight over the GIL.
    check_concurrency: int = Field(2, ge=1, le=64)
    # How often a worker looks for a reload asked of another worker (seconds; 0: never).
    reload_poll_s: float = Field(1.0, ge=0)

    # Outlook add-in, served by the service under /addin/ (service/addin_files.py).
    # Public https origin of the service as Outlook reaches it; empty: taken from each request.
    public_base_url: str = ""
    addin_id: str = "5d3c1f0e-6a2b-4c7d-9e8f-1a2b3c4d5e6f"
    # Key written into the add-in's config.js. Anyone with the add-in can read it: treat it as an
    # installation identifier. Empty in development: the first of api_keys.
    addin_api_key: str = ""
    addin_fail_mode: Literal["open", "closed"] = "open"
    addin_time_budget_ms: int = Field(4000, ge=500, le=4800)
    addin_send_mode: Literal["PromptUser", "SoftBlock", "Block"] = "SoftBlock"

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
