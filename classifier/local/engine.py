"""``SportEngine``: the local text classifier behind the local completion backend.

A multinomial logistic regression (any number of labels) over sublinear TF-IDF features of words
(optionally word pairs) and tagged Usenet header words, trained the way a fine-tune is: real
epochs over shuffled mini-batches with Adam updates (optionally several shuffles side by side,
their weights averaged), a callback after every step (``classifier.local.optimiser``). Each
feature is scaled by how strongly it separates the classes in the training counts (naive-Bayes
log-count ratios, as in NB-SVM; ``classifier.local.tfidf``). Defaults chosen by
cross-validation: experiments/engine_selection.py.

A scikit-learn estimator (``clone``, ``GridSearchCV`` and ``get_params`` work on it); reading
texts is ``SportEngineInference``'s (``classifier.local.engine_inference``), which needs numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from classifier.local.engine_inference import SportEngineInference
from classifier.local.optimiser import Schedule, TrainingStep, train
from classifier.local.tfidf import EncodedTexts, fit_features

__all__ = ["SportEngine", "TrainingStep"]

DEFAULT_N_EPOCHS = 4
DEFAULT_BATCH_SIZE = 16
DEFAULT_AVERAGE_EPOCHS = 2
"""Defaults of ``SportEngine`` (chosen by cross-validation, experiments/engine_selection.py)."""


class SportEngine(SportEngineInference, ClassifierMixin, BaseEstimator):
    """Text classifier on scikit-learn's conventions: parameters here, learned state after ``fit``.

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
        updates: ``"dense"``: every step moves every weight (the L2 penalty and Adam's moments
            reach them all); ``"lazy"``: only the rows of the features the mini-batch holds, so
            that a step costs what its batch holds rather than the vocabulary times the labels
            (``classifier.local.optimiser``).

    Attributes:
        classes_: the labels, sorted.
        feature_names_: the features' names (``""``, the padding feature, first; tagged header
            words as ``"subject:rays"``).
        idf_: each feature's smoothed inverse document frequency.
        nb_ratio_: each feature's naive-Bayes scale (``nb_power``-th power of its largest
            log-count ratio; all 1 when ``nb_power`` is 0).
        coef_: ``(n_features, n_classes)`` weights; intercept_: ``(n_classes,)``.
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
        updates: str = "dense",
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
        self.updates = updates

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
        if self.updates not in ("dense", "lazy"):
            raise ValueError("updates must be 'dense' or 'lazy'")
        self.classes_ = classes
        y = np.array([classes.index(str(label)) for label in labels], dtype=np.intp)
        term_lists = [self._terms(text) for text in texts]
        features = fit_features(
            term_lists,
            y,
            len(classes),
            min_df=self.min_df,
            nb_power=self.nb_power,
            nb_alpha=self.nb_alpha,
        )
        self.feature_names_, self.idf_, self.nb_ratio_ = features
        self._index()
        # New arrays, written in place at every step: an earlier fit's copies keep theirs.
        self.coef_ = np.zeros((len(self.feature_names_), len(classes)))
        self.intercept_ = np.zeros(len(classes))
        index, values, starts, _ = self._encode_terms(term_lists)
        tokens = np.array([len(terms) for terms in term_lists])
        del term_lists  # a big training set's term strings: hundreds of MB, not needed now
        schedule = Schedule(
            n_epochs=self.n_epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            alpha=self.alpha,
            average_epochs=self.average_epochs,
            n_shuffles=self.n_shuffles,
            lazy=self.updates == "lazy",
        )

        def after_step(step: TrainingStep) -> None:
            self._one_text = None  # the plain-Python tables of ``scores_one`` go stale
            if on_step is not None:
                on_step(step)

        train(
            EncodedTexts(index, values, starts),
            y,
            tokens,
            schedule,
            np.random.default_rng(self.random_state),
            self.coef_,
            self.intercept_,
            after_step,
        )
        return self
