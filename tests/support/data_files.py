"""Where the data the tests (and benchmarks) need lives in the repository: tests/data/README.md."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
LEGACY = DATA / "legacy_openai"
"""What the legacy OpenAI tool (openai==0.28.1) wrote and printed for the notebook's data."""
TRAIN_FILE = LEGACY / "sport2_prepared_train.jsonl"
VALID_FILE = LEGACY / "sport2_prepared_valid.jsonl"
OTHER_DEV = DATA / "modern" / "other_dev.jsonl"

SPORT2_SHA256 = "69c4b1f1483c7955d3420ba7d0e0e7990409f56bf139f404fa826613d99a46e8"
"""The notebook's sport2.jsonl, as the legacy tool read it."""
