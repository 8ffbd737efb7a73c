"""The default model's settings that depend on its label set: two labels, or more.

``GatedSportModel`` takes each of these as a parameter whose default, None, means "the one for
this many labels". Two labels (the notebook's sports, or any other pair) read as they always did;
the settings for more were chosen by cross-validation on the 11,314 training posts of all twenty
20 Newsgroups groups, where the two-label ones cost both time and accuracy: a dense Adam step
moves every weight of some 100,000 features times twenty labels, and an expert of posts mixed in
at weight 3 outweighs the sport head it helps with two labels (experiments/newsgroups20_selection.py,
docs/model.md, "More than two labels").
"""

from __future__ import annotations

from dataclasses import dataclass

from classifier.local.engine import DEFAULT_AVERAGE_EPOCHS


@dataclass(frozen=True)
class LabelSetDefaults:
    """The defaults of ``GatedSportModel``'s label-set-dependent parameters (same names)."""

    learning_rate: float
    alpha: float
    average_epochs: int
    updates: str
    subject_rows: bool
    expert_weight: float
    expert_c: float
    post_expert_weight: float
    post_expert_c: float


TWO_LABELS = LabelSetDefaults(
    learning_rate=0.1,
    alpha=1e-5,
    average_epochs=DEFAULT_AVERAGE_EPOCHS,
    updates="dense",
    subject_rows=True,
    expert_weight=0.25,
    expert_c=10.0,
    post_expert_weight=3.0,
    post_expert_c=0.1,
)
"""Chosen on the 948 prepared training rows (experiments/engine_selection.py, gated_selection.py,
thread_selection.py; their numbers are ``gated_model``'s constants and docs/model.md's)."""

MANY_LABELS = LabelSetDefaults(
    learning_rate=0.02,
    alpha=1e-3,
    average_epochs=0,
    updates="lazy",
    subject_rows=False,
    expert_weight=0.25,
    expert_c=1.0,
    post_expert_weight=0.25,
    post_expert_c=1.0,
)
"""Chosen by 5-fold cross-validation on the 11,314 training posts of the twenty groups, folds
stratified and grouped by thread, at the fine-tune's 4 epochs of mini-batches of 32: the best
held-out posts' accuracy, 0.8984, of the candidates, and the cheaper fit (no subject-line rows:
half the rows); their subject lines read 0.6969, against 0.7367 with subject rows at step 0.01,
L2 3e-4 (posts 0.8958, log loss 0.4761 against 0.5495), which takes some 40 % longer. The experts
at C 1, weight 0.25 read posts and subject lines best of C 0.1, 1, 10 times weights 0-3 (0.8958
and 0.7367 at that head, 0.8933 and 0.7113 without them; experiments/newsgroups20_selection.py
--stage cost, --stage experts)."""


def defaults_for(n_labels: int) -> LabelSetDefaults:
    """The defaults for a model of ``n_labels`` labels (not counting ``"other"``)."""
    return TWO_LABELS if n_labels <= 2 else MANY_LABELS
