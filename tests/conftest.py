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

from tests.support.data_files import (
    DATA,
    LEGACY,
    OTHER_DEV,
    ROOT,
    SPORT2_SHA256,
    TRAIN_FILE,
    VALID_FILE,
)

__all__ = ["DATA", "LEGACY", "OTHER_DEV", "ROOT", "SPORT2_SHA256", "TRAIN_FILE", "VALID_FILE"]

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
