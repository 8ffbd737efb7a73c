"""The default local model: sport head (engine x static expert) times the shipped topic gate,
trained on the 948 reference rows; held-out checks on the validation rows and on real
off-topic texts (tests/data/modern/other_dev.jsonl, never trained on)."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from classifier.core import Classifier
from classifier.errors import ModelFileError
from classifier.local import lexicon, load_local_model
from classifier.local.backend import LocalBackend
from classifier.local.engine_inference import OlderModelError
from classifier.local.gated_model import DEFAULT_SHUFFLES, GatedSportModel
from classifier.local.static_embedding import NORM_DIMS
from classifier.local.usenet import is_post
from classifier.model_card import ModelCard, utc_now_iso
from classifier.prediction import DEFAULT_TAG_THRESHOLD
from classifier.registry import ModelRegistry
from tests.conftest import OTHER_DEV

RAYS = (
    "BREAKING: The Tampa Bay Rays are finalizing a deal to acquire slugger Nelson Cruz from the "
    "Minnesota Twins, sources tell ESPN."
)
POST = (
    "From: fan@pitt.edu (A Fan)\nSubject: Re: Leafs in the playoffs\nOrganization: Pitt\n"
    "Lines: 3\n\nGilmour had two goals and an assist; Potvin stopped 35 shots.\n"
)


@pytest.fixture(scope="module")
def model(train_rows: tuple[list[str], list[str]]) -> GatedSportModel:
    return GatedSportModel().fit(*train_rows)


def test_it_knows_the_off_topic_label_and_its_probabilities_add_up(
    model: GatedSportModel,
) -> None:
    assert model.classes_ == ("baseball", "hockey", "other")
    logp = model.predict_log_proba([RAYS, "anyone up for lunch?", "Leafs win in OT"])
    assert np.exp(logp).sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
    vectors = model._vectors(["anyone up for lunch?"])
    p_sport = 1 / (1 + math.exp(-float(model.base.sport_log_odds(vectors)[0])))
    assert math.exp(logp[1, 2]) == pytest.approx(1 - p_sport, rel=1e-5)


def test_one_pass_gives_the_engine_rows_and_the_sentence_vector_scores(
    model: GatedSportModel, valid_rows: tuple[list[str], list[str]]
) -> None:
    """Prediction reads a text once (per word: the engine's feature and the word's scores);
    it must give the engine's own rows and the scores of the sentence vectors the expert and
    the gate were fitted on."""
    texts = [
        *valid_rows[0][:40],
        RAYS,
        "anyone up for lunch?",
        "",
        "?!",
        "Subject: Re: Ohtani\u2019s 50th\n\nxqzzy blorfing Leafs",
        "From: a@b.c\nnot a header line\n\nso the whole text is the message",
        "café naïve Montréal Canadiens",
    ]
    encoded = model.encode(texts)
    engine = model.engine_.encode(texts)
    for ours, theirs in zip(encoded.engine, engine, strict=True):
        np.testing.assert_allclose(ours, theirs)
    projection, bias = model._projection()
    vectors = model._vectors(texts).astype(np.float64)
    scores = vectors @ projection + bias  # the short texts' expert, the gate, the posts' expert
    k = len(model.engine_.classes_)
    posts = np.array([is_post(t) for t in texts])
    assert posts.any() and not posts.all()
    expected = scores[:, : k + 1]
    expected[posts, :k] = scores[posts, k + 1 :]
    expected[:, k] += model.base.gate_quadratic_term(vectors[:, :NORM_DIMS])  # the gate's
    np.testing.assert_allclose(encoded.scores, expected, rtol=1e-4, atol=1e-5)
    singles = np.vstack([model.encode([t]).scores for t in texts])
    np.testing.assert_allclose(singles, encoded.scores, rtol=1e-4, atol=1e-6)
    # One text alone takes the plain-Python path; a batch the numpy one: the same answers.
    alone = np.vstack([model.predict_log_proba([t]) for t in texts])
    np.testing.assert_allclose(alone, model.predict_log_proba(texts), rtol=1e-5, atol=1e-5)


def test_a_text_gets_the_same_answer_alone_and_in_a_batch(
    model: GatedSportModel, valid_rows: tuple[list[str], list[str]]
) -> None:
    """The validation file's messages, by the batch path (numpy over the whole batch) and one
    at a time (the plain-Python path a bot takes): the same log-probabilities."""
    model = pickle.loads(pickle.dumps(model))  # a word table of its own: the fixture's stays
    texts = [*valid_rows[0], RAYS, "anyone up for lunch?", "Profar vs Kotkaniemi", POST]
    batch = model.predict_log_proba(texts)
    alone = np.vstack([model.predict_log_proba([t]) for t in texts])
    np.testing.assert_allclose(batch, alone, rtol=0, atol=1e-9)
    classifier = Classifier(LocalBackend(model, "m"))
    together, one_by_one = classifier.classify_many(texts), [classifier.classify(t) for t in texts]
    assert [(p.label, p.tag) for p in together] == [(p.label, p.tag) for p in one_by_one]


def test_the_notebooks_baseball_tweet_is_baseball_and_lunch_is_not_tagged(
    model: GatedSportModel,
) -> None:
    classifier = Classifier(LocalBackend(model, "m"))
    rays, lunch = classifier.classify_many([RAYS, "anyone up for lunch?"])
    assert rays.label == "baseball" and rays.tag == "baseball"
    assert lunch.tag is None
    assert model.predict([RAYS]) == ["baseball"]  # predict answers among the sports


def test_held_out_validation_rows_stay_accurate(
    model: GatedSportModel, valid_rows: tuple[list[str], list[str]]
) -> None:
    texts, labels = valid_rows
    accuracy = np.mean([p == y for p, y in zip(model.predict(texts), labels, strict=True)])
    assert accuracy >= 0.99


def test_real_off_topic_texts_are_rarely_tagged(model: GatedSportModel) -> None:
    texts = [
        json.loads(line)["text"] for line in OTHER_DEV.read_text().splitlines() if line.strip()
    ]
    classifier = Classifier(LocalBackend(model, "m"), threshold=DEFAULT_TAG_THRESHOLD)
    tagged = [p for p in classifier.classify_many(texts) if p.tag is not None]
    assert len(tagged) / len(texts) <= 0.06


def test_explain_names_the_words_that_pushed_the_decision(model: GatedSportModel) -> None:
    reasons = model.explain(RAYS, top=6)
    assert 0 < len(reasons) <= 6
    weights = [abs(w) for _, w in reasons]
    assert weights == sorted(weights, reverse=True)
    pushing = {word for word, weight in reasons if weight > 0}
    assert pushing & {"rays", "twins", "slugger"}
    post = {word for word, weight in model.explain(POST, top=6) if weight > 0}
    assert post & {"gilmour", "potvin", "goals", "leafs", "playoffs"}


@pytest.fixture(scope="module")
def no_prior(train_rows: tuple[list[str], list[str]]) -> GatedSportModel:
    return GatedSportModel(surname_prior=False).fit(*train_rows)


def _sport_log_odds(model: GatedSportModel, texts: list[str]) -> np.ndarray:
    """log P(baseball) - log P(hockey) of the texts, by the batch path and one at a time."""
    batch = model.predict_log_proba(texts)
    one = np.array([model.predict_log_proba([t])[0] for t in texts])
    np.testing.assert_allclose(batch, one, atol=1e-9)
    return batch[:, 0] - batch[:, 1]


def test_the_surname_prior_moves_short_texts_and_leaves_posts_as_they_were(
    model: GatedSportModel, no_prior: GatedSportModel, train_rows: tuple[list[str], list[str]]
) -> None:
    # Two models' word tables may round a word met later one float32 ulp apart: hence 1e-5.
    assert model.classes_[:2] == ("baseball", "hockey")
    assert model.surnames_["profar"] == 0 and model.surnames_["kotkaniemi"] == 1
    baseball, hockey = model.surname_push_
    assert 1.0 < baseball < 10.0 and 1.0 < hockey < 10.0
    # the training posts' words are all the engine's: a post naming a recent surname shows it
    posts = [t for t in train_rows[0] if is_post(t)][:300]
    posts.append(POST.replace("Potvin", "Kotkaniemi"))
    close = {"rtol": 0, "atol": 1e-5}
    np.testing.assert_allclose(
        model.predict_log_proba(posts), no_prior.predict_log_proba(posts), **close
    )
    for post in posts[-20:]:
        np.testing.assert_allclose(
            model.predict_log_proba([post]), no_prior.predict_log_proba([post]), **close
        )
    texts = [
        "Profar was great tonight",
        "Kotkaniemi was great tonight",
        "Profar vs Kotkaniemi",
        RAYS,
    ]
    moved = _sport_log_odds(model, texts) - _sport_log_odds(no_prior, texts)
    np.testing.assert_allclose(moved, [baseball, -hockey, baseball - hockey, 0.0], **close)
    assert model.predict(texts[:2]) == ["baseball", "hockey"]


def test_the_surname_prior_holds_only_surnames_the_engine_never_met(
    model: GatedSportModel,
) -> None:
    known = set(model.engine_.feature_names_.tolist())
    recent = lexicon.recent_surnames()
    assert not known & set(model.surnames_)
    left_out = known & set(recent["baseball"] + recent["hockey"])
    assert left_out and not left_out & set(model.surnames_)  # the posts taught those already
    assert len(model.surnames_) == len(recent["baseball"]) + len(recent["hockey"]) - len(left_out)
    off = GatedSportModel(n_epochs=1, lexicon_rows=False).fit(
        ["Leafs win", "Jays win"], ["hockey", "baseball"]
    )
    assert off.surnames_ == {} and off.surname_push_ == [0.0, 0.0]  # no taught players to go by


def test_explain_names_the_surname_the_prior_knows(
    model: GatedSportModel, no_prior: GatedSportModel
) -> None:
    text = "Kotkaniemi scored on the power play"
    assert model.predict([text]) == no_prior.predict([text]) == ["hockey"]
    reasons, before = dict(model.explain(text, top=20)), dict(no_prior.explain(text, top=20))
    assert reasons["kotkaniemi"] - before.get("kotkaniemi", 0.0) == pytest.approx(
        model.surname_push_[1]
    )
    post = POST.replace("Potvin", "Kotkaniemi")
    assert model.explain(post, top=20) == no_prior.explain(post, top=20)


def test_fit_reports_every_step_and_is_usable_inside(
    train_rows: tuple[list[str], list[str]],
) -> None:
    texts, labels = train_rows[0][:200], train_rows[1][:200]
    model = GatedSportModel(n_epochs=2)
    seen: list[int] = []

    def on_step(step) -> None:
        seen.append(step.step)
        if step.step == 3:
            assert model.predict_log_proba(["a goal in overtime"]).shape == (1, 3)

    model.fit(texts, labels, on_step=on_step)
    assert seen == list(range(1, model.total_steps(texts, labels) + 1))
    rows, _ = model.training_rows(texts, labels)
    assert len(seen) == 2 * math.ceil(len(rows) / 32)  # a step: each shuffle's batch of 32


def test_labels_other_than_the_sports_get_no_gate() -> None:
    texts = ["the stock market fell", "shares rallied today", "rain all week", "sunny and warm"]
    labels = ["finance", "finance", "weather", "weather"]
    model = GatedSportModel(n_epochs=2).fit(texts, labels)
    assert model.classes_ == ("finance", "weather")
    assert np.exp(model.predict_log_proba(["stocks"])).sum() == pytest.approx(1.0)


def _register(home: Path, model: GatedSportModel) -> str:
    registry = ModelRegistry(home)
    card = ModelCard(
        id=registry.new_model_id("test"),
        created=utc_now_iso(),
        provider="local",
        base_model="sport-engine",
        labels=["baseball", "hockey"],
        separator="\n\n###\n\n",
        data_hash="x",
    )
    return registry.register(card, model).id


def test_the_registry_round_trip_keeps_answers_and_not_the_table(
    model: GatedSportModel, tmp_path: Path
) -> None:
    model_id = _register(tmp_path, model)
    size = (ModelRegistry(tmp_path).model_dir(model_id) / "model.skops").stat().st_size
    assert size < 2 * 2**20  # the 6.8 MB static table stays in the package
    loaded = load_local_model(ModelRegistry(tmp_path), model_id)
    assert isinstance(loaded, GatedSportModel)
    texts = [RAYS, "anyone up for lunch?", POST, "Profar vs Kotkaniemi"]
    assert loaded.predict_log_proba(texts) == pytest.approx(model.predict_log_proba(texts))
    assert loaded.surnames_ == model.surnames_


def test_a_model_of_another_base_model_is_refused(
    train_rows: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    other = GatedSportModel(n_epochs=1).fit(train_rows[0][:50], train_rows[1][:50])
    other.base_model_sha256_ = "0" * 64
    model_id = _register(tmp_path, other)
    with pytest.raises(ModelFileError, match="retrain it with `sportbot train`"):
        load_local_model(ModelRegistry(tmp_path), model_id)


def test_a_state_laid_out_as_before_is_refused(model: GatedSportModel) -> None:
    """The learned state under the names it had before it was public (``base_model_sha256``):
    refused on load with the line that says to retrain, not read to fail later."""
    state = model.__getstate__()
    state["base_model_sha256"] = state.pop("base_model_sha256_")
    with pytest.raises(OlderModelError, match="retrain it with `sportbot train`"):
        GatedSportModel.__new__(GatedSportModel).__setstate__(state)


def test_a_second_fit_reads_texts_with_its_own_vocabulary(
    train_rows: tuple[list[str], list[str]],
) -> None:
    texts, labels = train_rows
    model = GatedSportModel(n_epochs=1).fit(texts[:100], labels[:100])
    model.predict_log_proba(["a goal in overtime"])  # the word table of the first vocabulary
    model.fit(texts[100:300], labels[100:300])
    fresh = GatedSportModel(n_epochs=1).fit(texts[100:300], labels[100:300])
    probe = [RAYS, "a goal in overtime", texts[400]]
    np.testing.assert_allclose(model.predict_log_proba(probe), fresh.predict_log_proba(probe))
    np.testing.assert_allclose(
        model.predict_log_proba(probe[:1]), fresh.predict_log_proba(probe[:1])
    )


def test_it_is_a_scikit_learn_estimator() -> None:
    model = GatedSportModel(n_epochs=1, alpha=1e-4, post_expert_weight=1.0)
    params = model.get_params()
    assert params["alpha"] == 1e-4 and params["post_expert_weight"] == 1.0
    assert params["n_shuffles"] == DEFAULT_SHUFFLES and "engine_params" not in params
    twin = clone(model)
    assert twin is not model and twin.get_params() == params
    assert model.set_params(expert_weight=0.0, min_df=2) is model
    assert (model.expert_weight, model.min_df) == (0.0, 2)
    assert repr(GatedSportModel(n_epochs=2)) == "GatedSportModel(n_epochs=2)"


def test_grid_search_cross_validates_it(
    train_rows: tuple[list[str], list[str]], valid_rows: tuple[list[str], list[str]]
) -> None:
    texts, labels = train_rows[0][:160], train_rows[1][:160]
    grid = {"post_expert_weight": [0.0, 3.0], "n_epochs": [1, 3]}
    search = GridSearchCV(
        GatedSportModel(lexicon_rows=False),
        grid,
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        error_score="raise",
    ).fit(texts, labels)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and scores.min() >= 0.7
    assert len(set(scores.tolist())) > 1  # the grid's settings reached the fitted clones
    best = search.best_estimator_
    assert {k: best.get_params()[k] for k in grid} == search.best_params_
    assert best.classes_ == ("baseball", "hockey", "other")
    assert search.score(*valid_rows) >= 0.9
