"""How ``SportEngine`` trains its softmax regression, the way a fine-tune does: real epochs over
shuffled mini-batches, one Adam update each (optionally several shuffles side by side, their
weights averaged), the running mean of the weights in the last epochs (Polyak-Ruppert), and a
callback after every step.

An update is dense (every weight moves: the L2 penalty reaches all of them and Adam's moments
decay everywhere) or lazy (only the rows of the features the mini-batch holds: their moments,
their penalty, their weights; Adam as TensorFlow's ``LazyAdam`` and PyTorch's ``SparseAdam`` do
it). A dense step costs the whole vocabulary times the labels, a lazy one what its batch holds:
with twenty labels and some 100,000 features that is about 100 ms a step against a few.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from classifier.local.tfidf import EncodedTexts, class_scores, log_softmax


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


@dataclass(frozen=True)
class Schedule:
    """The optimiser's settings (``SportEngine``'s parameters of the same names)."""

    n_epochs: int
    batch_size: int
    learning_rate: float
    alpha: float
    average_epochs: int
    n_shuffles: int
    lazy: bool = False
    """Lazy updates (the module's doc); the running mean, when asked for, stays dense."""


def train(
    rows: EncodedTexts,
    y: np.ndarray,
    tokens: np.ndarray,
    schedule: Schedule,
    rng: np.random.Generator,
    coef_out: np.ndarray,
    intercept_out: np.ndarray,
    after_step: Callable[[TrainingStep], None],
) -> None:
    """Train from zero weights on the encoded rows (labels ``y``, ``tokens`` per row).

    After every step the model's weights are written into ``coef_out`` (``(n_features,
    n_classes)``) and ``intercept_out``, in place: the mean over the shuffles of their weights,
    or in the averaging epochs of their running means; then ``after_step`` is called. (With lazy
    updates outside the averaging epochs only the rows a step changed are written.)
    """
    index, values, starts = rows
    n_rows = len(starts)
    n_features, n_classes = coef_out.shape
    k = schedule.n_shuffles
    coef = np.zeros((k, n_features, n_classes))
    intercept = np.zeros((k, n_classes))
    coef_out[:] = 0.0
    intercept_out[:] = 0.0
    mean_coef, mean_intercept = coef, intercept
    averaged = 0
    ends = np.append(starts[1:], len(index))
    onehot = np.eye(n_classes)[y]
    m_w = np.zeros_like(coef)
    v_w = np.zeros_like(coef)
    m_b = np.zeros_like(intercept)
    v_b = np.zeros_like(intercept)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    batch_size, alpha = schedule.batch_size, schedule.alpha
    step = seen = n_tokens = 0
    for epoch in range(1, schedule.n_epochs + 1):
        orders = [rng.permutation(n_rows) for _ in range(k)]
        for first in range(0, n_rows, batch_size):
            # One step: every shuffle takes its own next mini-batch.
            grads = []
            losses, hits, n_batch = [], 0.0, 0
            for j, order in enumerate(orders):
                batch = order[first : first + batch_size]
                rows_grad, grad_b, loss, hit = _gradient(
                    coef[j], intercept[j], index, values, starts, ends, batch, y, onehot
                )
                grads.append(rows_grad)
                m_b[j] = beta1 * m_b[j] + (1 - beta1) * grad_b
                v_b[j] = beta2 * v_b[j] + (1 - beta2) * grad_b * grad_b
                losses.append(loss)
                hits += hit
                n_batch += len(batch)
                n_tokens += int(tokens[batch].sum())
            step += 1
            lr = schedule.learning_rate * math.sqrt(1 - beta2**step) / (1 - beta1**step)
            changed: list[np.ndarray] | None = None
            if schedule.lazy:
                changed = _lazy_adam(coef, m_w, v_w, grads, alpha, lr)
            else:
                # Dense Adam: the L2 term reaches every weight, the data term the touched rows.
                m_w *= beta1
                m_w += (1 - beta1) * alpha * coef
                full = alpha * coef
                for j, (touched, grad_w) in enumerate(grads):
                    m_w[j, touched] += (1 - beta1) * grad_w
                    full[j, touched] += grad_w
                v_w *= beta2
                v_w += (1 - beta2) * full * full
                coef -= lr * m_w / (np.sqrt(v_w) + eps)
                coef[:, 0] = 0.0
            intercept -= lr * m_b / (np.sqrt(v_b) + eps)
            if epoch > schedule.n_epochs - schedule.average_epochs:  # all epochs when fewer
                if not averaged:
                    mean_coef, mean_intercept = coef.copy(), intercept.copy()
                averaged += 1
                mean_coef += (coef - mean_coef) / averaged
                mean_intercept += (intercept - mean_intercept) / averaged
                changed = None
            if changed is None:
                np.sum(mean_coef, axis=0, out=coef_out)  # in place: no new array a step
                coef_out /= k
            else:  # each shuffle's rows: a row two shuffles changed is written twice, alike
                for rows_changed in changed:
                    coef_out[rows_changed] = coef[:, rows_changed].sum(axis=0) / k
            np.sum(mean_intercept, axis=0, out=intercept_out)
            intercept_out /= k
            seen += n_batch
            after_step(
                TrainingStep(
                    step=step,
                    epoch=epoch,
                    n_epochs=schedule.n_epochs,
                    elapsed_examples=seen,
                    elapsed_tokens=n_tokens,
                    training_loss=math.fsum(losses) / k,
                    training_accuracy=hits / n_batch,
                )
            )


def _lazy_adam(
    coef: np.ndarray,
    m_w: np.ndarray,
    v_w: np.ndarray,
    grads: list[tuple[np.ndarray, np.ndarray]],
    alpha: float,
    lr: float,
) -> list[np.ndarray]:
    """One lazy Adam update of each shuffle's weights (``coef[j]``, moments ``m_w[j]``,
    ``v_w[j]``) on the feature rows its batch touched, the L2 term on those rows only; returns
    each shuffle's changed rows. The padding feature 0 (value 0 in every row) stays at zero."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    changed = []
    for j, (touched, grad_w) in enumerate(grads):
        rows, grad = touched[1:], grad_w[1:]  # every row holds the padding feature, first
        weights = coef[j, rows]
        grad += alpha * weights
        m = m_w[j, rows]
        m *= beta1
        m += (1 - beta1) * grad
        v = v_w[j, rows]
        v *= beta2
        grad *= grad
        v += (1 - beta2) * grad
        m_w[j, rows] = m
        v_w[j, rows] = v
        np.sqrt(v, out=v)
        v += eps
        m *= lr
        m /= v
        weights -= m
        coef[j, rows] = weights
        changed.append(rows)
    return changed


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
    logp = log_softmax(class_scores(coef, intercept, idx, val, row_starts))
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
