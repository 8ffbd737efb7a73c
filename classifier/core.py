"""``Classifier``: text in, ``Prediction`` out, over any completion backend."""

from __future__ import annotations

from collections.abc import Sequence

from classifier.backend import Completion, CompletionBackend, ExplainingBackend
from classifier.errors import EmptyTextError
from classifier.prediction import DEFAULT_TAG_THRESHOLD, Prediction, prediction_from_completion
from classifier.prompt import build_prompt, strip_prompt

TOP_LOGPROBS = 5


class Classifier:
    """Classifies messages with a backend that completes the notebook's prompts."""

    def __init__(
        self,
        backend: CompletionBackend,
        threshold: float = DEFAULT_TAG_THRESHOLD,
        logprobs: int = TOP_LOGPROBS,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        self.backend = backend
        self.threshold = threshold
        self.logprobs = logprobs

    @property
    def model_id(self) -> str:
        return self.backend.model_id

    @property
    def labels(self) -> tuple[str, ...]:
        return self.backend.labels

    def classify(self, text: str) -> Prediction:
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[Prediction]:
        prompts = _prompts(texts)
        completions = self.backend.complete(prompts, self.logprobs)
        return [self._read(c) for c in completions]

    async def aclassify(self, text: str) -> Prediction:
        return (await self.aclassify_many([text]))[0]

    async def aclassify_many(self, texts: Sequence[str]) -> list[Prediction]:
        prompts = _prompts(texts)
        completions = await self.backend.acomplete(prompts, self.logprobs)
        return [self._read(c) for c in completions]

    def explain(self, text: str) -> list[tuple[str, float]] | None:
        """The words behind the answer for ``text`` (``ExplainingBackend.explain``), or None when
        the backend cannot say."""
        if not isinstance(self.backend, ExplainingBackend):
            return None
        prompt = _prompts([text])[0]
        return self.backend.explain(strip_prompt(prompt))

    def _read(self, completion: Completion) -> Prediction:
        model = completion.model or self.backend.model_id
        return prediction_from_completion(completion, self.labels, model, self.threshold)


def _prompts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("classify_many takes a sequence of texts, not one string")
    prompts = []
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            raise EmptyTextError(
                "There is no text to classify: give a message with some words in it."
            )
        prompts.append(build_prompt(text))
    return prompts
