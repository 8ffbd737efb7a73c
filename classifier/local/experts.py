"""The static-embedding experts of ``GatedSportModel``: L2 logistic regressions on the base
model's sentence vectors, and how their scores and the topic gate's join the sport head's.

An expert's log-probabilities are added with a weight to the sport head's (a product of experts:
``log P(label | sport) = log_softmax(engine + w * expert)``); the gate's ``P(sport)`` then
multiplies them, and ``P(other) = 1 - P(sport)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from classifier.local.tfidf import log_softmax, log_softmax_one


def fit_expert(
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
        coef, intercept = binary_logistic_regression(vectors, positive, c)
        # Symmetric scores: their softmax is sigmoid(vectors @ coef + intercept) for classes[1].
        return (
            np.vstack([-coef / 2, coef / 2]).astype(np.float32),
            np.array([-intercept / 2, intercept / 2], np.float32),
        )
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    # One BLAS thread: lbfgs's small products gain little from a second one, and on a busy
    # machine threads that wait for each other made the fit five times slower (20 labels).
    with threadpool_limits(limits=1, user_api="blas"):
        regression = LogisticRegression(C=c, max_iter=3000).fit(vectors, labels)
    order = [list(regression.classes_).index(label) for label in classes]
    return regression.coef_[order].astype(np.float32), regression.intercept_[order].astype(
        np.float32
    )


def binary_logistic_regression(
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


def combine(engine_scores: np.ndarray, scores: np.ndarray, gated: bool) -> np.ndarray:
    """Log-probabilities of texts from the sport head's scores and ``scores``: the expert's
    (times its weight) and the gate's log-odds (with its quadratic part), one row per text."""
    # The expert's own normalisation is a per-row constant that the log_softmax removes:
    # log P(label | sport) = log_softmax(engine + w * expert).
    k = engine_scores.shape[1]
    sport = log_softmax(engine_scores + scores[:, :k])
    if not gated:
        return sport
    z = scores[:, k]
    log_on = -np.logaddexp(0.0, -z)  # log sigmoid(z) = log P(sport)
    out = np.empty((len(sport), k + 1))
    out[:, :k] = sport + log_on[:, None]
    out[:, k] = log_on - z  # log(1 - sigmoid(z))
    return out


def combine_one(sport: list[float], z: float | None) -> list[float]:
    """``combine`` of one text in plain Python: its sport scores (head, expert and any prior
    added) and the gate's log-odds ``z`` (None when not gated)."""
    sport = log_softmax_one(sport)
    if z is None:
        return sport
    log_on = -math.log1p(math.exp(-z)) if z >= 0 else z - math.log1p(math.exp(z))
    return [s + log_on for s in sport] + [log_on - z]
