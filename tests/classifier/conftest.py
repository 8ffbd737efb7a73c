"""Fixtures of the classifier tests: the reference rows and one engine trained on them per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.local.engine import SportEngine
from classifier.prompt import strip_prompt
from tests.conftest import TRAIN_FILE, VALID_FILE


def read_prepared(path: Path) -> tuple[list[str], list[str]]:
    """Message texts and label names of a prepared prompt/completion file."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [strip_prompt(r["prompt"]) for r in rows], [r["completion"].strip() for r in rows]


@pytest.fixture(scope="session")
def train_rows() -> tuple[list[str], list[str]]:
    return read_prepared(TRAIN_FILE)


@pytest.fixture(scope="session")
def valid_rows() -> tuple[list[str], list[str]]:
    return read_prepared(VALID_FILE)


@pytest.fixture(scope="session")
def trained_engine(train_rows: tuple[list[str], list[str]]) -> SportEngine:
    """The default engine trained on the 948 reference training rows (shared: do not mutate)."""
    return SportEngine().fit(*train_rows)
