"""Turn a Slack message's mrkdwn into the plain words a classifier should read."""

from __future__ import annotations

import html
import re

_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_EMOJI = re.compile(r"(?<![\w:]):[a-z0-9_+'-]+:(?::[a-z0-9_+'-]+:)?(?!\w)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]")


def plain_text(text: str | None) -> str:
    """The words of a message: link labels kept, bare links, mentions and control bytes dropped.

    ``<https://x|the Rays>`` -> ``the Rays``; ``<https://x>``, ``<@U123>``, ``<#C1|general>`` and
    ``<!here>`` -> nothing; emoji codes (``:baseball:``) -> nothing; ``&amp;`` -> ``&``.
    The result is stripped; it is empty when no letter or digit is left (emoji, punctuation).
    """
    if not text:
        return ""
    text = _LINK.sub(_link_words, text)
    text = _EMOJI.sub(" ", text)
    text = html.unescape(text)
    text = _CONTROL.sub(" ", text).strip()
    return text if _WORD.search(text) else ""


def _link_words(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith(("@", "#", "!")):
        return " "
    return f" {label} " if label else " "
