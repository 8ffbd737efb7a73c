"""``sportbot serve``'s legacy completions and models, with the official client."""

from __future__ import annotations

import json
import math

import openai
import pytest

from classifier.core import Classifier
from classifier.local import load_local_model
from classifier.local.backend import LocalBackend
from classifier.prompt import SEPARATOR, build_prompt
from classifier.registry import ModelRegistry
from classifier.remote.openai_backend import OpenAIBackend
from tests.support.sportbot_serve import HOCKEY_TWEET, VALID, Served, served


@pytest.fixture(scope="module")
def api() -> Served:
    return served()


@pytest.fixture
def client(api: Served) -> openai.OpenAI:
    return api.client(max_retries=0)


def _valid_rows(label: str, n: int) -> list[str]:
    rows = [json.loads(line) for line in VALID.read_text(encoding="utf-8").splitlines()]
    return [row["prompt"] for row in rows if row["completion"] == label][:n]


def test_several_prompts_get_one_choice_each_in_the_legacy_shape(
    client: openai.OpenAI, api: Served
) -> None:
    prompts = _valid_rows(" baseball", 3) + _valid_rows(" hockey", 3)

    answer = client.completions.create(
        model=api.model_id, prompt=prompts, max_tokens=1, temperature=0, logprobs=5
    )

    assert [c.index for c in answer.choices] == list(range(6))
    assert sum(c.text == " baseball" for c in answer.choices[:3]) >= 2
    assert sum(c.text == " hockey" for c in answer.choices[3:]) >= 2
    for prompt, choice in zip(prompts, answer.choices, strict=True):
        lp = choice.logprobs
        assert choice.finish_reason == "length"
        assert lp is not None and lp.tokens == [choice.text]
        assert lp.text_offset == [len(prompt)]
        top = lp.top_logprobs[0]  # type: ignore[index]
        assert set(top) == {" baseball", " hockey"}  # the training file's completions
        assert lp.token_logprobs == [top[choice.text]]
        assert math.fsum(math.exp(v) for v in top.values()) == pytest.approx(1.0)
    assert answer.usage is not None and answer.usage.completion_tokens == 6
    assert answer.model == api.model_id


def test_the_topic_gates_other_is_not_served_and_the_labels_keep_their_odds(
    client: openai.OpenAI, api: Served
) -> None:
    off_topic = build_prompt("My sourdough starter finally doubled overnight, time to bake bread.")
    engine = load_local_model(ModelRegistry(api.home), api.model_id)
    [local] = LocalBackend(engine, api.model_id).complete([off_topic], 5)
    assert " other" in local.top_logprobs  # the default model has the topic gate

    answer = client.completions.create(
        model=api.model_id, prompt=off_topic, max_tokens=1, logprobs=5
    )

    top = answer.choices[0].logprobs.top_logprobs[0]  # type: ignore[union-attr,index]
    assert set(top) == {" baseball", " hockey"}  # " other" is not a completion it was trained on
    assert math.fsum(math.exp(v) for v in top.values()) == pytest.approx(1.0)
    local_odds = local.top_logprobs[" hockey"] - local.top_logprobs[" baseball"]
    assert top[" hockey"] - top[" baseball"] == pytest.approx(local_odds)
    assert answer.choices[0].text == max(top, key=top.__getitem__)


def test_logprobs_caps_the_list_and_none_leaves_it_out(client: openai.OpenAI, api: Served) -> None:
    one = client.completions.create(
        model=api.model_id, prompt=HOCKEY_TWEET + SEPARATOR, max_tokens=1, logprobs=1
    )
    assert len(one.choices[0].logprobs.top_logprobs[0]) == 1  # type: ignore[union-attr,index]
    none = client.completions.create(
        model=api.model_id, prompt=HOCKEY_TWEET + SEPARATOR, max_tokens=1
    )
    assert none.choices[0].logprobs is None
    assert none.choices[0].text == one.choices[0].text


def test_logit_bias_on_cl100k_ids_shifts_the_odds_by_the_bias(
    client: openai.OpenAI, api: Served
) -> None:
    prompt = HOCKEY_TWEET + SEPARATOR
    plain = client.completions.create(model=api.model_id, prompt=prompt, max_tokens=1, logprobs=5)
    biased = client.completions.create(
        model=api.model_id, prompt=prompt, max_tokens=1, logprobs=5, logit_bias={"20075": 5}
    )
    before = plain.choices[0].logprobs.top_logprobs[0]  # type: ignore[union-attr,index]
    after = biased.choices[0].logprobs.top_logprobs[0]  # type: ignore[union-attr,index]
    shift = (after[" baseball"] - after[" hockey"]) - (before[" baseball"] - before[" hockey"])
    assert shift == pytest.approx(5.0)


def test_the_backend_recovers_a_label_cut_from_the_list_with_logit_bias(api: Served) -> None:
    full = Classifier(OpenAIBackend(api.model_id, api_key=_key(api), base_url=api.base_url))
    cut = Classifier(
        OpenAIBackend(
            api.model_id, api_key=_key(api), base_url=api.base_url, encoding="cl100k_base"
        ),
        logprobs=1,
    )
    expected, got = full.classify(HOCKEY_TWEET), cut.classify(HOCKEY_TWEET)
    assert got.label == expected.label
    assert got.confidence == pytest.approx(expected.confidence, rel=1e-6)
    for token in (" baseball", " hockey"):
        assert got.logprobs[token] == pytest.approx(expected.logprobs[token], rel=1e-6)


def _key(api: Served) -> str:
    return api.client().api_key


@pytest.mark.parametrize("model", ["babbage-002", "ft-nothing-like-this"])
def test_unknown_models_are_a_404_model_not_found(client: openai.OpenAI, model: str) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.completions.create(model=model, prompt="x", max_tokens=1, logprobs=1)
    assert caught.value.code == "model_not_found"
    assert caught.value.param == "model"


def test_current_names_the_registrys_current_model(client: openai.OpenAI, api: Served) -> None:
    answer = client.completions.create(
        model="current", prompt=build_prompt(HOCKEY_TWEET), max_tokens=1
    )
    assert answer.model == api.model_id
    assert client.models.retrieve("current").id == api.model_id


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"stream": "yes"}, "stream"),
        ({"echo": 1}, "echo"),
        ({"stream": True, "stream_options": [True]}, "stream_options"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"echo": True, "max_tokens": -1}, "max_tokens"),
        ({"n": 2}, "n"),
        ({"logprobs": 6}, "logprobs"),
        ({"prompt": [[1, 2, 3]]}, "prompt"),
        ({"logit_bias": {"20075": 101}}, "logit_bias"),
    ],
)
def test_what_the_engine_cannot_do_is_a_400_naming_the_param(
    client: openai.OpenAI, api: Served, extra: dict[str, object], param: str
) -> None:
    body = {"model": api.model_id, "prompt": "x", "max_tokens": 1, **extra}
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/completions", body=body, cast_to=object)
    assert caught.value.param == param


def test_models_list_and_retrieve(client: openai.OpenAI, api: Served) -> None:
    model = client.models.retrieve(api.model_id)
    assert (model.id, model.object, model.owned_by) == (api.model_id, "model", "sportbot")
    assert model.created > 1_700_000_000
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("davinci-002")


def test_echo_puts_the_prompt_before_the_answer_as_the_legacy_cli_prints_it(
    client: openai.OpenAI, api: Served
) -> None:
    prompt = HOCKEY_TWEET + SEPARATOR
    plain = client.completions.create(model=api.model_id, prompt=prompt, max_tokens=1, logprobs=2)
    echoed = client.completions.create(
        model=api.model_id, prompt=prompt, max_tokens=1, logprobs=2, echo=True
    )
    prompt_only = client.completions.create(
        model=api.model_id, prompt=prompt, max_tokens=0, logprobs=2, echo=True
    )

    answer, lp = plain.choices[0], plain.choices[0].logprobs
    assert echoed.choices[0].text == prompt + answer.text == prompt + " hockey"
    echoed_lp = echoed.choices[0].logprobs
    assert echoed_lp is not None and lp is not None
    assert echoed_lp.tokens == [prompt, answer.text]
    assert echoed_lp.token_logprobs == [None, *lp.token_logprobs]  # type: ignore[misc]
    assert echoed_lp.top_logprobs == [None, *lp.top_logprobs]  # type: ignore[misc]
    assert echoed_lp.text_offset == [0, len(prompt)]
    assert prompt_only.choices[0].text == prompt
    assert prompt_only.choices[0].logprobs.tokens == [prompt]  # type: ignore[union-attr]
    assert prompt_only.usage is not None and prompt_only.usage.completion_tokens == 0


def test_a_stream_sends_each_choice_as_an_event_and_the_usage_when_asked(
    client: openai.OpenAI, api: Served
) -> None:
    prompts = _valid_rows(" baseball", 2) + _valid_rows(" hockey", 2)
    whole = client.completions.create(model=api.model_id, prompt=prompts, max_tokens=1, logprobs=2)

    chunks = list(
        client.completions.create(
            model=api.model_id,
            prompt=prompts,
            max_tokens=1,
            logprobs=2,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    answers = [chunk.choices[0] for chunk in chunks if chunk.choices]
    assert [c.index for c in answers] == [0, 1, 2, 3]
    assert [c.text for c in answers] == [c.text for c in whole.choices]
    assert [c.logprobs.top_logprobs for c in answers] == [  # type: ignore[union-attr]
        c.logprobs.top_logprobs  # type: ignore[union-attr]
        for c in whole.choices
    ]
    assert all(c.finish_reason == "length" for c in answers)
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    assert all(chunk.model == api.model_id for chunk in chunks)
