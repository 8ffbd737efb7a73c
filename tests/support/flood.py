"""A flood of message events with a ``/sport`` every few seconds, and what Slack's tiers made of
it: the harness of the flood test (tests/e2e/test_tag_flood.py) and of
``benchmarks/slack_load.py --flood``.

``flood`` sends signed message events open-loop (each on its schedule, never after the previous
reply) at ``rate`` a second for ``duration`` seconds over ``channels`` channels, and a ``/sport``
every ``command_every`` seconds, timing each command's acknowledgement (the answer travels in it).
``TierReport.of`` reads the Web API stand-in's record: ``reactions.add`` calls, the 429s among
them, and the tags placed within the flood's window beside what the tier allowed in it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.support.rate_limits import RATE_LIMITS, Limit
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender, message_event, new_event_id

SPORTS_TEXTS = (
    "The pitcher struck out eleven and the catcher hit a two-run homer in the seventh inning.",
    "Bottom of the ninth, two outs, and the shortstop hits a walk-off double down the line.",
    "The Yankees' starter threw eight shutout innings and the bullpen closed it out.",
    "He stole second base and scored on a sacrifice fly to deep center field.",
    "The goalie stopped 38 shots and the Penguins scored twice on the power play in overtime.",
    "The defenseman took a slashing penalty and the Flyers scored on the power play.",
    "A hat trick from the center and the Bruins won the series in game seven on home ice.",
    "The Oilers' winger scored on a breakaway after the faceoff in the third period.",
)
OFF_TOPIC_TEXTS = (
    "Lunch is at noon in the big meeting room; bring your own mug for the coffee.",
    "The build is green again; the flaky test was waiting on a port that was still in use.",
)
COMMAND_TEXT = "The catcher threw out the runner at second and the pitcher got the last out."


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class FloodPlan:
    rate: float = 8.0
    """Message events a second (8: Slack's delivery cap of 30,000 an hour per workspace)."""
    duration: float = 60.0
    channels: int = 20
    command_every: float = 2.0
    teams: tuple[str, ...] = ()
    """Team ids the events come from, in turn (empty: the stand-in's one workspace)."""


@dataclass
class FloodResult:
    start: float
    end: float
    sent: int = 0
    event_statuses: Counter[str] = field(default_factory=Counter)
    command_seconds: list[float] = field(default_factory=list)
    command_statuses: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    """Commands whose acknowledgement carried the answer (it names the sport)."""

    @property
    def commands(self) -> int:
        return len(self.command_seconds)

    def command_summary(self) -> dict[str, float]:
        return {
            "p50_s": round(percentile(self.command_seconds, 50), 4),
            "p95_s": round(percentile(self.command_seconds, 95), 4),
            "max_s": round(max(self.command_seconds, default=0.0), 4),
        }


async def flood(slack: SlackSender, plan: FloodPlan) -> FloodResult:
    """Send the plan's events and commands; return when every reply is in."""
    texts = [*SPORTS_TEXTS, *SPORTS_TEXTS[:4], *OFF_TOPIC_TEXTS]  # about 6 in 7 tagged
    total = int(plan.rate * plan.duration)
    commands = int(plan.duration / plan.command_every)
    result = FloodResult(start=time.monotonic(), end=0.0)
    tasks: set[asyncio.Task[None]] = set()

    async def send_event(i: int) -> None:
        channel = f"C{i % plan.channels:08d}"
        event = message_event(texts[i % len(texts)], channel=channel)
        if plan.teams:
            event["team"] = plan.teams[i % len(plan.teams)]
        try:
            reply = await slack.event(
                event, event_id=new_event_id(), team_id=event["team"] if plan.teams else None
            )
            result.event_statuses[str(reply.status)] += 1
        except Exception as error:  # counted, never raised: the flood goes on
            result.event_statuses[type(error).__name__] += 1

    async def send_command(i: int) -> None:
        started = time.monotonic()
        try:
            reply = await slack.command("/sport", COMMAND_TEXT, channel_id=f"C{i:08d}")
            result.command_statuses[str(reply.status)] += 1
            if reply.status == 200 and "baseball" in reply.text.lower():
                result.answered += 1
        except Exception as error:
            result.command_statuses[type(error).__name__] += 1
        result.command_seconds.append(time.monotonic() - started)

    schedule = sorted(
        [(i / plan.rate, send_event, i) for i in range(total)]
        + [((i + 0.5) * plan.command_every, send_command, i) for i in range(commands)],
        key=lambda item: item[0],
    )
    for due, send, i in schedule:
        delay = result.start + due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    result.end = result.start + plan.duration
    result.sent = total
    await asyncio.gather(*tasks)
    return result


@dataclass(frozen=True)
class TierReport:
    """``reactions.add`` as the stand-in saw it during a flood's window."""

    calls: int
    refused: int
    """Calls answered 429 (over the tier)."""
    placed_in_window: int
    allowed_in_window: float
    """What the tier lets through in the window: its burst plus its rate times the window."""

    @classmethod
    def of(
        cls, api: SlackAPIStandIn, start: float, end: float, limit: Limit | None = None
    ) -> TierReport:
        tier = limit or RATE_LIMITS["reactions.add"]
        calls = api.calls_to("reactions.add")
        refused = {id(call) for call in api.rate_limited if call.method == "reactions.add"}
        placed = [c for c in calls if id(c) not in refused and start <= c.at <= end]
        return cls(
            calls=len(calls),
            refused=len(refused),
            placed_in_window=len(placed),
            allowed_in_window=tier.burst + tier.per_minute / 60.0 * (end - start),
        )

    @property
    def refused_share(self) -> float:
        return self.refused / self.calls if self.calls else 0.0

    @property
    def placed_share_of_allowed(self) -> float:
        return self.placed_in_window / self.allowed_in_window
