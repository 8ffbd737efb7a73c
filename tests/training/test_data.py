"""The notebook's dataset from scikit-learn's 20 Newsgroups cache (real data, no network)."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.error import URLError

import pytest

from classifier.errors import SportbotError
from tests.conftest import SPORT2_SHA256
from training import data as data_module
from training.data import (
    DataUnavailableError,
    Example,
    UnknownCategoryError,
    group_labels,
    jsonl_text,
    load_newsgroups,
    notebook_rows,
    write_jsonl,
)


@pytest.fixture(scope="session")
def sport_train() -> list[Example]:
    return load_newsgroups()


def test_default_dataset_is_the_notebooks_sport2_byte_for_byte(
    sport_train: list[Example], tmp_path: Path
) -> None:
    written = write_jsonl(notebook_rows(sport_train), tmp_path / "sport2.jsonl")
    assert hashlib.sha256(written.read_bytes()).hexdigest() == SPORT2_SHA256


def test_examples_are_stripped_and_labelled_by_the_groups_last_name(
    sport_train: list[Example],
) -> None:
    assert len(sport_train) == 1197
    assert {example.label for example in sport_train} == {"baseball", "hockey"}
    assert all(example.text == example.text.strip() for example in sport_train)
    assert sport_train[0].label == "baseball"
    assert sport_train[0].text.startswith("From: ")


def test_test_split_is_the_held_out_documents_of_the_same_groups(
    sport_train: list[Example],
) -> None:
    test = load_newsgroups(subset="test")
    assert len(test) == 796
    assert {example.label for example in test} == {"baseball", "hockey"}
    train_texts = {example.text for example in sport_train}
    assert sum(example.text in train_texts for example in test) < 5


def test_any_categories_label_by_last_name_part() -> None:
    examples = load_newsgroups(categories=("sci.space", "rec.autos"))
    assert {example.label for example in examples} == {"space", "autos"}


def test_groups_whose_last_name_part_is_shared_keep_apart() -> None:
    """All 20 groups make 20 labels: the two hardware groups and the three misc ones are named by
    the shortest ending of their names that no other group has."""
    assert group_labels(["comp.sys.ibm.pc.hardware", "comp.sys.mac.hardware", "sci.space"]) == [
        "pc.hardware",
        "mac.hardware",
        "space",
    ]
    examples = load_newsgroups(categories=_all_groups(), subset="test")
    labels = {example.label for example in examples}
    assert len(labels) == 20
    assert {"politics.misc", "religion.misc", "ms-windows.misc", "baseball"} <= labels


def _all_groups() -> list[str]:
    from sklearn.datasets import fetch_20newsgroups

    return list(fetch_20newsgroups(download_if_missing=False).target_names)


def test_unknown_category_is_one_clear_line() -> None:
    with pytest.raises(UnknownCategoryError) as caught:
        load_newsgroups(categories=("rec.sport.cricket", "rec.sport.hockey"))
    message = str(caught.value)
    assert isinstance(caught.value, SportbotError)
    assert "rec.sport.cricket" in message
    assert "rec.sport.baseball" in message
    assert "\n" not in message


def test_no_data_and_no_download_names_scikit_learn_data(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError) as caught:
        load_newsgroups(data_home=tmp_path, download_if_missing=False)
    message = str(caught.value)
    assert isinstance(caught.value, SportbotError)
    assert "SCIKIT_LEARN_DATA" in message
    assert str(tmp_path) in message
    assert "\n" not in message


def test_no_data_and_network_failing_names_scikit_learn_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sklearn.datasets._twenty_newsgroups as twenty

    def offline(*args: object, **kwargs: object) -> None:
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(twenty, "_download_20newsgroups", offline)
    with pytest.raises(DataUnavailableError) as caught:
        load_newsgroups(data_home=tmp_path)
    message = str(caught.value)
    assert "SCIKIT_LEARN_DATA" in message
    assert "could not be downloaded" in message
    assert "Name or service not known" in message
    assert "\n" not in message


def test_notebook_rows_are_prompt_and_completion() -> None:
    rows = notebook_rows([Example("Go Jays", "baseball")])
    assert rows == [{"prompt": "Go Jays", "completion": "baseball"}]


def test_jsonl_writes_like_pandas_records_lines() -> None:
    rows = [{"prompt": 'caf\u00e9 a/b "q"\n', "completion": "x"}]
    assert jsonl_text(rows) == '{"prompt":"caf\\u00e9 a\\/b \\"q\\"\\n","completion":"x"}\n'
    assert (
        jsonl_text(rows, ascii=False)
        == '{"prompt":"caf\u00e9 a\\/b \\"q\\"\\n","completion":"x"}\n'
    )
    assert jsonl_text([]) == ""


def test_write_jsonl_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_jsonl([{"prompt": "a", "completion": "b"}], tmp_path / "out.jsonl")
    assert [path.name for path in tmp_path.iterdir()] == ["out.jsonl"]


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for one test; the old one comes back after."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_write_jsonl_gives_the_file_the_umasks_mode(
    tmp_path: Path, umask: Callable[[int], None], mask: int, mode: int
) -> None:
    umask(mask)
    path = write_jsonl([{"prompt": "a", "completion": "b"}], tmp_path / "out.jsonl")
    assert stat.S_IMODE(path.stat().st_mode) == mode
    write_jsonl([{"prompt": "c", "completion": "d"}], path)  # replacing keeps to the umask too
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_the_umask_is_read_where_proc_is_missing_and_left_as_it_was(
    umask: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_proc(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("/proc/self/status")

    umask(0o027)
    monkeypatch.setattr(data_module, "open", no_proc, raising=False)
    assert data_module.current_umask() == 0o027
    assert os.umask(0o027) == 0o027
