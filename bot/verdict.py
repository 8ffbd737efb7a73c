"""What an answer says: the likelier sport with its confidence, or that the text is about neither."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from classifier import OFF_TOPIC_LABEL, Prediction
from classifier.prompt import label_token

OFF_TOPIC_TOKEN = label_token(OFF_TOPIC_LABEL)


@dataclass(frozen=True)
class Verdict:
    off_topic: bool
    """Whether the model's top answer is "other": the text is about neither sport."""
    label: str
    """The sport the answer names; for an off-topic answer, the sport the text leans to."""
    probability: float
    """The confidence in ``label``; for an off-topic answer, the probability of "other"."""


def read_verdict(prediction: Prediction) -> Verdict:
    """The answer to give for a prediction.

    A model that knows "other" lists ``" other"`` in the logprobs; its top answer is "other" when
    P(other) is above every sport's unconditional probability, ``confidence * (1 - P(other))``
    for the likelier one: the one-token completion would be ``" other"``. ``prediction.label``
    stays the likelier sport, which the answer names as the one the text leans to.
    """
    logprob = prediction.logprobs.get(OFF_TOPIC_TOKEN)
    if logprob is not None:
        off_topic = math.exp(logprob)
        if off_topic > prediction.confidence * (1.0 - off_topic):
            return Verdict(True, prediction.label, off_topic)
    return Verdict(False, prediction.label, prediction.confidence)


def neither_text(labels: Sequence[str]) -> str:
    """``Neither baseball nor hockey`` (``None of a, b or c`` for more labels)."""
    sports = [label for label in labels if label != OFF_TOPIC_LABEL]
    if len(sports) == 2:
        return f"Neither {sports[0]} nor {sports[1]}"
    if len(sports) > 2:
        return f"None of {', '.join(sports[:-1])} or {sports[-1]}"
    return f"Not {sports[0]}" if sports else "Not a sport I know"
