"""The command line's own behaviour: expected failures end with one clear line, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "model.cli", *args], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("train", "--history", "/nonexistent/inbox.mbox", "--model", "/tmp/never"),
         "/nonexistent/inbox.mbox"),
        (("score", "--model", "/nonexistent/bundle", "--input", "data/synthetic/cases.jsonl",
          "--output", "/tmp/never.jsonl"), "/nonexistent/bundle"),
    ],
)
def test_expected_failures_are_one_clear_line(args: tuple[str, ...], expected: str,
                                              repo_root: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "model.cli", *args], capture_output=True,
                            text=True, timeout=120, check=False, cwd=repo_root)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Erreur" in result.stderr and expected in result.stderr


def test_training_on_too_small_a_history_says_so(tmp_path: Path, repo_root: Path) -> None:
    history = tmp_path / "few.jsonl"
    lines = (repo_root / "data/synthetic/cases.jsonl").read_text().splitlines()[:3]
    history.write_text("\n".join(lines) + "\n")
    result = run_cli("train", "--history", str(history), "--model", str(tmp_path / "m"),
                     "--mlflow-uri", "none")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "3 messages utilisables" in result.stderr and "au moins 50" in result.stderr


def test_help_lists_the_contract_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("generate", "train", "score", "serve", "evaluate"):
        assert command in result.stdout
