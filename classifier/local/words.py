"""How the local models read a text: its words, its Usenet header fields, its message part.

One split serves every part of the local model: words are runs of ASCII letters and digits,
lowercased (every other ASCII character separates them; non-ASCII characters stay inside words).
``look_up`` is the hot path: per text one ``translate`` and a ``split`` (an ASCII text as bytes,
where one table both lowercases and separates), one ``map(dict.get)`` over its words, and the
words of known header fields looked up in their field's own table; the ids come out of the
tables packed, so a batch's ids are one ``bytes.join``. With ``message=True`` it also
gives the ids of the text's message words, the words of ``words_of(message_text(text))`` (the
subject and the body of a Usenet post, no From/Organization lines; a chat message whole), taken
from the same split. A big batch is looked up in numpy instead, to the same ids
(``classifier.local.batch_words``).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np

from classifier.local.usenet import is_post, message_text

HEADER_FIELDS = ("from", "organization", "subject", "keywords", "summary", "distribution")
"""Usenet header fields whose words get their own, tagged features (``subject:rays``)."""

SEPARATE = str.maketrans(
    {chr(i): " " for i in range(128) if not chr(i).isalnum() or not chr(i).isascii()}
)
"""Maps every ASCII character but letters and digits to a space (one C-level pass per text)."""
LOWER_SEPARATE_BYTES = bytes(
    (i + 32 if 65 <= i <= 90 else i if chr(i).isalnum() else 32) if i < 128 else i
    for i in range(256)
)
"""``SEPARATE`` plus lowercasing, for ASCII text as bytes."""

HEADER_FIELD_RE = re.compile(rf"^({'|'.join(HEADER_FIELDS)}):([^\n]*)", re.MULTILINE)
"""A known header field's line in lowercased text: (field, value)."""
HEADER_LINE_RE = re.compile(r"[a-z][a-z-]*:", re.IGNORECASE)
"""What a text that starts with a header starts with."""
HEADER_FIELD_BYTES_RE = re.compile(
    rf"^({'|'.join(HEADER_FIELDS)}):([^\n]*)".encode(), re.MULTILINE | re.IGNORECASE
)
HEADER_LINE_BYTES_RE = re.compile(rb"[a-z][a-z-]*:", re.IGNORECASE)
POST_HEAD_BYTES_RE = re.compile(
    rb"(?:[A-Za-z][!-9;-~]*:[^\n]*|[ \t][^\n]*)(?:\n(?:[A-Za-z][!-9;-~]*:[^\n]*|[ \t][^\n]*))*"
)
POST_FIELD_BYTES_RE = re.compile(rb"^(?:from|subject):", re.MULTILINE | re.IGNORECASE)
"""A head that ``classifier.local.usenet.is_post`` takes for a Usenet header: every line a ``Name:
value`` line or a continuation, one of them a From or a Subject line."""
_SUBJECT_BYTES_RE = re.compile(rb"^subject:([^\n]*)", re.MULTILINE | re.IGNORECASE)
REPLY_BYTES_RE = re.compile(rb"[ \t\r\f\v\x1c-\x1f]?(?:re:[ \t\r\f\v\x1c-\x1f]*)*", re.I)
"""What ``split_post`` skips at the start of a subject's value: one space (``\\s?``, which for
str patterns also takes the ASCII separators 0x1c-0x1f) and ``Re:`` prefixes."""

Get = Callable[[Any, bytes], bytes]
"""A lookup table's ``get``, always called with a default."""


def subject_start(raw: bytes, first: int, last: int) -> int:
    """Where a subject's words start in ``raw[first:last]``: after one space and any ``Re:``."""
    skipped = REPLY_BYTES_RE.match(raw, first, last)
    assert skipped is not None  # the pattern matches the empty string
    return skipped.end()


def subject_span(raw: bytes, end: int) -> tuple[int, int] | None:
    """The span of the value of the last Subject line before ``end``."""
    span = None
    for match in _SUBJECT_BYTES_RE.finditer(raw, 0, end):
        span = match.span(1)
    return span


def words_of(text: str) -> list[str]:
    """The words of a text (lowercase, split at every ASCII character but letters and digits)."""
    return text.lower().translate(SEPARATE).split()


def header_terms(lower: str) -> list[str]:
    """Tagged words (``subject:rays``) of the known fields of a lowercased text's Usenet header
    (the lines before the first blank line)."""
    end = lower.find("\n\n")
    if end < 0 or not HEADER_LINE_RE.match(lower):
        return []
    terms: list[str] = []
    for key, value in HEADER_FIELD_RE.findall(lower, 0, end):
        prefix = key + ":"
        terms += [prefix + w for w in value.translate(SEPARATE).split()]
    return terms


def message_words(text: str) -> list[str]:
    """The words of a text's message part: ``words_of(message_text(text))``."""
    return words_of(message_text(text))


def pack(ids: Iterable[int]) -> list[bytes]:
    """Ids as ``look_up`` tables hold them: 4-byte little-endian ints (a batch's ids are then
    one ``bytes.join`` and a ``np.frombuffer``, where building an int array costs a conversion
    per id)."""
    return [struct.pack("<i", i) for i in ids]


PADDING, MISSING = pack((0, -1))
"""The packed padding id 0 (also: a tagged word the table does not know) and -1."""


class Vocabulary(NamedTuple):
    """Lookup tables for ``look_up``, values packed (``pack``): a word's id (bytes keys for
    ASCII words, str keys for all), and per header field the ids of its tagged words
    (``{"subject": {"rays": pack([17])[0]}.get}``)."""

    bytes_get: Get
    str_get: Get
    bytes_field_gets: Mapping[bytes, Get]
    str_field_gets: Mapping[str, Get]


class LookedUp(NamedTuple):
    """What ``look_up`` found: per text a padding id 0, its words' ids, then its tagged header
    words' ids (``lengths[i]`` ids for text ``i``); with ``message=True`` also per text a 0 and
    the ids of its message words (``message_lengths[i]`` ids). Unknown words get -1 or 0 (see
    ``look_up``), unknown tagged words 0; and with ``message=True``, per text whether it is a
    Usenet post (``classifier.local.usenet.is_post``)."""

    ids: np.ndarray
    lengths: list[int]
    message_ids: np.ndarray
    message_lengths: list[int]
    posts: list[bool]


def look_up(
    texts: Sequence[str], vocabulary: Vocabulary, *, missing: bool = False, message: bool = False
) -> LookedUp:
    """The ids of every text's words (and, with ``message``, of its message words), in one pass
    per text. The words are those of ``words_of`` (plus ``header_terms``, under their fields'
    tables, when fields are given); the message words those of ``message_words``. An unknown
    word gets id 0, or -1 with ``missing=True``.

    An ASCII text's message words are runs of its words (its padding id, the subject's words
    inside the header's, the body's), so they are recorded as spans of ``ids`` and gathered by
    one numpy index per batch; only a non-ASCII text's message words are looked up again."""
    bytes_get, str_get = vocabulary.bytes_get, vocabulary.str_get
    bytes_fields, str_fields = vocabulary.bytes_field_gets, vocabulary.str_field_gets
    unknown = MISSING if missing else PADDING
    ids: list[bytes] = []
    lengths: list[int] = []
    spans: list[int] = []  # (start, length) pairs of message runs in ``ids``
    extra: list[bytes] = []  # non-ASCII texts' message ids, after ``ids``
    extra_spans: list[int] = []  # indexes in ``spans`` of starts that point into ``extra``
    message_lengths: list[int] = []
    posts: list[bool] = []
    for text in texts:
        start = len(ids)
        ids.append(PADDING)
        if text.isascii():
            raw = text.encode()
            separated = raw.translate(LOWER_SEPARATE_BYTES)  # same length, same offsets
            end = raw.find(b"\n\n")
            if end < 0:
                ids += map(bytes_get, separated.split(), repeat(unknown))
                n = len(ids) - start
                lengths.append(n)
                if message:
                    spans += (start, n)
                    message_lengths.append(n)
                    posts.append(False)
                continue
            # The blank line separates: no word spans ``end``.
            ids += map(bytes_get, separated[:end].split(), repeat(unknown))
            body = len(ids)
            ids += map(bytes_get, separated[end:].split(), repeat(unknown))
            n_body = len(ids) - body
            subject = None  # the span of the last Subject line's value
            scanned = bool(bytes_fields) and HEADER_LINE_BYTES_RE.match(raw) is not None
            if scanned:
                for match in HEADER_FIELD_BYTES_RE.finditer(raw, 0, end):
                    first, last = match.span(2)
                    field = match[1].lower()
                    ids += map(bytes_fields[field], separated[first:last].split(), repeat(PADDING))
                    if field == b"subject":
                        subject = first, last
            lengths.append(len(ids) - start)
            if not message:
                continue
            if not (
                POST_HEAD_BYTES_RE.fullmatch(raw, 0, end)
                and POST_FIELD_BYTES_RE.search(raw, 0, end)
            ):
                spans += (start, body + n_body - start)  # not a Usenet header: all its words
                message_lengths.append(body + n_body - start)
                posts.append(False)
                continue
            # A Usenet header: of it, only the subject's words count, ``Re:`` skipped. They are
            # a run of the header's words: a separator precedes ``first`` and ends the line.
            if not scanned:
                subject = subject_span(raw, end)
            spans += (start, 1)
            n_subject = 0
            if subject is not None:
                first = subject_start(raw, *subject)
                n_subject = len(separated[first : subject[1]].split())
                spans += (start + 1 + len(separated[:first].split()), n_subject)
            spans += (body, n_body)
            message_lengths.append(1 + n_subject + n_body)
            posts.append(True)
        else:
            lower = text.lower()
            words = lower.translate(SEPARATE).split()
            ids += map(str_get, words, repeat(unknown))
            if str_fields:
                for term in header_terms(lower):
                    field, _, word = term.partition(":")
                    ids.append(str_fields[field](word, PADDING))
            lengths.append(len(ids) - start)
            if message:
                extra_spans.append(len(spans) + 2)
                spans += (start, 1, len(extra), 0)
                extra += map(str_get, message_words(text), repeat(unknown))
                spans[-1] = len(extra) - spans[-2]
                message_lengths.append(1 + spans[-1])
                posts.append(is_post(text))
    n_ids = len(ids)
    found = np.frombuffer(b"".join(ids + extra if extra else ids), dtype="<i4")
    for i in extra_spans:
        spans[i] += n_ids
    return LookedUp(found[:n_ids], lengths, _gather(found, spans), message_lengths, posts)


def _gather(found: np.ndarray, spans: list[int]) -> np.ndarray:
    """The entries of ``found`` that the ``(start, length)`` pairs of ``spans`` cover, in order:
    one ``np.repeat`` of positions for a batch, slices for one text's few runs (a message
    classified alone, where each numpy call's fixed cost counts)."""
    if len(spans) <= 6:
        return np.concatenate(
            [found[spans[i] : spans[i] + spans[i + 1]] for i in range(0, len(spans), 2)]
            or [found[:0]]
        )
    pairs = np.array(spans, dtype=np.intp).reshape(-1, 2)
    starts, counts = pairs[:, 0], pairs[:, 1]
    return found[np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())]
