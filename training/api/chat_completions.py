"""``POST /v1/chat/completions`` for models fine-tuned on chat rows (``{"messages": [...]}``).

The system and user messages are the text to classify (``training.chat``); the answer is the
likeliest label as the assistant's message (``"hockey"``), as a chat fine-tune trained on those
rows answers. ``logprobs: true`` gives the label's log-probability and ``top_logprobs`` (0..20)
the labels' tokens, normalised over the labels as ``/v1/completions`` does; ``max_tokens``
(or ``max_completion_tokens``) 1 ends the answer with ``finish_reason: "length"``, as OpenAI ends
a one-token answer cut there. ``stream`` sends OpenAI's ``chat.completion.chunk`` events.
``temperature`` is accepted and ignored; ``usage.prompt_tokens`` is an estimate (characters / 4).
A model trained on prompt/completion rows gets OpenAI's own 404 for a model that is not a chat
model.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiohttp import web

from classifier.prompt import label_name
from training.api import sse
from training.api.bodies import json_body, limits_of
from training.api.completions import (
    check_prompt_lengths,
    complete_off_loop,
    estimate_tokens,
    hidden_tokens,
    read_flag,
    read_include_usage,
    read_n,
    served_distribution,
)
from training.api.errors import bad_request, not_found
from training.api.models import ModelCatalog
from training.chat import ChatFormatError, chat_text_and_label

MAX_TOP_LOGPROBS = 20


def read_text(raw: object) -> str:
    """The text to classify: the messages' system and user content."""
    try:
        text, _ = chat_text_and_label(raw)
    except ChatFormatError as error:
        raise bad_request(f"Invalid 'messages': {error}", param="messages") from None
    if not text:
        raise bad_request("'messages' has no system or user content to answer.", param="messages")
    return text


def read_top_logprobs(body: dict[str, Any], logprobs: bool) -> int | None:
    raw = body.get("top_logprobs")
    if raw is None:
        return 0 if logprobs else None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_TOP_LOGPROBS:
        raise bad_request(
            f"'top_logprobs' must be an integer between 0 and {MAX_TOP_LOGPROBS}.",
            param="top_logprobs",
        )
    if not logprobs:
        raise bad_request(
            "'logprobs' must be set to true when 'top_logprobs' is given.", param="logprobs"
        )
    return raw


def read_token_limit(body: dict[str, Any]) -> int | None:
    """``max_completion_tokens`` (today's name) or ``max_tokens``."""
    for name in ("max_completion_tokens", "max_tokens"):
        raw = body.get(name)
        if raw is None:
            continue
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise bad_request(f"'{name}' must be a positive integer.", param=name)
        return raw
    return None


def token_logprob(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}


def add_routes(app: web.Application, catalog: ModelCatalog) -> None:
    async def create_chat_completion(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise bad_request("You must provide a model parameter.", param="model")
        text = read_text(body.get("messages"))
        check_prompt_lengths([text], limits_of(request), param="messages")
        logprobs = read_flag(body, "logprobs")
        top = read_top_logprobs(body, logprobs)
        limit = read_token_limit(body)
        stream, include_usage = read_flag(body, "stream"), read_include_usage(body)
        read_n(body, "n")

        served, backend = await catalog.aload(model)
        if not served.is_chat:
            raise not_found(
                "This is not a chat model and thus not supported in the v1/chat/completions "
                "endpoint. Did you mean to use v1/completions?",
                param="model",
            )
        [completion] = await complete_off_loop(
            backend, [text], max(len(backend.engine.classes_), 1)
        )
        distribution = served_distribution(
            completion.top_logprobs, {}, hidden_tokens(backend.engine)
        )
        ranked = [
            (label_name(token), logprob)
            for token, logprob in sorted(distribution.items(), key=lambda item: -item[1])
        ]
        content, content_logprob = ranked[0] if ranked else (label_name(completion.text), 0.0)
        listed = None
        if logprobs:
            entry = token_logprob(content, content_logprob)
            entry["top_logprobs"] = [token_logprob(t, lp) for t, lp in ranked[: top or 0]]
            listed = {"content": [entry], "refusal": None}
        finish = "length" if limit == 1 else "stop"
        prompt_tokens = estimate_tokens([text])
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 1,
            "total_tokens": prompt_tokens + 1,
        }
        head = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "created": int(time.time()),
            "model": served.name,
            "system_fingerprint": None,
        }
        if not stream:
            message = {"role": "assistant", "content": content, "refusal": None}
            answer = {"index": 0, "message": message, "logprobs": listed, "finish_reason": finish}
            return web.json_response(
                {**head, "object": "chat.completion", "choices": [answer], "usage": usage}
            )
        response = await sse.open_stream(request)
        deltas = [
            ({"role": "assistant", "content": "", "refusal": None}, None, None),
            ({"content": content}, listed, None),
            ({}, None, finish),
        ]
        for delta, chunk_logprobs, finish_reason in deltas:
            choice = {
                "index": 0,
                "delta": delta,
                "logprobs": chunk_logprobs,
                "finish_reason": finish_reason,
            }
            chunk: dict[str, Any] = {**head, "object": "chat.completion.chunk", "choices": [choice]}
            if include_usage:
                chunk["usage"] = None
            await sse.send(response, chunk)
        if include_usage:
            await sse.send(
                response, {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            )
        await sse.send_done(response)
        return response

    app.router.add_post("/v1/chat/completions", create_chat_completion)
