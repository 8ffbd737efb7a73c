"""The notebook's prompt format: message text, stripped and bounded, then the separator."""

from __future__ import annotations

SEPARATOR = "\n\n###\n\n"
"""Marks where the completion starts, as in the notebook's prepared data."""

MAX_PROMPT_CHARS = 8000
"""Longer messages are cut: the legacy tool dropped examples over 2,048 tokens (~8,000 characters)."""


def build_prompt(text: str, max_chars: int = MAX_PROMPT_CHARS) -> str:
    """Return the prompt for ``text``: stripped, cut to ``max_chars``, separator appended.

    A text that already ends with the separator (a prepared prompt) is not given a second one.
    """
    body = text.strip()
    if body.endswith(SEPARATOR.strip()) and text.endswith(SEPARATOR):
        body = text[: -len(SEPARATOR)].strip()
    return body[:max_chars] + SEPARATOR


def strip_prompt(prompt: str) -> str:
    """Return the message text of a prompt (the inverse of ``build_prompt`` up to the cut)."""
    if prompt.endswith(SEPARATOR):
        prompt = prompt[: -len(SEPARATOR)]
    return prompt.strip()


def label_token(label: str) -> str:
    """The completion for a label name: a leading space, as the legacy tool wrote it."""
    return " " + label.strip()


def label_name(completion: str) -> str:
    """The label name of a completion (``" baseball"`` -> ``"baseball"``)."""
    return completion.strip()
