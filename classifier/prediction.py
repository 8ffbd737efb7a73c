"""What a classification returns, and how it is read off a completion."""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from typing import Any

from classifier.backend import Completion
from classifier.prompt import label_name, label_token

DEFAULT_TAG_THRESHOLD = 0.8
"""From the default local model's calibration (experiments/calibration.py, BENCHMARKS.md): the
smallest threshold whose tags on the 20 Newsgroups test split are the right sport 99 times in 100
while at most 0.25 % of the 18 other groups' documents get a tag (and, on the split's subject
lines, right 95 times in 100 while at most 3 % of the other groups' lines get one)."""
OFF_TOPIC_LABEL = "other"
"""A model may also know this label: text about neither sport. It never becomes ``label``."""


@dataclass(frozen=True)
class Prediction:
    """A label with its confidence, as the notebook read it off a one-token completion."""

    label: str
    """The label's name, e.g. ``"baseball"``."""
    confidence: float
    """Probability of ``label``, normalised over the model's labels (0..1)."""
    logprobs: dict[str, float]
    """The completion's ``top_logprobs`` for its one token, e.g. ``{" hockey": -0.0006}``."""
    model: str
    """Id of the model that answered."""
    tag: str | None
    """What auto-tagging puts on the message, or ``None`` to abstain."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prediction_from_completion(
    completion: Completion,
    labels: tuple[str, ...],
    model: str,
    threshold: float = DEFAULT_TAG_THRESHOLD,
) -> Prediction:
    """Read a ``Prediction`` off a completion.

    Confidence is the label's probability normalised over ``labels``. A label absent from
    ``top_logprobs`` is treated as less likely than the least likely token listed (its
    log-probability is taken as that minimum minus ln 2); where no label is listed at all the
    completion text decides with confidence 1/len(labels).
    When the model also knows the off-topic label (``" other"`` listed), the label is still the
    likelier sport, but the tag needs the label's unconditional probability,
    ``confidence * P(sport)`` with ``P(sport) = 1 - P(other)``, to reach ``threshold``: a text
    about neither sport is not tagged however sure the model is which sport it is more like.
    """
    top_logprobs = completion.top_logprobs
    listed = {
        name: top_logprobs[token] for name, token in _tokens(tuple(labels)) if token in top_logprobs
    }
    if listed:
        floor = min(top_logprobs.values()) - math.log(2)
        scores = {name: listed.get(name, floor) for name in labels}
        top = max(scores.values())
        weights = {name: math.exp(score - top) for name, score in scores.items()}
        label = max(weights, key=weights.__getitem__)
        confidence = weights[label] / sum(weights.values())
    else:
        label = label_name(completion.text)
        confidence = 1.0 / max(len(labels), 1)
    off_topic = top_logprobs.get(_OFF_TOPIC_TOKEN)
    on_topic = 1.0 if off_topic is None else 1.0 - math.exp(off_topic)
    tag = label if confidence * on_topic >= threshold else None
    return Prediction(
        label=label,
        confidence=confidence,
        logprobs=dict(top_logprobs),
        model=model,
        tag=tag,
    )


_OFF_TOPIC_TOKEN = label_token(OFF_TOPIC_LABEL)


@functools.lru_cache(maxsize=64)
def _tokens(labels: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``(name, completion token)`` of each label: read once per label set, not per message."""
    return tuple((name, label_token(name)) for name in labels)
