"""``GatedSportInference``: what a fitted ``GatedSportModel`` needs to read texts, numpy only.

``GatedSportModel`` (``classifier.local.gated_model``, which describes the model) is this plus
its parameters and ``fit``, on scikit-learn's ``BaseEstimator``; a served model is handed to
another process as this class alone (``LocalBackend``), so a bot never imports scikit-learn.

The expert and the gate read the message part of a post (subject and body, no From/Organization
lines) as its static sentence vector; the engine reads the whole text. Both are linear in that
vector (the gate plus a quadratic form of its first ``NORM_DIMS`` coordinates, which each word's
row carries anyway, in the form's own axes), so each word's expert and gate scores are computed
once (``classifier.local.word_scores``) and a text is read in one pass: one split, one dictionary
lookup per word giving the engine's feature and the word's scores (a short text is split once
more, for the surname prior); a big batch is split once and its words found in numpy
(``classifier.local.batch_words``), to the same ids.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from classifier.errors import ModelFileError
from classifier.local.base_model import BaseModel, load_base_model
from classifier.local.batch_words import BatchIndex, batch_sized, look_up_batch
from classifier.local.engine_inference import SportEngineInference, require_learned
from classifier.local.experts import combine, combine_one
from classifier.local.static_embedding import NORM_DIMS, sum_rows
from classifier.local.tfidf import EncodedTexts
from classifier.local.usenet import is_post
from classifier.local.word_scores import WordScores, WordState
from classifier.local.words import LookedUp, look_up, message_words, words_of


class EncodedGated(NamedTuple):
    """Texts encoded by ``GatedSportModel.encode``: the engine's rows and, per text, its expert's
    scores (the posts expert's for a post) and the gate's log-odds (``(n, len(sport labels) +
    1)``)."""

    engine: EncodedTexts
    scores: np.ndarray


class GatedSportInference:
    """The fitted model's reading of texts: log-probabilities (``"other"`` last when gated),
    predictions among the sports, explanations.

    Reads the learned state of ``GatedSportModel`` (``LEARNED``, and the experts' weights
    ``expert_weight_`` and ``post_expert_weight_``); the base model is loaded, and checked
    against ``base_model_sha256_``, on first use.
    """

    LEARNED = (
        "engine_",
        "classes_",
        "gated_",
        "expert_coef_",
        "expert_intercept_",
        "post_expert_coef_",
        "post_expert_intercept_",
        "surnames_",
        "surname_push_",
        "base_model_id_",
        "base_model_sha256_",
    )
    """The learned state a fitted model's file must hold."""

    _word_table: WordScores | None
    expert_weight_: float
    post_expert_weight_: float
    engine_: SportEngineInference
    classes_: tuple[str, ...]
    gated_: bool
    expert_coef_: np.ndarray
    expert_intercept_: np.ndarray
    post_expert_coef_: np.ndarray
    post_expert_intercept_: np.ndarray
    surnames_: dict[str, int]
    surname_push_: list[float]
    base_model_id_: str
    base_model_sha256_: str

    @property
    def base(self) -> BaseModel:
        """The shipped base model this model was trained on (loaded once per process)."""
        base = getattr(self, "_base", None)
        if base is None:
            base = load_base_model()
            expected = getattr(self, "base_model_sha256_", None)
            if expected is not None and base.sha256 != expected:
                raise ModelFileError(
                    f"This model was trained on base model {self.base_model_id_!r} "
                    f"(manifest sha256 {expected[:12]}…), but this installation ships "
                    f"{base.id!r} ({base.sha256[:12]}…): retrain it with `sportbot train`."
                )
            self._base = base
        return base

    # -- reading texts ---------------------------------------------------------------------------

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        """The static sentence vectors of the texts' message words (what the expert is fitted
        on; prediction uses the per-word scores of ``_word_scores`` instead)."""
        return self.base.embedding.encode_words([message_words(t) for t in texts])

    def _word_scores(self) -> WordScores:
        """The word table of the fitted expert, gate and engine vocabulary (built on first use:
        during ``fit`` that is the first step that predicts)."""
        table = getattr(self, "_word_table", None)
        if table is None:
            projection, _ = self._projection()
            names = self.engine_.feature_names_.tolist()
            known = {name: j for j, name in enumerate(names) if j and ":" not in name}
            axes = self.base.gate_axes if self.gated_ else None
            table = WordScores(self.base.embedding, projection, known, len(names), axes)
            self._word_table = table
        return table

    def _look_up(self, texts: Sequence[str]) -> tuple[LookedUp, WordState]:
        """``look_up`` of the texts in this model's word table (words met for the first time
        are added to it first), and the table's state the ids refer to."""
        engine, table = self.engine_, self._word_scores()
        while True:
            state = table.state
            vocabulary = engine.vocabulary((state.bytes_ids, state.ids))
            if batch_sized(texts):
                index = BatchIndex(state.word_index, engine.tagged_index())
                found = look_up_batch(texts, vocabulary, index, missing=True, message=True)
            else:
                found = look_up(texts, vocabulary, missing=True, message=True)
            if found.ids.min(initial=0) >= 0 and found.message_ids.min(initial=0) >= 0:
                return found, state
            table.add(word for text in texts for word in words_of(text))

    def encode(self, texts: Sequence[str]) -> EncodedGated:
        """The texts as this model sees them, to be scored many times (e.g. a validation set
        after every step of ``fit``): one pass per text for the engine and the expert."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        found, state = self._look_up(texts)
        ids, message = found.ids, found.message_ids
        # Words the engine does not know (ids past its features) are its padding feature 0.
        n_features = len(self.engine_.feature_names_)
        rows = self.engine_.rows_of_ids(np.where(ids < n_features, ids, 0), found.lengths)
        sums = sum_rows(state.scores, message, found.message_lengths).astype(np.float64)
        _, bias = self._projection()
        m, k = len(bias), len(self.expert_coef_)
        norms = np.sqrt(np.einsum("ij,ij->i", sums[:, m:], sums[:, m:]))
        vectors = sums / np.maximum(norms, 1e-12)[:, None]  # scores, then the leading part
        scores = vectors[:, : k + 1] + bias[: k + 1]
        posts = np.array(found.posts, dtype=bool)
        scores[posts, :k] = vectors[posts, k + 1 : m] + bias[k + 1 :]
        if self.gated_:  # the gate's quadratic form: in its own axes, a sum of squares
            scores[:, k] += np.square(vectors[:, m:]) @ self.base.gate_curvature
        for i in np.flatnonzero(~posts).tolist() if self.surnames_ else ():
            prior = self._surname_scores(texts[i])
            if prior is not None:
                scores[i, :k] += prior
        return EncodedGated(EncodedTexts(*rows[:3]), scores)

    def predict_log_proba_encoded(self, encoded: EncodedGated) -> np.ndarray:
        """``predict_log_proba`` of texts already ``encode``d."""
        if len(encoded.scores) == 0:
            return np.zeros((0, len(self.classes_)))
        rows = encoded.engine
        engine_scores = self.engine_._scores(rows.indices, rows.values, rows.starts)
        return combine(engine_scores, encoded.scores, self.gated_)

    def predict_log_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Log-probabilities, shape ``(len(texts), len(classes_))``, columns in ``classes_``
        order (``"other"`` last when gated)."""
        if isinstance(texts, str):
            raise TypeError("predict_log_proba takes a sequence of texts, not one string")
        if len(texts) == 0:
            return np.zeros((0, len(self.classes_)))
        if len(texts) == 1:
            return np.array([self._log_proba_one(texts[0])])
        return self.predict_log_proba_encoded(self.encode(texts))

    def _log_proba_one(self, text: str) -> list[float]:
        """``predict_log_proba`` of one text, its sums in plain Python
        (``SportEngineInference.scores_one``) and one numpy sum for the expert and gate (the rest
        on its 35 floats): a bot classifies one message at a time."""
        found, state = self._look_up([text])
        sport = self.engine_.scores_one(found.ids.tolist())
        k = len(sport)
        # float32 sums of the rows in the text's order, as the batch path's sparse product adds
        # them: one text scores the same alone and in a batch, to the last bit of the sums.
        total = state.scores[found.message_ids].sum(axis=0).tolist()
        bias, curvature = self._one_text_constants()
        lead = total[len(bias) :]
        norm = max(math.hypot(*lead), 1e-12)
        first = k + 1 if found.posts[0] else 0  # the posts expert's scores, or the other's
        expert = [
            x / norm + b
            for x, b in zip(total[first : first + k], bias[first : first + k], strict=True)
        ]
        sport = [s + e for s, e in zip(sport, expert, strict=True)]
        prior = None if found.posts[0] else self._surname_scores(text)
        if prior is not None:
            sport = [s + p for s, p in zip(sport, prior, strict=True)]
        if not self.gated_:
            return combine_one(sport, None)
        z = total[k] / norm + bias[k]
        z += sum(c * x * x for c, x in zip(curvature, lead, strict=True)) / (norm * norm)
        return combine_one(sport, z)

    def _surname_scores(self, text: str) -> list[float] | None:
        """What the surname prior adds to the sport scores of a text that is not a Usenet post
        (None when it names none of the prior's surnames)."""
        if not self.surnames_:
            return None
        found = {self.surnames_[w] for w in words_of(text) if w in self.surnames_}
        if not found:
            return None
        return [
            self.surname_push_[i] if i in found else 0.0 for i in range(len(self.surname_push_))
        ]

    def _projection(self) -> tuple[np.ndarray, np.ndarray]:
        """``(dim, 2k + 1)`` directions and ``2k + 1`` biases: of the short texts expert's ``k``
        scores (times its weight), the gate's log-odds (zeros when not gated), the posts
        expert's ``k`` scores (times its weight); computed once per fit."""
        return self._constants()[:2]

    def _one_text_constants(self) -> tuple[list[float], list[float]]:
        """The biases of ``_projection`` and the gate's curvatures as Python floats, for the
        one-text path (whose 35 sums are plain floats)."""
        return self._constants()[2:]

    def _constants(self) -> tuple[np.ndarray, np.ndarray, list[float], list[float]]:
        cached = getattr(self, "_projection_cache", None)
        if cached is not None and cached[0] is self.expert_coef_:
            return cached[1]
        k = len(self.expert_coef_)
        projection = np.zeros((self.base.embedding.dim, 2 * k + 1))
        projection[:, :k] = self.expert_weight_ * self.expert_coef_.T
        projection[:, k + 1 :] = self.post_expert_weight_ * self.post_expert_coef_.T
        bias = np.zeros(2 * k + 1)
        bias[:k] = self.expert_weight_ * self.expert_intercept_
        bias[k + 1 :] = self.post_expert_weight_ * self.post_expert_intercept_
        if self.gated_:
            projection[:, k] = self.base.gate_coef
            bias[k] = self.base.gate_intercept
        curvature = self.base.gate_curvature.tolist() if self.gated_ else []
        constants = (projection, bias, bias.tolist(), curvature)
        self._projection_cache = (self.expert_coef_, constants)
        return constants

    # -- answers ---------------------------------------------------------------------------------

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.exp(self.predict_log_proba(texts))

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The likelier label of each text among the training labels, as ``/sport`` answers
        (never ``"other"``: whether a text is on topic at all is ``predict_log_proba``'s last
        column)."""
        logp = self.predict_log_proba(texts)[:, : len(self.engine_.classes_)]
        return [self.engine_.classes_[i] for i in logp.argmax(axis=1)]

    def explain(self, text: str, top: int = 8) -> list[tuple[str, float]]:
        """The words that pushed the sport decision most, with their signed log-odds push toward
        the likelier sport (positive: for it), largest magnitude first: the engine's features
        plus each word's exact share of the expert's score (its scores over the text's norm)."""
        pushes: dict[str, float] = {}
        for term, weight in self.engine_.explain(text, top=max(top * 4, 32)):
            pushes[term] = pushes.get(term, 0.0) + weight
        k = len(self.engine_.classes_)
        predicted = int(self.predict_log_proba([text])[0, :k].argmax())
        words = message_words(text)
        post = is_post(text)
        if (self.post_expert_weight_ if post else self.expert_weight_) and words:
            table = self._word_scores()
            distinct = list(dict.fromkeys(words))
            rows = table.state.scores[[table.row(w) for w in distinct]]
            counts = np.array([words.count(w) for w in distinct], np.float64)
            norm = max(float(np.linalg.norm(counts @ rows[:, -NORM_DIMS:])), 1e-12)
            first = k + 1 if post else 0
            scores = rows[:, first : first + k]
            direction = scores[:, predicted] - np.delete(scores, predicted, axis=1).mean(axis=1)
            for word, share in zip(distinct, counts * direction / norm, strict=True):
                pushes[word] = pushes.get(word, 0.0) + float(share)
        for word in dict.fromkeys(words) if not post else ():  # a chat message's words, whole
            i = self.surnames_.get(word)
            if i is not None:
                push = self.surname_push_[i]
                share = push if i == predicted else -push / max(k - 1, 1)
                pushes[word] = pushes.get(word, 0.0) + share
        order = sorted(pushes.items(), key=lambda item: -abs(item[1]))
        return [(term, weight) for term, weight in order[:top] if abs(weight) >= 0.005]

    # -- persistence (skops and pickle read and write the state through these) ------------------

    def inference_copy(self) -> GatedSportInference:
        """This model as ``GatedSportInference`` alone, its engine as ``SportEngineInference``
        (the same state, shared)."""
        twin = GatedSportInference.__new__(GatedSportInference)
        twin.__dict__.update(self.__dict__)
        if "engine_" in self.__dict__:
            twin.engine_ = self.engine_.inference_copy()
        return twin

    def __getstate__(self) -> dict[str, Any]:
        """Parameters and learned state without the base model (it ships with the package; its
        id and sha256 are kept and checked on load) and without the word table (rebuilt from
        both)."""
        state = dict(self.__dict__)
        for cache in ("_base", "_word_table", "_projection_cache"):
            state.pop(cache, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "engine_" in state:
            require_learned(state, self.LEARNED)
            state = dict(state)
            for name in ("expert_weight", "post_expert_weight"):
                # A file whose experts' weights are its parameters only (all two-label models
                # once were): they are the weights it was fitted with.
                state.setdefault(name + "_", state.get(name))
        self.__dict__.update(state)
        if "engine_" in state:
            self._word_scores()  # load and check the base model now, not on the first message
