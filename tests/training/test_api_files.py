"""``sportbot serve``'s files endpoints, bearer key and error shape, with the official client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.support.sportbot_serve import API_KEY, TRAIN, VALID, http_get, upload
from training.api import RunningServer, start_server


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve-home")


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[RunningServer]:
    running = start_server(home, API_KEY)
    yield running
    running.stop()


@pytest.fixture
def client(server: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0)


def test_upload_retrieve_list_and_download_both_prepared_files(client: openai.OpenAI) -> None:
    train_id, valid_id = upload(client, TRAIN), upload(client, VALID)

    train = client.files.retrieve(train_id)
    assert (train.filename, train.purpose, train.bytes) == (
        TRAIN.name,
        "fine-tune",
        TRAIN.stat().st_size,
    )
    assert client.files.content(valid_id).content == VALID.read_bytes()
    listed = [f.id for f in client.files.list(purpose="fine-tune")]
    assert listed.index(valid_id) < listed.index(train_id)  # newest first
    assert client.files.list(purpose="batch").data == []


def test_files_are_kept_under_sportbot_home(client: openai.OpenAI, home: Path) -> None:
    file_id = upload(client, VALID)
    assert (home / "files" / f"{file_id}.jsonl").read_bytes() == VALID.read_bytes()


def test_a_fine_tune_upload_named_without_a_suffix_is_kept_as_jsonl(
    client: openai.OpenAI, home: Path
) -> None:
    # openai==0.28.1's ``openai.File.create(file=..., purpose="fine-tune")`` names it "file".
    unnamed = client.files.create(file=("file", VALID.read_bytes()), purpose="fine-tune")
    other = client.files.create(file=("notes", b"plain text"), purpose="assistants")

    assert client.files.retrieve(unnamed.id).filename == "file"
    assert (home / "files" / f"{unnamed.id}.jsonl").read_bytes() == VALID.read_bytes()
    assert client.files.content(unnamed.id).content == VALID.read_bytes()
    assert (home / "files" / other.id).read_bytes() == b"plain text"
    job = client.fine_tuning.jobs.create(
        model="babbage-002",
        training_file=unnamed.id,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1}}},
    )
    assert client.fine_tuning.jobs.cancel(job.id).id == job.id


def test_delete_removes_the_file(client: openai.OpenAI) -> None:
    file_id = upload(client, VALID)
    assert client.files.delete(file_id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(file_id)


def test_unknown_purpose_is_a_400_naming_the_param(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("x.jsonl", b"{}\n"), purpose="nonsense")  # type: ignore[arg-type]
    assert caught.value.param == "purpose"


def test_unknown_file_is_a_404_in_openais_shape(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.files.retrieve("file-doesnotexist")
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    assert "file-doesnotexist" in caught.value.body["message"]  # type: ignore[index]


@pytest.mark.parametrize("key", ["sk-wrong", None])
def test_a_wrong_or_missing_key_is_a_401(server: RunningServer, key: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    status, body = http_get(f"{server.base_url}/files", headers)
    assert status == 401
    assert body["error"]["code"] == "invalid_api_key"
    assert set(body["error"]) == {"message", "type", "param", "code"}
    if key:
        assert key not in body["error"]["message"]


def test_the_official_client_raises_authentication_error(server: RunningServer) -> None:
    wrong = openai.OpenAI(api_key="sk-not-this-one", base_url=server.base_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.files.list()


def test_unknown_route_is_a_404_in_openais_shape(server: RunningServer) -> None:
    status, body = http_get(f"{server.base_url}/nothing", {"Authorization": f"Bearer {API_KEY}"})
    assert status == 404
    assert body["error"]["message"].startswith("Invalid URL")


def test_storage_that_fails_is_a_500_that_says_why_and_the_server_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    running = start_server(tmp_path, API_KEY)
    try:
        client = openai.OpenAI(api_key=API_KEY, base_url=running.base_url, max_retries=0)
        (tmp_path / "files").write_text("a file where the uploads' folder should be")
        with pytest.raises(openai.InternalServerError) as caught:
            upload(client, VALID)
        assert caught.value.body == {
            "message": "The server could not read or write its files under SPORTBOT_HOME: "
            "File exists.",
            "type": "server_error",
            "param": None,
            "code": None,
        }
        assert str(tmp_path) not in caught.value.message
        logged = [r.exc_info[1] for r in caplog.records if r.exc_info]  # the path stays in the log
        assert any(isinstance(e, FileExistsError) and e.filename for e in logged), logged
        (tmp_path / "files").unlink()
        assert client.files.retrieve(upload(client, VALID)).filename == VALID.name
    finally:
        running.stop()
