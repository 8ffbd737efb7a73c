"""Shared test setup: real data from ../shared, a fresh SPORTBOT_HOME per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
REFERENCE = SHARED_DATA / "reference"

os.environ.setdefault("SCIKIT_LEARN_DATA", str(SHARED_DATA / "scikit_learn_data"))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def sportbot_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model registry for one test."""
    home = tmp_path / "sportbot-home"
    monkeypatch.setenv("SPORTBOT_HOME", str(home))
    return home
