"""``sportbot run`` calls the Web API over kept-alive connections, not a new one per call.

slack_sdk's client opens a new aiohttp session (a new TCP, and against Slack TLS, connection)
for every call unless it is given one; ``sportbot run`` gives it one for its lifetime.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.e2e.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.support.bot_process import BotProcess
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender, message_event

BASEBALL = [
    "Bottom of the ninth, two outs, and the catcher hits a walk-off home run to left field.",
    "The Yankees' starting pitcher threw eight shutout innings with eleven strikeouts.",
    "He stole second base, then scored on a double down the right field line in the seventh.",
]


async def test_reactions_go_over_one_kept_alive_connection(
    model_home: Path, slack_api: SlackAPIStandIn, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    bot = BotProcess.spawn(
        tmp_path / "run",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api.base_url,
        SPORTBOT_HOME=str(model_home),
    )
    try:
        await bot.wait_healthy(http)
        slack = SlackSender(bot.events_url, SIGNING_SECRET, http)
        for count, text in enumerate(BASEBALL, start=1):
            reply = await slack.event(message_event(text, channel="C0KEEPALIVE"))
            assert reply.status == 200
            await slack_api.wait_for("reactions.add", count, timeout=10)
    finally:
        exit_code = bot.stop()
    calls = slack_api.calls_to("reactions.add")
    assert [call.args["name"] for call in calls] == ["baseball"] * len(BASEBALL)
    assert all(call.peer is not None for call in calls)
    assert len({call.peer for call in calls}) == 1, [call.peer for call in calls]
    assert exit_code == 0, bot.log()[-2000:]
