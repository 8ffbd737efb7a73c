"""``WordScores``: one dictionary lookup per word gives the engine's feature and the word's
static-embedding scores, so the default model reads a text once.

The static expert and the topic gate of ``GatedSportModel`` are linear in a text's sentence vector,
the sum of its word vectors over the length of the sum's first ``NORM_DIMS`` coordinates
(``classifier.local.static_embedding``). So a text's expert and gate scores are the sum of its words'
own scores (each word's vector projected once onto the expert's and the gate's directions) over
the length of the sum of its words' first ``NORM_DIMS`` coordinates. This table maps a word (str
key, and bytes key when ASCII) to an id: the engine's feature id for a word the engine knows, an id
after the engine's features for any other word; ``scores[id]`` holds that word's projected scores
followed by its first ``NORM_DIMS`` coordinates (optionally in other orthonormal axes).
Words the table has not seen yet are added when first met (their WordPiece split, once), up to
``MAX_EXTRA_WORDS``; then it starts over from the engine's words.

Readers take ``state`` once per batch: its dictionaries and its ``WordIndex`` (the ASCII words
again, for batches: ``classifier.local.batch_words``) only hold ids whose score rows are already
written, and a start-over or a growth replaces the state instead of changing it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np

from classifier.local.static_embedding import NORM_DIMS, StaticEmbedding
from classifier.local.word_index import WordIndex
from classifier.local.words import pack

CHUNK = 1024
"""Words whose vectors are projected at a time."""
MAX_EXTRA_WORDS = 1 << 16
"""Words beyond the engine's the table keeps at most (then it starts over): ~3 MB of scores."""


class WordState(NamedTuple):
    """A consistent view of the table: word -> packed id (``classifier.local.words.pack``; str keys,
    ASCII words also as bytes in a dictionary of their own: a dictionary of one key type looks
    up faster), the score rows, and the ASCII words' ids in a ``WordIndex``."""

    ids: dict[str, bytes]
    bytes_ids: dict[bytes, bytes]
    scores: np.ndarray
    size: int
    word_index: WordIndex


class WordScores:
    """Word -> (engine feature id or a new id) and the word's projected scores.

    Args:
        embedding: the static embedding whose word vectors are projected.
        projection: ``(embedding.dim, m)``: a word's scores are ``vector @ projection``; its row
            holds them and then the vector's first ``NORM_DIMS`` coordinates.
        known: the engine's plain words and their feature ids (all under ``n_features``).
        n_features: the engine's number of features; new words get ids from there on.
        lead_axes: ``(NORM_DIMS, NORM_DIMS)`` orthonormal columns: the leading coordinates are
            stored in these axes (a rotation: their length, the sentence vector's norm, is the
            same; the default model's gate is a sum of squares in its own axes).
    """

    def __init__(
        self,
        embedding: StaticEmbedding,
        projection: np.ndarray,
        known: Mapping[str, int],
        n_features: int,
        lead_axes: np.ndarray | None = None,
    ) -> None:
        self._embedding = embedding
        dim = projection.shape[0]
        # One product gives the scores and, through an identity block (rotated into
        # ``lead_axes``), the leading coordinates.
        lead = np.eye(dim, NORM_DIMS) if lead_axes is None else np.eye(dim, NORM_DIMS) @ lead_axes
        self._projection = np.hstack([projection, lead]).astype(np.float32)
        self.n_features = n_features
        self._lock = threading.Lock()
        words = list(known)
        seed_ids = dict(zip(words, pack(known.values()), strict=True))
        seed_bytes = {word.encode(): j for word, j in seed_ids.items() if word.isascii()}
        seed_scores = np.zeros((n_features, self._projection.shape[1]), np.float32)
        if words:
            seed_scores[[known[w] for w in words]] = self._scores_of(words)
        ascii_words = [w for w in words if w.isascii()]
        index = WordIndex([w.encode() for w in ascii_words], [known[w] for w in ascii_words])
        self._seed = WordState(seed_ids, seed_bytes, seed_scores, n_features, index)
        self.state = self._start_over(MAX_EXTRA_WORDS)

    def _start_over(self, capacity: int) -> WordState:
        seed = self._seed
        scores = np.zeros((self.n_features + capacity, seed.scores.shape[1]), np.float32)
        scores[: self.n_features] = seed.scores
        return WordState(
            dict(seed.ids), dict(seed.bytes_ids), scores, self.n_features, seed.word_index.copy()
        )

    def _scores_of(self, words: list[str]) -> np.ndarray:
        """The words' score rows, ``CHUNK`` words at a time: a model's ~20,000 words at once
        would take ~60 MB of temporary vectors, which the allocator keeps as resident memory."""
        out = np.empty((len(words), self._projection.shape[1]), np.float32)
        for start in range(0, len(words), CHUNK):
            rows = self._embedding.word_rows(words[start : start + CHUNK])
            out[start : start + len(rows)] = rows @ self._projection
        return out

    def row(self, word: str) -> int:
        """The word's row in ``state.scores`` (added first when new)."""
        self.add([word])
        return int.from_bytes(self.state.ids[word], "little", signed=True)

    def add(self, words: Iterable[str]) -> None:
        """Give every one of these words an id and its scores (the words of a ``look_up``
        batch: afterwards all of them are in ``state``)."""
        with self._lock:
            state = self.state
            new = [w for w in dict.fromkeys(words) if w not in state.ids]
            if not new:
                return
            if state.size + len(new) > len(state.scores):
                state = self._start_over(max(MAX_EXTRA_WORDS, len(new)))
                new = [w for w in new if w not in state.ids]
            first = state.size
            state.scores[first : first + len(new)] = self._scores_of(new)
            ascii_words: list[bytes] = []
            ascii_ids: list[int] = []
            for i, (word, packed) in enumerate(
                zip(new, pack(range(first, first + len(new))), strict=True)
            ):
                state.ids[word] = packed  # after its row is written
                if word.isascii():
                    state.bytes_ids[word.encode()] = packed
                    ascii_words.append(word.encode())
                    ascii_ids.append(first + i)
            state.word_index.add(ascii_words, ascii_ids)
            self.state = WordState(
                state.ids, state.bytes_ids, state.scores, first + len(new), state.word_index
            )
