"""The sport head's features and scores, numpy only: sublinear tf-idf of terms, l2-normalised,
each feature then scaled by its naive-Bayes log-count ratio (NB-SVM); texts as flat sparse rows
(feature indices, values, row starts) scored by a softmax regression.

Feature 0 is a padding slot: every row starts with an entry on it (idf 0, so its value is 0), so
no row is empty and ``np.add.reduceat`` over the row starts sums each row.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class EncodedTexts(NamedTuple):
    """Texts encoded by ``SportEngine.encode``: sparse rows (feature indices, values, row starts)."""

    indices: np.ndarray
    values: np.ndarray
    starts: np.ndarray


class Features(NamedTuple):
    """What ``fit_features`` learns: the feature names (padding first), their idf and their
    naive-Bayes scale."""

    names: np.ndarray
    idf: np.ndarray
    nb_ratio: np.ndarray


def fit_features(
    term_lists: Sequence[list[str]],
    y: np.ndarray,
    n_classes: int,
    *,
    min_df: int,
    nb_power: float,
    nb_alpha: float,
) -> Features:
    """The features of the training texts' terms that occur in at least ``min_df`` texts (sorted),
    with their smoothed idf and the ``nb_power``-th power of their largest naive-Bayes log-count
    ratio of a class against the others (document counts smoothed by ``nb_alpha``; 0: all 1)."""
    per_class: list[Counter[str]] = [Counter() for _ in range(n_classes)]
    for terms, label in zip(term_lists, y, strict=True):
        per_class[label].update(set(terms))
    df: Counter[str] = Counter()
    for counts in per_class:
        df.update(counts)
    names = sorted(term for term, n in df.items() if n >= min_df)
    n_docs = len(term_lists)
    idf = np.log((1 + n_docs) / (1 + np.array([df[t] for t in names], dtype=float))) + 1.0
    ratio = np.ones(len(names))
    if nb_power:
        class_counts = np.array([[c[t] for c in per_class] for t in names], dtype=float)
        class_counts += nb_alpha
        logp = np.log(class_counts / class_counts.sum(axis=0))
        # Log-count ratio of each class against the mean of the others (NB-SVM); its largest
        # magnitude says how much the feature sets some class apart from the rest.
        others = (logp.sum(axis=1, keepdims=True) - logp) / (n_classes - 1)
        ratio = np.abs(logp - others).max(axis=1) ** nb_power
    return Features(
        np.array(["", *names]), np.concatenate([[0.0], idf]), np.concatenate([[0.0], ratio])
    )


def rows_of_keys(
    keys: np.ndarray, n_docs: int, n_features: int, idf: np.ndarray, idfr: np.ndarray
) -> EncodedTexts:
    """Rows from ``text * n_features + feature`` keys, one key per occurrence (each text with
    its padding key): a value is ``(1 + log count) * idfr`` over the row's l2 norm of
    ``(1 + log count) * idf`` (``idfr``: idf times the feature's naive-Bayes scale)."""
    # One entry per (text, feature) with its count; sorted, so each text's entries are
    # contiguous and its padding entry (feature 0) comes first. (``np.unique`` does the same
    # with a few more passes over the keys.)
    ordered = np.sort(keys)
    first = np.ones(len(ordered), bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    firsts = np.flatnonzero(first)
    unique = ordered[firsts]
    counts = np.diff(firsts, append=len(ordered))
    doc = (unique // n_features).astype(np.intp)
    index = (unique - doc * n_features).astype(np.intp)
    starts = np.searchsorted(doc, np.arange(n_docs))
    tf = np.log(counts.astype(np.float64))
    tf += 1.0
    weight = tf * idf[index]
    sq = np.add.reduceat(weight * weight, starts)
    sq[sq == 0.0] = 1.0
    values = tf * idfr[index] / np.sqrt(sq)[doc]
    return EncodedTexts(index, values, starts.astype(np.intp))


def class_scores(
    coef: np.ndarray,
    intercept: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    starts: np.ndarray,
) -> np.ndarray:
    """Class scores of sparse rows (``starts``: where each row's entries begin)."""
    return np.add.reduceat(coef[indices] * values[:, None], starts, axis=0) + intercept


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def log_softmax_one(scores: list[float]) -> list[float]:
    """``log_softmax`` of one row, in plain Python."""
    top = max(scores)
    total = top + math.log(sum(math.exp(s - top) for s in scores))
    return [s - total for s in scores]
