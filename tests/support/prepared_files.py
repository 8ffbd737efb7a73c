"""Small prepared files for tests that need a fine-tune to run, not to learn much."""

from __future__ import annotations

import json
from pathlib import Path

TINY_ROWS = [
    {"prompt": "the rays won in the ninth\n\n###\n\n", "completion": " baseball"},
    {"prompt": "a pitcher threw a shutout\n\n###\n\n", "completion": " baseball"},
    {"prompt": "the goalie stopped every shot\n\n###\n\n", "completion": " hockey"},
    {"prompt": "a power play goal in overtime\n\n###\n\n", "completion": " hockey"},
]


def tiny_training_file(path: Path) -> Path:
    """Write four prepared rows, two per sport, to ``path`` (a fine-tune of a second or so)."""
    path.write_text("".join(json.dumps(row) + "\n" for row in TINY_ROWS))
    return path
