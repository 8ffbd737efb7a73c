"""The base model shipped as package data: loads offline, refuses corrupted files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from classifier.errors import ModelFileError
from classifier.local.base_model import (
    BASE_DIR,
    GATE_FILE,
    MANIFEST,
    TABLE_FILE,
    load_base_model,
    quadratic_form,
    quadratic_terms,
)
from classifier.local.static_embedding import NORM_DIMS
from classifier.registry import file_sha256


def test_the_shipped_base_model_loads_from_the_package() -> None:
    base = load_base_model()
    manifest = json.loads((BASE_DIR / MANIFEST).read_text())
    assert base.id == manifest["id"]
    assert base.sport_labels == ("baseball", "hockey")
    assert base.gate_coef.shape == (base.embedding.dim,)
    assert base.gate_quadratic.shape == (NORM_DIMS, NORM_DIMS)
    np.testing.assert_array_equal(base.gate_quadratic, base.gate_quadratic.T)
    assert np.abs(base.gate_quadratic).max() > 0  # the v3 gate has a quadratic part
    total = sum(p.stat().st_size for p in BASE_DIR.iterdir())
    assert total < 15 * 2**20  # small enough for git and the wheel


def test_the_gate_tells_sport_talk_from_other_talk() -> None:
    base = load_base_model()
    vectors = base.embedding.encode(
        ["The Bruins scored twice on the power play", "Mortgage rates went up again this week"]
    )
    sport, other = base.sport_log_odds(vectors)
    assert sport > 0 > other


def test_the_quadratic_form_is_the_fitted_products_of_coordinates() -> None:
    rng = np.random.default_rng(0)
    lead, coef = rng.normal(size=(4, NORM_DIMS)), rng.normal(size=NORM_DIMS * (NORM_DIMS + 1) // 2)
    form = quadratic_form(coef)
    np.testing.assert_allclose(
        np.einsum("ij,jk,ik->i", lead, form, lead), quadratic_terms(lead) @ coef
    )


def test_a_gate_without_a_quadratic_part_is_linear(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    with np.load(folder / GATE_FILE) as gate:
        coef, intercept = gate["coef"], gate["intercept"]
    np.savez(folder / GATE_FILE, coef=coef, intercept=intercept)  # as base model v2 wrote it
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"][GATE_FILE] = file_sha256(folder / GATE_FILE)
    (folder / MANIFEST).write_text(json.dumps(manifest))
    base = load_base_model(folder)
    np.testing.assert_array_equal(base.gate_quadratic, np.zeros((NORM_DIMS, NORM_DIMS)))
    vectors = base.embedding.encode(["Leafs win in OT"])
    np.testing.assert_allclose(
        base.sport_log_odds(vectors), vectors @ base.gate_coef + base.gate_intercept, rtol=1e-6
    )


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
