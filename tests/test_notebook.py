"""The evaluation notebook: committed without outputs, runs end to end, its figures render."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "evaluation.ipynb"


def test_notebook_is_committed_without_outputs() -> None:
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "the notebook has no code cell"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code)
    # No reusable logic in the notebook: no function or class definitions.
    source = "\n".join("".join(c["source"]) for c in code)
    assert "def " not in source and "class " not in source


def test_plots_do_not_touch_the_backend_at_import() -> None:
    import importlib

    import matplotlib

    before = matplotlib.get_backend() if "matplotlib.pyplot" in sys.modules else None
    importlib.import_module("model.plots")
    assert "matplotlib.pyplot" not in sys.modules or matplotlib.get_backend() == before


@pytest.mark.slow
def test_notebook_runs_and_renders_figures(small_world: Path, small_bundle: Path,
                                           small_bundle_settings, monkeypatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    # The champion of the session's registry (the small bundle or a later, not-worse version).
    monkeypatch.setenv("MISDIRECT_NB_MODEL", "champion")
    monkeypatch.setenv("MISDIRECT_MLFLOW_URI", small_bundle_settings.mlflow_uri)
    monkeypatch.setenv("MISDIRECT_REGISTERED_MODEL_NAME", small_bundle_settings.registered_model_name)
    monkeypatch.setenv("MISDIRECT_NB_WORLD", str(small_world))
    monkeypatch.setenv("MISDIRECT_NB_ENRON", "")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    started = time.perf_counter()
    # kernel "python3": ipykernel's own kernelspec in this venv (jupyter_client runs it with
    # sys.executable), so a fresh CI venv needs no `ipykernel install`.
    NotebookClient(nb, kernel_name="python3", timeout=240,
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    seconds = time.perf_counter() - started
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if o.output_type in ("display_data", "execute_result")
              and "image/png" in o.get("data", {})]
    # PR, ROC, per scenario, calibration, histograms, threshold sweep, latency.
    assert len(images) >= 7
    for image in images:
        import base64

        png = base64.b64decode(image["data"]["image/png"])
        assert png.startswith(b"\x89PNG") and len(png) > 5000
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "modèle" in text and "messages" in text
    assert "Enron" in text  # skipped, and says so
    assert seconds < 150, f"the notebook took {seconds:.0f} s"
