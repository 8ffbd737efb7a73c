"""The parts of a Usenet post: its Subject line and its body, without the other header lines."""

from __future__ import annotations

import re

_HEADER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):\s?(.*)$")
_REPLY = re.compile(r"^(re:\s*)+", re.IGNORECASE)


def split_post(text: str) -> tuple[str, str]:
    """``(subject, body)`` of a Usenet post (``Re:`` prefixes dropped from the subject).

    A text is a post when everything before its first blank line is header lines (``Name:
    value`` or continuation lines); any other text is all body with an empty subject.
    """
    head, blank, body = text.partition("\n\n")
    lines = head.split("\n")
    if not blank or not all(_HEADER.match(line) or line.startswith((" ", "\t")) for line in lines):
        return "", text
    subject = ""
    for line in lines:
        match = _HEADER.match(line)
        if match and match.group(1).lower() == "subject":
            subject = _REPLY.sub("", match.group(2))
    return subject, body


def message_text(text: str) -> str:
    """What of a post reads like a chat message: the subject and the body (no From,
    Organization, Lines…); any other text unchanged."""
    subject, body = split_post(text)
    return (subject + "\n" + body).strip() if subject else body


def subject_row(text: str) -> str | None:
    """A post's subject line as a short training text, when it has at least two words."""
    subject, _ = split_post(text)
    return subject if len(subject.split()) >= 2 else None
