"""The flood mode of ``benchmarks/slack_load.py``: ``sportbot run`` within Slack's real limits.

One ``sportbot run`` process (HTTP mode, the default model, default settings: tags paced at
Tier 3) against the Web API stand-in enforcing Slack's tiers (``tests/support/rate_limits.py``).
Signed message events at ``--flood-rate`` a second (8: the rate of Slack's delivery cap, 30,000
an hour per workspace) over 20 channels for ``--duration`` seconds, and a ``/sport`` every 2 s
(``tests/support/flood.py``, the flood test's harness). Figures and the issue's bounds:

- ``/sport`` acknowledged (with its answer) in <= 1.5 s at p95 and <= 3 s at worst;
- 429s <= 5% of ``reactions.add`` calls;
- tags placed in the flood's window >= 80% of what Tier 3 allowed in it (burst + rate x window);
- ``/metrics`` accounts for every message (events counted within 2% of those sent; message
  outcomes summing to them; tags decided = placed + dropped + queued; placed within 2% of the
  successful ``reactions.add`` calls);
- no more than 3 tracebacks in the bot's log.

    .venv/bin/python benchmarks/slack_load.py --flood [--flood-rate 8] [--duration 60]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Any

TRACEBACK = "Traceback (most recent call last)"


async def flood_benchmark(args: argparse.Namespace, home: Path, work: Path) -> dict[str, Any]:
    import aiohttp

    from tests.support.bot_process import ServedProcess
    from tests.support.flood import FloodPlan, TierReport, flood
    from tests.support.metrics import TagAccount, by_label, scrape, value
    from tests.support.slack_api import SlackAPIStandIn
    from tests.support.slack_app import BOT_TOKEN, SIGNING_SECRET
    from tests.support.slack_signing import SlackSender

    plan = FloodPlan(rate=args.flood_rate, duration=args.duration, channels=20, command_every=2.0)
    api = SlackAPIStandIn()
    await api.start()
    bot = ServedProcess.launch(
        [sys.executable, "-m", "bot.cli", "run"],
        work,
        "sportbot",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=api.base_url,
        SPORTBOT_HOME=str(home),
    )
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            await bot.wait_healthy(http)
            slack = SlackSender(bot.events_url, SIGNING_SECRET, http, api.response_url())
            load_before = os.getloadavg()[0]
            result = await flood(slack, plan)
            tier = TierReport.of(api, result.start, result.end)
            samples = await scrape(http, f"{bot.url}/metrics")
            load_after = os.getloadavg()[0]
    finally:
        exit_code = bot.stop()
        await api.stop()
    log = bot.log()
    account = TagAccount.of(samples)
    events = value(samples, "sportbot_events_total", type="message")
    outcomes = by_label(samples, "sportbot_messages_total", "outcome")
    placed_on_slack = tier.calls - tier.refused
    acks = result.command_summary()
    tracebacks = log.count(TRACEBACK)
    checks = {
        "sport_ack_p95_le_1.5s": acks["p95_s"] <= 1.5,
        "sport_ack_max_le_3s": acks["max_s"] <= 3.0,
        "sport_answered_in_ack": result.answered == result.commands,
        "reactions_add_429_share_le_5pct": tier.refused_share <= 0.05,
        "placed_ge_80pct_of_tier_allowed": tier.placed_share_of_allowed >= 0.8,
        "metrics_count_every_message_2pct": abs(events - result.sent) <= 0.02 * result.sent
        and sum(outcomes.values()) == events,
        "metrics_tags_balanced": account.balanced
        and abs(account.placed - placed_on_slack) <= max(1.0, 0.02 * placed_on_slack),
        "tracebacks_le_3": tracebacks <= 3,
    }
    return {
        "mode": "flood",
        "flood_rate_per_s": plan.rate,
        "duration_s": plan.duration,
        "channels": plan.channels,
        "messages_sent": result.sent,
        "event_statuses": dict(result.event_statuses),
        "sport_commands": result.commands,
        "sport_ack": acks,
        "reactions_add": {
            "calls": tier.calls,
            "429": tier.refused,
            "429_share": round(tier.refused_share, 4),
            "placed_in_window": tier.placed_in_window,
            "tier_allowed_in_window": round(tier.allowed_in_window, 1),
            "placed_share_of_allowed": round(tier.placed_share_of_allowed, 3),
        },
        "metrics": {
            "events_message": events,
            "messages": outcomes,
            "tags": {
                "decided": account.tagged,
                "placed": account.placed,
                "dropped": by_label(samples, "sportbot_tags_dropped_total", "reason"),
                "queued": account.queued,
            },
        },
        "tracebacks_in_log": tracebacks,
        "exit_code": exit_code,
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "checks": checks,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "log_tail": log[-3000:] if not all(checks.values()) else "",
    }


if __name__ == "__main__":
    sys.exit("run it as: benchmarks/slack_load.py --flood")
