"""SportEngine on the real 948 training rows: real epochs, usable mid-training, held-out accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score

from classifier.local.engine import SportEngine, TrainingStep


def _accuracy(engine: SportEngine, texts: list[str], labels: list[str]) -> float:
    predicted = engine.predict(texts)
    return float(np.mean([p == t for p, t in zip(predicted, labels, strict=True)]))


def test_fit_runs_real_epochs_and_loss_goes_down(train_rows, valid_rows) -> None:
    texts, labels = train_rows
    steps: list[TrainingStep] = []
    valid_acc: list[float] = []
    engine = SportEngine(n_epochs=3, batch_size=32)

    def on_step(step: TrainingStep) -> None:
        steps.append(step)
        if step.step % 10 == 0:
            valid_acc.append(_accuracy(engine, *valid_rows))

    engine.fit(texts, labels, on_step=on_step)
    per_epoch = math.ceil(len(texts) / 32)
    assert len(steps) == 3 * per_epoch
    assert [s.step for s in steps] == list(range(1, 3 * per_epoch + 1))
    assert [s.epoch for s in steps[::per_epoch]] == [1, 2, 3]
    assert all(s.n_epochs == 3 for s in steps)
    assert steps[-1].elapsed_examples == 3 * len(texts)
    assert steps[-1].elapsed_tokens > steps[0].elapsed_tokens > 0
    first = np.mean([s.training_loss for s in steps[:per_epoch]])
    last = np.mean([s.training_loss for s in steps[-per_epoch:]])
    assert last < first / 2
    assert steps[0].training_loss == pytest.approx(math.log(2))  # before the first update
    assert valid_acc[0] < valid_acc[-1] or valid_acc[0] > 0.95
    assert engine.classes_ == ("baseball", "hockey")


def test_default_engine_generalises_to_the_held_out_validation_rows(
    trained_engine, valid_rows
) -> None:
    assert trained_engine.n_epochs == 4
    assert _accuracy(trained_engine, *valid_rows) >= 0.975


def test_log_probabilities_are_normalised_per_text(trained_engine, valid_rows) -> None:
    logp = trained_engine.predict_log_proba(valid_rows[0][:20])
    assert logp.shape == (20, 2)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0)
    assert trained_engine.predict_log_proba([]).shape == (0, 2)


def test_the_batch_path_scores_each_text_as_it_would_alone(trained_engine, valid_rows) -> None:
    texts = [*valid_rows[0][:30], "", "zzzz qqqq"]
    together = trained_engine.predict_log_proba(texts)
    alone = np.vstack([trained_engine.predict_log_proba([t]) for t in texts])
    np.testing.assert_allclose(together, alone)
    # text without known words: the intercept's prior alone
    np.testing.assert_allclose(together[-1], together[-2])


def test_explain_names_the_words_that_pushed_the_decision(trained_engine) -> None:
    text = "The goalie stopped the puck and the Penguins won in overtime of the playoffs."
    assert trained_engine.predict([text]) == ["hockey"]
    reasons = trained_engine.explain(text, top=5)
    assert 0 < len(reasons) <= 5
    words = [w for w, _ in reasons]
    assert {"puck", "goalie"} & set(words)
    weights = [abs(w) for _, w in reasons]
    assert weights == sorted(weights, reverse=True)
    assert reasons[0][1] > 0


def test_more_than_two_labels() -> None:
    texts = ["the pitcher threw a strike", "the goalie stopped the puck", "lunch at noon today"] * 8
    labels = ["baseball", "hockey", "other"] * 8
    engine = SportEngine(n_epochs=6, batch_size=4).fit(texts, labels)
    assert engine.classes_ == ("baseball", "hockey", "other")
    assert engine.predict(["pitcher strike", "puck goalie", "lunch noon"]) == [
        "baseball",
        "hockey",
        "other",
    ]


@pytest.mark.parametrize(
    ("texts", "labels"),
    [(["a b", "c d"], ["x"]), ([], []), (["a", "b"], ["x", "x"])],
)
def test_fit_refuses_unusable_training_data(texts, labels) -> None:
    with pytest.raises(ValueError):
        SportEngine().fit(texts, labels)


def test_header_fields_get_tagged_features_and_plain_text_does_not(trained_engine) -> None:
    post = "From: fan@pitt.edu\nSubject: Penguins win\nLines: 2\n\nWhat a game!"
    terms = trained_engine._terms(post)
    assert {"from:fan", "from:pitt", "subject:penguins", "subject:win", "penguins", "game"} <= set(
        terms
    )
    assert not any(t.startswith("lines:") for t in terms)
    assert not any(":" in t for t in trained_engine._terms("Subject: no header here\nat all"))


def test_persisted_state_round_trips_through_getstate(trained_engine, valid_rows) -> None:
    clone = SportEngine.__new__(SportEngine)
    clone.__setstate__(trained_engine.__getstate__())
    texts = valid_rows[0][:25]
    np.testing.assert_array_equal(
        clone.predict_log_proba(texts), trained_engine.predict_log_proba(texts)
    )


def test_the_fast_encoder_agrees_with_the_term_lists_of_fit(trained_engine, valid_rows) -> None:
    """Prediction looks words and tagged header words up without building the term strings
    (ASCII texts as bytes, others as str); it must produce exactly the rows that the term lists
    used in ``fit`` produce."""
    texts = [
        *valid_rows[0][:60],
        "",
        "Subject: only a header line\n\nand a body",
        "From: Fan\xa0Club <fan@pitt.edu>\nSubject: ÉTÉ Penguins\u2003win\n\nK\u212a \u0130stanbul \u017fubject",
        "subject: lowercase header\nORGANIZATION: Upper Case Field\n\nbody",
        "Subject: Rays\x1cwin\x0bagain\x1f\n\nASCII controls\x1eseparate words",
    ]
    fast = trained_engine._encode(texts)
    slow = trained_engine._encode_terms([trained_engine._terms(t) for t in texts])
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_allclose(fast[1], slow[1])
    np.testing.assert_array_equal(fast[2], slow[2])
    assert fast[3] == slow[3] > 0
    tagged = [i for i in fast[0] if ":" in trained_engine.feature_names_[i]]
    assert tagged, "the header words of the posts must reach their tagged features"


def test_word_pairs_reach_their_features(train_rows) -> None:
    texts, labels = train_rows
    engine = SportEngine(ngram_max=2, n_epochs=1).fit(texts[:200], labels[:200])
    idx = engine.encode(["Stanley Cup"]).indices
    assert "stanley cup" in {str(engine.feature_names_[i]) for i in idx}


def test_shuffles_side_by_side_average_their_weights(train_rows) -> None:
    texts, labels = train_rows[0][:40], train_rows[1][:40]
    held = train_rows[0][40:80]
    steps: list[TrainingStep] = []
    # One mini-batch holds every row: both shuffles see the same batches, so their mean is the
    # one-shuffle model (a sum, or one shuffle's weights mixed into the other's, would not be).
    one = SportEngine(n_epochs=3, batch_size=64, n_shuffles=1).fit(texts, labels)
    two = SportEngine(n_epochs=3, batch_size=64, n_shuffles=2).fit(texts, labels)
    np.testing.assert_allclose(two.predict_log_proba(held), one.predict_log_proba(held), atol=1e-9)
    # Smaller batches: each shuffle takes its own next batch at every step.
    one = SportEngine(n_epochs=2, batch_size=8, n_shuffles=1).fit(texts, labels)
    two = SportEngine(n_epochs=2, batch_size=8, n_shuffles=2)
    two.fit(texts, labels, on_step=steps.append)
    assert not np.allclose(two.predict_log_proba(held), one.predict_log_proba(held))
    assert len(steps) == 2 * math.ceil(40 / 8)
    assert steps[-1].elapsed_examples == 2 * 2 * 40
    assert two.get_params()["n_shuffles"] == 2
    with pytest.raises(ValueError, match="n_shuffles"):
        SportEngine(n_shuffles=0).fit(texts, labels)


def test_the_engine_is_a_scikit_learn_estimator(train_rows) -> None:
    texts, labels = train_rows[0][:240], train_rows[1][:240]
    engine = SportEngine(n_epochs=2, nb_power=0.5)
    assert engine.get_params()["nb_power"] == 0.5
    twin = clone(engine)
    assert twin is not engine and twin.get_params() == engine.get_params()
    assert engine.set_params(nb_power=1.0) is engine and engine.nb_power == 1.0
    scores = cross_val_score(engine, texts, labels, cv=StratifiedKFold(3))
    assert len(scores) == 3 and scores.min() >= 0.8
    assert not hasattr(engine, "coef_")  # cross-validation fitted clones, not the engine
    engine.fit(texts, labels)
    n_features = len(engine.feature_names_)
    assert engine.coef_.shape == (n_features, 2) and engine.intercept_.shape == (2,)
    assert engine.idf_.shape == engine.nb_ratio_.shape == (n_features,)
    assert not hasattr(clone(engine), "coef_")
