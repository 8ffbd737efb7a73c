"""The base model shipped as package data: loads offline, refuses corrupted files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from classifier.base_model import BASE_DIR, GATE_FILE, MANIFEST, TABLE_FILE, load_base_model
from classifier.errors import ModelFileError


def test_the_shipped_base_model_loads_from_the_package() -> None:
    base = load_base_model()
    manifest = json.loads((BASE_DIR / MANIFEST).read_text())
    assert base.id == manifest["id"]
    assert base.sport_labels == ("baseball", "hockey")
    assert base.gate_coef.shape == (base.embedding.dim,)
    total = sum(p.stat().st_size for p in BASE_DIR.iterdir())
    assert total < 15 * 2**20  # small enough for git and the wheel


def test_the_gate_tells_sport_talk_from_other_talk() -> None:
    base = load_base_model()
    vectors = base.embedding.encode(
        ["The Bruins scored twice on the power play", "Mortgage rates went up again this week"]
    )
    sport, other = base.sport_log_odds(vectors)
    assert sport > 0 > other


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "base"
    shutil.copytree(BASE_DIR, folder)
    return folder


def test_a_changed_file_is_refused_with_a_clear_line(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    data = bytearray((folder / GATE_FILE).read_bytes())
    data[-1] ^= 0xFF
    (folder / GATE_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"gate\.npz .*sha256.*reinstall sportbot"):
        load_base_model(folder)


def test_a_missing_file_or_manifest_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / TABLE_FILE).unlink()
    with pytest.raises(ModelFileError, match=r"table\.npz is missing"):
        load_base_model(folder)
    (folder / MANIFEST).unlink()
    with pytest.raises(ModelFileError, match=r"manifest .* missing or unreadable"):
        load_base_model(folder)
