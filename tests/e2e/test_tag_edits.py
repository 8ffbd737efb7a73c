"""An edited message (``message_changed``) is classified again and its tag corrected, through the
tag pipeline: the old reaction taken off, the new one put on, nothing when the tag stays."""

from __future__ import annotations

import aiohttp

from tests.e2e.conftest import ADMIN
from tests.support.bot_server import RunningBot
from tests.support.metrics import TagAccount, by_label, scrape
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender, edit_event, message_event, new_event_id

HOCKEY = "The goalie stopped 38 shots and the Penguins scored twice on the power play in overtime."
BASEBALL = (
    "The pitcher struck out eleven and the catcher hit a two-run homer in the seventh inning."
)
OFF_TOPIC = "Lunch is at noon in the big meeting room; bring your own mug for the coffee."
HOCKEY_TAG = "ice_hockey_stick_and_puck"


async def tagged(slack: SlackSender, api: SlackAPIStandIn, text: str) -> dict:
    """Send a message and wait until its tag is on."""
    event = message_event(text)
    await slack.event(event)
    await api.wait_for("reactions.add", len(api.calls_to("reactions.add")) + 1)
    return event


async def test_an_edit_to_the_other_sport_swaps_the_tag(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, http: aiohttp.ClientSession
) -> None:
    event = await tagged(slack, slack_api, HOCKEY)
    assert (await slack.event(edit_event(event, BASEBALL))).status == 200
    await slack_api.wait_for("reactions.add", 2)
    await slack_api.settle()
    assert slack_api.removed_reactions == [("C0GENERAL", event["ts"], HOCKEY_TAG)]
    assert slack_api.reactions == {("C0GENERAL", event["ts"], "baseball")}
    [remove] = slack_api.calls_to("reactions.remove")
    assert remove.at < slack_api.calls_to("reactions.add")[-1].at  # off first, then on
    account = TagAccount.of(await scrape(http, bot.metrics_url))
    assert account.balanced and (account.tagged, account.placed) == (2, 2)


async def test_an_edit_off_the_topic_takes_the_tag_off(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    event = await tagged(slack, slack_api, BASEBALL)
    await slack.event(edit_event(event, OFF_TOPIC))
    await slack_api.wait_for("reactions.remove")
    await slack_api.settle()
    assert slack_api.reactions == set()
    assert len(slack_api.calls_to("reactions.add")) == 1


async def test_an_edit_onto_the_topic_tags_it(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    event = message_event(OFF_TOPIC)
    await slack.event(event)
    await slack.event(edit_event(event, HOCKEY))
    await slack_api.wait_for("reactions.add")
    await slack_api.settle()
    assert slack_api.reactions == {("C0GENERAL", event["ts"], HOCKEY_TAG)}
    # Nothing was on it before: the old text had no tag, so nothing was taken off.
    assert slack_api.calls_to("reactions.remove") == []


async def test_an_edit_that_keeps_the_sport_changes_nothing(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, http: aiohttp.ClientSession
) -> None:
    event = await tagged(slack, slack_api, HOCKEY)
    await slack.event(edit_event(event, HOCKEY + " What a game."))
    await slack_api.settle()
    assert len(slack_api.calls_to("reactions.add")) == 1
    assert slack_api.calls_to("reactions.remove") == []
    outcomes = by_label(await scrape(http, bot.metrics_url), "sportbot_messages_total", "outcome")
    assert outcomes == {"tagged": 1, "not_tagged": 1}


async def test_an_edit_of_a_message_whose_tag_still_waits_replaces_it(
    slack: SlackSender, slack_api: SlackAPIStandIn, bot: RunningBot, http: aiohttp.ClientSession
) -> None:
    slack_api.rate_limit_next("reactions.add", retry_after=2)
    event = message_event(HOCKEY)
    await slack.event(event)
    await slack_api.wait_for("reactions.add")  # refused: the hockey tag waits, queued
    await slack.event(edit_event(event, BASEBALL))
    await slack_api.wait_for("reactions.add", 2, timeout=10)
    await slack_api.settle()
    # The hockey tag was never placed: it is dropped, and nothing needs taking off.
    assert slack_api.added_reactions == [("C0GENERAL", event["ts"], "baseball")]
    assert slack_api.calls_to("reactions.remove") == []
    samples = await scrape(http, bot.metrics_url)
    assert by_label(samples, "sportbot_tags_dropped_total", "reason") == {"superseded": 1}
    account = TagAccount.of(samples)
    assert account.balanced and (account.tagged, account.placed) == (2, 1)


async def test_a_redelivered_edit_corrects_once(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    event = await tagged(slack, slack_api, HOCKEY)
    edit, event_id = edit_event(event, BASEBALL), new_event_id()
    await slack.event(edit, event_id=event_id)
    await slack.event(edit, event_id=event_id, retry_num=1)
    await slack_api.wait_for("reactions.add", 2)
    await slack_api.settle()
    assert len(slack_api.calls_to("reactions.remove")) == 1
    assert len(slack_api.calls_to("reactions.add")) == 2


async def test_edits_by_bots_and_in_channels_without_auto_tagging_are_left_alone(
    slack: SlackSender, slack_api: SlackAPIStandIn
) -> None:
    event = await tagged(slack, slack_api, HOCKEY)
    by_bot = edit_event(event, BASEBALL)
    by_bot["message"]["bot_id"] = "B0OTHER"
    await slack.event(by_bot)
    assert (await slack.command("/sport", "autotag off", user_id=ADMIN)).status == 200
    await slack_api.wait_for("response_url")
    await slack.event(edit_event(event, BASEBALL))
    await slack_api.settle()
    assert slack_api.calls_to("reactions.remove") == []
    assert slack_api.reactions == {("C0GENERAL", event["ts"], HOCKEY_TAG)}
