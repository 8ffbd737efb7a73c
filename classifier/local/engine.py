"""``SportEngine``: the local text classifier behind the local completion backend.

A multinomial logistic regression (any number of labels) over sublinear TF-IDF features of words
(optionally word pairs) and tagged Usenet header words, trained the way a fine-tune is: real
epochs over shuffled mini-batches with Adam updates (optionally several shuffles side by side,
their weights averaged), a callback after every step. Each feature is scaled by how strongly it
separates the classes in the training counts (naive-Bayes log-count ratios, as in NB-SVM).
Defaults chosen by cross-validation: experiments/engine_selection.py.

Inference does not go through scikit-learn or scipy (only numpy is imported): per text the
tokenizer is one ``translate`` and a ``split`` (ASCII texts as bytes), features are one
``map(dict.get)``, and counting, tf-idf weighting, l2 normalisation and scoring run in numpy over
the whole batch (``np.unique`` for counts, a gather of the weight rows, ``np.add.reduceat``).
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np

from classifier.local.words import HEADER_FIELDS, SEPARATE, Vocabulary, header_terms, look_up, pack

DEFAULT_N_EPOCHS = 4
DEFAULT_BATCH_SIZE = 16
DEFAULT_AVERAGE_EPOCHS = 2
"""Defaults of ``SportEngine`` (chosen by cross-validation, experiments/engine_selection.py)."""


class EncodedTexts(NamedTuple):
    """Texts encoded by ``SportEngine.encode``: sparse rows (feature indices, values, row starts)."""

    indices: np.ndarray
    values: np.ndarray
    starts: np.ndarray


@dataclass(frozen=True)
class TrainingStep:
    """What ``SportEngine.fit`` reports after every mini-batch.

    ``training_loss`` and ``training_accuracy`` are measured on the batch with the weights as they
    were *before* this step's update (the forward pass the gradient is computed from).
    """

    step: int
    """1-based global step."""
    epoch: int
    """1-based epoch."""
    n_epochs: int
    elapsed_examples: int
    elapsed_tokens: int
    """Tokens seen so far (this engine's tokenizer: words and numbers of the message)."""
    training_loss: float
    """Mean log loss of this batch, before the update."""
    training_accuracy: float
    """Accuracy on this batch, before the update."""


class SportEngine:
    """Text classifier with scikit-learn-style verbs: parameters here, learned state after ``fit``.

    Args:
        n_epochs: passes over the training texts.
        batch_size: texts per mini-batch (one Adam update each).
        random_state: seeds the shuffling and nothing else (weights start at zero).
        learning_rate: Adam step size.
        alpha: L2 penalty per example (added to the mean batch loss as ``alpha/2 * |W|^2``).
        ngram_max: 1 for words, 2 to add adjacent word pairs.
        headers: ``"tagged"`` adds tagged features for the words of known header fields (they
            still count as plain words too); ``"plain"`` treats the header as text.
        min_df: minimum number of training texts a feature must occur in.
        nb_power: exponent of the naive-Bayes log-count ratio that scales each feature after the
            l2 normalisation (NB-SVM; 0: off).
        nb_alpha: smoothing of the per-class document counts behind that ratio.
        average_epochs: the model is the running mean of the weights after each step of the last
            ``average_epochs`` epochs, or of all when there are fewer (Polyak-Ruppert averaging;
            0: the last step's weights).
            The mini-batch noise of the last steps then no longer decides the answers: it cut
            the cross-validated log loss of the default model by a tenth and the spread of its
            held-out accuracy over shuffling seeds (experiments/engine_selection.py, BENCHMARKS.md).
        n_shuffles: independent shuffles trained side by side, each with its own weights, Adam
            moments and running mean; a step updates every one on its own next mini-batch, and
            the model is the mean of their weights (a "soup" of shuffles: its answers depend
            less on any one mini-batch order; ``batch_size`` is per shuffle).
    """

    def __init__(
        self,
        *,
        n_epochs: int = DEFAULT_N_EPOCHS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        random_state: int = 0,
        learning_rate: float = 0.1,
        alpha: float = 1e-4,
        ngram_max: int = 1,
        headers: str = "tagged",
        min_df: int = 1,
        nb_power: float = 1.0,
        nb_alpha: float = 0.5,
        average_epochs: int = DEFAULT_AVERAGE_EPOCHS,
        n_shuffles: int = 1,
    ) -> None:
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.ngram_max = ngram_max
        self.headers = headers
        self.min_df = min_df
        self.nb_power = nb_power
        self.nb_alpha = nb_alpha
        self.average_epochs = average_epochs
        self.n_shuffles = n_shuffles

    # -- parameters ---------------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters, as scikit-learn estimators report them."""
        return {
            "n_epochs": self.n_epochs,
            "batch_size": self.batch_size,
            "random_state": self.random_state,
            "learning_rate": self.learning_rate,
            "alpha": self.alpha,
            "ngram_max": self.ngram_max,
            "headers": self.headers,
            "min_df": self.min_df,
            "nb_power": self.nb_power,
            "nb_alpha": self.nb_alpha,
            "average_epochs": self.average_epochs,
            "n_shuffles": self.n_shuffles,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"SportEngine({args})"

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

    def _encode(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Sparse rows of the texts: feature indices, values, row starts, and the token count.

        A value is the sublinear tf-idf weight, l2-normalised over the row, times the feature's
        naive-Bayes scale. Every row starts with an entry on the padding feature 0 (idf 0, so its
        value is 0): no row is empty and ``np.add.reduceat`` over ``starts`` sums each row.
        Unknown terms map to feature 0 as well.

        The same rows as ``_encode_terms`` of ``_terms`` (what ``fit`` uses), without building
        the term strings: per text the Python work is one ``translate`` and a ``split``
        (C-level; an ASCII text as bytes, where one table both lowercases and separates, any
        other text as str after ``lower()``), one ``map(dict.get)`` over its words, and for
        tagged header words a lookup in their field's own table (no ``"subject:" + word``
        strings). Counting, weighting and normalising run in numpy over the whole batch at once.
        """
        if self.ngram_max >= 2:
            return self._encode_terms([self._terms(text) for text in texts])
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

    def _encode_terms(
        self, term_lists: Sequence[list[str]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """``_encode`` for texts already split into terms by ``_terms``."""
        vocab_get = self._vocab.get
        ids: list[int] = []
        lengths: list[int] = []
        for terms in term_lists:
            ids.append(0)
            ids += map(vocab_get, terms, repeat(0))
            lengths.append(len(terms) + 1)
        return self.rows_of_ids(np.array(ids, dtype=np.int64), lengths)

    def rows_of_ids(
        self, ids: np.ndarray, lengths: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Rows from the feature ids of the texts one after the other (each starting with the
        padding id 0), ``lengths`` ids per text."""
        n_docs = len(lengths)
        n_features = len(self._idf)
        # (text, feature) keys; 32-bit when they fit, which sorts about twice as fast.
        dtype = np.int32 if n_docs * n_features < 2**31 else np.int64
        keys = ids.astype(dtype)
        if n_docs > 1:
            keys += np.repeat(np.arange(n_docs, dtype=dtype) * dtype(n_features), lengths)
        return self._rows(keys, n_docs, len(ids) - n_docs)

    def _rows(
        self, keys: np.ndarray, n_docs: int, n_tokens: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Rows from ``text * n_features + feature`` keys, one key per occurrence."""
        n_features = len(self._idf)
        # One entry per (text, feature) with its count; sorted, so each text's entries are
        # contiguous and its padding entry (feature 0) comes first.
        unique, counts = np.unique(keys, return_counts=True)
        doc = (unique // n_features).astype(np.intp)
        index = (unique - doc * n_features).astype(np.intp)
        starts = np.searchsorted(doc, np.arange(n_docs))
        tf = np.log(counts.astype(np.float64))
        tf += 1.0
        weight = tf * self._idf[index]
        sq = np.add.reduceat(weight * weight, starts)
        sq[sq == 0.0] = 1.0
        values = tf * self._idfr[index] / np.sqrt(sq)[doc]
        return index, values, starts.astype(np.intp), n_tokens

    def _scores(self, indices: np.ndarray, values: np.ndarray, starts: np.ndarray) -> np.ndarray:
        return _scores(self._coef, self._intercept, indices, values, starts)

    # -- fitting -------------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        on_step: Callable[[TrainingStep], None] | None = None,
    ) -> SportEngine:
        """Learn the vocabulary, then train for ``n_epochs`` epochs over shuffled mini-batches.

        Each mini-batch is one (lazy) Adam update of the softmax regression on the batch's mean
        log loss plus the L2 penalty of the rows it touches. ``on_step`` is called after every
        update; the engine is usable (``predict_log_proba``) inside it and answers as the model
        would if training stopped there (in the averaging epochs: the running mean so far).
        """
        if isinstance(texts, str) or isinstance(labels, str):
            raise TypeError("fit takes sequences of texts and labels, not single strings")
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if len(texts) == 0:
            raise ValueError("there are no training texts")
        classes = tuple(sorted({str(label) for label in labels}))
        if len(classes) < 2:
            raise ValueError(f"training needs at least two labels, got only {classes!r}")
        if self.n_epochs < 1 or self.batch_size < 1:
            raise ValueError("n_epochs and batch_size must be at least 1")
        if self.average_epochs < 0:
            raise ValueError("average_epochs must be at least 0")
        if self.n_shuffles < 1:
            raise ValueError("n_shuffles must be at least 1")
        if self.headers not in ("tagged", "plain") or self.ngram_max not in (1, 2):
            raise ValueError("headers must be 'tagged' or 'plain' and ngram_max 1 or 2")
        self.classes_ = classes
        y = np.array([classes.index(str(label)) for label in labels], dtype=np.intp)
        term_lists = [self._terms(text) for text in texts]
        self._build_vocabulary(term_lists, y)
        n_features = len(self.feature_names_)
        n_classes = len(classes)
        k = self.n_shuffles
        # The optimiser's weights, one slice per shuffle; the model (``_coef``/``_intercept``)
        # is their mean, or in the averaging epochs the mean of their running means.
        coef = np.zeros((k, n_features, n_classes))
        intercept = np.zeros((k, n_classes))
        self._coef, self._intercept = coef.mean(axis=0), intercept.mean(axis=0)
        mean_coef, mean_intercept = coef, intercept
        averaged = 0

        index, values, starts, _ = self._encode_terms(term_lists)
        ends = np.append(starts[1:], len(index))
        tokens_of = np.array([len(terms) for terms in term_lists])
        rng = np.random.default_rng(self.random_state)
        onehot = np.eye(n_classes)[y]
        m_w = np.zeros_like(coef)
        v_w = np.zeros_like(coef)
        m_b = np.zeros_like(intercept)
        v_b = np.zeros_like(intercept)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        step = seen = tokens = 0
        for epoch in range(1, self.n_epochs + 1):
            orders = [rng.permutation(len(texts)) for _ in range(k)]
            for first in range(0, len(texts), self.batch_size):
                # One step: every shuffle takes its own next mini-batch.
                grads = []
                losses, hits, n_rows = [], 0.0, 0
                for j, order in enumerate(orders):
                    batch = order[first : first + self.batch_size]
                    rows_grad, grad_b, loss, hit = _gradient(
                        coef[j], intercept[j], index, values, starts, ends, batch, y, onehot
                    )
                    grads.append(rows_grad)
                    m_b[j] = beta1 * m_b[j] + (1 - beta1) * grad_b
                    v_b[j] = beta2 * v_b[j] + (1 - beta2) * grad_b * grad_b
                    losses.append(loss)
                    hits += hit
                    n_rows += len(batch)
                    tokens += int(tokens_of[batch].sum())
                step += 1
                # Dense Adam: the L2 term reaches every weight, the data term the touched rows.
                m_w *= beta1
                m_w += (1 - beta1) * self.alpha * coef
                full = self.alpha * coef
                for j, (touched, grad_w) in enumerate(grads):
                    m_w[j, touched] += (1 - beta1) * grad_w
                    full[j, touched] += grad_w
                v_w *= beta2
                v_w += (1 - beta2) * full * full
                lr = self.learning_rate * math.sqrt(1 - beta2**step) / (1 - beta1**step)
                self._one_text = None  # the plain-Python tables of ``scores_one`` go stale
                coef -= lr * m_w / (np.sqrt(v_w) + eps)
                coef[:, 0] = 0.0
                intercept -= lr * m_b / (np.sqrt(v_b) + eps)
                if epoch > self.n_epochs - self.average_epochs:  # all epochs when fewer
                    if not averaged:
                        mean_coef, mean_intercept = coef.copy(), intercept.copy()
                    averaged += 1
                    mean_coef += (coef - mean_coef) / averaged
                    mean_intercept += (intercept - mean_intercept) / averaged
                np.sum(mean_coef, axis=0, out=self._coef)  # in place: no new array a step
                self._coef /= k
                np.sum(mean_intercept, axis=0, out=self._intercept)
                self._intercept /= k
                seen += n_rows
                if on_step is not None:
                    on_step(
                        TrainingStep(
                            step=step,
                            epoch=epoch,
                            n_epochs=self.n_epochs,
                            elapsed_examples=seen,
                            elapsed_tokens=tokens,
                            training_loss=math.fsum(losses) / k,
                            training_accuracy=hits / n_rows,
                        )
                    )
        return self

    def _build_vocabulary(self, term_lists: Sequence[list[str]], y: np.ndarray) -> None:
        n_classes = len(self.classes_)
        per_class: list[Counter[str]] = [Counter() for _ in range(n_classes)]
        for terms, label in zip(term_lists, y, strict=True):
            per_class[label].update(set(terms))
        df: Counter[str] = Counter()
        for counts in per_class:
            df.update(counts)
        names = sorted(term for term, n in df.items() if n >= self.min_df)
        n_docs = len(term_lists)
        idf = np.log((1 + n_docs) / (1 + np.array([df[t] for t in names], dtype=float))) + 1.0
        ratio = np.ones(len(names))
        if self.nb_power:
            counts = np.array([[c[t] for c in per_class] for t in names], dtype=float)
            counts += self.nb_alpha
            logp = np.log(counts / counts.sum(axis=0))
            # Log-count ratio of each class against the mean of the others (NB-SVM); its largest
            # magnitude says how much the feature sets some class apart from the rest.
            others = (logp.sum(axis=1, keepdims=True) - logp) / (n_classes - 1)
            ratio = np.abs(logp - others).max(axis=1) ** self.nb_power
        # Feature 0 is a padding slot: every encoded row starts with a zero-valued entry on it.
        self.feature_names_ = np.array(["", *names])
        self._idf = np.concatenate([[0.0], idf])
        self._ratio = np.concatenate([[0.0], ratio])
        self._index()

    def _index(self) -> None:
        """Rebuild the lookup structures from ``feature_names_``, ``_idf`` and ``_ratio``."""
        names = self.feature_names_.tolist()
        self._vocab = {name: j for j, name in enumerate(names) if j}
        self._idfr = self._idf * self._ratio
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
        self._bytes_words = {name.encode(): j for name, j in plain.items() if name.isascii()}
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
        return _log_softmax(self._scores(idx, val, starts))

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
            rows = np.hstack([self._idf[:, None], self._idfr[:, None] * self._coef])
            tables = self._one_text = (array("d", rows.tobytes()), self._intercept.tolist())
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
        return _log_softmax(self._scores(encoded.indices, encoded.values, encoded.starts))

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
        coef = self._coef[idx]
        others = np.delete(coef, predicted, axis=1).mean(axis=1)
        push = val * (coef[:, predicted] - others)
        order = np.argsort(-np.abs(push), kind="stable")
        names = self.feature_names_
        return [(str(names[idx[k]]), float(push[k])) for k in order[:top] if push[k] != 0.0]

    # -- persistence (skops reads and writes the state through these) -------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Learned state without the lookup tables; feature names as one newline-joined string
        (terms never hold a newline), which skops stores compactly."""
        state = dict(self.__dict__)
        state.pop("_vocab", None)
        state.pop("_idfr", None)
        state.pop("_one_text", None)
        for table in ("_plain_words", "_bytes_words", "_field_gets", "_bytes_field_gets"):
            state.pop(table, None)
        if "feature_names_" in state:
            state["feature_names_"] = "\n".join(self.feature_names_.tolist())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if isinstance(state.get("feature_names_"), str):
            state["feature_names_"] = np.array(state["feature_names_"].split("\n"))
        state.setdefault("n_shuffles", 1)  # models saved before shuffles were a parameter
        self.__dict__.update(state)
        if "feature_names_" in state:
            self._index()


def _gradient(
    coef: np.ndarray,
    intercept: np.ndarray,
    index: np.ndarray,
    values: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    batch: np.ndarray,
    y: np.ndarray,
    onehot: np.ndarray,
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, float, float]:
    """The mean log loss's gradient on one mini-batch of encoded rows, with the weights as they
    are: ((touched feature rows, their gradient), the intercept's gradient, the batch's mean
    loss, its number of right answers)."""
    lengths = ends[batch] - starts[batch]
    entries = np.concatenate([np.arange(starts[i], ends[i]) for i in batch])
    idx = index[entries]
    val = values[entries]
    row_starts = np.zeros(len(batch), dtype=np.intp)
    row_starts[1:] = np.cumsum(lengths[:-1])
    logp = _log_softmax(_scores(coef, intercept, idx, val, row_starts))
    target = y[batch]
    loss = float(-logp[np.arange(len(batch)), target].mean())
    hits = float((logp.argmax(axis=1) == target).sum())
    delta = (np.exp(logp) - onehot[batch]) / len(batch)
    touched, where = np.unique(idx, return_inverse=True)
    weighted = val[:, None] * np.repeat(delta, lengths, axis=0)
    grad_w = np.empty((len(touched), coef.shape[1]))
    for c in range(coef.shape[1]):
        grad_w[:, c] = np.bincount(where, weights=weighted[:, c], minlength=len(touched))
    return (touched, grad_w), delta.sum(axis=0), loss, hits


def _scores(
    coef: np.ndarray,
    intercept: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    starts: np.ndarray,
) -> np.ndarray:
    """Class scores of sparse rows (``starts``: where each row's entries begin)."""
    return np.add.reduceat(coef[indices] * values[:, None], starts, axis=0) + intercept


def log_softmax_one(scores: list[float]) -> list[float]:
    """``_log_softmax`` of one row, in plain Python."""
    top = max(scores)
    total = top + math.log(sum(math.exp(s - top) for s in scores))
    return [s - total for s in scores]


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
