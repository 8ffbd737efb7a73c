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


CHAT_SYSTEM = "Say which sport the post is about: baseball or hockey."


def chat_file(prepared: Path, path: Path) -> Path:
    """The prompt/completion rows of ``prepared`` as chat rows, as OpenAI's chat fine-tunes take
    them: a system message, the post as the user's, the label as the assistant's answer."""
    with path.open("w", encoding="utf-8") as out:
        for line in prepared.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            messages = [
                {"role": "system", "content": CHAT_SYSTEM},
                {"role": "user", "content": row["prompt"].removesuffix("\n\n###\n\n")},
                {"role": "assistant", "content": row["completion"].strip()},
            ]
            out.write(json.dumps({"messages": messages}) + "\n")
    return path


TOPICS = {
    "autos": ["the engine of my sedan", "new tires for the car", "a v8 with a manual gearbox"],
    "space": ["the shuttle reached orbit", "a probe to jupiter", "nasa launched a satellite"],
    "guns": ["a rifle at the range", "the second amendment", "a permit for a handgun"],
}


def three_topic_file(path: Path, copies: int = 4) -> Path:
    """Prepared rows of three labels, each text made distinct by a number."""
    rows = [
        {"prompt": f"{text} {i}\n\n###\n\n", "completion": f" {label}"}
        for i in range(copies)
        for label, texts in TOPICS.items()
        for text in texts
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
