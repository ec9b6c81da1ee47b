"""Training curves as PNG: loss and dev score over steps, from ``training_log.jsonl``."""

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
        ax_loss.plot(*zip(*loss, strict=True), color="tab:blue")
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
    fig.tight_layout()
    png_path = Path(png_path)
    tmp = png_path.with_name(png_path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(png_path)
