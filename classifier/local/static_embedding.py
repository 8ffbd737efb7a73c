"""``StaticEmbedding``: sentence vectors from a static (per-token) table, numpy only.

The table holds one vector per WordPiece token of all-MiniLM-L6-v2's vocabulary, distilled from
the transformer once at build time (tools/build_base_model.py: each token alone through the
model, PCA, SIF weighting; the model2vec recipe). At run time a text is split into words the way
``SportEngine`` splits it (``classifier.local.words.words_of``); a word's vector is the mean of its
WordPiece tokens' rows, computed once and memoised; a text's vector is the sum of its words'
vectors divided by the length of that sum's first ``NORM_DIMS`` coordinates (the table's leading
principal components). That normalisation keeps what l2 normalisation gives a linear model on top
(cross-validated log loss of the topic gate 0.195, l2 0.185-0.193, plain mean 0.247) while a
linear score of the vector is a sum of per-word scores over a norm of ``NORM_DIMS`` per-word
numbers: the default model's hot path reads ``NORM_DIMS + 3`` numbers per word, not the 256 of
a word vector. No torch, no tokenizers package.

The WordPiece split follows the BERT uncased tokenizer the table was built with: accents stripped
(NFD, combining marks removed), punctuation and CJK characters split off as tokens of their own,
greedy longest-match-first with ``##`` continuations, ``[UNK]`` for a piece that cannot be
matched or is longer than 100 characters.
"""

from __future__ import annotations

import threading
import unicodedata
from array import array
from collections.abc import Iterable, Sequence
from itertools import repeat

import numpy as np

from classifier.local.words import words_of

NORM_DIMS = 32
"""Sentence vectors are divided by the length of their first ``NORM_DIMS`` coordinates."""
MAX_WORD_CHARS = 100
"""Longer pieces become ``[UNK]``, as in the BERT tokenizer."""
MAX_EXTRA_ROWS = 1 << 16
"""Memoised rows of multi-token words kept at most (then the memo starts over): ~32 MB."""


class StaticEmbedding:
    """Sentence vectors from a token table (``vectors[i]`` for token ``vocabulary[i]``).

    Args:
        vocabulary: the WordPiece tokens, in table order (``[UNK]`` among them).
        vectors: ``(len(vocabulary), dim)`` float table.
    """

    def __init__(self, vocabulary: Sequence[str], vectors: np.ndarray) -> None:
        if len(vocabulary) != len(vectors):
            raise ValueError(f"{len(vocabulary)} tokens but {len(vectors)} table rows")
        self.dim = int(vectors.shape[1])
        self._token_id = {token: i for i, token in enumerate(vocabulary)}
        self._unk = self._token_id["[UNK]"]
        self._n_tokens = len(vocabulary)
        # One array holds the table and, after it, the memoised rows of multi-token words;
        # ``_base`` is a view of its first rows (re-pointed whenever the array is replaced).
        rows = np.empty((len(vectors) + 1024, self.dim), np.float32)
        rows[: len(vectors)] = vectors
        rows[len(vectors) :] = 0.0
        self._rows = rows
        self._base = rows[: len(vectors)]
        self._n_rows = self._n_tokens
        self._lock = threading.Lock()
        self._longest = max(len(t.removeprefix("##")) for t in vocabulary)
        self._whole_words = {
            token: i
            for token, i in self._token_id.items()
            if token.isascii() and token.isalnum() and token.lower() == token
        }
        self._reset_memo()

    def _reset_memo(self) -> None:
        # A word maps to a row of ``_rows``: the table row of its token when it is one token,
        # else a row after the table holding the mean of its tokens' rows.
        # A whole-word token is its own row (what the WordPiece split of that word gives).
        self._word_row: dict[str, int] = dict(self._whole_words)
        if self._n_rows > self._n_tokens:  # a new array: readers of the old one stay right
            rows = np.zeros((self._n_tokens + 1024, self.dim), np.float32)
            rows[: self._n_tokens] = self._base
            self._rows, self._base = rows, rows[: self._n_tokens]
        self._n_rows = self._n_tokens

    # -- tokens --------------------------------------------------------------------------------

    def tokens(self, word: str) -> list[int]:
        """The WordPiece token ids of one word (as produced by ``words_of``)."""
        ids: list[int] = []
        for piece in _pieces(word):
            ids += self._wordpiece(piece)
        return ids

    def _wordpiece(self, piece: str) -> list[int]:
        if len(piece) > MAX_WORD_CHARS:
            return [self._unk]
        ids: list[int] = []
        start, end_all = 0, len(piece)
        token_id, longest = self._token_id, self._longest
        while start < end_all:
            end = min(end_all, start + longest)
            found = None
            while start < end:
                sub = piece[start:end] if start == 0 else "##" + piece[start:end]
                found = token_id.get(sub)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self._unk]
            ids.append(found)
            start = end
        return ids

    # -- rows ------------------------------------------------------------------------------------

    def _add_words(self, words: Iterable[str]) -> None:
        words = set(words)
        with self._lock:
            new = [w for w in words if w not in self._word_row]
            if self._n_rows - self._n_tokens + len(new) > MAX_EXTRA_ROWS:
                self._reset_memo()
                new = [w for w in words if w not in self._word_row]
            rows = self._rows
            extra: list[tuple[str, list[int]]] = []
            for word in new:
                ids = self.tokens(word)
                if len(ids) == 1:
                    self._word_row[word] = ids[0]
                else:
                    extra.append((word, ids))
            if not extra:
                return
            needed = self._n_rows + len(extra)
            if needed > len(rows):
                grown = np.zeros((max(needed, len(rows) + len(rows) // 2), self.dim), np.float32)
                grown[: self._n_rows] = rows[: self._n_rows]
                rows = grown
            for _word, ids in extra:
                rows[self._n_rows] = (
                    self._base[ids].mean(axis=0) if ids else np.zeros(self.dim, np.float32)
                )
                self._n_rows += 1
            self._rows, self._base = rows, rows[: self._n_tokens]  # rows before the words
            for offset, (word, _) in enumerate(extra):
                self._word_row[word] = self._n_rows - len(extra) + offset

    def encode_words(self, word_lists: Sequence[list[str]]) -> np.ndarray:
        """Each text's sentence vector, ``(len(word_lists), dim)``: the sum of its word vectors
        over the length of that sum's first ``NORM_DIMS`` coordinates; a text without words gets
        zeros."""
        n = len(word_lists)
        if n == 1:
            return self._encode_one(word_lists[0])
        out = np.zeros((n, self.dim), np.float32)
        lengths = np.fromiter((len(ws) for ws in word_lists), dtype=np.intp, count=n)
        if not lengths.any():
            return out
        while True:
            memo = self._word_row
            get = memo.get
            ids = array("q")  # filled from C iterators, viewed by numpy without a copy
            for ws in word_lists:
                ids.extend(map(get, ws, repeat(-1)))
            index = np.frombuffer(ids, dtype=np.int64)
            if (index < 0).any():
                # all the batch's words: if the memo starts over, none of them may be lost
                self._add_words(w for ws in word_lists for w in ws)
                continue
            table = self._rows
            if memo is self._word_row:  # not started over by another thread meanwhile
                break
        filled = lengths > 0
        sums = sum_rows(table, index, lengths)[filled]
        out[filled] = sums / _norms(sums)
        return out

    def _encode_one(self, words: list[str]) -> np.ndarray:
        """``encode_words`` of one text, without the batch bookkeeping (the hot path)."""
        while True:
            memo = self._word_row
            index = np.fromiter(map(memo.get, words, repeat(-1)), np.intp, len(words))
            if len(index) and index.min() < 0:
                self._add_words(words)
                continue
            table = self._rows
            if memo is self._word_row:
                break
        if not len(index):
            return np.zeros((1, self.dim), np.float32)
        total = table[index].sum(axis=0, keepdims=True)
        return total / _norms(total)

    def word_rows(self, words: Sequence[str]) -> np.ndarray:
        """Each word's own row (the mean of its tokens' rows), not normalised; words already
        memoised (e.g. those of texts ``encode``d before) are not split again."""
        rows = np.zeros((len(words), self.dim), np.float32)
        with self._lock:  # the memo and its rows as one (``_add_words`` may start them over)
            known = [self._word_row.get(w, -1) for w in words]
            seen = np.array([i >= 0 for i in known], dtype=bool)
            if seen.any():
                rows[seen] = self._rows[[i for i in known if i >= 0]]
        new = [w for w, i in zip(words, known, strict=True) if i < 0]
        if new:
            token_lists = [self.tokens(w) for w in new]
            lengths = np.array([len(ids) for ids in token_lists])
            flat = np.fromiter((i for ids in token_lists for i in ids), np.intp, int(lengths.sum()))
            # Not ``sum_rows``: this runs when a model is loaded, and the bot keeps scipy out.
            fresh = np.zeros((len(new), self.dim), np.float32)
            filled = lengths > 0
            if filled.any():
                starts = np.concatenate([[0], np.cumsum(lengths[filled])[:-1]])
                fresh[filled] = np.add.reduceat(self._base[flat], starts, axis=0)
            rows[~seen] = fresh / np.maximum(lengths, 1)[:, None]
        return rows

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``encode_words`` of the texts' words."""
        return self.encode_words([words_of(t) for t in texts])


def sum_rows(table: np.ndarray, ids: np.ndarray, lengths: Sequence[int] | np.ndarray) -> np.ndarray:
    """Per text, the sum of the table rows of its ids (``lengths[i]`` ids for text ``i``)."""
    if len(lengths) == 1:
        return table[ids].sum(axis=0, keepdims=True)
    # A count matrix times the table: scipy's sparse product gathers and adds rows ~10x faster
    # than fancy indexing plus ``np.add.reduceat`` over rows.
    from scipy.sparse import csr_matrix

    indptr = np.zeros(len(lengths) + 1, np.intp)
    np.cumsum(lengths, out=indptr[1:])
    counts = csr_matrix(
        (np.ones(len(ids), table.dtype), ids, indptr), shape=(len(lengths), len(table))
    )
    return counts @ table


def _norms(sums: np.ndarray) -> np.ndarray:
    """The normaliser of each sum of word vectors (a column vector, never zero)."""
    return np.maximum(np.linalg.norm(sums[:, :NORM_DIMS], axis=1, keepdims=True), 1e-12)


def _pieces(word: str) -> list[str]:
    """What the BERT uncased pre-tokenizer makes of a word: accents stripped, punctuation and
    CJK characters split off (the engine's words hold no ASCII punctuation or whitespace, but
    non-ASCII punctuation, symbols and letters stay inside them)."""
    if word.isascii():
        return [word]
    text = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
    pieces: list[str] = []
    current: list[str] = []
    for char in text:
        cat = unicodedata.category(char)
        if cat.startswith("P") or _is_cjk(ord(char)) or char.isspace():
            if current:
                pieces.append("".join(current))
                current = []
            if not char.isspace():
                pieces.append(char)
        elif cat in ("Cc", "Cf") or char == "\ufffd":
            continue
        else:
            current.append(char)
    if current:
        pieces.append("".join(current))
    return pieces


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )
