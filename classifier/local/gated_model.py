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
  ``classifier.local.experts``;
* a surname prior for short texts: the ~920 surnames of people of the game in 2008-2024
  (``lexicon.recent_surnames``) that the sport head never met each add, to a text that is not a
  Usenet post, what the model gives a surname it was taught (the median over the lexicon's
  player rows of its one-word log-odds); posts read as they would without it;
* the topic gate shipped with the base model (sport talk vs the 18 other newsgroups), giving
  ``P(sport)``; the model then knows the label ``"other"`` with ``P(other) = 1 - P(sport)`` and
  ``P(label) = P(label | sport) * P(sport)``. The gate applies when the training labels are the
  base model's sports (baseball, hockey); for other label sets the model is the parts before it
  (and the prior knows no surnames of theirs).

The sport head's optimisation, its subject-line rows and the experts' strengths and weights depend
on the label set: two labels (the sports, or any other pair) get the settings chosen on the 948
sport rows, more labels the ones chosen on all twenty newsgroups
(``classifier.local.label_set_defaults``).

How a fitted model reads a text (in one pass) is ``GatedSportInference``'s
(``classifier.local.gated_inference``, numpy only); this module adds the parameters and ``fit``,
on scikit-learn's ``BaseEstimator`` (``clone``, ``GridSearchCV`` and ``get_params`` work on it).
The experts' weights and strengths were chosen by 5-fold cross-validation on the 948 training rows
(experiments/gated_selection.py, experiments/thread_selection.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from classifier.local import lexicon
from classifier.local.engine import DEFAULT_N_EPOCHS, SportEngine
from classifier.local.experts import fit_expert
from classifier.local.gated_inference import EncodedGated, GatedSportInference
from classifier.local.label_set_defaults import TWO_LABELS, LabelSetDefaults, defaults_for
from classifier.local.optimiser import TrainingStep
from classifier.local.tfidf import log_softmax
from classifier.local.usenet import subject_row
from classifier.local.words import words_of
from classifier.prediction import OFF_TOPIC_LABEL

__all__ = ["EncodedGated", "GatedSportModel", "TrainingStep"]

DEFAULT_EXPERT_WEIGHT = TWO_LABELS.expert_weight
DEFAULT_EXPERT_C = TWO_LABELS.expert_c
"""The expert of short texts of a two-label model (gated_selection.py)."""
DEFAULT_POST_EXPERT_WEIGHT = TWO_LABELS.post_expert_weight
DEFAULT_POST_EXPERT_C = TWO_LABELS.post_expert_c
"""The expert of Usenet posts of a two-label model: held out from the 948 training rows, posts' log
loss is lowest at C 0.1, weight 3 under folds grouped by thread and under plain folds alike (0.0367
and 0.0251, against 0.0453 and 0.0303 with the short texts' C 10, weight 0.25), where subject lines'
is lowest at C 10, weight 0.25 (experiments/thread_selection.py, BENCHMARKS.md)."""
DEFAULT_SURNAME_PRIOR = True
"""Short texts (not Usenet posts) get the surname prior: on the development sets, modern_dev
0.891 -> 0.907 and 64.5 % -> 66.1 % of it tagged, at the same precision (0.992), other_dev 2 of 93
either way; held-out training posts read the same and held-out subject lines a little better
(log loss 0.1854 -> 0.1841 under folds grouped by thread; experiments/lexicon_selection.py,
BENCHMARKS.md). Taught as training rows instead, the same people changed what the model learns
from the posts."""
DEFAULT_BATCH_SIZE = 32
DEFAULT_SHUFFLES = 2
"""The sport head trains two shuffles side by side on mini-batches of 32 and keeps the mean of
their weights (``SportEngine``'s ``n_shuffles``): as many optimiser steps' work as one shuffle on
mini-batches of 16, the same held-out log loss, and half as many held-out training posts whose
answer depends on the shuffling seed (0.26 % against 0.63 % under plain folds, 0.47 % against
0.95 % under folds grouped by thread; experiments/shuffle_selection.py, BENCHMARKS.md)."""
DEFAULT_ENGINE_ALPHA = TWO_LABELS.alpha
"""The sport head's L2 penalty of a two-label model (``SportEngine``'s own default, 1e-4, was chosen
for the plain engine before weight averaging): the lowest pooled log loss under plain folds, within
noise of the lowest under folds that keep Usenet threads whole, and the best held-out post accuracy
under both (experiments/thread_selection.py, BENCHMARKS.md)."""


class GatedSportModel(GatedSportInference, ClassifierMixin, BaseEstimator):
    """Sport head (engine x static expert) times a topic gate, on scikit-learn's conventions.

    Args:
        n_epochs, batch_size, random_state, learning_rate, alpha, headers, min_df, nb_power,
            nb_alpha, average_epochs, n_shuffles, updates: the sport head's (``SportEngine``'s;
            here ``n_shuffles`` defaults to ``DEFAULT_SHUFFLES`` and ``batch_size`` to
            ``DEFAULT_BATCH_SIZE``). The head reads words, never word pairs.
        expert_weight: weight of the static-embedding expert's log-probabilities (0: off).
        expert_c: inverse L2 strength of the expert's logistic regression.
        post_expert_weight, post_expert_c: the same for the expert of Usenet posts.
        learning_rate, alpha, average_epochs, updates, subject_rows and the experts' four: None
            (the default) is the setting for the training labels' count
            (``classifier.local.label_set_defaults``: ``TWO_LABELS``, the same for any two
            labels, or ``MANY_LABELS``).
        subject_rows: add each post's subject line as an extra training row.
        lexicon_rows: add the lexicon's phrases of the training labels as extra rows.
        surname_prior: give short texts the surname prior (with ``lexicon_rows``: its push is
            what the model learnt from the lexicon's player rows).

    Attributes:
        engine_: the fitted sport head (``SportEngine``).
        classes_: the training labels, sorted, then ``"other"`` when gated.
        gated_: whether the topic gate applies (the labels are the base model's sports).
        expert_weight_, post_expert_weight_: the experts' weights it reads texts with (the
            parameters, or the label count's defaults: ``settings_for``).
        expert_coef_, expert_intercept_, post_expert_coef_, post_expert_intercept_: the
            experts' regressions, ``(n_sport_labels, dim)`` and ``(n_sport_labels,)``.
        surnames_: the prior's surnames (word -> index of its label); surname_push_: per label,
            what one of its surnames adds to that label's score.
        base_model_id_, base_model_sha256_: the base model it was trained on.
    """

    def __init__(
        self,
        *,
        n_epochs: int = DEFAULT_N_EPOCHS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        random_state: int = 0,
        learning_rate: float | None = None,
        alpha: float | None = None,
        headers: str = "tagged",
        min_df: int = 1,
        nb_power: float = 1.0,
        nb_alpha: float = 0.5,
        average_epochs: int | None = None,
        n_shuffles: int = DEFAULT_SHUFFLES,
        updates: str | None = None,
        expert_weight: float | None = None,
        expert_c: float | None = None,
        post_expert_weight: float | None = None,
        post_expert_c: float | None = None,
        subject_rows: bool | None = None,
        lexicon_rows: bool = True,
        surname_prior: bool = DEFAULT_SURNAME_PRIOR,
    ) -> None:
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.headers = headers
        self.min_df = min_df
        self.nb_power = nb_power
        self.nb_alpha = nb_alpha
        self.average_epochs = average_epochs
        self.n_shuffles = n_shuffles
        self.updates = updates
        self.expert_weight = expert_weight
        self.expert_c = expert_c
        self.post_expert_weight = post_expert_weight
        self.post_expert_c = post_expert_c
        self.subject_rows = subject_rows
        self.lexicon_rows = lexicon_rows
        self.surname_prior = surname_prior

    def training_rows(
        self, texts: Sequence[str], labels: Sequence[str]
    ) -> tuple[list[str], list[str]]:
        """The rows the model is fitted on: the texts, then their subject lines, then the
        lexicon's phrases of the labels present."""
        rows, row_labels = list(texts), [str(label) for label in labels]
        if self.settings_for(len(set(row_labels))).subject_rows:
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
        base = self.base
        self.base_model_id_ = base.id
        self.base_model_sha256_ = base.sha256
        rows, row_labels = self.training_rows(texts, labels)
        classes = tuple(sorted(set(row_labels)))
        if len(classes) < 2:
            raise ValueError(f"training needs at least two labels, got only {classes!r}")
        settings = self.settings_for(len(classes))
        engine = SportEngine(
            n_epochs=self.n_epochs,
            batch_size=self.batch_size,
            random_state=self.random_state,
            learning_rate=settings.learning_rate,
            alpha=settings.alpha,
            headers=self.headers,
            min_df=self.min_df,
            nb_power=self.nb_power,
            nb_alpha=self.nb_alpha,
            average_epochs=settings.average_epochs,
            n_shuffles=self.n_shuffles,
            updates=settings.updates,
        )
        self.gated_ = OFF_TOPIC_LABEL not in classes and set(classes) <= set(base.sport_labels)
        self.expert_weight_ = settings.expert_weight
        self.post_expert_weight_ = settings.post_expert_weight
        self._fit_expert(rows, row_labels, classes, settings)
        self.engine_ = engine
        self._word_table = None  # built for this engine's vocabulary on first use
        self.classes_ = (*classes, OFF_TOPIC_LABEL) if self.gated_ else classes
        self.surnames_: dict[str, int] = {}  # the prior is fitted on the trained engine
        self.surname_push_ = [0.0] * len(classes)
        engine.fit(rows, row_labels, on_step=on_step)
        self._fit_surname_prior()
        return self

    def settings_for(self, n_labels: int) -> LabelSetDefaults:
        """The label-set-dependent settings a fit on ``n_labels`` labels uses: the parameters
        given, and for those left None the defaults for that many labels."""
        given = {
            name: getattr(self, name)
            for name in LabelSetDefaults.__dataclass_fields__
            if getattr(self, name) is not None
        }
        return replace(defaults_for(n_labels), **given)

    def _fit_expert(
        self,
        rows: list[str],
        labels: list[str],
        classes: tuple[str, ...],
        settings: LabelSetDefaults,
    ) -> None:
        """Fit the expert of short texts and the expert of posts on the same rows' sentence
        vectors, each with its own strength (one fit when the strengths are the same; an expert
        of weight 0 is all zeros)."""
        vectors = None
        if settings.expert_weight or settings.post_expert_weight:
            vectors = self._vectors(rows).astype(np.float64)
        dim = self.base.embedding.dim
        self.expert_coef_, self.expert_intercept_ = fit_expert(
            vectors if settings.expert_weight else None, labels, classes, settings.expert_c, dim
        )
        if settings.expert_weight and settings.post_expert_c == settings.expert_c:
            self.post_expert_coef_, self.post_expert_intercept_ = (
                self.expert_coef_,
                self.expert_intercept_,
            )
            return
        self.post_expert_coef_, self.post_expert_intercept_ = fit_expert(
            vectors if settings.post_expert_weight else None,
            labels,
            classes,
            settings.post_expert_c,
            dim,
        )

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
            sport = log_softmax(self.predict_log_proba(rows)[:, : len(classes)])
            odds = sport[:, i] - np.delete(sport, i, axis=1).mean(axis=1)
            pushes[i] = max(float(np.median(odds)), 0.0)
            for word in recent.get(label, []):
                if word not in known:
                    surnames[word] = i
        self.surnames_, self.surname_push_ = surnames, pushes
