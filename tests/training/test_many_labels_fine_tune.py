"""A local fine-tune on all twenty 20 Newsgroups groups, each its own label (a small share of
the posts, so that it runs in seconds): the job succeeds, trains with the settings for more than
two labels, and its model reads held-out posts of every group far above chance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier.config import ClassifierConfig
from classifier.loader import load_classifier
from classifier.local import load_local_model
from classifier.local.gated_model import GatedSportModel
from classifier.local.label_set_defaults import MANY_LABELS
from classifier.prompt import build_prompt, label_token
from classifier.registry import ModelRegistry
from training.finetune.lifecycle import fine_tune
from training.finetune.local_provider import LocalProvider
from training.finetune.request import FineTuneRequest

CUT = 6000
"""Characters of a post the prepared rows keep."""


def group_posts(subset: str, per_group: int) -> list[tuple[str, str]]:
    """The first ``per_group`` posts of each group in the notebook's shuffled order, labelled
    by the group's whole name (twenty distinct labels)."""
    from sklearn.datasets import fetch_20newsgroups

    bunch = fetch_20newsgroups(subset=subset, shuffle=True, random_state=42)
    taken: dict[int, int] = {}
    posts = []
    for text, target in zip(bunch.data, bunch.target, strict=True):
        if taken.get(target, 0) < per_group:
            taken[target] = taken.get(target, 0) + 1
            posts.append((text.strip(), bunch.target_names[target]))
    return posts


def write_prepared(posts: list[tuple[str, str]], path: Path) -> Path:
    rows = [{"prompt": build_prompt(t, CUT), "completion": label_token(y)} for t, y in posts]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def twenty_group_job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("twenty-groups")
    train = write_prepared(group_posts("train", 25), work / "train.jsonl")
    home = work / "home"
    job = fine_tune(home, FineTuneRequest(train), LocalProvider())
    assert job.status == "succeeded" and job.fine_tuned_model
    return home, job.fine_tuned_model


def test_a_twenty_label_job_trains_with_the_settings_for_many_labels(
    twenty_group_job: tuple[Path, str],
) -> None:
    home, model_id = twenty_group_job
    card = ModelRegistry(home).card(model_id)
    assert len(card.labels) == 20
    model = load_local_model(ModelRegistry(home), model_id)
    assert isinstance(model, GatedSportModel)
    assert model.engine_.updates == MANY_LABELS.updates == "lazy"
    assert model.engine_.learning_rate == MANY_LABELS.learning_rate
    assert model.engine_.alpha == MANY_LABELS.alpha
    assert model.expert_weight_ == MANY_LABELS.expert_weight
    assert not model.gated_ and "other" not in model.classes_


def test_its_model_reads_held_out_posts_of_every_group(twenty_group_job: tuple[Path, str]) -> None:
    home, model_id = twenty_group_job
    held = group_posts("test", 10)
    classifier = load_classifier(model_id, ClassifierConfig(home=home))
    predictions = classifier.classify_many([text for text, _ in held])
    assert {p.label for p in predictions} <= {label for _, label in held}
    hits = sum(p.label == label for p, (_, label) in zip(predictions, held, strict=True))
    assert hits / len(held) >= 0.5  # chance is 0.05


def test_a_learning_rate_multiplier_scales_the_rate_for_many_labels(tmp_path: Path) -> None:
    train = write_prepared(group_posts("train", 3), tmp_path / "train.jsonl")
    job = fine_tune(
        tmp_path / "home",
        FineTuneRequest(train, n_epochs=1, learning_rate_multiplier=2.0),
        LocalProvider(),
    )
    assert job.status == "succeeded" and job.fine_tuned_model
    model = load_local_model(ModelRegistry(tmp_path / "home"), job.fine_tuned_model)
    assert isinstance(model, GatedSportModel)
    assert model.engine_.learning_rate == pytest.approx(2.0 * MANY_LABELS.learning_rate)
