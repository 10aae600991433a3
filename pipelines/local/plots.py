"""PNG plots of a local run: tuning objective per job (best marked), confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_plots(
    outdir: Path,
    tuning_jobs: list[dict[str, Any]],
    metrics: dict[str, Any] | None,
    best_job_name: str | None = None,
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on the lab machine or in CI
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    written: list[Path] = []
    if tuning_jobs:
        numbers = [j["number"] for j in tuning_jobs]
        values = [j["objective"] for j in tuning_jobs]
        names = [j["job_name"] for j in tuning_jobs]
        # The executor ranked by the JSON's objective direction; fall back to the maximum.
        best = names.index(best_job_name) if best_job_name in names else int(np.argmax(values))
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(numbers, values, "o-", color="tab:blue", label="job objective")
        ax.plot(
            numbers[best],
            values[best],
            "*",
            color="tab:red",
            markersize=16,
            label=f"best: job {numbers[best]} ({values[best]:.4f})",
        )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("training job")
        ax.set_ylabel("validation:accuracy")
        ax.set_title("Hyperparameter tuning")
        ax.legend(loc="lower right")
        fig.tight_layout()
        written.append(outdir / "tuning.png")
        fig.savefig(written[-1], dpi=100)
        plt.close(fig)
    matrix = (
        (metrics or {})
        .get("xgboost", {})
        .get("multiclass_classification_metrics", {})
        .get("confusion_matrix")
    )
    if matrix:
        labels = sorted(matrix, key=int)
        cm = np.array([[matrix[t][p] for p in labels] for t in labels])
        fig, ax = plt.subplots(figsize=(6, 5))
        image = ax.imshow(cm, cmap="Blues")
        for (i, j), count in np.ndenumerate(cm):
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                color="white" if count > cm.max() / 2 else "black",
            )
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title("XGBoost confusion matrix (test)")
        fig.colorbar(image)
        fig.tight_layout()
        written.append(outdir / "confusion_matrix.png")
        fig.savefig(written[-1], dpi=100)
        plt.close(fig)
    return written
