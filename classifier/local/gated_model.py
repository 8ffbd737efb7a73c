"""``GatedSportModel``: the default local model, built to read today's chat as well as 1993 Usenet.

Four parts, combined as probabilities:

* the sport head, ``SportEngine`` (NB-scaled tf-idf words + tagged header words, trained epoch by
  epoch), fitted on the training texts plus, as extra short rows, each Usenet post's subject line
  and the lexicon's phrases (teams, leagues, trophies, game terms, players' surnames: prior
  knowledge that carries across decades, ``classifier.local.lexicon``);
* a static-embedding expert: a logistic regression on the base model's sentence vector (a token
  table distilled from all-MiniLM-L6-v2, ``classifier.local.base_model``), fitted on the same rows and
  added with weight ``expert_weight`` to the engine's log-probabilities (a product of experts:
  ``log P(label | sport) = log_softmax(log P_engine + w * log P_expert)``); Usenet posts
  (``classifier.local.usenet.is_post``) have their own, fitted on the same rows with another strength
  and mixed in with another weight (``post_expert_c``, ``post_expert_weight``);
* a surname prior for short texts: the ~920 surnames of people of the game in 2008-2024
  (``lexicon.recent_surnames``) that the sport head never met each add, to a text that is not a
  Usenet post, what the model gives a surname it was taught (the median over the lexicon's
  player rows of its one-word log-odds); posts read as they would without it;
* the topic gate shipped with the base model (sport talk vs the 18 other newsgroups), giving
  ``P(sport)``; the model then knows the label ``"other"`` with ``P(other) = 1 - P(sport)`` and
  ``P(label) = P(label | sport) * P(sport)``. The gate applies when the training labels are the
  base model's sports (baseball, hockey); for other label sets the model is the parts before it
  (and the prior knows no surnames of theirs).

The expert and the gate read the message part of a post (subject and body, no From/Organization
lines) as its static sentence vector; the engine reads the whole text. Both are linear in that
vector (the gate plus a quadratic form of its first ``NORM_DIMS`` coordinates, which each word's
row carries anyway, in the form's own axes), so each word's expert and gate scores are computed
once (``classifier.local.word_scores``) and a text is read in one pass: one split, one dictionary
lookup per word giving the engine's feature and the word's scores (a short text is split once
more, for the surname prior). The experts' weights and strengths were chosen by 5-fold
cross-validation on the 948 training rows (experiments/gated_selection.py,
experiments/thread_selection.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from classifier.errors import ModelFileError
from classifier.local import lexicon
from classifier.local.base_model import BaseModel, load_base_model
from classifier.local.engine import (
    DEFAULT_N_EPOCHS,
    EncodedTexts,
    SportEngine,
    log_softmax_one,
)
from classifier.local.engine import TrainingStep as TrainingStep
from classifier.local.static_embedding import NORM_DIMS, sum_rows
from classifier.local.usenet import is_post, subject_row
from classifier.local.word_scores import WordScores, WordState
from classifier.local.words import LookedUp, look_up, message_words, words_of
from classifier.prediction import OFF_TOPIC_LABEL

DEFAULT_EXPERT_WEIGHT = 0.25
DEFAULT_EXPERT_C = 10.0
DEFAULT_POST_EXPERT_WEIGHT = 3.0
DEFAULT_POST_EXPERT_C = 0.1
"""The expert of Usenet posts: held out from the 948 training rows, posts' log loss is lowest at
C 0.1, weight 3 under folds grouped by thread and under plain folds alike (0.0367 and 0.0251,
against 0.0453 and 0.0303 with the short texts' C 10, weight 0.25), where subject lines' is
lowest at C 10, weight 0.25 (experiments/thread_selection.py, BENCHMARKS.md)."""
DEFAULT_SURNAME_PRIOR = True
"""Short texts (not Usenet posts) get the surname prior: on the development sets, modern_dev
0.891 -> 0.907 and 64.5 % -> 66.1 % of it tagged, at the same precision (0.992), other_dev 2 of 93
either way; held-out training posts read the same and held-out subject lines a little better
(log loss 0.1854 -> 0.1841 under folds grouped by thread; experiments/lexicon_selection.py,
BENCHMARKS.md). Taught as training rows instead, the same people changed what the model learns
from the posts (2026-12-01, reverted twice)."""
DEFAULT_BATCH_SIZE = 32
DEFAULT_SHUFFLES = 2
"""The sport head trains two shuffles side by side on mini-batches of 32 and keeps the mean of
their weights (``SportEngine``'s ``n_shuffles``): as many optimiser steps' work as one shuffle on
mini-batches of 16, the same held-out log loss, and half as many held-out training posts whose
answer depends on the shuffling seed (0.26 % against 0.63 % under plain folds, 0.47 % against
0.95 % under folds grouped by thread; experiments/shuffle_selection.py, BENCHMARKS.md)."""
DEFAULT_ENGINE_ALPHA = 1e-5
"""The sport head's L2 penalty (``SportEngine``'s own default, 1e-4, was chosen for the plain
engine before weight averaging): the lowest pooled log loss under plain folds, within noise of
the lowest under folds that keep Usenet threads whole, and the best held-out post accuracy
under both (experiments/thread_selection.py, BENCHMARKS.md)."""


class EncodedGated(NamedTuple):
    """Texts encoded by ``GatedSportModel.encode``: the engine's rows and, per text, its expert's
    scores (the posts expert's for a post) and the gate's log-odds (``(n, len(sport labels) +
    1)``)."""

    engine: EncodedTexts
    scores: np.ndarray


class GatedSportModel:
    """Sport head (engine x static expert) times a topic gate; ``SportEngine``'s verbs.

    Args:
        n_epochs, batch_size, random_state, **engine_params: passed to ``SportEngine`` (its
            ``alpha`` defaults to ``DEFAULT_ENGINE_ALPHA`` here, ``n_shuffles`` to
            ``DEFAULT_SHUFFLES``, ``batch_size`` to ``DEFAULT_BATCH_SIZE``).
        expert_weight: weight of the static-embedding expert's log-probabilities (0: off).
        expert_c: inverse L2 strength of the expert's logistic regression.
        post_expert_weight, post_expert_c: the same for the expert of Usenet posts.
        subject_rows: add each post's subject line as an extra training row.
        lexicon_rows: add the lexicon's phrases of the training labels as extra rows.
        surname_prior: give short texts the surname prior (with ``lexicon_rows``: its push is
            what the model learnt from the lexicon's player rows).
    """

    def __init__(
        self,
        *,
        n_epochs: int = DEFAULT_N_EPOCHS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        random_state: int = 0,
        expert_weight: float = DEFAULT_EXPERT_WEIGHT,
        expert_c: float = DEFAULT_EXPERT_C,
        post_expert_weight: float = DEFAULT_POST_EXPERT_WEIGHT,
        post_expert_c: float = DEFAULT_POST_EXPERT_C,
        subject_rows: bool = True,
        lexicon_rows: bool = True,
        surname_prior: bool = DEFAULT_SURNAME_PRIOR,
        **engine_params: Any,
    ) -> None:
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.expert_weight = expert_weight
        self.expert_c = expert_c
        self.post_expert_weight = post_expert_weight
        self.post_expert_c = post_expert_c
        self.subject_rows = subject_rows
        self.lexicon_rows = lexicon_rows
        self.surname_prior = surname_prior
        self.engine_params = {
            "alpha": DEFAULT_ENGINE_ALPHA,
            "n_shuffles": DEFAULT_SHUFFLES,
            **engine_params,
        }

    def get_params(self) -> dict[str, Any]:
        return {
            "n_epochs": self.n_epochs,
            "batch_size": self.batch_size,
            "random_state": self.random_state,
            "expert_weight": self.expert_weight,
            "expert_c": self.expert_c,
            "post_expert_weight": self.post_expert_weight,
            "post_expert_c": self.post_expert_c,
            "subject_rows": self.subject_rows,
            "lexicon_rows": self.lexicon_rows,
            "surname_prior": self.surname_prior,
            **self.engine_params,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"GatedSportModel({args})"

    # -- the base model --------------------------------------------------------------------------

    @property
    def base(self) -> BaseModel:
        """The shipped base model this model was trained on (loaded once per process)."""
        base = getattr(self, "_base", None)
        if base is None:
            base = load_base_model()
            expected = getattr(self, "base_model_sha256", None)
            if expected is not None and base.sha256 != expected:
                raise ModelFileError(
                    f"This model was trained on base model {self.base_model_id!r} "
                    f"(manifest sha256 {expected[:12]}…), but this installation ships "
                    f"{base.id!r} ({base.sha256[:12]}…): retrain it with `sportbot train`."
                )
            self._base = base
        return base

    # -- fitting ---------------------------------------------------------------------------------

    def training_rows(
        self, texts: Sequence[str], labels: Sequence[str]
    ) -> tuple[list[str], list[str]]:
        """The rows the model is fitted on: the texts, then their subject lines, then the
        lexicon's phrases of the labels present."""
        rows, row_labels = list(texts), [str(label) for label in labels]
        if self.subject_rows:
            for text, label in zip(texts, labels, strict=True):
                subject = subject_row(text)
                if subject:
                    rows.append(subject)
                    row_labels.append(str(label))
        if self.lexicon_rows:
            present = set(row_labels)
            for label, phrases in lexicon.phrases().items():
                if label in present:
                    rows += phrases
                    row_labels += [label] * len(phrases)
        return rows, row_labels

    def total_steps(self, texts: Sequence[str], labels: Sequence[str]) -> int:
        """Optimiser steps ``fit`` will take on these texts (extra rows included)."""
        rows, _ = self.training_rows(texts, labels)
        return self.n_epochs * math.ceil(len(rows) / self.batch_size)

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        on_step: Callable[[TrainingStep], None] | None = None,
    ) -> GatedSportModel:
        """Fit the expert (one logistic regression), then train the engine epoch by epoch.

        ``on_step`` gets the engine's steps over all the rows (``training_rows``: an epoch is
        ``total_steps / n_epochs`` steps); the model is usable (``predict_log_proba``) inside it.
        """
        if isinstance(texts, str) or isinstance(labels, str):
            raise TypeError("fit takes sequences of texts and labels, not single strings")
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if len(texts) == 0:
            raise ValueError("there are no training texts")
        if self.engine_params.get("ngram_max", 1) != 1:
            raise ValueError("GatedSportModel reads words (ngram_max=1), not word pairs")
        base = self.base
        self.base_model_id = base.id
        self.base_model_sha256 = base.sha256
        rows, row_labels = self.training_rows(texts, labels)
        engine = SportEngine(
            n_epochs=self.n_epochs,
            batch_size=self.batch_size,
            random_state=self.random_state,
            **self.engine_params,
        )
        classes = tuple(sorted(set(row_labels)))
        if len(classes) < 2:
            raise ValueError(f"training needs at least two labels, got only {classes!r}")
        self.gated_ = OFF_TOPIC_LABEL not in classes and set(classes) <= set(base.sport_labels)
        self._fit_expert(rows, row_labels, classes)
        self.engine_ = engine
        self._word_table = None  # built for this engine's vocabulary on first use
        self.classes_ = (*classes, OFF_TOPIC_LABEL) if self.gated_ else classes
        self.surnames_: dict[str, int] = {}  # the prior is fitted on the trained engine
        self.surname_push_ = [0.0] * len(classes)
        engine.fit(rows, row_labels, on_step=on_step)
        self._fit_surname_prior()
        return self

    def _fit_surname_prior(self) -> None:
        """The recent surnames the engine never met (word -> index of its label) and, per label,
        the push each adds to a short text: the median, over the lexicon's one-word player rows of
        that label, of the model's log-odds for that label on the row alone."""
        classes = list(self.engine_.classes_)
        if not (self.surname_prior and self.lexicon_rows):
            return
        known = set(self.engine_.feature_names_.tolist())
        taught = lexicon.player_rows()
        pushes, surnames, recent = list(self.surname_push_), {}, lexicon.recent_surnames()
        for i, label in enumerate(classes):
            rows = [row for row in taught.get(label, []) if len(words_of(row)) == 1]
            if not rows:
                continue
            sport = _log_softmax(self.predict_log_proba(rows)[:, : len(classes)])
            odds = sport[:, i] - np.delete(sport, i, axis=1).mean(axis=1)
            pushes[i] = max(float(np.median(odds)), 0.0)
            for word in recent.get(label, []):
                if word not in known:
                    surnames[word] = i
        self.surnames_, self.surname_push_ = surnames, pushes

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

    def _fit_expert(self, rows: list[str], labels: list[str], classes: tuple[str, ...]) -> None:
        """Fit the expert of short texts and the expert of posts on the same rows' sentence
        vectors, each with its own strength (an expert of weight 0 is all zeros)."""
        vectors = None
        if self.expert_weight or self.post_expert_weight:
            vectors = self._vectors(rows).astype(np.float64)
        dim = self.base.embedding.dim
        self.expert_coef_, self.expert_intercept_ = _expert_regression(
            vectors if self.expert_weight else None, labels, classes, self.expert_c, dim
        )
        self.post_expert_coef_, self.post_expert_intercept_ = _expert_regression(
            vectors if self.post_expert_weight else None, labels, classes, self.post_expert_c, dim
        )

    # -- prediction ------------------------------------------------------------------------------

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
        for i in np.flatnonzero(~posts) if self.surnames_ else ():
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
        return self._combine(engine_scores, encoded.scores)

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
        """``predict_log_proba`` of one text, its sums in plain Python (``SportEngine.scores_one``)
        and one numpy sum for the expert and gate (the rest on its 35 floats): a bot classifies
        one message at a time."""
        found, state = self._look_up([text])
        sport = self.engine_.scores_one(found.ids.tolist())
        k = len(sport)
        total = state.scores[found.message_ids].sum(axis=0, dtype=np.float64).tolist()
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
        sport = log_softmax_one(sport)
        if not self.gated_:
            return sport
        z = total[k] / norm + bias[k]
        z += sum(c * x * x for c, x in zip(curvature, lead, strict=True)) / (norm * norm)
        log_on = -math.log1p(math.exp(-z)) if z >= 0 else z - math.log1p(math.exp(z))
        return [s + log_on for s in sport] + [log_on - z]

    def _combine(self, engine_scores: np.ndarray, scores: np.ndarray) -> np.ndarray:
        # ``scores`` are the expert's scores (times its weight) and the gate's log-odds (with its
        # quadratic part). The expert's own normalisation is a per-row constant that the
        # log_softmax removes: log P(label | sport) = log_softmax(engine + w * expert).
        k = engine_scores.shape[1]
        sport = _log_softmax(engine_scores + scores[:, :k])
        if not self.gated_:
            return sport
        z = scores[:, k]
        log_on = -np.logaddexp(0.0, -z)  # log sigmoid(z) = log P(sport)
        out = np.empty((len(sport), k + 1))
        out[:, :k] = sport + log_on[:, None]
        out[:, k] = log_on - z  # log(1 - sigmoid(z))
        return out

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
        projection[:, :k] = self.expert_weight * self.expert_coef_.T
        projection[:, k + 1 :] = self.post_expert_weight * self.post_expert_coef_.T
        bias = np.zeros(2 * k + 1)
        bias[:k] = self.expert_weight * self.expert_intercept_
        bias[k + 1 :] = self.post_expert_weight * self.post_expert_intercept_
        if self.gated_:
            projection[:, k] = self.base.gate_coef
            bias[k] = self.base.gate_intercept
        curvature = self.base.gate_curvature.tolist() if self.gated_ else []
        constants = (projection, bias, bias.tolist(), curvature)
        self._projection_cache = (self.expert_coef_, constants)
        return constants

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
        if (self.post_expert_weight if post else self.expert_weight) and words:
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

    # -- persistence (skops) -----------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Learned state without the base model (it ships with the package; its id and sha256
        are kept and checked on load) and without the word table (rebuilt from both)."""
        state = dict(self.__dict__)
        state.pop("_base", None)
        state.pop("_word_table", None)
        state.pop("_projection_cache", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "post_expert_weight" not in state:  # saved before posts had their own expert:
            state = {  # its one expert reads posts too, as it did
                **state,
                "post_expert_weight": state["expert_weight"],
                "post_expert_c": state["expert_c"],
            }
            if "expert_coef_" in state:
                state["post_expert_coef_"] = state["expert_coef_"]
                state["post_expert_intercept_"] = state["expert_intercept_"]
        if "surname_prior" not in state:  # saved before the surname prior: none
            state = {**state, "surname_prior": False}
            if "engine_" in state:
                state["surnames_"] = {}
                state["surname_push_"] = [0.0] * len(state["engine_"].classes_)
        self.__dict__.update(state)
        if "engine_" in state:
            self._word_scores()  # load and check the base model now, not on the first message


def _expert_regression(
    vectors: np.ndarray | None,
    labels: Sequence[str],
    classes: tuple[str, ...],
    c: float,
    dim: int,
) -> tuple[np.ndarray, np.ndarray]:
    """An expert's ``(len(classes), dim)`` coefficients and intercepts: an L2 logistic regression
    of strength ``c`` on the rows' sentence vectors (zeros when ``vectors`` is None)."""
    if vectors is None:
        return np.zeros((len(classes), dim), np.float32), np.zeros(len(classes), np.float32)
    if len(classes) == 2:
        positive = np.array([label == classes[1] for label in labels], dtype=np.float64)
        coef, intercept = _binary_logistic_regression(vectors, positive, c)
        # Symmetric scores: their softmax is sigmoid(vectors @ coef + intercept) for classes[1].
        return (
            np.vstack([-coef / 2, coef / 2]).astype(np.float32),
            np.array([-intercept / 2, intercept / 2], np.float32),
        )
    from sklearn.linear_model import LogisticRegression

    regression = LogisticRegression(C=c, max_iter=3000).fit(vectors, labels)
    order = [list(regression.classes_).index(label) for label in classes]
    return regression.coef_[order].astype(np.float32), regression.intercept_[order].astype(
        np.float32
    )


def _binary_logistic_regression(
    x: np.ndarray, y: np.ndarray, c: float, max_iter: int = 50, tol: float = 1e-4
) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression (scikit-learn's objective: ``C * sum(log loss) +
    |w|^2 / 2``, intercept not penalised) by Newton's method: a few 257x257 solves where
    lbfgs takes hundreds of gradient steps. Returns ``(coef, intercept)``."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    penalty = np.full(d + 1, 1.0 / c)
    penalty[-1] = 0.0
    w = np.zeros(d + 1)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) + penalty * w
        hessian = (design * (p * (1.0 - p))[:, None]).T @ design
        hessian[np.diag_indices_from(hessian)] += penalty + 1e-10
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < tol:
            break
    return w[:-1], float(w[-1])


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
