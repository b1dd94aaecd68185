"""The ``misdirect`` command line: a thin layer over the package's functions.

Each command imports its stage lazily so that ``misdirect --help`` stays instant and nothing
heavy (spaCy, MLflow, LightGBM) loads unless the command needs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="misdirect",
    help="Stops e-mail from reaching the wrong person.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)  # progress and messages
stdout = Console()  # machine-readable results (JSON), so scripts can pipe them


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Output folder for history.mbox, cases.jsonl, labels.jsonl")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same world")] = 42,
    size: Annotated[str, typer.Option(help="small (seconds, for tests) or default (10-20k messages)")] = "default",
) -> None:
    """Generate the synthetic French health-centre world."""
    from model.synthetic import generate_world

    if size not in ("small", "default"):
        raise typer.BadParameter("size must be 'small' or 'default'", param_hint="--size")
    summary = generate_world(out, seed=seed, size=size)  # type: ignore[arg-type]
    stdout.print_json(data=summary)


@app.command()
def train(
    history: Annotated[list[Path], typer.Option(help="mbox, maildir, folder of .eml, or JSONL of check requests; repeatable")],
    model: Annotated[Path, typer.Option("--model", help="Output folder of the model bundle")],
    mlflow_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI (default: local SQLite)")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation and the fit")] = 0,
) -> None:
    """Build history profiles, simulate misdirections, fit, calibrate, evaluate, save and log."""
    from model.settings import get_settings
    from model.train import train_model

    result = train_model(history, model, mlflow_uri=mlflow_uri, seed=seed, settings=get_settings())
    stdout.print_json(data=result)


@app.command()
def score(
    model: Annotated[Path, typer.Option("--model", help="Model bundle folder")],
    input: Annotated[Path, typer.Option("--input", help="JSONL of check requests")],
    output: Annotated[Path, typer.Option("--output", help="JSONL of check responses, same order")],
) -> None:
    """Score check requests in batch: exactly the code path of ``POST /v1/check``."""
    from model.scoring import score_file
    from model.settings import get_settings

    counts = score_file(model, input, output, settings=get_settings())
    stdout.print_json(data=counts)


@app.command()
def serve(
    model: Annotated[Path | None, typer.Option("--model", help="Model bundle folder")] = None,
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Start the HTTP API with uvicorn."""
    import os

    from model.settings import get_settings

    if model is not None:
        # The app factory reads settings from the environment (also in worker processes),
        # so the variable is set before the settings are first read and cached.
        if not model.is_dir():
            raise typer.BadParameter(f"no model bundle folder at {model}", param_hint="--model")
        os.environ["MISDIRECT_MODEL_DIR"] = str(model.resolve())
        get_settings.cache_clear()
    settings = get_settings()
    # Workers are forked from a parent that has loaded the NLP stack once (faster start-up).
    from service.serve import serve as run_server

    run_server(host or settings.host, port or settings.port, workers, settings)


@app.command()
def ingest(
    history: Annotated[list[Path], typer.Option(help="mbox, maildir, folder of .eml, .eml or JSONL of check requests; repeatable")],
    dedup: Annotated[bool, typer.Option(help="Drop copies of one message (Enron keeps copies in several folders)")] = True,
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON on stdout")] = False,
) -> None:
    """Read mail history and print what was read: counts only, never contents."""
    import time

    from model.ingest import IngestStats, print_summary, read_messages

    stats = IngestStats()
    start = time.perf_counter()
    try:
        for _ in read_messages(history, stats=stats, progress=progress, dedup=dedup, keep_attachments=False):
            pass
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--history") from exc
    seconds = time.perf_counter() - start
    if json_out:
        typer.echo(json.dumps({**stats.to_dict(), "seconds": round(seconds, 3)}, ensure_ascii=False))
    else:
        print_summary(stats, console, seconds=seconds)


# ``misdirect keys create|list|revoke`` (stdlib + typer only: --help stays instant).
from service.keys_cli import keys_app  # noqa: E402

app.add_typer(keys_app, name="keys")


@app.command()
def evaluate(
    model: Annotated[Path, typer.Option("--model", help="Model bundle folder")],
    cases: Annotated[Path, typer.Option("--cases", help="JSONL of check requests")],
    labels: Annotated[Path, typer.Option("--labels", help="JSONL of labels, line i for case i")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the metrics JSON here")] = None,
) -> None:
    """Score labelled cases and report ROC-AUC, detection, false alarms, top-1, per scenario."""
    import json

    from model.evaluate import evaluate_cases
    from model.settings import get_settings

    metrics = evaluate_cases(model, cases, labels, settings=get_settings())
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(metrics, indent=2))
    stdout.print_json(data=metrics)


@app.command()
def retrain(
    history: Annotated[list[Path], typer.Option(help="The history the model was trained on, plus any newer export; repeatable")],
    deploy: Annotated[Path | None, typer.Option(help="The service's bundle folder (default MISDIRECT_MODEL_DIR), swapped to the new version when promoted")] = None,
    versions: Annotated[Path | None, typer.Option(help="Where bundle versions are kept (default: <deploy>/../versions)")] = None,
    mlflow_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI (default: MISDIRECT_MLFLOW_URI)")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulation and the fit (keep the training one)")] = 0,
    feedback_fit_share: Annotated[float, typer.Option(help="Share of feedback examples (oldest) used for fitting; the rest evaluates")] = 0.0,
    service_url: Annotated[str | None, typer.Option(help="Running service to reload when promoted, e.g. http://127.0.0.1:8000")] = None,
    admin_key: Annotated[str | None, typer.Option(envvar="MISDIRECT_ADMIN_KEY", help="Admin API key for the reload (env MISDIRECT_ADMIN_KEY)")] = None,
) -> None:
    """Retrain from the history and users' feedback; move ``champion`` only if not worse; deploy and reload."""
    from model.retrain import retrain as run_retrain
    from model.settings import get_settings

    summary = run_retrain(history, settings=get_settings(), deploy_dir=deploy, versions_dir=versions,
                          mlflow_uri=mlflow_uri, seed=seed, feedback_fit_share=feedback_fit_share,
                          service_url=service_url, api_key=admin_key)
    stdout.print_json(data=summary)


def main() -> None:
    """Entry point of the ``misdirect`` script: expected failures (a missing file, a bad bundle,
    unreadable input) end with one clear line and exit code 2 instead of a traceback.
    ``MISDIRECT_DEBUG=1`` shows the traceback."""
    import os

    try:
        app()
    except (FileNotFoundError, NotADirectoryError, PermissionError, ValueError) as exc:
        if os.environ.get("MISDIRECT_DEBUG") == "1":
            raise
        console.print(f"[bold red]Erreur :[/bold red] {exc}", highlight=False)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
