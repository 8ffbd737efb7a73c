"""``look_up_batch``: ``classifier.local.words.look_up`` of a batch of texts, with the words of its
ASCII texts found in numpy (``classifier.local.word_index``) rather than one ``dict.get`` per
word.

The batch's ASCII texts are joined into one buffer, lowercased and separated by one
``translate``; ``split_words`` finds every word and ``WordIndex.find`` its id. What is left to
Python is per text, not per word: a Usenet header's lines (its tagged words, looked up in their
field's table, and where its subject's words start), and words longer than the index's keys.
Texts that are not ASCII are looked up by ``look_up`` itself. The answer is ``look_up``'s, id
for id and in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from classifier.local.word_index import (
    MAX_KEY_BYTES,
    MAX_TAGGED_KEY_BYTES,
    WordIndex,
    Words,
    split_words,
    tagged_keys,
)
from classifier.local.words import (
    HEADER_FIELD_BYTES_RE,
    HEADER_FIELDS,
    HEADER_LINE_BYTES_RE,
    LOWER_SEPARATE_BYTES,
    MISSING,
    PADDING,
    POST_FIELD_BYTES_RE,
    POST_HEAD_BYTES_RE,
    LookedUp,
    Vocabulary,
    look_up,
    subject_span,
    subject_start,
)

BATCH_MIN_CHARS = 16_000
"""Batches of at least this many characters take this path; smaller ones ``look_up``'s: this
one's hundred-odd numpy calls cost ~0.2 ms a batch, ``look_up`` ~27 ns a character of a Usenet
post (the two meet at about ten posts) and little more than that per chat message."""


def batch_sized(texts: Sequence[str]) -> bool:
    """Whether ``look_up_batch`` is the faster way to read these texts."""
    return sum(map(len, texts)) >= BATCH_MIN_CHARS


FIELD_CODES = {field.encode(): code for code, field in enumerate(HEADER_FIELDS, start=1)}
"""The code of each header field in the keys of its tagged words (``tagged_keys``)."""


class BatchIndex(NamedTuple):
    """The tables of ``look_up_batch``: a ``Vocabulary``'s ASCII words, and its tagged header
    words (keyed by ``tagged_keys`` with their field's ``FIELD_CODES``), with the same ids."""

    words: WordIndex
    tagged: WordIndex


def tagged_index(fields: Mapping[str, Mapping[str, bytes]]) -> WordIndex:
    """The ``BatchIndex.tagged`` of the tagged words of a ``look_up`` table (per field, word ->
    packed id)."""
    index = WordIndex()
    for field, table in fields.items():
        words = [word for word in table if word.isascii()]
        keys = split_words(b" ".join(word.encode() for word in words))
        codes = np.full(len(words), FIELD_CODES[field.encode()])
        ids = [int.from_bytes(table[word], "little", signed=True) for word in words]
        index.add_keys(*tagged_keys(keys, codes), np.array(ids, np.int32))
    return index


class _AsciiWords(NamedTuple):
    """What ``_ascii_words`` finds: every word's id, in order; per text its number of words and
    of tagged header words, the tagged ids; the message words as runs of word positions (per
    text its subject's run, then its body's run) and their number per text; which texts are
    posts."""

    ids: np.ndarray
    n_words: np.ndarray
    tagged: np.ndarray
    n_tagged: np.ndarray
    message_runs: tuple[np.ndarray, np.ndarray]
    n_message: np.ndarray
    posts: list[bool]


def look_up_batch(
    texts: Sequence[str],
    vocabulary: Vocabulary,
    index: BatchIndex,
    *,
    missing: bool = False,
    message: bool = False,
) -> LookedUp:
    """``look_up(texts, vocabulary, missing=missing, message=message)``, where ``index`` holds the
    same ASCII words (their bytes) with the same ids as ``vocabulary``."""
    ascii_at = [i for i, text in enumerate(texts) if text.isascii()]
    other_at = [i for i, text in enumerate(texts) if not text.isascii()]
    found = _ascii_words([texts[i] for i in ascii_at], vocabulary, index, missing, message)
    other = None
    if other_at:
        other = look_up([texts[i] for i in other_at], vocabulary, missing=missing, message=message)
    at, elsewhere = np.array(ascii_at, np.intp), np.array(other_at, np.intp)

    # Each text's ids: the padding 0, its words, its tagged words (see ``look_up``).
    lengths = np.zeros(len(texts), np.intp)
    lengths[at] = 1 + found.n_words + found.n_tagged
    if other is not None:
        lengths[elsewhere] = other.lengths
    starts = np.cumsum(lengths) - lengths
    ids = np.zeros(int(lengths.sum()), np.int32)
    ids[_runs(starts[at] + 1, found.n_words)] = found.ids
    ids[_runs(starts[at] + 1 + found.n_words, found.n_tagged)] = found.tagged
    if other is not None:
        ids[_runs(starts[elsewhere], lengths[elsewhere])] = other.ids
    if not message:
        return LookedUp(ids, lengths.tolist(), ids[:0], [], [])

    # Each text's message ids: the padding 0, then its message words.
    message_lengths = np.zeros(len(texts), np.intp)
    message_lengths[at] = 1 + found.n_message
    if other is not None:
        message_lengths[elsewhere] = other.message_lengths
    starts = np.cumsum(message_lengths) - message_lengths
    message_ids = np.zeros(int(message_lengths.sum()), np.int32)
    message_ids[_runs(starts[at] + 1, found.n_message)] = found.ids[_runs(*found.message_runs)]
    posts = [False] * len(texts)
    for i, post in zip(ascii_at, found.posts, strict=True):
        posts[i] = post
    if other is not None:
        message_ids[_runs(starts[elsewhere], message_lengths[elsewhere])] = other.message_ids
        for i, post in zip(other_at, other.posts, strict=True):
            posts[i] = post
    return LookedUp(ids, lengths.tolist(), message_ids, message_lengths.tolist(), posts)


def _ascii_words(
    texts: list[str], vocabulary: Vocabulary, index: BatchIndex, missing: bool, message: bool
) -> _AsciiWords:
    raws = [text.encode() for text in texts]
    separated = b" ".join(raws).translate(LOWER_SEPARATE_BYTES)  # same offsets as the join
    words = split_words(separated)
    starts = words.starts
    ids = index.words.find(words.lo, words.hi)
    for j in np.flatnonzero(words.lengths > MAX_KEY_BYTES).tolist():
        word = separated[int(starts[j]) : int(starts[j] + words.lengths[j])]
        ids[j] = int.from_bytes(vocabulary.bytes_get(word, MISSING), "little", signed=True)
    if not missing:
        ids[ids < 0] = 0

    # Per text, in Python: where it starts, the spans of its Usenet header's known fields (their
    # words are tagged words too) and where its message words are (a post's subject words and
    # body words; any other text's words are all message words).
    scan = bool(vocabulary.bytes_field_gets)
    offsets: list[int] = []
    fields: list[tuple[int, int, bytes]] = []  # (first, last, field name) of field values
    bodies: list[int] = []  # message words start here ...
    subjects: list[int] = []  # ... or lie in this span of a subject line
    posts = [False] * len(raws)
    offset = 0
    for t, raw in enumerate(raws):
        offsets.append(offset)
        body = offset
        subject_first = subject_last = offset
        end = raw.find(b"\n\n")
        if end >= 0:
            subject = None
            scanned = scan and HEADER_LINE_BYTES_RE.match(raw) is not None
            if scanned:
                for match in HEADER_FIELD_BYTES_RE.finditer(raw, 0, end):
                    first, last = match.span(2)
                    field = match[1].lower()
                    fields.append((offset + first, offset + last, field))
                    if field == b"subject":
                        subject = first, last
            if message and (
                POST_HEAD_BYTES_RE.fullmatch(raw, 0, end)
                and POST_FIELD_BYTES_RE.search(raw, 0, end)
            ):
                if not scanned:
                    subject = subject_span(raw, end)
                body = offset + end
                if subject is not None:
                    subject_first = offset + subject_start(raw, *subject)
                    subject_last = offset + subject[1]
                posts[t] = True
        bodies.append(body)
        subjects += (subject_first, subject_last)
        offset += len(raw) + 1

    # Offsets to word positions: the words of a span are the run of words starting in it.
    first_word = np.searchsorted(starts, offsets)
    n_words = np.diff(first_word, append=len(starts))
    tagged, n_tagged = _tagged_words(separated, words, first_word, fields, vocabulary, index)
    if not message:
        return _AsciiWords(
            ids, n_words, tagged, n_tagged, (n_words[:0], n_words[:0]), n_words[:0], posts
        )
    subject_words = np.searchsorted(starts, subjects).reshape(-1, 2)
    body_word = np.searchsorted(starts, bodies)
    run_starts = np.column_stack([subject_words[:, 0], body_word]).ravel()
    run_counts = np.column_stack(
        [subject_words[:, 1] - subject_words[:, 0], first_word + n_words - body_word]
    )
    return _AsciiWords(
        ids,
        n_words,
        tagged,
        n_tagged,
        (run_starts, run_counts.ravel()),
        run_counts.sum(axis=1),
        posts,
    )


def _tagged_words(
    separated: bytes,
    words: Words,
    first_word: np.ndarray,
    fields: list[tuple[int, int, bytes]],
    vocabulary: Vocabulary,
    index: BatchIndex,
) -> tuple[np.ndarray, np.ndarray]:
    """The ids of the words in the header fields' values (``(first, last, field)``, in order),
    each in its field's table (0 when it is not there), and their number per text (whose
    words start at ``first_word``)."""
    if not fields:
        return np.zeros(0, np.int32), np.zeros(len(first_word), np.intp)
    firsts, lasts, names = zip(*fields, strict=True)
    run_starts = np.searchsorted(words.starts, firsts)
    run_counts = np.searchsorted(words.starts, lasts) - run_starts
    at = _runs(run_starts, run_counts)
    codes = np.repeat(np.array([FIELD_CODES[name] for name in names], np.intp), run_counts)
    mine = Words(*(column[at] for column in words))
    tagged = index.tagged.find(*tagged_keys(mine, codes))
    for j in np.flatnonzero(mine.lengths > MAX_TAGGED_KEY_BYTES).tolist():
        start, length = int(mine.starts[j]), int(mine.lengths[j])
        field = HEADER_FIELDS[codes[j] - 1].encode()
        got = vocabulary.bytes_field_gets[field](separated[start : start + length], PADDING)
        tagged[j] = int.from_bytes(got, "little", signed=True)
    tagged[tagged < 0] = 0
    text_of = np.searchsorted(first_word, at, side="right") - 1
    return tagged, np.bincount(text_of, minlength=len(first_word))


def _runs(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The positions of runs of ``counts[i]`` entries from ``starts[i]``, one run after another."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.intp)
    shift = starts - (np.cumsum(counts) - counts)
    return np.repeat(shift, counts) + np.arange(total)
