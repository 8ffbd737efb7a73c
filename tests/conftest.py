"""Shared test setup: the legacy tool's files kept in tests/data, the notebook's dataset rebuilt
from scikit-learn's 20 Newsgroups, and a fresh SPORTBOT_HOME per test.

20 Newsgroups comes from scikit-learn's data folder (``SCIKIT_LEARN_DATA``, else
``~/scikit_learn_data``), downloaded there on first use; nothing here reads outside the clone.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
LEGACY = DATA / "legacy_openai"
"""What the legacy OpenAI tool (openai==0.28.1) wrote and printed for the notebook's data."""
TRAIN_FILE = LEGACY / "sport2_prepared_train.jsonl"
VALID_FILE = LEGACY / "sport2_prepared_valid.jsonl"
OTHER_DEV = DATA / "modern" / "other_dev.jsonl"

SPORT2_SHA256 = "69c4b1f1483c7955d3420ba7d0e0e7990409f56bf139f404fa826613d99a46e8"
"""The notebook's sport2.jsonl, as the legacy tool read it (tests/data/README.md)."""

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def sport2_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook's sport2.jsonl, rebuilt from 20 Newsgroups once per session (read-only:
    copy it before writing beside it)."""
    from training.data import load_newsgroups, notebook_rows, write_jsonl

    path = write_jsonl(
        notebook_rows(load_newsgroups()), tmp_path_factory.mktemp("notebook") / "sport2.jsonl"
    )
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SPORT2_SHA256
    return path


@pytest.fixture
def sportbot_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model registry for one test."""
    home = tmp_path / "sportbot-home"
    monkeypatch.setenv("SPORTBOT_HOME", str(home))
    return home
