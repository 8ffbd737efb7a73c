"""The model registry: atomic registration, listing, current pointer, promote/rollback, safe loading."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from classifier.errors import ModelFileError, NoModelError, UnknownModelError
from classifier.local import load_local_model
from classifier.local.engine import SportEngine
from classifier.model_card import ModelCard, utc_now_iso
from classifier.registry import MODEL_FILE, ModelRegistry

SEPARATOR = "\n\n###\n\n"


def _card(registry: ModelRegistry, created: str | None = None) -> ModelCard:
    return ModelCard(
        id=registry.new_model_id("sport-engine"),
        created=created or utc_now_iso(),
        provider="local",
        base_model="sport-engine",
        labels=["baseball", "hockey"],
        separator=SEPARATOR,
        data_hash="0" * 64,
        metrics={"accuracy": 0.99},
        job_id="ftjob-test",
    )


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "home")


def test_new_ids_are_safe_unique_and_time_sortable(registry) -> None:
    ids = {registry.new_model_id("sport-engine", "My Suffix!") for _ in range(50)}
    assert len(ids) == 50
    for model_id in ids:
        assert model_id.startswith("sportbot-sport-engine-my-suffix-2")
        assert registry.model_dir(model_id).name == model_id
    assert registry.new_model_id("sportbot-local").startswith("sportbot-local-")


def test_register_writes_the_folder_and_round_trips(
    registry, trained_engine, valid_rows, tmp_path
) -> None:
    results = tmp_path / "results.csv"
    results.write_text("step,training_loss\n1,0.69\n")
    card = registry.register(_card(registry), trained_engine, files={"results.csv": results})
    folder = registry.model_dir(card.id)
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "model.skops", "results.csv"]
    assert card.sha256 and len(card.sha256) == 64
    assert json.loads((folder / "card.json").read_text())["sha256"] == card.sha256
    assert registry.card(card.id) == card
    loaded = load_local_model(registry, card.id)
    texts = valid_rows[0][:40]
    np.testing.assert_array_equal(
        loaded.predict_log_proba(texts), trained_engine.predict_log_proba(texts)
    )
    assert loaded.explain(texts[0]) == trained_engine.explain(texts[0])


def test_first_model_becomes_current_later_ones_only_when_asked(registry, trained_engine) -> None:
    assert registry.current_id() is None
    first = registry.register(_card(registry), trained_engine)
    second = registry.register(_card(registry), None)
    assert registry.current_id() == first.id
    third = registry.register(_card(registry), None, make_current=True)
    assert registry.current_id() == third.id
    assert [c.id for c in registry.list_models()] == [first.id, second.id, third.id]


def test_promote_and_rollback(registry) -> None:
    a = registry.register(_card(registry))
    b = registry.register(_card(registry))
    c = registry.register(_card(registry))
    registry.promote(b.id)
    registry.promote(c.id)
    assert registry.current_id() == c.id
    assert registry.rollback() == b.id
    assert registry.current_id() == b.id
    assert registry.rollback() == a.id
    with pytest.raises(NoModelError, match="nothing to roll back"):
        registry.rollback()
    assert registry.current_id() == a.id


def test_rollback_without_any_model_says_so(registry) -> None:
    with pytest.raises(NoModelError, match="sportbot train"):
        registry.rollback()


def test_staging_leftovers_and_stray_folders_are_not_listed(registry) -> None:
    kept = registry.register(_card(registry))
    leftover = registry.models_dir / ".staging-sportbot-x-20260101-000000-abcd-1234"
    leftover.mkdir()
    (leftover / "card.json").write_text(json.dumps(_card(registry).to_dict()))
    (registry.models_dir / "not-a-model").mkdir()
    assert [c.id for c in registry.list_models()] == [kept.id]


def test_a_failed_registration_leaves_nothing_behind(registry, tmp_path) -> None:
    card = _card(registry)
    with pytest.raises(FileNotFoundError):
        registry.register(card, files={"results.csv": tmp_path / "missing.csv"})
    assert list(registry.models_dir.iterdir()) == []
    assert registry.current_id() is None


def test_unknown_ids_get_a_helpful_error(registry) -> None:
    with pytest.raises(UnknownModelError, match="sportbot models list"):
        registry.card("sportbot-nope-20260101-000000-abcd")
    with pytest.raises(UnknownModelError):
        registry.promote("sportbot-nope-20260101-000000-abcd")
    with pytest.raises(UnknownModelError):
        load_local_model(registry, "../../etc")


@pytest.mark.parametrize(
    "model_id",
    ["ft:babbage-002:sportbot::7p4lurel", "ada:ft-sportbot:my-suffix-2026-11-25-16-05-01"],
)
def test_openai_shaped_ids_are_registered_under_one_safe_folder_each(
    registry, trained_engine, model_id: str
) -> None:
    card = _card(registry)
    card.id = model_id
    registry.register(card, trained_engine)

    folder = registry.model_dir(model_id)
    assert folder.parent == registry.models_dir
    assert ":" not in folder.name and folder.name == model_id.replace(":", "+")
    assert [c.id for c in registry.list_models()] == [model_id]
    assert registry.card(model_id).id == model_id
    assert load_local_model(registry, model_id).classes_ == trained_engine.classes_


@pytest.mark.parametrize(
    "bad", ["../x", "ft:a/b", "ft+babbage", ".hidden", "Ft:Upper", "a\\b", "ft:a:..:/etc", ""]
)
def test_ids_that_are_paths_or_folder_names_are_not_ids(registry, bad: str) -> None:
    with pytest.raises(UnknownModelError):
        registry.model_dir(bad)


def test_a_model_is_deleted_unless_it_is_current(registry) -> None:
    first = registry.register(_card(registry))
    second = registry.register(_card(registry))
    registry.promote(second.id)  # history: first

    with pytest.raises(ModelFileError, match="current"):
        registry.delete(second.id)
    registry.delete(first.id)

    assert [c.id for c in registry.list_models()] == [second.id]
    assert not registry.model_dir(first.id).exists()
    assert list(registry.models_dir.glob(".deleted-*")) == []
    with pytest.raises(UnknownModelError):
        registry.delete(first.id)
    with pytest.raises(NoModelError):
        registry.rollback()  # the only model it could go back to is gone


def test_a_tampered_model_file_is_refused(registry, trained_engine) -> None:
    card = registry.register(_card(registry), trained_engine)
    path = registry.model_dir(card.id) / MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        load_local_model(registry, card.id)


class Evil:
    """A type no model file may hold."""


def test_an_untrusted_type_is_refused_even_with_a_matching_hash(registry, trained_engine) -> None:
    from skops.io import dump

    from classifier.registry import file_sha256

    card = registry.register(_card(registry), trained_engine)
    path = registry.model_dir(card.id) / MODEL_FILE
    engine = SportEngine().fit(["pitcher strike", "goalie puck"], ["baseball", "hockey"])
    engine.payload = Evil()
    dump(engine, path)
    card.sha256 = file_sha256(path)
    (registry.model_dir(card.id) / "card.json").write_text(json.dumps(card.to_dict()))
    with pytest.raises(ModelFileError, match="not trusted"):
        load_local_model(registry, card.id)


def _rewrite_model_file(registry: ModelRegistry, card: ModelCard, model: object) -> None:
    """Write ``model`` over a registered model's file, with a card whose sha256 matches."""
    from skops.io import dump

    from classifier.registry import file_sha256

    path = registry.model_dir(card.id) / MODEL_FILE
    dump(model, path)
    card.sha256 = file_sha256(path)
    (registry.model_dir(card.id) / "card.json").write_text(json.dumps(card.to_dict()))


OLDER = "was saved by an older sportbot, whose model this one cannot read: retrain it with `sportbot train`."


def test_a_model_file_naming_a_retired_module_is_refused_with_one_line(
    registry, trained_engine, monkeypatch
) -> None:
    card = registry.register(_card(registry), trained_engine)
    with monkeypatch.context() as patch:  # the file names the class where it lived before
        patch.setattr(SportEngine, "__module__", "classifier.engine")
        _rewrite_model_file(registry, card, trained_engine)
    assert registry.model_file_types(card.id) == ["classifier.engine.SportEngine"]
    with pytest.raises(ModelFileError) as refused:
        load_local_model(registry, card.id)
    assert str(refused.value) == f"Model '{card.id}' {OLDER}"


def test_a_model_file_of_an_older_layout_is_refused_with_the_same_line(
    registry, trained_engine, monkeypatch
) -> None:
    """A file that names today's class but holds its learned state under other names (as
    before it was public: ``_coef``) is refused, not loaded to fail on the first message."""
    card = registry.register(_card(registry), trained_engine)
    state = trained_engine.__getstate__()
    state["_coef"] = state.pop("coef_")
    with monkeypatch.context() as patch:
        patch.setattr(SportEngine, "__getstate__", lambda self: state)
        _rewrite_model_file(registry, card, trained_engine)
    with pytest.raises(ModelFileError) as refused:
        load_local_model(registry, card.id)
    assert str(refused.value) == f"Model '{card.id}' {OLDER}"


def test_a_file_that_is_not_a_model_is_refused(registry, trained_engine) -> None:
    from classifier.registry import file_sha256

    card = registry.register(_card(registry), trained_engine)
    path = registry.model_dir(card.id) / MODEL_FILE
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", "{not json")
    card.sha256 = file_sha256(path)
    (registry.model_dir(card.id) / "card.json").write_text(json.dumps(card.to_dict()))
    with pytest.raises(ModelFileError, match="cannot be read"):
        load_local_model(registry, card.id)


def test_card_round_trips_and_ignores_unknown_keys() -> None:
    card = ModelCard(
        id="m",
        created="2026-11-25T16:05:01Z",
        provider="openai",
        base_model="babbage-002",
        labels=["baseball", "hockey"],
        separator=SEPARATOR,
        data_hash="h",
        metrics={"f1": 1.0},
        remote_model="ft:babbage-002:org::abc",
    )
    assert ModelCard.from_dict({**card.to_dict(), "future_field": 1}) == card


def test_concurrent_promotes_from_several_processes_keep_a_whole_history(registry) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    a = registry.register(_card(registry))
    b = registry.register(_card(registry))
    code = (
        "import sys; from pathlib import Path; from classifier.registry import ModelRegistry\n"
        "r = ModelRegistry(Path(sys.argv[1]))\n"
        "for _ in range(25):\n"
        "    r.promote(sys.argv[2]); r.promote(sys.argv[3])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(registry.home), x, y], cwd=ROOT)
        for x, y in ((a.id, b.id), (b.id, a.id))
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    pointer = json.loads((registry.home / "current.json").read_text())
    assert pointer["current"] in (a.id, b.id)
    # every promote that changed the current model pushed exactly one id, none was lost
    history = pointer["history"]
    assert set(history) <= {a.id, b.id}
    assert all(x != y for x, y in zip(history, [*history[1:], pointer["current"]], strict=True))
    assert [p.name for p in registry.home.iterdir() if p.name.endswith(".tmp")] == []
