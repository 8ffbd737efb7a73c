"""Turn a Slack message's mrkdwn into the plain words a classifier should read."""

from __future__ import annotations

import html
import re

_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(text: str | None) -> str:
    """The words of a message: link labels kept, bare links, mentions and control bytes dropped.

    ``<https://x|the Rays>`` -> ``the Rays``; ``<https://x>``, ``<@U123>``, ``<#C1|general>`` and
    ``<!here>`` -> nothing; ``&amp;`` -> ``&``. The result is stripped and may be empty.
    """
    if not text:
        return ""
    text = _LINK.sub(_link_words, text)
    text = html.unescape(text)
    text = _CONTROL.sub(" ", text)
    return text.strip()


def _link_words(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith(("@", "#", "!")):
        return " "
    return f" {label} " if label else " "
