"""The OpenAI backend with the real ``openai`` client against a stand-in of OpenAI's cloud."""

from __future__ import annotations

import base64
import json
import math
import socket
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from classifier.config import ClassifierConfig, OpenAIConfig
from classifier.core import Classifier
from classifier.errors import SettingError
from classifier.fallback import FallbackBackend
from classifier.loader import load_classifier
from classifier.local.engine import SportEngine
from classifier.model_card import ModelCard
from classifier.prompt import build_prompt, strip_prompt
from classifier.registry import ModelRegistry
from classifier.remote import openai_backend
from classifier.remote.openai_backend import (
    LABEL_BIAS,
    LABEL_TOKEN_IDS,
    OpenAIBackend,
    OpenAIBackendError,
    encoding_for_model,
)
from tests.conftest import TRAIN_FILE
from tests.support.openai_standin import RunningStandIn, StandIn

TRAIN = TRAIN_FILE
TWEET = (
    "Thank you to the @Canes and all you amazing Caniacs! Excited to join the @DetroitRedWings !!"
)
# A distribution where " baseball" is 7th: not in a top-5 list.
CROWDED = {
    " hockey": -0.4,
    " the": -1.5,
    " a": -2.0,
    "\n": -2.5,
    " NHL": -3.0,
    " game": -3.5,
    " baseball": -4.25,
}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningStandIn]:
    running = RunningStandIn(StandIn())
    yield running
    running.stop()


@pytest.fixture
def standin(server: RunningStandIn) -> StandIn:
    fresh = StandIn()
    server.state.__dict__.update(fresh.__dict__)
    return server.state


def backend(
    server: RunningStandIn, model: str = "ft:babbage-002:acme::abc123", **kw: object
) -> OpenAIBackend:
    return OpenAIBackend(model, api_key="sk-test", base_url=server.base_url, **kw)  # type: ignore[arg-type]


def _normalised(distribution: dict[str, float]) -> dict[str, float]:
    norm = math.log(sum(math.exp(v) for v in distribution.values()))
    return {k: v - norm for k, v in distribution.items()}


def test_label_token_ids_are_the_bundled_cl100k_base_ids() -> None:
    data = resources.files("tiktoken_ext").joinpath("data/cl100k_base.tiktoken").read_bytes()
    ranks = {}
    for line in data.splitlines():
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    for token, token_id in LABEL_TOKEN_IDS["cl100k_base"].items():
        assert ranks[token.encode("utf-8")] == token_id, token


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("babbage-002", "cl100k_base"),
        ("davinci-002", "cl100k_base"),
        ("ft:babbage-002:acme:sport:7p4lURel", "cl100k_base"),
        ("ft:davinci-002:acme::abc", "cl100k_base"),
        ("gpt-4o-mini", None),
        ("sport-engine-20260101-abc", None),
    ],
)
def test_encoding_is_known_for_babbage_and_davinci_and_their_fine_tunes(
    model: str, encoding: str | None
) -> None:
    assert encoding_for_model(model) == encoding


def test_sends_the_notebooks_request_and_reads_top_logprobs(
    server: RunningStandIn, standin: StandIn
) -> None:
    completions = backend(server).complete([build_prompt(TWEET), build_prompt("Go Yankees")], 5)

    assert len(standin.requests) == 1
    sent = standin.requests[0]
    assert sent["prompt"] == [build_prompt(TWEET), build_prompt("Go Yankees")]
    assert (sent["max_tokens"], sent["temperature"], sent["logprobs"]) == (1, 0, 5)
    assert "logit_bias" not in sent
    expected = _normalised(standin.distribution)
    assert [c.text for c in completions] == [" hockey", " hockey"]
    assert completions[0].top_logprobs == pytest.approx(expected)


def test_missing_label_is_recovered_with_logit_bias_keeping_the_odds(
    server: RunningStandIn, standin: StandIn
) -> None:
    standin.distribution = dict(CROWDED)
    [completion] = backend(server).complete([build_prompt(TWEET)], 5)

    assert len(standin.requests) == 2
    assert standin.requests[1]["logit_bias"] == {"20075": LABEL_BIAS, "28051": LABEL_BIAS}
    true = _normalised(CROWDED)
    assert completion.top_logprobs[" baseball"] == pytest.approx(true[" baseball"], abs=1e-6)
    assert completion.top_logprobs[" hockey"] == pytest.approx(true[" hockey"])
    prediction = Classifier(backend(server)).classify(TWEET)
    odds = math.exp(true[" hockey"]) / (math.exp(true[" hockey"]) + math.exp(true[" baseball"]))
    assert prediction.label == "hockey"
    assert prediction.confidence == pytest.approx(odds, abs=1e-6)


def test_no_label_listed_places_labels_below_the_smallest_listed(
    server: RunningStandIn, standin: StandIn
) -> None:
    standin.distribution = {
        " the": 0.0,
        " a": -0.5,
        "\n": -1.0,
        " NHL": -1.5,
        " game": -2.0,
        " hockey": -6.0,
        " baseball": -7.0,
    }
    [completion] = backend(server).complete([build_prompt(TWEET)], 5)

    listed_min = min(
        v for k, v in completion.top_logprobs.items() if k not in (" hockey", " baseball")
    )
    assert completion.top_logprobs[" hockey"] == pytest.approx(listed_min - math.log(2))
    assert completion.top_logprobs[" hockey"] - completion.top_logprobs[
        " baseball"
    ] == pytest.approx(1.0)
    assert completion.text == " the"


def test_unknown_tokenizer_sends_no_bias_and_prediction_floors_the_missing_label(
    server: RunningStandIn, standin: StandIn
) -> None:
    standin.distribution = dict(CROWDED)
    classifier = Classifier(backend(server, model="gpt-4o-mini"))
    prediction = classifier.classify(TWEET)

    assert len(standin.requests) == 1
    assert " baseball" not in prediction.logprobs
    floor = min(prediction.logprobs.values()) - math.log(2)
    hockey = prediction.logprobs[" hockey"]
    assert prediction.confidence == pytest.approx(1 / (1 + math.exp(floor - hockey)))


async def test_async_client_gives_what_the_sync_client_gives(
    server: RunningStandIn, standin: StandIn
) -> None:
    standin.distribution = dict(CROWDED)
    texts = [f"message {i} about the Red Wings" for i in range(45)]
    prompts = [build_prompt(t) for t in texts]
    sync = backend(server).complete(prompts, 5)
    remote = backend(server)
    try:
        asynchronous = await remote.acomplete(prompts, 5)
    finally:
        await remote.aclose()
    assert "async_client" not in remote.__dict__  # closed and let go
    assert asynchronous == sync
    assert len(sync) == 45
    batch_sizes = sorted(len(r["prompt"]) for r in standin.requests if "logit_bias" not in r)
    assert batch_sizes == [5, 5, 20, 20, 20, 20]


@pytest.mark.parametrize(
    ("status", "reason", "words"),
    [
        (401, "HTTP 401", "OPENAI_API_KEY"),
        (404, "HTTP 404", "SPORTBOT_MODEL"),
        (500, "HTTP 500", "answered 500: boom"),
    ],
)
def test_api_errors_become_one_line_backend_errors(
    server: RunningStandIn, standin: StandIn, status: int, reason: str, words: str
) -> None:
    standin.fail_status = status
    standin.fail_body = {"error": {"message": "boom", "type": "x", "param": None, "code": None}}
    with pytest.raises(OpenAIBackendError) as caught:
        backend(server, max_retries=0).complete([build_prompt(TWEET)])
    assert caught.value.reason == reason
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_server_errors_are_retried(server: RunningStandIn, standin: StandIn) -> None:
    standin.fail_status, standin.fail_times = 503, 1
    [completion] = backend(server, max_retries=1).complete([build_prompt(TWEET)])
    assert completion.text == " hockey"
    assert len(standin.requests) == 2


def test_a_slow_api_times_out(server: RunningStandIn, standin: StandIn) -> None:
    standin.delay_s = 1.0
    with pytest.raises(OpenAIBackendError) as caught:
        backend(server, timeout=0.2, max_retries=0).complete([build_prompt(TWEET)])
    assert caught.value.reason == "timeout"


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_fallback_answers_when_the_api_is_unreachable_and_says_so(
    server: RunningStandIn, standin: StandIn
) -> None:
    dead = OpenAIBackend(
        "ft:babbage-002:acme::abc", api_key="k", base_url=_dead_url(), max_retries=0
    )
    spare = backend(server, model="spare-model")
    classifier = Classifier(FallbackBackend(dead, spare))

    prediction = classifier.classify(TWEET)

    assert prediction.model == "spare-model (fallback: unreachable)"
    assert prediction.label == "hockey"
    assert classifier.model_id == "ft:babbage-002:acme::abc"


async def test_fallback_async_and_primary_answers_when_up(
    server: RunningStandIn, standin: StandIn
) -> None:
    remotes = [backend(server), backend(server, model="spare"), backend(server, model="spare")]
    dead = OpenAIBackend("m", api_key="k", base_url=_dead_url(), max_retries=0)
    try:
        up = Classifier(FallbackBackend(remotes[0], remotes[1]))
        assert (await up.aclassify(TWEET)).model == "ft:babbage-002:acme::abc123"
        down = Classifier(FallbackBackend(dead, remotes[2]))
        assert (await down.aclassify(TWEET)).model == "spare (fallback: unreachable)"
    finally:
        for remote in [*remotes, dead]:
            await remote.aclose()


def test_the_configuration_builds_the_backend(server: RunningStandIn, standin: StandIn) -> None:
    endpoint = OpenAIConfig(api_key="sk-test", base_url=server.base_url, timeout=0.2, max_retries=0)
    built = openai_backend("ft:davinci-002:acme::x1", ("baseball", "hockey"), endpoint)
    assert (built.model_id, built.labels) == ("ft:davinci-002:acme::x1", ("baseball", "hockey"))
    assert built.client.timeout == 0.2 and built.client.max_retries == 0
    assert built.complete([build_prompt(TWEET)])[0].text == " hockey"
    assert standin.requests[0]["model"] == "ft:davinci-002:acme::x1"


def test_a_missing_model_or_key_is_named(sportbot_home: Path) -> None:
    with pytest.raises(SettingError, match=r"^SPORTBOT_MODEL"):
        load_classifier(config=ClassifierConfig(home=sportbot_home, backend="openai"))
    keyless = ClassifierConfig(home=sportbot_home, backend="openai", model="m")
    with pytest.raises(SettingError, match=r"^OPENAI_API_KEY"):
        load_classifier(config=keyless)


def test_after_a_failure_the_fallback_answers_alone_until_the_cooldown_ends(
    server: RunningStandIn, standin: StandIn
) -> None:
    standin.fail_status, standin.fail_times = 503, 1
    now = [100.0]
    backend_ = FallbackBackend(
        backend(server, model="primary", max_retries=0),
        backend(server, model="spare"),
        cooldown_s=30,
        clock=lambda: now[0],
    )
    classifier = Classifier(backend_)

    first = classifier.classify(TWEET)
    now[0] += 10
    second = classifier.classify(TWEET)
    now[0] += 25
    third = classifier.classify(TWEET)

    assert [r["model"] for r in standin.requests] == ["primary", "spare", "spare", "primary"]
    assert first.model == second.model == "spare (fallback: HTTP 503)"
    assert third.model == "primary"


# -- backend selection (classifier.loader) -----------------------------------------------------


@pytest.fixture
def local_model(sportbot_home: Path) -> str:
    """A real local model on the first 300 reference training rows, current in the registry."""
    rows = [json.loads(line) for line in TRAIN.read_text(encoding="utf-8").splitlines()[:300]]
    engine = SportEngine(n_epochs=2).fit(
        [strip_prompt(r["prompt"]) for r in rows], [r["completion"].strip() for r in rows]
    )
    registry = ModelRegistry(sportbot_home)
    card = _card(registry.new_model_id("sport-engine"), "local", list(engine.classes_))
    registry.register(card, engine, make_current=True)
    return card.id


def _card(model_id: str, provider: str, labels: list[str], remote: str | None = None) -> ModelCard:
    return ModelCard(
        id=model_id,
        created="2026-11-25T16:00:00Z",
        provider=provider,
        base_model="babbage-002" if remote else "sport-engine",
        labels=labels,
        separator="\n\n###\n\n",
        data_hash="0" * 64,
        remote_model=remote,
    )


def _openai_config(
    home: Path, base_url: str, model: str | None = None, **overrides: object
) -> ClassifierConfig:
    endpoint = OpenAIConfig(api_key="sk-test", base_url=base_url, max_retries=0)
    return ClassifierConfig(home=home, backend="openai", model=model, openai=endpoint, **overrides)


def test_sportbot_backend_openai_loads_the_remote_model(
    server: RunningStandIn, standin: StandIn, sportbot_home: Path
) -> None:
    config = _openai_config(sportbot_home, server.base_url, "ft:babbage-002:acme::abc")
    classifier = load_classifier(config=config)
    prediction = classifier.classify(TWEET)
    assert (prediction.label, prediction.model) == ("hockey", "ft:babbage-002:acme::abc")
    assert standin.requests[0]["model"] == "ft:babbage-002:acme::abc"


def test_a_model_registered_by_the_openai_provider_answers_through_the_api(
    server: RunningStandIn, standin: StandIn, sportbot_home: Path
) -> None:
    registry = ModelRegistry(sportbot_home)
    card = _card(
        registry.new_model_id("babbage-002"),
        "openai",
        ["baseball", "hockey"],
        "ft:babbage-002:acme::r1",
    )
    registry.register(card, make_current=True)
    remote = _openai_config(sportbot_home, server.base_url, card.id)
    local = ClassifierConfig(home=sportbot_home, openai=remote.openai)

    by_id = load_classifier(card.id, local).classify(TWEET)  # backend local: the card says openai
    assert by_id.model == card.id
    assert load_classifier(config=remote).classify(TWEET).model == card.id
    assert [r["model"] for r in standin.requests] == ["ft:babbage-002:acme::r1"] * 2


def test_fallback_local_answers_with_the_current_model_when_the_api_is_down(
    local_model: str, sportbot_home: Path
) -> None:
    config = _openai_config(
        sportbot_home, _dead_url(), "ft:babbage-002:acme::abc", fallback="local"
    )

    prediction = load_classifier(config=config).classify(
        "The goalie made 40 saves and the Bruins won in overtime."
    )

    assert prediction.model == f"{local_model} (fallback: unreachable)"
    assert prediction.label in ("baseball", "hockey")
