"""The bot's Prometheus metrics, in a registry of its own (one per bot, so several bots in one
process, as in the tests, never share a counter).

Tags add up: every tag change the bot decides on (a new message's tag, or an edit's correction)
counts once in ``sportbot_messages_total{outcome="tagged"}`` and then, once it has left the
pipeline, once in ``sportbot_tags_placed_total`` or ``sportbot_tags_dropped_total{reason}``;
until then it is in ``sportbot_tag_queue_depth``. So
``messages{outcome="tagged"} = tags_placed + sum(tags_dropped) + tag_queue_depth`` at any scrape.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

MESSAGE_OUTCOMES = ("tagged", "not_tagged", "skipped", "duplicate", "failed")
"""What the message listener did with a message event: queued a tag change; classified it and
found no tag (or no change) to make; did not classify it (not a person's new text, auto-tagging
off, no words, an edit that changed no text); saw its event id claimed already; failed (logged)."""

DROP_REASONS = ("queue_full", "stale", "superseded", "not_placeable", "slack_error", "shutdown")
"""Why a tag left the pipeline unplaced (``bot.tagging.queue`` states the policy)."""

RETRAIN_OUTCOMES = (
    "promoted",
    "not_promoted",
    "failed",
    "refused",
    "refused_busy",
    "rolled_back",
)

CLASSIFICATION_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Seconds: the local model answers in well under a millisecond, a remote one in 0.1-10 s."""


class BotMetrics:
    """The counters the bot keeps; ``registry`` is what ``GET /metrics`` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.events = Counter(
            "sportbot_events",
            "Events API deliveries, by event type (redeliveries included)",
            ["type"],
            registry=registry,
        )
        self.messages = Counter(
            "sportbot_messages",
            "Message events by what the bot did with them",
            ["outcome"],
            registry=registry,
        )
        self.tags_placed = Counter(
            "sportbot_tags_placed",
            "Tag changes done on Slack (a reaction added, or an edit's correction made)",
            registry=registry,
        )
        self.tags_dropped = Counter(
            "sportbot_tags_dropped",
            "Tag changes that left the pipeline unplaced, by reason",
            ["reason"],
            registry=registry,
        )
        self.tag_queue_depth = Gauge(
            "sportbot_tag_queue_depth",
            "Tag changes waiting or in flight, every workspace together",
            registry=registry,
        )
        self.slack_ratelimited = Counter(
            "sportbot_slack_ratelimited",
            "Web API calls Slack answered with HTTP 429, by method",
            ["method"],
            registry=registry,
        )
        self.app_rate_limited = Counter(
            "sportbot_app_rate_limited",
            "app_rate_limited events: Slack held back event deliveries for a workspace",
            registry=registry,
        )
        self.classification_seconds = Histogram(
            "sportbot_classification_seconds",
            "Time to classify one text, by use (tag: auto-tagging; answer: /sport, the shortcut)",
            ["use"],
            buckets=CLASSIFICATION_BUCKETS,
            registry=registry,
        )
        self.retrains = Counter(
            "sportbot_retrains",
            "Retrains and rollbacks by outcome",
            ["outcome"],
            registry=registry,
        )
        # Every known label value from the start, so a dashboard sees 0 rather than no series.
        for outcome in MESSAGE_OUTCOMES:
            self.messages.labels(outcome=outcome)
        for reason in DROP_REASONS:
            self.tags_dropped.labels(reason=reason)
        for outcome in RETRAIN_OUTCOMES:
            self.retrains.labels(outcome=outcome)

    def count_retrain(self, outcome: str) -> None:
        """One retrain or rollback ended (or was refused) with ``outcome``."""
        if outcome in RETRAIN_OUTCOMES:
            self.retrains.labels(outcome=outcome).inc()
