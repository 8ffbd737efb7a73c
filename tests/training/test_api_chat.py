"""A chat-format fine-tune through ``sportbot serve`` and its answers at ``/v1/chat/completions``,
with the official client."""

from __future__ import annotations

import math
import re
from pathlib import Path

import openai
import pytest

from tests.support.prepared_files import CHAT_SYSTEM, chat_file
from tests.support.sportbot_serve import (
    BASEBALL_TWEET,
    HOCKEY_TWEET,
    TRAIN,
    VALID,
    Served,
    served,
    upload,
    wait_for_job,
)

BASE = "gpt-4o-mini-2024-07-18"
NOT_A_CHAT_MODEL = (
    "This is not a chat model and thus not supported in the v1/chat/completions endpoint. "
    "Did you mean to use v1/completions?"
)
A_CHAT_MODEL = (
    "This is a chat model and not supported in the v1/completions endpoint. "
    "Did you mean to use v1/chat/completions?"
)


@pytest.fixture(scope="module")
def api() -> Served:
    return served()


@pytest.fixture
def client(api: Served) -> openai.OpenAI:
    return api.client(max_retries=0)


@pytest.fixture(scope="module")
def chat_job(api: Served, tmp_path_factory: pytest.TempPathFactory) -> object:
    folder: Path = tmp_path_factory.mktemp("chat")
    client = api.client()
    job = client.fine_tuning.jobs.create(
        model=BASE,
        training_file=upload(client, chat_file(TRAIN, folder / "sport_chat_train.jsonl")),
        validation_file=upload(client, chat_file(VALID, folder / "sport_chat_valid.jsonl")),
        suffix="sport",
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )
    return wait_for_job(client, job.id)


@pytest.fixture(scope="module")
def chat_model(chat_job: object) -> str:
    assert chat_job.status == "succeeded", chat_job  # type: ignore[attr-defined]
    return str(chat_job.fine_tuned_model)  # type: ignore[attr-defined]


def _messages(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": CHAT_SYSTEM}, {"role": "user", "content": text}]


def test_a_chat_file_trains_a_model_named_after_its_chat_base(
    chat_job: object, chat_model: str
) -> None:
    assert chat_job.model == BASE  # type: ignore[attr-defined]
    assert re.fullmatch(rf"ft:{BASE}:sportbot:sport:[a-z0-9]{{8}}", chat_model)


def test_the_label_is_the_assistants_message(client: openai.OpenAI, chat_model: str) -> None:
    hockey = client.chat.completions.create(model=chat_model, messages=_messages(HOCKEY_TWEET))
    baseball = client.chat.completions.create(
        model=chat_model, messages=_messages(BASEBALL_TWEET), temperature=0
    )

    assert hockey.choices[0].message.content == "hockey"
    assert hockey.choices[0].message.role == "assistant"
    assert hockey.choices[0].finish_reason == "stop"
    assert hockey.choices[0].logprobs is None
    assert baseball.choices[0].message.content == "baseball"
    assert hockey.object == "chat.completion" and hockey.model == chat_model
    assert hockey.usage is not None and hockey.usage.completion_tokens == 1


def test_logprobs_list_the_labels_tokens_and_one_token_ends_for_length(
    client: openai.OpenAI, chat_model: str
) -> None:
    answer = client.chat.completions.create(
        model=chat_model,
        messages=_messages(HOCKEY_TWEET),
        max_tokens=1,
        logprobs=True,
        top_logprobs=2,
    )

    choice = answer.choices[0]
    assert choice.finish_reason == "length"
    [token] = choice.logprobs.content  # type: ignore[union-attr]
    assert token.token == choice.message.content == "hockey"
    assert token.bytes == list(b"hockey")
    top = {t.token: t.logprob for t in token.top_logprobs}
    assert set(top) == {"hockey", "baseball"}
    assert top["hockey"] == token.logprob > top["baseball"]
    assert math.fsum(math.exp(v) for v in top.values()) == pytest.approx(1.0)
    one = client.chat.completions.create(
        model=chat_model, messages=_messages(HOCKEY_TWEET), logprobs=True, top_logprobs=1
    )
    assert [t.token for t in one.choices[0].logprobs.content[0].top_logprobs] == ["hockey"]  # type: ignore[union-attr,index]
    none = client.chat.completions.create(
        model=chat_model, messages=_messages(HOCKEY_TWEET), logprobs=True
    )
    assert none.choices[0].logprobs.content[0].top_logprobs == []  # type: ignore[union-attr,index]


def test_a_stream_sends_the_role_then_the_label_then_the_end(
    client: openai.OpenAI, chat_model: str
) -> None:
    chunks = list(
        client.chat.completions.create(
            model=chat_model,
            messages=_messages(BASEBALL_TWEET),
            max_completion_tokens=1,
            logprobs=True,
            top_logprobs=2,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    choices = [chunk.choices[0] for chunk in chunks if chunk.choices]
    assert choices[0].delta.role == "assistant"
    assert "".join(c.delta.content or "" for c in choices) == "baseball"
    assert [c.finish_reason for c in choices] == [None, None, "length"]
    listed = [c.logprobs for c in choices if c.logprobs is not None]
    assert [t.token for t in listed[0].content[0].top_logprobs] == ["baseball", "hockey"]  # type: ignore[index]
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_each_endpoint_refuses_the_other_kind_of_model_in_openais_words(
    client: openai.OpenAI, api: Served, chat_model: str
) -> None:
    with pytest.raises(openai.NotFoundError) as chat_to_prompt_model:
        client.chat.completions.create(model=api.model_id, messages=_messages(HOCKEY_TWEET))
    with pytest.raises(openai.NotFoundError) as completion_to_chat_model:
        client.completions.create(model=chat_model, prompt=HOCKEY_TWEET, max_tokens=1)

    for caught, message in (
        (chat_to_prompt_model, NOT_A_CHAT_MODEL),
        (completion_to_chat_model, A_CHAT_MODEL),
    ):
        assert caught.value.message.endswith(f"404 - {message}")
        assert caught.value.body == {
            "message": message,
            "type": "invalid_request_error",
            "param": "model",
            "code": None,
        }
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-4o-mini", messages=_messages("x"))
    assert unknown.value.code == "model_not_found"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": 7}]}, "messages"),
        ({"messages": [{"role": "assistant", "content": "hockey"}]}, "messages"),
        ({"top_logprobs": 2}, "logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"logprobs": "yes"}, "logprobs"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": "one"}, "max_completion_tokens"),
        ({"n": 2}, "n"),
        ({"stream": True, "stream_options": "usage"}, "stream_options"),
    ],
)
def test_malformed_chat_requests_are_a_400_naming_the_param(
    client: openai.OpenAI, chat_model: str, extra: dict[str, object], param: str
) -> None:
    body = {"model": chat_model, "messages": _messages(HOCKEY_TWEET), **extra}
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/chat/completions", body=body, cast_to=object)
    assert caught.value.param == param
