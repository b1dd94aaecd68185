"""Figures of the evaluation notebook and the benchmark plots (matplotlib, Agg canvas).

Every function builds a :class:`matplotlib.figure.Figure` on its own Agg canvas: no pyplot, no
global backend switch, nothing done at import. ``to_png`` gives the PNG bytes (the notebook
displays them), ``save_png`` writes a file (``bench/plots.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SCENARIO_NAMES = {
    "S1": "adresse presque identique",
    "S2": "voisin d'autocomplétion",
    "S3": "homonyme",
    "S4": "mauvaise organisation",
    "S5": "données d'un tiers à une adresse privée",
    "S6": "décalage de publipostage",
    "S7": "contact connu sans rapport",
    "S8": "destinataire en trop",
    "feedback": "erreurs réelles signalées",
}


def new_figure(width: float = 6.4, height: float = 4.0) -> Figure:
    """A figure drawn by the Agg canvas (set here, not at import, and not process-wide)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def save_png(fig: Figure, path: Path) -> Path:
    """Write the figure as a PNG file (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


# ---------------------------------------------------------------------- per recipient
def pr_curve(label: np.ndarray, risk: np.ndarray, title: str = "Précision-rappel (par destinataire)") -> Figure:
    """Precision-recall curve of ``risk`` against ``label`` (1 = wrong recipient)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig = new_figure()
    ax = fig.add_subplot()
    if 0 < int(np.sum(label)) < len(label):
        precision, recall, _ = precision_recall_curve(label, risk)
        ap = average_precision_score(label, risk)
        ax.plot(recall, precision, lw=2, label=f"PR-AUC = {ap:.3f}")
        ax.axhline(float(np.mean(label)), color="grey", ls=":", label="hasard")
    ax.set(xlabel="rappel", ylabel="précision", xlim=(0, 1), ylim=(0, 1.02), title=title)
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    return fig


def roc_curve(label: np.ndarray, risk: np.ndarray, title: str = "ROC (par destinataire)") -> Figure:
    """ROC curve with its AUC, and the false-positive axis also shown on a log scale inset."""
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as sk_roc

    fig = new_figure()
    ax = fig.add_subplot()
    if 0 < int(np.sum(label)) < len(label):
        fpr, tpr, _ = sk_roc(label, risk)
        ax.plot(fpr, tpr, lw=2, label=f"ROC-AUC = {roc_auc_score(label, risk):.3f}")
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="hasard")
    ax.set(xlabel="taux de faux positifs", ylabel="taux de vrais positifs", xlim=(0, 1),
           ylim=(0, 1.02), title=title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def calibration_curve(label: np.ndarray, risk: np.ndarray, bins: int = 10,
                      title: str = "Calibration du risque") -> Figure:
    """Observed share of wrong recipients per risk bin against the mean predicted risk."""
    fig = new_figure()
    ax = fig.add_subplot()
    risk = np.asarray(risk, dtype=float)
    label = np.asarray(label, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(risk, edges[1:-1]), 0, bins - 1)
    xs, ys, ns = [], [], []
    for b in range(bins):
        mask = idx == b
        if mask.any():
            xs.append(risk[mask].mean())
            ys.append(label[mask].mean())
            ns.append(int(mask.sum()))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="calibration parfaite")
    ax.plot(xs, ys, marker="o", lw=2, label="observé")
    for x, y, n in zip(xs, ys, ns, strict=True):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set(xlabel="risque prédit (moyenne du groupe)", ylabel="part de mauvais destinataires",
           xlim=(0, 1), ylim=(0, 1.02), title=title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def risk_histograms(label: np.ndarray, risk: np.ndarray, thresholds: Mapping[str, float] | None = None,
                    title: str = "Risque des destinataires légitimes et erronés") -> Figure:
    """Risk distributions of legitimate (0) and wrong (1) recipients, log counts."""
    fig = new_figure()
    ax = fig.add_subplot()
    label = np.asarray(label)
    risk = np.asarray(risk, dtype=float)
    bins = np.linspace(0, 1, 41)
    ax.hist(risk[label == 0], bins=bins, alpha=0.6, label=f"légitimes (n={int((label == 0).sum())})")
    ax.hist(risk[label == 1], bins=bins, alpha=0.6, label=f"erronés (n={int((label == 1).sum())})")
    for name, value in (thresholds or {}).items():
        ax.axvline(value, ls="--", color="black" if name == "warn" else "red", lw=1,
                   label=f"seuil {name} = {value:.3f}")
    ax.set_yscale("log")
    ax.set(xlabel="risque", ylabel="destinataires (échelle log)", title=title)
    ax.legend()
    return fig


# ---------------------------------------------------------------------- per message
def threshold_sweep(message_risk: np.ndarray, is_misdirected: np.ndarray,
                    operating_point: float | None = None, target: float | None = None,
                    title: str = "Détection et fausses alertes selon le seuil") -> Figure:
    """Per message: detection of misdirected messages and false-alarm rate on legitimate ones
    as the threshold moves (flag when risk >= threshold), the chosen threshold marked."""
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    message_risk = np.asarray(message_risk, dtype=float)
    mis = np.asarray(is_misdirected, dtype=bool)
    grid = np.unique(np.concatenate([np.linspace(0, 1, 201), message_risk]))
    detection = np.array([(message_risk[mis] >= t).mean() if mis.any() else np.nan for t in grid])
    false_alarm = np.array([(message_risk[~mis] >= t).mean() if (~mis).any() else np.nan
                            for t in grid])
    ax.plot(grid, detection, lw=2, label="détection (messages mal adressés)")
    ax.plot(grid, false_alarm, lw=2, label="fausses alertes (messages légitimes)")
    ax.set_yscale("symlog", linthresh=0.01)
    if target is not None:
        ax.axhline(target, color="grey", ls=":", label=f"objectif {target:.1%} de fausses alertes")
    if operating_point is not None:
        d = float((message_risk[mis] >= operating_point).mean()) if mis.any() else float("nan")
        f = float((message_risk[~mis] >= operating_point).mean()) if (~mis).any() else float("nan")
        ax.axvline(operating_point, color="black", ls="--", lw=1)
        ax.plot([operating_point], [d], "ko")
        ax.plot([operating_point], [f], "ks")
        ax.annotate(f"seuil {operating_point:.3f}\ndétection {d:.1%}\nfausses alertes {f:.2%}",
                    (operating_point, d), textcoords="offset points", xytext=(8, -40), fontsize=8)
    ax.set(xlabel="seuil de risque", ylabel="taux (échelle symlog)", xlim=(0, 1), title=title)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def detection_per_scenario(per_scenario: Mapping[str, Mapping[str, float]],
                           keys: Sequence[str] = ("detection_at_verdict", "detection_at_target", "top1"),
                           title: str = "Détection par scénario") -> Figure:
    """Grouped bars: one group per scenario (S1-S8, feedback), one bar per metric present."""
    fig = new_figure(8.0, 4.2)
    ax = fig.add_subplot()
    codes = sorted(per_scenario)
    present = [k for k in keys if any(per_scenario[c].get(k) is not None for c in codes)]
    width = 0.8 / max(1, len(present))
    x = np.arange(len(codes))
    for i, key in enumerate(present):
        values = [float(per_scenario[c].get(key) or 0.0) for c in codes]
        ax.bar(x + (i - (len(present) - 1) / 2) * width, values, width, label=key)
    labels = [f"{c}\n(n={int(per_scenario[c].get('n', 0))})" for c in codes]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set(ylim=(0, 1.05), ylabel="part des messages mal adressés", title=title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def latency_histogram(latency_ms: Sequence[float], title: str = "Latence du score (ms)") -> Figure:
    """Distribution of scoring latencies with p50 / p95 / p99 marked."""
    fig = new_figure()
    ax = fig.add_subplot()
    values = np.asarray(latency_ms, dtype=float)
    if len(values):
        ax.hist(values, bins=min(50, max(5, len(values) // 5)), color="tab:blue", alpha=0.8)
        for q, style in ((50, "-"), (95, "--"), (99, ":")):
            v = float(np.percentile(values, q))
            ax.axvline(v, color="black", ls=style, lw=1, label=f"p{q} = {v:.1f} ms")
        ax.legend()
    ax.set(xlabel="ms", ylabel="requêtes", title=title)
    return fig


# ---------------------------------------------------------------------- benchmark results
def latency_percentiles(runs: Sequence[Mapping[str, float]],
                        title: str = "Latence de /v1/check (boucle locale)") -> Figure:
    """p50 / p90 / p99 / max per load level of ``bench/latency.py`` (its ``runs`` list), with
    the throughput written above each group."""
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    keys = [k for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms") if any(k in r for r in runs)]
    x = np.arange(len(runs))
    width = 0.8 / max(1, len(keys))
    for i, key in enumerate(keys):
        ax.bar(x + (i - (len(keys) - 1) / 2) * width, [float(r.get(key) or 0) for r in runs],
               width, label=key.removesuffix("_ms"))
    for xi, r in zip(x, runs, strict=True):
        if r.get("throughput_rps") is not None:
            top = max(float(r.get(k) or 0) for k in keys) if keys else 0
            ax.annotate(f"{r['throughput_rps']:.1f} req/s", (xi, top), ha="center",
                        textcoords="offset points", xytext=(0, 3), fontsize=8)
    ax.set_xticks(x, [f"{r.get('concurrency', '?')} en parallèle\n({r.get('requests', '?')} req.)"
                      for r in runs], fontsize=8)
    ax.set(ylabel="ms", title=title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def published_bars(ours: Mapping[str, Mapping[str, float | None]],
                   published: Mapping[str, float],
                   title: str = "Enron : misdirect et chiffres publiés") -> Figure:
    """One group per measure (e.g. "détection des fuites"), the published figure and ours per
    mailbox side by side. ``ours[mailbox][measure]``; ``published[measure]``."""
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    measures = list(published)
    series = [("publié", {m: published[m] for m in measures})]
    series += [(name, values) for name, values in ours.items()]
    width = 0.8 / max(1, len(series))
    x = np.arange(len(measures))
    for i, (name, values) in enumerate(series):
        heights = [float(values.get(m) or 0.0) for m in measures]
        bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, heights, width, label=name)
        for bar, h in zip(bars, heights, strict=True):
            ax.annotate(f"{h:.0%}", (bar.get_x() + bar.get_width() / 2, h), ha="center",
                        textcoords="offset points", xytext=(0, 2), fontsize=7)
    ax.set_xticks(x, measures, fontsize=8)
    ax.set(ylim=(0, 1.1), ylabel="part détectée", title=title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def show(fig: Figure) -> None:
    """Display the figure as a PNG in a notebook (IPython imported only here)."""
    from IPython.display import Image, display

    display(Image(data=to_png(fig), format="png"))
