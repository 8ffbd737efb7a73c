"""``WordIndex``: words to ids for a whole buffer of words at once, in numpy.

The words of a batch of texts are found in one buffer (``split_words``: the texts joined, then
lowercased and separated by one ``translate``, so that every separator is a space) and each word
of up to ``MAX_KEY_BYTES`` bytes is packed into two 64-bit keys: its bytes, zero-padded. No word
holds a zero byte, so the keys are the word, exactly; a longer word's keys are not, and it is
looked up by its bytes instead. A tagged header word (``subject:rays``) is keyed as its word with
the field's code in the last byte, which no word of up to 15 bytes uses. An open-addressing
table with linear probing maps keys to ids, probing every word of the batch at once: where
``dict.get`` needs a bytes object per word (a ``split``), here a batch costs a few numpy passes
over its bytes and its words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

MAX_KEY_BYTES = 16
"""Words up to this long are keys of the table; longer ones are looked up by their bytes."""
MAX_TAGGED_KEY_BYTES = MAX_KEY_BYTES - 1
"""Tagged words up to this long are keys (the last byte holds the field's code)."""
MAX_LOAD = 0.5
"""The table doubles before more than this share of its slots is taken."""
WINDOW = 4
"""Slots a key still looking after its first probe reads at a time."""

_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], np.uint64)
"""``_MASKS[n]``: the low ``n`` bytes of a 64-bit word."""
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: Fibonacci hashing
_MIX = np.uint64(0xC2B2AE3D27D4EB4F)
_SPACE = ord(" ")
_LAST_BYTE = np.uint64(56)


class Words(NamedTuple):
    """The words of a buffer: byte offsets, lengths, and keys (``lo``: the first 8 bytes,
    ``hi``: the next 8; both 0 for a word longer than ``MAX_KEY_BYTES``, a key no word has)."""

    starts: np.ndarray
    lengths: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def split_words(separated: bytes) -> Words:
    """The words of ``separated`` (bytes whose separators are all spaces and which hold no zero
    byte: ``classifier.local.words.LOWER_SEPARATE_BYTES`` applied), in order."""
    padded = b" " + separated + b" " * (MAX_KEY_BYTES + 1)
    is_word = np.frombuffer(padded, np.uint8) != _SPACE
    edges = np.flatnonzero(is_word[1:] != is_word[:-1])  # a start, an end, a start, ...
    starts = edges[0::2] + 1
    lengths = edges[1::2] + 1 - starts
    # Eight bytes from every offset (unaligned reads): a word's first eight at its start.
    eights = np.ndarray((len(padded) - 7,), "<u8", padded, 0, (1,))
    lo = eights[starts] & _MASKS[np.minimum(lengths, 8)]
    hi = np.zeros(len(starts), np.uint64)
    long = np.flatnonzero(lengths > 8)
    if len(long):
        rest = lengths[long] - 8
        hi[long] = eights[starts[long] + 8] & _MASKS[np.minimum(rest, 8)]
        longer = long[rest > 8]
        lo[longer] = hi[longer] = 0
    return Words(starts - 1, lengths, lo, hi)


def tagged_keys(words: Words, fields: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The keys of words tagged with fields (``fields[i]``: the code, 1-127, of word ``i``'s
    field); 0 for a word longer than ``MAX_TAGGED_KEY_BYTES``."""
    short = words.lengths <= MAX_TAGGED_KEY_BYTES
    lo = np.where(short, words.lo, 0)
    hi = np.where(short, words.hi | ((fields.astype(np.uint64) | 0x80) << _LAST_BYTE), 0)
    return lo, hi


class _Table(NamedTuple):
    lo: np.ndarray
    hi: np.ndarray
    ids: np.ndarray
    shift: np.uint64


class WordIndex:
    """Word (bytes, lowercase letters and digits) -> id, looked up a buffer's words at a time.

    ``find`` reads the table while ``add`` writes it (``add``'s callers hold their own lock):
    an id is written before its keys, so a reader sees a word with its id or misses it (and is
    expected to add it, which finds it there, and look again); a growth builds a new table and
    replaces the old one whole.
    """

    def __init__(self, words: Sequence[bytes] = (), ids: Sequence[int] = ()) -> None:
        self._table = _empty(_capacity(len(words)))
        self.size = 0
        self.add(words, ids)

    def copy(self) -> WordIndex:
        twin = WordIndex.__new__(WordIndex)
        table = self._table
        twin._table = _Table(table.lo.copy(), table.hi.copy(), table.ids.copy(), table.shift)
        twin.size = self.size
        return twin

    def add(self, words: Sequence[bytes], ids: Sequence[int]) -> None:
        """Add words that are not in the index yet (longer words are left to the caller)."""
        keys = split_words(b" ".join(words))
        if len(keys.starts) != len(words):
            raise ValueError("index words are runs of letters and digits, one word each")
        self.add_keys(keys.lo, keys.hi, np.asarray(ids, np.int32))

    def add_keys(self, lo: np.ndarray, hi: np.ndarray, ids: np.ndarray) -> None:
        """Add keys that are not in the index yet (keys 0: words it does not hold, skipped)."""
        keep = lo != 0
        lo, hi, ids = lo[keep], hi[keep], ids[keep]
        old = self._table
        if self.size + len(lo) <= MAX_LOAD * len(old.lo):
            _insert(old, lo, hi, ids)
        else:
            taken = old.lo != 0
            table = _empty(_capacity(self.size + len(lo)))
            _insert(table, old.lo[taken], old.hi[taken], old.ids[taken])
            _insert(table, lo, hi, ids)
            self._table = table
        self.size += len(lo)

    def find(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """The id of every key pair (``split_words``'s), -1 for a word the index does not hold
        (and for every word longer than ``MAX_KEY_BYTES``)."""
        table = self._table
        mask = len(table.lo) - 1
        slot = _slots(lo, hi, table.shift)
        seen = table.lo[slot]
        hit = (seen == lo) & (table.hi[slot] == hi)
        found = np.where(hit, table.ids[slot], np.int32(-1))
        # Keys whose first slot holds another word read the next ``WINDOW`` slots at once, up
        # to their own or an empty one (most find it in the first window).
        todo = np.flatnonzero(~hit & (seen != 0))
        slot = slot[todo]
        window = np.arange(1, WINDOW + 1)
        while len(todo):
            slots = (slot[:, None] + window) & mask
            seen = table.lo[slots]
            match = (seen == lo[todo, None]) & (table.hi[slots] == hi[todo, None])
            stop = match | (seen == 0)
            first = stop.argmax(axis=1)
            rows = np.arange(len(todo))
            done = stop[rows, first]
            matched = done & match[rows, first]
            found[todo[matched]] = table.ids[slots[rows[matched], first[matched]]]
            todo, slot = todo[~done], slot[~done] + WINDOW
        return found


def _capacity(n: int) -> int:
    capacity = 1024
    while n > MAX_LOAD * capacity:
        capacity *= 2
    return capacity


def _empty(capacity: int) -> _Table:
    shift = np.uint64(64 - (capacity.bit_length() - 1))
    zeros = np.zeros(capacity, np.uint64)
    return _Table(zeros, zeros.copy(), np.full(capacity, -1, np.int32), shift)


def _slots(lo: np.ndarray, hi: np.ndarray, shift: np.uint64) -> np.ndarray:
    return (((hi * _MIX) ^ lo) * _MULTIPLIER >> shift).astype(np.intp)


def _insert(table: _Table, lo: np.ndarray, hi: np.ndarray, ids: np.ndarray) -> None:
    """Place distinct new keys by linear probing, all at once: each round, every key still
    waiting takes its slot if the slot is free and no other waiting key takes it first, else
    tries the next slot. An id is written before its keys (see ``WordIndex``)."""
    mask = len(table.lo) - 1
    slot = _slots(lo, hi, table.shift)
    todo = np.arange(len(lo))
    while len(todo):
        free = table.lo[slot] == 0
        candidates = np.flatnonzero(free)
        _, first = np.unique(slot[candidates], return_index=True)
        placed = candidates[first]
        where, keys = slot[placed], todo[placed]
        table.ids[where] = ids[keys]
        table.hi[where] = hi[keys]
        table.lo[where] = lo[keys]
        waiting = np.ones(len(todo), bool)
        waiting[placed] = False
        todo = todo[waiting]
        slot = (slot[waiting] + ~free[waiting]) & mask  # a lost tie for a free slot retries it
