"""model/plots.py and bench/plots.py: every figure renders to a real PNG."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from model import plots

ROOT = Path(__file__).resolve().parents[1]
rng = np.random.default_rng(0)
LABEL = np.r_[np.zeros(300, dtype=int), np.ones(60, dtype=int)]
RISK = np.clip(np.r_[rng.beta(2, 8, 300), rng.beta(6, 2, 60)], 0, 1)
PER_SCENARIO = {f"S{i}": {"n": 10, "detection_at_target": i / 10, "top1": 0.9,
                          "detection_at_verdict": i / 12} for i in range(1, 9)}

FIGURES = [
    ("pr", lambda: plots.pr_curve(LABEL, RISK)),
    ("roc", lambda: plots.roc_curve(LABEL, RISK)),
    ("calibration", lambda: plots.calibration_curve(LABEL, RISK)),
    ("histograms", lambda: plots.risk_histograms(LABEL, RISK, {"warn": 0.8, "block": 0.9})),
    ("sweep", lambda: plots.threshold_sweep(RISK, LABEL.astype(bool), 0.8, 0.005)),
    ("per_scenario", lambda: plots.detection_per_scenario(PER_SCENARIO)),
    ("latency", lambda: plots.latency_histogram(rng.gamma(4, 10, 200))),
    ("latency_empty", lambda: plots.latency_histogram([])),
    ("one_class", lambda: plots.roc_curve(np.zeros(5, dtype=int), np.linspace(0, 1, 5))),
    ("percentiles", lambda: plots.latency_percentiles(
        [{"concurrency": 1, "requests": 50, "p50_ms": 40, "p90_ms": 60, "p99_ms": 90,
          "max_ms": 120, "throughput_rps": 24.0}])),
    ("published", lambda: plots.published_bars({"lay-k": {"a": 0.7, "b": None}},
                                               {"a": 0.82, "b": 0.87})),
]


@pytest.mark.parametrize(("name", "make"), FIGURES, ids=[f[0] for f in FIGURES])
def test_figure_renders_png(name: str, make) -> None:
    png = plots.to_png(make())
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 3000, name


def _bench_plots():
    spec = importlib.util.spec_from_file_location("bench_plots", ROOT / "bench" / "plots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_bench_plots_renders_what_is_there(tmp_path: Path) -> None:
    bench = _bench_plots()
    metrics = {"per_scenario": PER_SCENARIO, "top1": 0.6, "recipient_detection_at_target": 0.5}
    (tmp_path / "detect.json").write_text(json.dumps({
        "synthetic": {"test_month": metrics},
        "enron": [{"mailbox": "lay-k.mbox", "metrics": metrics}]}))
    summary = bench.render(tmp_path, tmp_path / "png")
    names = sorted(Path(w["png"]).name for w in summary["written"])
    assert names == ["detect_enron_lay-k.png", "detect_synthetic.png", "enron_vs_published.png"]
    assert any("latency.json" in s for s in summary["skipped"])
    for w in summary["written"]:
        assert Path(w["png"]).read_bytes().startswith(b"\x89PNG")

    (tmp_path / "latency.json").write_text(json.dumps({
        "server": {"workers": 1},
        "runs": [{"concurrency": c, "requests": 100, "p50_ms": 30 * c, "p90_ms": 40 * c,
                  "p99_ms": 50 * c, "max_ms": 60 * c, "throughput_rps": 20.0} for c in (1, 8)]}))
    assert bench.main(["--results", str(tmp_path), "--out", str(tmp_path / "png")]) == 0
    assert (tmp_path / "png" / "latency.png").exists()
    assert json.loads((tmp_path / "png" / "plots.json").read_text())["skipped"] == []
