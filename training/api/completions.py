"""``POST /v1/completions``: the legacy completions endpoint over the local engine.

The engine answers one token, a label (``" hockey"``), so every choice has ``max_tokens``'s first
token only and ``finish_reason: "length"``, and ``logprobs`` is in the legacy shape (``tokens``,
``token_logprobs``, ``top_logprobs``, ``text_offset``). The tokens are the completions of the
model's training file, as for an OpenAI fine-tune: the topic gate's ``" other"`` of the default
local model (not a completion the user trained on) is left out and the labels' probabilities are
normalised over the labels, i.e. ``P(label | sport)``. ``prompt`` may be a string or a list of
strings (one choice each, in order). ``logit_bias`` is honoured for the label tokens whose
``cl100k_base`` ids are known (``classifier.remote.openai_backend.LABEL_TOKEN_IDS``): the bias is added to
their log-probabilities before they are normalised again, as OpenAI applies it. ``temperature`` is
accepted and ignored (the answer is always the likeliest label); ``usage.prompt_tokens`` is an
estimate (characters / 4), there being no tokenizer here. ``echo`` puts the prompt before the
answer; ``stream`` sends each choice as a server-sent event. A model trained on chat rows is
answered at ``/v1/chat/completions`` only (a 404 in OpenAI's words here).

A prompt has at most ``ApiLimits.max_prompt_chars`` characters and a request's prompts together
``max_request_prompt_chars`` (a 400 naming the prompt); prompts are classified on a worker
thread, so a long one never holds up other requests.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from classifier.backend import Completion
from classifier.local.backend import LocalBackend
from classifier.prediction import OFF_TOPIC_LABEL
from classifier.prompt import label_token
from classifier.remote.openai_backend import LABEL_TOKEN_IDS
from training.api import sse
from training.api.bodies import json_body, limits_of
from training.api.errors import bad_request, not_found
from training.api.models import ModelCatalog
from training.limits import ApiLimits

MAX_PROMPTS = 2048
MAX_LOGPROBS = 5
TOKENS_BY_ID = {i: token for token, i in LABEL_TOKEN_IDS["cl100k_base"].items()}


def read_prompts(raw: object, limits: ApiLimits) -> list[str]:
    if isinstance(raw, str):
        return check_prompt_lengths([raw], limits)
    if isinstance(raw, list) and raw and all(isinstance(p, str) for p in raw):
        if len(raw) > MAX_PROMPTS:
            raise bad_request(f"At most {MAX_PROMPTS} prompts per request.", param="prompt")
        return check_prompt_lengths(list(raw), limits)
    if isinstance(raw, list) and raw and all(isinstance(p, int | list) for p in raw):
        raise bad_request(
            "Token-id prompts are not supported here: send the prompt as text.", param="prompt"
        )
    raise bad_request("'prompt' must be a string or a non-empty list of strings.", param="prompt")


def check_prompt_lengths(prompts: list[str], limits: ApiLimits, param: str = "prompt") -> list[str]:
    """``prompts`` when each and all of them are within ``limits``; a 400 naming the first
    one that is not."""
    for index, prompt in enumerate(prompts):
        if len(prompt) > limits.max_prompt_chars:
            which = f"Prompt {index}" if len(prompts) > 1 else "The prompt"
            raise bad_request(
                f"{which} has {len(prompt):,} characters; at most {limits.max_prompt_chars:,}.",
                param=param,
            )
    total = sum(len(prompt) for prompt in prompts)
    if total > limits.max_request_prompt_chars:
        raise bad_request(
            f"The prompts have {total:,} characters together; at most "
            f"{limits.max_request_prompt_chars:,} in one request.",
            param=param,
        )
    return prompts


async def complete_off_loop(
    backend: LocalBackend, prompts: list[str], logprobs: int
) -> list[Completion]:
    """The backend's completions, computed on a worker thread (the event loop serves other
    requests meanwhile)."""
    return await asyncio.to_thread(backend.complete, prompts, logprobs)


def read_n(body: dict[str, Any], *names: str) -> None:
    """Only ``n=1`` (and ``best_of=1``) is served; a boolean is not a number."""
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f"'{name}' must be an integer.", param=name)
        if value != 1:
            raise bad_request(
                f"Only {' and '.join(f'{n}=1' for n in names)} is supported.", param=name
            )


def read_logprobs(raw: object) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_LOGPROBS:
        raise bad_request(
            f"'logprobs' must be an integer between 0 and {MAX_LOGPROBS}.", param="logprobs"
        )
    return raw


def read_logit_bias(raw: object) -> dict[str, float]:
    """``{token id: bias}`` -> ``{label token: bias}`` for the ids this server knows."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise bad_request("'logit_bias' must be an object of token id -> bias.", param="logit_bias")
    biases: dict[str, float] = {}
    for key, value in raw.items():
        try:
            token_id = int(key)
        except ValueError:
            raise bad_request(
                f"Invalid key in 'logit_bias': {key!r}.", param="logit_bias"
            ) from None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or abs(value) > 100
        ):
            raise bad_request(
                f"Invalid value for token {key} in 'logit_bias': between -100 and 100.",
                param="logit_bias",
            )
        if token_id in TOKENS_BY_ID:
            biases[TOKENS_BY_ID[token_id]] = float(value)
    return biases


def served_distribution(
    top_logprobs: dict[str, float], biases: dict[str, float], hidden: frozenset[str]
) -> dict[str, float]:
    """The tokens the API serves, ``biases`` added, normalised again (log-probabilities)."""
    shifted = {
        token: lp + biases.get(token, 0.0)
        for token, lp in top_logprobs.items()
        if token not in hidden
    }
    if not shifted:
        return {}
    top = max(shifted.values())
    norm = top + math.log(sum(math.exp(lp - top) for lp in shifted.values()))
    return {token: lp - norm for token, lp in shifted.items()}


def hidden_tokens(engine: object) -> frozenset[str]:
    """Tokens of the local model that are not completions of its training file: the topic
    gate's ``" other"`` (``GatedSportModel.gated_``) is sportbot's own off-topic signal."""
    if getattr(engine, "gated_", False):
        return frozenset({label_token(OFF_TOPIC_LABEL)})
    return frozenset()


def choice(
    index: int,
    prompt: str,
    completion: Completion,
    logprobs: int | None,
    biases: dict[str, float],
    hidden: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """One legacy choice: the likeliest token and, when asked, its logprobs."""
    distribution = served_distribution(completion.top_logprobs, biases, hidden)
    ranked = sorted(distribution.items(), key=lambda item: item[1], reverse=True)
    token, token_logprob = ranked[0] if ranked else (completion.text, 0.0)
    answer: dict[str, Any] = {
        "text": token,
        "index": index,
        "logprobs": None,
        "finish_reason": "length",
    }
    if logprobs is not None:
        answer["logprobs"] = {
            "tokens": [token],
            "token_logprobs": [token_logprob],
            "top_logprobs": [dict(ranked[: max(logprobs, 1)])],
            "text_offset": [len(prompt)],
        }
    return answer


def estimate_tokens(prompts: Sequence[str]) -> int:
    return sum(max(1, math.ceil(len(prompt) / 4)) for prompt in prompts)


def read_flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise bad_request(f"'{name}' must be true or false.", param=name)
    return bool(value)


def read_include_usage(body: dict[str, Any]) -> bool:
    """``stream_options.include_usage``: a last chunk with the usage, as OpenAI sends it."""
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise bad_request("'stream_options' must be an object.", param="stream_options")
    return read_flag(options, "include_usage")


def echoed(answer: dict[str, Any], prompt: str, max_tokens: int) -> dict[str, Any]:
    """A choice with ``echo``: the prompt before the completion; in ``logprobs`` the prompt is
    one token with no log-probability (there is no tokenizer here), as OpenAI shows a prompt's
    first token. ``max_tokens=0`` echoes the prompt alone."""
    token_part = answer["text"] if max_tokens else ""
    echo = {**answer, "text": prompt + token_part}
    if answer["logprobs"] is not None:
        own = answer["logprobs"] if max_tokens else {key: [] for key in answer["logprobs"]}
        echo["logprobs"] = {
            "tokens": [prompt, *own["tokens"]],
            "token_logprobs": [None, *own["token_logprobs"]],
            "top_logprobs": [None, *own["top_logprobs"]],
            "text_offset": [0, *own["text_offset"]],
        }
    return echo


def add_routes(app: web.Application, catalog: ModelCatalog) -> None:
    async def create_completion(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise bad_request("You must provide a model parameter.", param="model")
        prompts = read_prompts(body.get("prompt"), limits_of(request))
        logprobs = read_logprobs(body.get("logprobs"))
        biases = read_logit_bias(body.get("logit_bias"))
        stream, echo = read_flag(body, "stream"), read_flag(body, "echo")
        include_usage = read_include_usage(body)
        read_n(body, "n", "best_of")
        max_tokens = body.get("max_tokens", 16)
        if max_tokens is None:
            max_tokens = 16
        least = 0 if echo else 1
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < least:
            raise bad_request(
                "'max_tokens' must be a positive integer (0 only with 'echo').",
                param="max_tokens",
            )

        served, backend = await catalog.aload(model)
        if served.is_chat:
            raise not_found(
                "This is a chat model and not supported in the v1/completions endpoint. "
                "Did you mean to use v1/chat/completions?",
                param="model",
            )
        every_token = max(len(backend.engine.classes_), 1)  # all of them: logit_bias may reorder
        hidden = hidden_tokens(backend.engine)
        completions = await complete_off_loop(backend, prompts, every_token)
        choices = [
            choice(i, prompt, completion, logprobs, biases, hidden)
            for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True))
        ]
        if echo:
            choices = [echoed(c, p, max_tokens) for c, p in zip(choices, prompts, strict=True)]
        prompt_tokens = estimate_tokens(prompts)
        completion_tokens = len(prompts) if max_tokens else 0
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        head = {
            "id": f"cmpl-{uuid.uuid4().hex[:24]}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": served.name,
        }
        if not stream:
            return web.json_response({**head, "choices": choices, "usage": usage})
        response = await sse.open_stream(request)
        for answer in choices:
            chunk = {**head, "choices": [answer]}
            await sse.send(response, {**chunk, "usage": None} if include_usage else chunk)
        if include_usage:
            await sse.send(response, {**head, "choices": [], "usage": usage})
        await sse.send_done(response)
        return response

    app.router.add_post("/v1/completions", create_completion)
