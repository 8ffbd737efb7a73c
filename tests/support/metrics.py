"""Reading the bot's Prometheus metrics: from its registry, or scraped from ``GET /metrics``."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples_of(registry: CollectorRegistry) -> Samples:
    """Every sample of ``registry``: (name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in registry.collect()
        for sample in family.samples
    }


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(http: aiohttp.ClientSession, url: str) -> Samples:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "text/plain"
        return parse(await response.text())


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent: a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    """A metric's samples summed over all their labels."""
    return sum(v for (n, _), v in samples.items() if n == name)


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: v for (n, labels), v in samples.items() if n == name and v}


@dataclass(frozen=True)
class TagAccount:
    """The tag pipeline's books: every tag change decided is placed, dropped or still queued."""

    tagged: float
    placed: float
    dropped: float
    queued: float

    @classmethod
    def of(cls, samples: Samples) -> TagAccount:
        return cls(
            tagged=value(samples, "sportbot_messages_total", outcome="tagged"),
            placed=value(samples, "sportbot_tags_placed_total"),
            dropped=total(samples, "sportbot_tags_dropped_total"),
            queued=value(samples, "sportbot_tag_queue_depth"),
        )

    @property
    def balanced(self) -> bool:
        return self.tagged == self.placed + self.dropped + self.queued
