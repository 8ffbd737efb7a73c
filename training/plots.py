"""The notebook's accuracy-over-steps plot of a fine-tune result file, as a PNG.

The notebook ran ``results[results['classification/accuracy'].notnull()]['classification/accuracy'].plot()``:
the validation accuracy of each step that has one, against the row's index. This draws the same
line with matplotlib's object API (no pyplot state, so it is safe in worker threads).
"""

from __future__ import annotations

import csv
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

ACCURACY_COLUMN = "classification/accuracy"


def accuracy_series(results_csv: Path) -> tuple[list[int], list[float]]:
    """Row indices and values of the rows of ``results_csv`` that have an accuracy."""
    index: list[int] = []
    values: list[float] = []
    with Path(results_csv).open(newline="", encoding="utf-8") as handle:
        for i, row in enumerate(csv.DictReader(handle)):
            cell = (row.get(ACCURACY_COLUMN) or "").strip()
            if cell:
                index.append(i)
                values.append(float(cell))
    return index, values


def plot_accuracy(results_csv: Path, output: Path, *, title: str | None = None) -> Path:
    """Write the accuracy-over-steps plot of ``results_csv`` to ``output`` (PNG); return it.

    A result file without accuracy rows (no ``--compute-classification-metrics``) gives an empty
    plot that says so.
    """
    index, values = accuracy_series(results_csv)
    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    if values:
        axes.plot(index, values)
    else:
        axes.text(0.5, 0.5, "no classification metrics", ha="center", va="center")
    axes.set_xlabel("result row")
    axes.set_ylabel(ACCURACY_COLUMN)
    if title:
        axes.set_title(title)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, format="png")
    return output
