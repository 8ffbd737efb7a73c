"""The notebook's accuracy plot."""

from __future__ import annotations

from pathlib import Path

from training.plots import accuracy_series, plot_accuracy

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _results(tmp_path: Path, accuracies: list[str]) -> Path:
    lines = ["step,training_loss,classification/accuracy"]
    lines += [f"{i + 1},0.5,{a}" for i, a in enumerate(accuracies)]
    path = tmp_path / "results.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_series_keeps_only_rows_with_an_accuracy(tmp_path: Path) -> None:
    path = _results(tmp_path, ["", "0.5", "", "0.75", "0.9"])
    assert accuracy_series(path) == ([1, 3, 4], [0.5, 0.75, 0.9])


def test_plot_writes_a_png(tmp_path: Path) -> None:
    out = plot_accuracy(_results(tmp_path, ["0.5", "", "0.9"]), tmp_path / "plots" / "acc.png")
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert out.stat().st_size > 5000  # a real drawing, not an empty canvas


def test_plot_without_metrics_still_writes_a_png(tmp_path: Path) -> None:
    out = plot_accuracy(_results(tmp_path, ["", ""]), tmp_path / "acc.png")
    assert out.read_bytes().startswith(PNG_MAGIC)
