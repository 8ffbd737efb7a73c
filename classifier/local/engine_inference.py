"""``SportEngineInference``: what a fitted ``SportEngine`` needs to read texts, numpy only.

``SportEngine`` (``classifier.local.engine``) is this plus its parameters and ``fit``, on
scikit-learn's ``BaseEstimator``; a served model is handed to another process as this class alone
(``LocalBackend``), so that a bot answering messages never imports scikit-learn.

Inference does not go through scikit-learn or scipy: per text the tokenizer is one ``translate``
and a ``split`` (ASCII texts as bytes) and features are one ``map(dict.get)``, or for a big batch
one ``translate`` of the whole batch and its words found in numpy
(``classifier.local.batch_words``); counting, tf-idf weighting, l2 normalisation and scoring run
in numpy over the whole batch (one sort for counts, a gather of the weight rows,
``np.add.reduceat``).
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np

from classifier.errors import ModelFileError
from classifier.local.batch_words import BatchIndex, batch_sized, look_up_batch, tagged_index
from classifier.local.tfidf import (
    EncodedTexts,
    class_scores,
    log_softmax,
    log_softmax_one,
    rows_of_keys,
)
from classifier.local.word_index import WordIndex
from classifier.local.words import HEADER_FIELDS, SEPARATE, Vocabulary, header_terms, look_up, pack

Rows = tuple[np.ndarray, np.ndarray, np.ndarray, int]
"""Sparse rows of texts: feature indices, values, row starts, and the texts' token count."""


class OlderModelError(ModelFileError):
    """A model file whose state is not laid out as this sportbot's models are: saved by an older
    sportbot (``classifier.local.load_local_model`` names the model and says to retrain)."""


def require_learned(state: Mapping[str, Any], names: Sequence[str]) -> None:
    """Refuse a fitted model's state that lacks any of the learned attributes ``names``."""
    missing = [name for name in names if name not in state]
    if missing:
        raise OlderModelError(
            f"The model was saved by an older sportbot (it has no {', '.join(missing)}): "
            "retrain it with `sportbot train`."
        )


class SportEngineInference:
    """The fitted engine's reading of texts: features, scores, log-probabilities, explanations.

    Reads the parameters ``headers`` and ``ngram_max`` and the learned state ``classes_``,
    ``feature_names_``, ``idf_``, ``nb_ratio_``, ``coef_`` and ``intercept_`` (see
    ``SportEngine``); builds its lookup tables from them (``_index``).
    """

    LEARNED = ("classes_", "feature_names_", "idf_", "nb_ratio_", "coef_", "intercept_")
    """The learned state a fitted engine's file must hold."""

    headers: str
    ngram_max: int
    _tagged_index: WordIndex | None
    _words_index: BatchIndex | None
    classes_: tuple[str, ...]
    feature_names_: np.ndarray
    idf_: np.ndarray
    nb_ratio_: np.ndarray
    coef_: np.ndarray
    intercept_: np.ndarray

    # -- features -------------------------------------------------------------------------------

    def _terms(self, text: str) -> list[str]:
        """The feature names of one text, repeated as often as they occur.

        Words are runs of ASCII letters and digits (other ASCII characters separate them;
        non-ASCII letters stay inside words), lowercased. With ``headers="tagged"`` the words of
        known Usenet header fields are added once more with the field as prefix.
        """
        lower = text.lower()
        words = lower.translate(SEPARATE).split()
        if self.ngram_max >= 2 and len(words) > 1:
            words += [a + " " + b for a, b in itertools.pairwise(words)]
        if self.headers == "tagged":
            words += header_terms(lower)
        return words

    def _encode(self, texts: Sequence[str]) -> Rows:
        """Sparse rows of the texts (``classifier.local.tfidf``): a value is the sublinear tf-idf
        weight, l2-normalised over the row, times the feature's naive-Bayes scale. Unknown terms
        map to the padding feature 0.

        The same rows as ``_encode_terms`` of ``_terms`` (what ``fit`` uses), without building
        the term strings: per text the Python work is one ``translate`` and a ``split``
        (C-level; an ASCII text as bytes, where one table both lowercases and separates, any
        other text as str after ``lower()``), one ``map(dict.get)`` over its words, and for
        tagged header words a lookup in their field's own table (no ``"subject:" + word``
        strings); a big batch's words are found in numpy (``look_up_batch``). Counting,
        weighting and normalising run in numpy over the whole batch at once.
        """
        if self.ngram_max >= 2:
            return self._encode_terms([self._terms(text) for text in texts])
        if batch_sized(texts):
            found = look_up_batch(texts, self.vocabulary(), self._batch_index())
        else:
            found = look_up(texts, self.vocabulary())
        return self.rows_of_ids(found.ids, found.lengths)

    def vocabulary(
        self, words: tuple[Mapping[bytes, bytes], Mapping[str, bytes]] | None = None
    ) -> Vocabulary:
        """The lookup tables of ``classifier.local.words.look_up`` for this engine's features
        (``words``: other tables for plain words, bytes and str keys, packed ids, e.g. ones that
        also know words the engine does not)."""
        fields = self._bytes_field_gets if self.headers == "tagged" else {}
        str_fields = self._field_gets if self.headers == "tagged" else {}
        bytes_words, str_words = words or (self._bytes_words, self._plain_words)
        return Vocabulary(bytes_words.get, str_words.get, fields, str_fields)

    def tagged_index(self) -> WordIndex:
        """The ids of the tagged header words (``subject:rays``) in a ``WordIndex``, for
        ``look_up_batch`` (built on first use)."""
        index = self._tagged_index
        if index is None:
            index = self._tagged_index = tagged_index(self._field_words)
        return index

    def _batch_index(self) -> BatchIndex:
        index = self._words_index
        if index is None:
            index = self._words_index = BatchIndex(
                _word_index(self._plain_words), self.tagged_index()
            )
        return index

    def _encode_terms(self, term_lists: Sequence[list[str]]) -> Rows:
        """``_encode`` for texts already split into terms by ``_terms``."""
        vocab_get = self._vocab.get
        ids: list[int] = []
        lengths: list[int] = []
        for terms in term_lists:
            ids.append(0)
            ids += map(vocab_get, terms, repeat(0))
            lengths.append(len(terms) + 1)
        return self.rows_of_ids(np.array(ids, dtype=np.int64), lengths)

    def rows_of_ids(self, ids: np.ndarray, lengths: Sequence[int]) -> Rows:
        """Rows from the feature ids of the texts one after the other (each starting with the
        padding id 0), ``lengths`` ids per text."""
        n_docs = len(lengths)
        n_features = len(self.idf_)
        # (text, feature) keys; 32-bit when they fit, which sorts about twice as fast.
        dtype = np.int32 if n_docs * n_features < 2**31 else np.int64
        keys: np.ndarray = ids.astype(dtype)
        if n_docs > 1:
            offsets = np.arange(n_docs, dtype=dtype) * n_features
            keys += np.repeat(offsets, lengths)
        rows = rows_of_keys(keys, n_docs, n_features, self.idf_, self._idfr)
        return (*rows, len(ids) - n_docs)

    def _scores(self, indices: np.ndarray, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
        return class_scores(self.coef_, self.intercept_, indices, values, starts)

    def _index(self) -> None:
        """Rebuild the lookup structures from ``feature_names_``, ``idf_`` and ``nb_ratio_``."""
        names = self.feature_names_.tolist()
        self._vocab = {name: j for j, name in enumerate(names) if j}
        self._idfr = self.idf_ * self.nb_ratio_
        self._one_text: tuple[array[float], list[float]] | None = None
        # The hot path's tables (``classifier.local.words.look_up``) hold packed ids. Plain words by
        # str and, for ASCII texts, by bytes; per header field its words' ids of tagged features
        # (``subject:rays`` under "subject" as "rays"), so tagged strings are never built.
        packed = pack(range(len(names)))
        fields: dict[str, dict[str, bytes]] = {field: {} for field in HEADER_FIELDS}
        plain: dict[str, bytes] = {}
        for name, j in self._vocab.items():
            field, colon, word = name.partition(":")
            if not colon:
                plain[name] = packed[j]
            elif field in fields:
                fields[field][word] = packed[j]
        self._plain_words = plain
        self._field_words = fields
        self._bytes_words = {name.encode(): j for name, j in plain.items() if name.isascii()}
        self._tagged_index = None
        self._words_index = None
        self._field_gets = {field: vocab.get for field, vocab in fields.items()}
        self._bytes_field_gets = {
            field.encode(): {w.encode(): j for w, j in vocab.items() if w.isascii()}.get
            for field, vocab in fields.items()
        }

    # -- prediction ----------------------------------------------------------------------------

    def predict_log_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Log-probabilities, shape ``(len(texts), len(classes_))``, columns in ``classes_`` order."""
        if isinstance(texts, str):
            raise TypeError("predict_log_proba takes a sequence of texts, not one string")
        if len(texts) == 0:
            return np.zeros((0, len(self.classes_)))
        if len(texts) == 1 and self.ngram_max == 1:
            found = look_up(texts, self.vocabulary())
            return np.array([log_softmax_one(self.scores_one(found.ids.tolist()))])
        idx, val, starts, _ = self._encode(texts)
        return log_softmax(self._scores(idx, val, starts))

    def scores_one(self, ids: list[int]) -> list[float]:
        """The class scores (before the softmax) of one text from the feature ids ``look_up``
        gave it (0 and ids past the vocabulary are skipped), in plain Python: the same sums as
        the batch path, without its dozen numpy calls, whose fixed costs are most of the time of
        one message when a bot classifies a message now and then and the caches are cold."""
        tables = self._one_text
        if tables is None:
            # Feature j's idf and class weights side by side, as C doubles (one cache line for a
            # few labels): lists of lists of float objects made a cold lookup chase ~5 pointers
            # per feature (benchmarks/cold_classify.py: this path cold 0.23 -> 0.17 ms a post).
            rows = np.hstack([self.idf_[:, None], self._idfr[:, None] * self.coef_])
            tables = self._one_text = (array("d", rows.tobytes()), self.intercept_.tolist())
        table, intercept = tables
        k = len(intercept)
        stride = k + 1
        n_features = len(table) // stride
        square = 0.0
        sums = [0.0] * k
        for j, count in Counter(ids).items():
            if 0 < j < n_features:
                tf = 1.0 + math.log(count)
                at = j * stride
                weight = tf * table[at]
                square += weight * weight
                for c in range(k):
                    sums[c] += tf * table[at + 1 + c]
        norm = math.sqrt(square) or 1.0
        return [total / norm + b for total, b in zip(sums, intercept, strict=True)]

    def encode(self, texts: Sequence[str]) -> EncodedTexts:
        """The texts as the fitted vocabulary sees them, to be scored many times (e.g. a
        validation set after every step of ``fit``); valid until the vocabulary is rebuilt."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        idx, val, starts, _ = self._encode(texts)
        return EncodedTexts(idx, val, starts)

    def predict_log_proba_encoded(self, encoded: EncodedTexts) -> np.ndarray:
        """``predict_log_proba`` of texts already ``encode``d."""
        if len(encoded.starts) == 0:
            return np.zeros((0, len(self.classes_)))
        return log_softmax(self._scores(encoded.indices, encoded.values, encoded.starts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.exp(self.predict_log_proba(texts))

    def predict(self, texts: Sequence[str]) -> list[str]:
        logp = self.predict_log_proba(texts)
        return [self.classes_[i] for i in logp.argmax(axis=1)]

    def explain(self, text: str, top: int = 8) -> list[tuple[str, float]]:
        """The features that pushed the decision most, with their signed weight toward the
        predicted label (positive: for it; negative: against it), largest magnitude first."""
        idx, val, starts, _ = self._encode([text])
        scores = self._scores(idx, val, starts)[0]
        predicted = int(scores.argmax())
        coef = self.coef_[idx]
        others = np.delete(coef, predicted, axis=1).mean(axis=1)
        push = val * (coef[:, predicted] - others)
        order = np.argsort(-np.abs(push), kind="stable")
        names = self.feature_names_
        return [(str(names[idx[k]]), float(push[k])) for k in order[:top] if push[k] != 0.0]

    # -- persistence (skops and pickle read and write the state through these) ------------------

    def inference_copy(self) -> SportEngineInference:
        """This engine as ``SportEngineInference`` alone (the same state, shared)."""
        twin = SportEngineInference.__new__(SportEngineInference)
        twin.__dict__.update(self.__dict__)
        return twin

    def __getstate__(self) -> dict[str, Any]:
        """Parameters and learned state without the lookup tables; feature names as one
        newline-joined string (terms never hold a newline), which skops stores compactly."""
        state = dict(self.__dict__)
        for cache in ("_vocab", "_idfr", "_one_text", "_plain_words", "_bytes_words"):
            state.pop(cache, None)
        for cache in ("_field_words", "_field_gets", "_bytes_field_gets"):
            state.pop(cache, None)
        state.pop("_tagged_index", None)
        state.pop("_words_index", None)
        if "feature_names_" in state:
            state["feature_names_"] = "\n".join(self.feature_names_.tolist())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if "classes_" in state:
            require_learned(state, self.LEARNED)
        if isinstance(state.get("feature_names_"), str):
            state["feature_names_"] = np.array(state["feature_names_"].split("\n"))
        self.__dict__.update(state)
        if "feature_names_" in state:
            self._index()


def _word_index(words: Mapping[str, bytes]) -> WordIndex:
    """A ``WordIndex`` of the ASCII words of a ``look_up`` table (packed ids)."""
    ascii_words = [word for word in words if word.isascii()]
    ids = [int.from_bytes(words[word], "little", signed=True) for word in ascii_words]
    return WordIndex([word.encode() for word in ascii_words], ids)
