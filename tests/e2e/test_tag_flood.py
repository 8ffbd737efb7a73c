"""A flood within Slack's real limits: 8 message events a second for 60 s (the rate of Slack's
delivery cap, 30,000 an hour per workspace) over 20 channels, and a ``/sport`` every 2 s, sent
signed to the real app over HTTP; the Web API stand-in enforces Tier 3 on ``reactions.add``.

What must hold: ``/sport`` acknowledged with its answer within 1.5 s at p95 and 3 s at worst
(Slack gives up at 3 s); 429s at most 5% of ``reactions.add`` calls; tags placed in the window at
least 80% of what Tier 3 allowed in it; ``/metrics`` accounting for every message (within 2%)
and for every tag decided (placed + dropped + queued, exactly); no more than 3 tracebacks.
"""

from __future__ import annotations

import logging

import aiohttp
import pytest

from tests.support.bot_server import RunningBot
from tests.support.flood import FloodPlan, TierReport, flood, percentile
from tests.support.metrics import TagAccount, by_label, scrape, total, value
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender

PLAN = FloodPlan(rate=8.0, duration=60.0, channels=20, command_every=2.0)


@pytest.mark.timeout(240)
async def test_a_flood_within_slacks_limits(
    slack: SlackSender,
    slack_api: SlackAPIStandIn,
    bot: RunningBot,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    result = await flood(slack, PLAN)
    tier = TierReport.of(slack_api, result.start, result.end)
    samples = await scrape(http, bot.metrics_url)

    assert result.event_statuses == {"200": result.sent}
    assert result.command_statuses == {"200": result.commands} and result.commands == 30
    assert result.answered == result.commands
    assert percentile(result.command_seconds, 95) <= 1.5, result.command_summary()
    assert max(result.command_seconds) <= 3.0, result.command_summary()

    assert tier.calls > 0 and tier.refused_share <= 0.05, tier
    assert tier.placed_share_of_allowed >= 0.8, tier

    # Every message and every tag accounted for.
    events = value(samples, "sportbot_events_total", type="message")
    assert abs(events - result.sent) <= 0.02 * result.sent, events
    outcomes = by_label(samples, "sportbot_messages_total", "outcome")
    assert sum(outcomes.values()) == events, outcomes
    account = TagAccount.of(samples)
    assert account.balanced, account
    placed_on_slack = tier.calls - tier.refused
    assert abs(account.placed - placed_on_slack) <= max(1, 0.02 * placed_on_slack), account
    assert account.tagged > tier.allowed_in_window  # the flood did overflow the tier
    assert by_label(samples, "sportbot_tags_dropped_total", "reason").keys() <= {"queue_full"}
    assert value(samples, "sportbot_slack_ratelimited_total", method="reactions.add") == (
        tier.refused
    )
    assert total(samples, "sportbot_app_rate_limited_total") == 0

    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) <= 3, [r.getMessage() for r in tracebacks]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
