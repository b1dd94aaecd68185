"""Property-based run over the app's own OpenAPI document: no input makes a server error.

Schemathesis generates valid and invalid requests for each operation (a few examples each, no
per-example deadline, the whole run well under 60 s) and calls the app in-process (lifespan
running). ``/v1/admin/reload`` is left out: each call loads a bundle for seconds (test_api
covers it).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from model.settings import Settings
from service.app import create_app

pytestmark = pytest.mark.slow

KEY = "schemathesis-key-0123456789abcdef"
EXAMPLES = 10


def test_no_server_error(small_bundle, tmp_path) -> None:
    app = create_app(Settings(
        var_dir=tmp_path / "var", history_url=f"sqlite:///{tmp_path / 'var' / 'history.db'}",
        key_store=tmp_path / "var" / "keys.json", model_dir=Path(small_bundle), api_keys=[KEY],
        reload_poll_s=0, log_level="WARNING", request_timeout_s=30,
    ))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    t0 = time.perf_counter()
    calls: dict[str, int] = {}
    server_errors: list[str] = []
    def run_operation(op, mode: GenerationMode) -> None:
        @given(case=op.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {KEY}"})
            calls[op.label] = calls.get(op.label, 0) + 1
            if response.status_code >= 500:
                server_errors.append(
                    f"{op.label} -> {response.status_code}: {response.content[:200]!r}"
                )

        run()

    for result in schema.get_all_operations():
        op = result.ok()
        if op.path == "/v1/admin/reload":
            continue
        run_operation(op, GenerationMode.POSITIVE)
        # Operations without parameters or body have no invalid input to generate.
        with contextlib.suppress(Unsatisfiable):
            run_operation(op, GenerationMode.NEGATIVE)
    elapsed = time.perf_counter() - t0
    assert server_errors == []
    assert len(calls) >= 7 and sum(calls.values()) >= 7 * EXAMPLES, calls
    assert elapsed < 60, elapsed
