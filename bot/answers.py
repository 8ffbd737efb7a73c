"""Classify a message's text for an answer, within Slack's acknowledgement budget."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from bot.blocks import answer_blocks, answer_text
from bot.services import Services
from bot.slack_text import plain_text
from bot.verdict import read_verdict
from classifier import OFF_TOPIC_LABEL, Classifier, Prediction

logger = logging.getLogger(__name__)

ACK_BUDGET_SECONDS = 2.0
"""Slack waits 3 s for an acknowledgement; an answer not ready by then is sent after it."""


@dataclass(frozen=True)
class Answer:
    text: str
    blocks: list[dict[str, Any]]
    prediction: Prediction


async def classify_for_answer(
    services: Services,
    raw_text: str,
    team_id: str | None = None,
    enterprise_id: str | None = None,
) -> Answer | None:
    """The answer for a message, or None when it has no words to classify. The answer is stored
    (``store.answers``, with the workspace's ``team_id`` and ``enterprise_id``) under the id its
    feedback buttons carry."""
    text = plain_text(raw_text)
    if not text:
        return None
    classifier = await services.classifiers.get()
    started = time.perf_counter()
    prediction = await classifier.aclassify(text)
    services.metrics.classification_seconds.labels(use="answer").observe(
        time.perf_counter() - started
    )
    said = OFF_TOPIC_LABEL if read_verdict(prediction).off_topic else prediction.label
    answer_id = await services.store.answers.add(
        text, said, prediction.model, team_id, enterprise_id
    )
    reasons = explain(classifier, text)
    return Answer(
        text=answer_text(prediction, classifier.labels),
        blocks=answer_blocks(text, prediction, classifier.labels, reasons, answer_id=answer_id),
        prediction=prediction,
    )


def explain(classifier: Classifier, text: str) -> list[tuple[str, float]] | None:
    """The words that pushed the decision, when the model can say (local models), else None."""
    try:
        return classifier.explain(text)
    except Exception:  # an explanation is a nicety: never fail the answer for it
        logger.exception("explain failed")
        return None


def start_answer(
    services: Services,
    raw_text: str,
    team_id: str | None = None,
    enterprise_id: str | None = None,
) -> asyncio.Task[Answer | None]:
    return asyncio.ensure_future(classify_for_answer(services, raw_text, team_id, enterprise_id))


async def ready_within_budget(task: asyncio.Task[Answer | None]) -> bool:
    """Wait for the answer up to the acknowledgement budget (without cancelling it)."""
    done, _ = await asyncio.wait({task}, timeout=ACK_BUDGET_SECONDS)
    return bool(done)
