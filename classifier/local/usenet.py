"""The parts of a Usenet post: its Subject line and its body, without the other header lines."""

from __future__ import annotations

import re

_HEADER = re.compile(r"^([A-Za-z][!-9;-~]*):\s?(.*)$")
"""A header line: a field name (a letter, then printable ASCII but the colon, as RFC 5322 allows:
``Article-I.D.``, the header of one post in sixteen in the 20 Newsgroups), a colon, the value."""
_REPLY = re.compile(r"^(re:\s*)+", re.IGNORECASE)


def _is_header(lines: list[str]) -> bool:
    return all(_HEADER.match(line) or line.startswith((" ", "\t")) for line in lines) and any(
        line[:5].lower() == "from:" or line[:8].lower() == "subject:" for line in lines
    )


def is_post(text: str) -> bool:
    """Whether a text is a Usenet post: everything before its first blank line is header lines
    (``Name: value`` or continuation lines), among them a From or a Subject line (every post of
    the 20 Newsgroups has both; a chat message that starts "Reminder: game tonight" and a blank
    line is not a post)."""
    head, blank, _ = text.partition("\n\n")
    return bool(blank) and _is_header(head.split("\n"))


def split_post(text: str) -> tuple[str, str]:
    """``(subject, body)`` of a Usenet post (``Re:`` prefixes dropped from the subject); any
    other text (``is_post``) is all body with an empty subject."""
    head, blank, body = text.partition("\n\n")
    lines = head.split("\n")
    if not blank or not _is_header(lines):
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
