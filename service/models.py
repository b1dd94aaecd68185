"""Response models of the service's own endpoints (the check models are in model/schemas.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorResponse(BaseModel):
    detail: str
    code: str | None = None


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    status: Literal["ready", "not_ready"]
    model_version: str | None = None
    audit_mode: bool = False
    worker: int = Field(description="Process id of the worker that answered")


class FeedbackResponse(BaseModel):
    id: int
    status: Literal["stored"] = "stored"


class SentResponse(BaseModel):
    status: Literal["learned"] = "learned"
    model_version: str


class ReloadRequest(BaseModel):
    """Optional: the bundle folder to load (default: the configured model_dir)."""

    model_config = ConfigDict(extra="forbid")

    model_dir: Annotated[str | None, Field(max_length=4096)] = None


class ReloadResponse(BaseModel):
    status: Literal["reloaded"] = "reloaded"
    model_version: str
    previous_version: str | None
    load_seconds: float


class AuditSummary(BaseModel):
    audit_mode: bool
    checks: int
    would_verdicts: dict[str, int]
    would_flag_rate: float | None = Field(
        description="Share of checks the model would have warned about or blocked"
    )
    since: str | None = None
