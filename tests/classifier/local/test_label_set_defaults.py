"""The default model's settings that depend on its label set: two labels keep the settings chosen
on the sport rows, more labels get their own (lazy Adam updates among them), and a parameter
given explicitly wins over either."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.local.engine import SportEngine
from classifier.local.gated_model import GatedSportModel
from classifier.local.label_set_defaults import MANY_LABELS, TWO_LABELS, defaults_for

THREE_TOPICS = [
    ("the pitcher threw a fastball and the batter hit a home run", "baseball"),
    ("a shutout for the goalie, two goals on the power play", "hockey"),
    ("the compiler crashed when linking the kernel module", "computers"),
    ("the shortstop turned a double play in the ninth inning", "baseball"),
    ("the defenceman took a slashing penalty in overtime", "hockey"),
    ("my motherboard will not boot after the bios update", "computers"),
]


def test_two_labels_get_the_sport_settings_and_more_labels_their_own() -> None:
    assert defaults_for(2) is TWO_LABELS
    assert defaults_for(3) is MANY_LABELS and defaults_for(20) is MANY_LABELS
    assert TWO_LABELS.updates == "dense" and MANY_LABELS.updates == "lazy"
    assert GatedSportModel().settings_for(2) == TWO_LABELS
    assert GatedSportModel().settings_for(20) == MANY_LABELS
    given = GatedSportModel(alpha=1e-3, updates="dense").settings_for(20)
    assert (given.alpha, given.updates) == (1e-3, "dense")
    assert given.learning_rate == MANY_LABELS.learning_rate
    assert GatedSportModel(subject_rows=False).settings_for(2).subject_rows is False


@pytest.mark.parametrize(
    ("n_labels", "expected"), [(2, TWO_LABELS), (3, MANY_LABELS)], ids=["two", "three"]
)
def test_a_fit_trains_with_the_settings_of_its_label_count(n_labels: int, expected: object) -> None:
    rows = [(text, label) for text, label in THREE_TOPICS if n_labels == 3 or label != "computers"]
    texts, labels = [t for t, _ in rows] * 4, [y for _, y in rows] * 4
    model = GatedSportModel(n_epochs=1, batch_size=4, lexicon_rows=False).fit(texts, labels)
    engine = model.engine_
    settings = model.settings_for(n_labels)
    assert settings == expected
    assert (engine.updates, engine.learning_rate, engine.alpha, engine.average_epochs) == (
        settings.updates,
        settings.learning_rate,
        settings.alpha,
        settings.average_epochs,
    )
    assert (model.expert_weight_, model.post_expert_weight_) == (
        settings.expert_weight,
        settings.post_expert_weight,
    )
    assert model.get_params()["updates"] is None  # the parameter stays as given
    assert len(model.engine_.classes_) == n_labels


UPDATES = ("dense", "lazy")


def moved_by_second_step(updates: str, texts: list[str], labels: list[str]) -> set[int]:
    """The feature rows the second step of a fit on one text a batch changed."""
    engine = SportEngine(n_epochs=1, batch_size=1, alpha=1e-4, average_epochs=0, updates=updates)
    steps: list[np.ndarray] = []
    engine.fit(texts, labels, on_step=lambda _: steps.append(engine.coef_.copy()))
    return set(np.flatnonzero(np.abs(steps[1] - steps[0]).sum(axis=1)).tolist())


def test_a_lazy_step_moves_only_the_batch_features_and_matches_a_dense_first_step() -> None:
    """Without an L2 penalty, Adam's first step moves only the rows a batch holds, dense or lazy
    alike; after it a lazy step leaves the other rows where they are."""
    texts = [text for text, _ in THREE_TOPICS]
    labels = [label for _, label in THREE_TOPICS]
    one_step = {"n_epochs": 1, "batch_size": len(texts), "alpha": 0.0, "average_epochs": 0}
    dense = SportEngine(**one_step, updates="dense").fit(texts, labels)
    lazy = SportEngine(**one_step, updates="lazy").fit(texts, labels)
    np.testing.assert_allclose(lazy.coef_, dense.coef_, atol=1e-12)
    np.testing.assert_allclose(lazy.intercept_, dense.intercept_)

    # One text a batch: the second step of a dense update moves the rows of both texts (Adam's
    # moments of the first one's), a lazy one the rows of the text it reads only.
    moved = {updates: moved_by_second_step(updates, texts[:2], labels[:2]) for updates in UPDATES}
    vocabulary = SportEngine().fit(texts[:2], labels[:2])  # the same features as those fits
    features = [set(vocabulary.encode([text])[0].tolist()) - {0} for text in texts[:2]]
    read = next(f for f in features if moved["lazy"] <= f)  # the second step's text
    assert moved["lazy"] and moved["dense"] - read
    with pytest.raises(ValueError, match="updates"):
        SportEngine(updates="sparse").fit(texts, labels)
