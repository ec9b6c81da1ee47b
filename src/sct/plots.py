"""Training curves as PNG: loss (and its logged components) and dev score over steps; dev curves of several runs."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_training_log(log_path: str | Path, png_path: str | Path, title: str = "SCT training") -> None:
    records = read_log(log_path)
    loss = [(r["step"], r["loss"]) for r in records if "loss" in r]
    dev = [(r["step"], r["dev_spearman"]) for r in records if "dev_spearman" in r]
    fig, (ax_loss, ax_dev) = plt.subplots(1, 2, figsize=(10, 3.8))
    if loss:
        ax_loss.plot(*zip(*loss, strict=True), color="black", label="total")
    components = sorted({k for r in records for k in r if k.startswith("loss_")})
    for name in components:  # weighted terms of a joint objective, e.g. loss_cd and loss_sct
        ax_loss.plot(*zip(*[(r["step"], r[name]) for r in records if name in r], strict=True), lw=1, label=name)
    if components:
        ax_loss.legend(fontsize=8)
    ax_loss.set(xlabel="step", ylabel="training loss", title="loss")
    if dev:
        ax_dev.plot(*zip(*dev, strict=True), marker="o", color="tab:green")
        best_step, best = max(dev, key=lambda sd: sd[1])
        ax_dev.axhline(best, ls=":", color="grey")
        ax_dev.annotate(
            f"best {best:.2f} @ {best_step}",
            (best_step, best),
            textcoords="offset points",
            xytext=(4, -12),
            fontsize=8,
        )
    ax_dev.set(xlabel="step", ylabel="STS-B dev Spearman x100", title="dev score")
    fig.suptitle(title)
    _save(fig, png_path)


def plot_dev_curves(curves: dict[str, list[list[float]]], png_path: str | Path, title: str) -> None:
    """STS-B dev score over steps for several runs on one axis (``curves``: name -> [[step, score], ...])."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    colours = plt.get_cmap("tab20").colors
    for i, (name, points) in enumerate(curves.items()):
        ax.plot(*zip(*points, strict=True), marker="o", ms=3, label=name, color=colours[(2 * i) % 20 + (2 * i) // 20])
    ax.set(xlabel="step (of its own stage)", ylabel="STS-B dev Spearman x100", title=title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    _save(fig, png_path)


def plot_xy(
    series: dict[str, list[tuple[float, float]]],
    png_path: str | Path,
    title: str,
    xlabel: str,
    ylabel: str,
    log_x: bool = False,
) -> None:
    """One line per series (``series``: name -> [(x, y), ...]), e.g. a score against a hyper-parameter."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, points in series.items():
        ax.plot(*zip(*points, strict=True), marker="o", label=name)
    if log_x:
        ax.set_xscale("log", base=2)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, png_path)


def _save(fig, png_path: str | Path) -> None:
    """Write via a temporary file and rename, so a PNG is never half-written."""
    png_path = Path(png_path)
    tmp = png_path.with_name(png_path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(png_path)
