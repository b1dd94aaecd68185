"""bench/diagnose.py on the small world: the figures it writes add up, and hold no message text."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path


def _diagnose_module():
    spec = importlib.util.spec_from_file_location(
        "bench_diagnose", Path(__file__).resolve().parents[1] / "bench" / "diagnose.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_diagnose_writes_counts_that_add_up_and_no_message_text(
        small_world: Path, small_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "ceiling.json"
    diagnose = _diagnose_module()
    assert diagnose.main(["--model", str(small_bundle), "--world", str(small_world),
                          "--oracle", "--out", str(out)]) == 0
    written = out.read_text()
    result = json.loads(written)["bundles"][0]
    labels = [json.loads(line) for line in (small_world / "labels.jsonl").read_text().splitlines()]
    misdirected = sum(label["scenario"] != "legit" for label in labels)
    assert result["misdirected_messages"] == misdirected
    assert result["legitimate_messages"] == len(labels) - misdirected
    per_scenario = result["per_scenario"]
    assert sum(total for _, total in per_scenario.values()) == misdirected
    assert sum(caught for caught, _ in per_scenario.values()) == result["caught_at_target"]
    assert sum(result["missed_by_kind"].values()) == misdirected - result["caught_at_target"]
    assert len(result["oracle_caught_at_target"]) == 3
    assert all(0 <= c <= misdirected for c in result["oracle_caught_at_target"])
    # Counts only: no subject, body or address of the world's cases.
    cases = [json.loads(line) for line in (small_world / "cases.jsonl").read_text().splitlines()]
    for case in cases[:50]:
        assert case["subject"] not in written
        first = case["to"][0]
        assert (first if isinstance(first, str) else first["address"]) not in written
