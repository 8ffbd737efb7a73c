"""The answer's verdict: a sport, or neither when the model's top token would be " other"."""

from __future__ import annotations

import math

import pytest

from bot.verdict import neither_text, read_verdict
from classifier import Prediction


def prediction(p_other: float | None, confidence: float) -> Prediction:
    logprobs = {" hockey": math.log(0.5), " baseball": math.log(0.2)}
    if p_other is not None:
        logprobs[" other"] = math.log(p_other)
    return Prediction("hockey", confidence, logprobs, "m", None)


@pytest.mark.parametrize(
    ("p_other", "confidence", "off_topic"),
    [
        (None, 0.51, False),  # a model without "other" always names a sport
        (0.30, 0.99, False),  # hockey's unconditional 0.69 beats other's 0.30
        (0.49, 0.99, False),  # 0.505 > 0.49
        (0.51, 0.99, True),  # 0.485 < 0.51
        (0.40, 0.60, True),  # 0.36 < 0.40: the top token, though under a half
        (0.35, 0.60, False),  # 0.39 > 0.35
    ],
)
def test_off_topic_when_other_beats_every_sport(
    p_other: float | None, confidence: float, off_topic: bool
) -> None:
    verdict = read_verdict(prediction(p_other, confidence))
    assert verdict.off_topic is off_topic
    assert verdict.label == "hockey"
    expected = p_other if off_topic else confidence
    assert verdict.probability == pytest.approx(expected)


def test_neither_names_the_sports() -> None:
    assert neither_text(("baseball", "hockey")) == "Neither baseball nor hockey"
    assert neither_text(("baseball", "hockey", "other")) == "Neither baseball nor hockey"
    assert neither_text(("a", "b", "c")) == "None of a, b or c"
