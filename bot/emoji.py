"""Slack emoji names for the labels."""

from __future__ import annotations

LABEL_EMOJI = {"baseball": "baseball", "hockey": "ice_hockey_stick_and_puck"}
"""The reaction auto-tagging puts on a message for each label."""


def emoji_for(label: str) -> str | None:
    """The emoji name for a label, or None for a label that has none."""
    return LABEL_EMOJI.get(label)
