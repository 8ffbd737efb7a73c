"""The bot's metrics: a registry per bot, and label values that match what the code counts."""

from __future__ import annotations

from bot.listeners.events import message
from bot.metrics import DROP_REASONS, MESSAGE_OUTCOMES, BotMetrics
from bot.tagging import queue, worker
from tests.support.metrics import by_label, samples_of, value


def test_each_bot_counts_in_a_registry_of_its_own() -> None:
    one, two = BotMetrics(), BotMetrics()
    one.tags_placed.inc()
    one.messages.labels(outcome="tagged").inc()
    assert value(samples_of(one.registry), "sportbot_tags_placed_total") == 1
    assert value(samples_of(two.registry), "sportbot_tags_placed_total") == 0
    assert value(samples_of(two.registry), "sportbot_messages_total", outcome="tagged") == 0


def test_every_label_value_shows_from_the_start() -> None:
    samples = samples_of(BotMetrics().registry)
    for reason in DROP_REASONS:
        assert ("sportbot_tags_dropped_total", frozenset({("reason", reason)})) in samples
    for outcome in MESSAGE_OUTCOMES:
        assert ("sportbot_messages_total", frozenset({("outcome", outcome)})) in samples


def test_the_label_values_are_those_the_code_counts() -> None:
    assert set(DROP_REASONS) == {
        queue.QUEUE_FULL,
        queue.STALE,
        queue.SUPERSEDED,
        worker.NOT_PLACEABLE,
        worker.SLACK_ERROR,
        worker.SHUTDOWN,
    }
    assert set(MESSAGE_OUTCOMES) == {
        message.TAGGED,
        message.NOT_TAGGED,
        message.SKIPPED,
        message.DUPLICATE,
        message.FAILED,
    }
    assert worker.GIVE_BACK_CLAIM.issubset(DROP_REASONS)


def test_retrains_are_counted_by_their_final_outcome_only() -> None:
    metrics = BotMetrics()
    for outcome in ("running", "promoted", "refused", "refused", "something else"):
        metrics.count_retrain(outcome)
    counted = by_label(samples_of(metrics.registry), "sportbot_retrains_total", "outcome")
    assert counted == {"promoted": 1, "refused": 2}
