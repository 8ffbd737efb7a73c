"""``LocalBackend``: the local engine answering like OpenAI's legacy completions endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from classifier.backend import Completion
from classifier.prediction import OFF_TOPIC_LABEL
from classifier.prompt import label_token, strip_prompt

if TYPE_CHECKING:
    from classifier.local.engine_inference import SportEngineInference
    from classifier.local.gated_inference import GatedSportInference

INLINE_BATCH = 32
"""``acomplete`` runs batches up to this size on the event loop itself.

The engine is CPU-bound and takes well under a millisecond per message, far less than handing
the work to a thread costs, so small batches (a Slack message, a slash command) run inline; a
bigger batch goes to a worker thread so the event loop keeps serving other requests meanwhile.
"""


class LocalBackend:
    """Completes prompts with a local model (``SportEngine``, ``GatedSportModel``, or their
    inference halves): the completion is the likeliest label token (``" hockey"``) and
    ``top_logprobs`` holds the ``k`` likeliest label tokens with the model's log-probabilities
    (normalised over all the labels it knows, ``" other"`` included if it knows that one)."""

    def __init__(self, engine: SportEngineInference | GatedSportInference, model_id: str) -> None:
        self.engine = engine
        self.model_id = model_id
        self.labels: tuple[str, ...] = tuple(c for c in engine.classes_ if c != OFF_TOPIC_LABEL)
        self._tokens = [label_token(c) for c in engine.classes_]

    def __reduce__(self) -> tuple[type[LocalBackend], tuple[object, str]]:
        """Pickled (to hand a loaded model to another process: ``bot.child_loader``) with the
        model's inference half only, which imports numpy, not scikit-learn."""
        return (LocalBackend, (self.engine.inference_copy(), self.model_id))

    def complete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        """One completion per prompt; ``k = min(logprobs, number of labels)`` tokens listed."""
        if isinstance(prompts, str):
            raise TypeError("complete takes a sequence of prompts, not one string")
        if not prompts:
            return []
        k = max(1, min(int(logprobs), len(self._tokens)))
        logp = self.engine.predict_log_proba([strip_prompt(p) for p in prompts])
        order = (-logp).argsort(axis=1, kind="stable")[:, :k].tolist()
        values = logp.tolist()
        tokens = self._tokens
        return [
            Completion(
                text=tokens[top[0]],
                top_logprobs={tokens[j]: row[j] for j in top},
            )
            for top, row in zip(order, values, strict=True)
        ]

    async def acomplete(self, prompts: Sequence[str], logprobs: int = 5) -> list[Completion]:
        """The same; inline for small batches, in a worker thread for big ones (see INLINE_BATCH)."""
        if len(prompts) <= INLINE_BATCH:
            return self.complete(prompts, logprobs)
        return await asyncio.to_thread(self.complete, prompts, logprobs)

    def explain(self, text: str) -> list[tuple[str, float]]:
        """The engine's words that pushed its answer for ``text`` (see its ``explain``)."""
        return list(self.engine.explain(text))

    async def aclose(self) -> None:
        """Nothing to let go of: the model is plain memory."""
