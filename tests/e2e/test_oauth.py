"""Installed in many workspaces: Slack's OAuth install flow driven as a browser drives it, against
the Web API stand-in's ``oauth.v2.access``, then each workspace served with its own token, its
own admins and its own settings (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import text

from tests.e2e.conftest import ADMIN, SIGNING_SECRET, StartBot
from tests.support.bot_server import RunningBot
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 (fixtures)
from tests.support.slack_api import SlackAPIStandIn
from tests.support.slack_signing import SlackSender, message_event

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
STATE_COOKIE = "slack-app-oauth-state"
HOCKEY = "The goalie stopped 38 shots and the Penguins scored twice on the power play in overtime."
TEAM_A, TEAM_B = "T0AAAAAAA", "T0BBBBBBB"
GRID_B = "E0BBBBBBB"
"""Workspace B is part of an Enterprise Grid organisation."""
ADMIN_A = "U0ADMINA1"
"""An admin of workspace A only."""
USER_B = "U0USERB01"


@dataclass
class InstallPage:
    state: str
    cookie: str
    scope: str
    client_id: str


async def open_install_page(http: aiohttp.ClientSession, bot: RunningBot) -> InstallPage:
    """``GET /slack/install`` as a browser: the state cookie and the link to Slack's authorize
    page (which cannot be reached from here)."""
    async with http.get(bot.url + "/slack/install") as response:
        assert response.status == 200
        page = await response.text()
        cookie = response.headers["Set-Cookie"]
    link = html.unescape(re.search(r'href="(https://slack\.com/oauth/v2/authorize[^"]+)"', page)[1])
    query = parse_qs(urlsplit(link).query)
    [state] = query["state"]
    assert f"{STATE_COOKIE}={state}" in cookie
    return InstallPage(state, f"{STATE_COOKIE}={state}", query["scope"][0], query["client_id"][0])


async def follow_redirect(
    http: aiohttp.ClientSession, bot: RunningBot, code: str, state: str, cookie: str | None
) -> tuple[int, str]:
    """Slack's redirect back to the app, with the browser's cookie."""
    headers = {"Cookie": cookie} if cookie else {}
    async with http.get(
        bot.url + "/slack/oauth_redirect", params={"code": code, "state": state}, headers=headers
    ) as response:
        return response.status, await response.text()


async def install(
    http: aiohttp.ClientSession,
    bot: RunningBot,
    api: SlackAPIStandIn,
    team_id: str,
    installer: str,
) -> str:
    """Install the app in ``team_id`` through the whole flow; return the bot token it got."""
    assert api.oauth is not None
    page = await open_install_page(http, bot)
    assert page.client_id == CLIENT_ID
    code = api.oauth.approve(team_id, installer, page.scope)
    status, body = await follow_redirect(http, bot, code, page.state, page.cookie)
    assert status == 200, body
    answer = api.oauth.issued[-1]
    assert answer["team"]["id"] == team_id
    return str(answer["access_token"])


@pytest.fixture
def workspaces(slack_api: SlackAPIStandIn) -> SlackAPIStandIn:
    oauth = slack_api.enable_oauth(CLIENT_ID, CLIENT_SECRET)
    oauth.add_workspace(TEAM_A, "Rink A")
    oauth.add_workspace(TEAM_B, "Diamond B", enterprise_id=GRID_B)
    slack_api.add_user(ADMIN_A, is_admin=True, team_id=TEAM_A)
    slack_api.add_user(USER_B, team_id=TEAM_B)
    return slack_api


def oauth_settings(**more: object) -> dict[str, object]:
    return {
        "slack_bot_token": None,
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        **more,
    }


async def two_workspaces_are_served_apart(
    start_bot: StartBot,
    api: SlackAPIStandIn,
    http: aiohttp.ClientSession,
    **settings: object,
) -> None:
    bot = await start_bot(**oauth_settings(**settings))
    token_a = await install(http, bot, api, TEAM_A, ADMIN_A)
    token_b = await install(http, bot, api, TEAM_B, USER_B)
    assert token_a != token_b
    slack = SlackSender(bot.events_url, SIGNING_SECRET, http, api.response_url())

    # Each workspace's message is tagged with that workspace's token.
    hockey_a = message_event(HOCKEY, channel="C0RINKA", team=TEAM_A)
    hockey_b = message_event(HOCKEY, channel="C0DIAMONDB", team=TEAM_B)
    assert (await slack.event(hockey_a, team_id=TEAM_A)).status == 200
    assert (await slack.event(hockey_b, team_id=TEAM_B, enterprise_id=GRID_B)).status == 200
    await api.wait_for("reactions.add", 2)
    tokens = {call.args["channel"]: call.token for call in api.calls_to("reactions.add")}
    assert tokens == {"C0RINKA": token_a, "C0DIAMONDB": token_b}

    # A's admin is an admin in A (users.info with A's token), not in B (B's token: not found).
    await slack.command(
        "/sport", "autotag off", user_id=ADMIN_A, channel_id="C0SHARED", team_id=TEAM_A
    )
    await slack.command(
        "/sport",
        "autotag off",
        user_id=ADMIN_A,
        channel_id="C0SHARED",
        team_id=TEAM_B,
        enterprise_id=GRID_B,
    )
    answers = await api.wait_for("response_url", 2)
    said = sorted(str(call.args.get("text")) for call in answers)
    assert said[0].startswith("Auto-tagging is off in this channel")
    assert said[1].startswith("Sorry, only a workspace admin")
    asked = {call.token for call in api.calls_to("users.info")}
    assert asked == {token_a, token_b}
    channels = bot.services.store.channels
    assert not await channels.autotag_enabled("C0SHARED", team_id=TEAM_A, fresh=True)
    assert await channels.autotag_enabled("C0SHARED", team_id=TEAM_B, fresh=True)

    # Neither workspace's admin may retrain the model they share; an operator may ask.
    await slack.command("/sport-retrain", "rollback", user_id=ADMIN_A, team_id=TEAM_A)
    refusal = (await api.wait_for("response_url", 3))[-1]
    assert "only the bot's operators" in str(refusal.args.get("text"))
    [audit] = await bot.services.store.retrains.recent(1)
    assert (audit.status, audit.team_id) == ("refused", TEAM_A)

    # The rows say whose they are.
    reply = await slack.command(
        "/sport", HOCKEY, user_id=USER_B, team_id=TEAM_B, enterprise_id=GRID_B
    )
    assert "hockey" in reply.text
    with bot.services.store.database.engine.connect() as connection:
        events = connection.execute(
            text("SELECT team_id, enterprise_id FROM processed_events ORDER BY team_id")
        ).all()
        answers = connection.execute(text("SELECT team_id, enterprise_id FROM answers")).all()
    assert [tuple(row) for row in events] == [(TEAM_A, ""), (TEAM_B, GRID_B)]
    assert [tuple(row) for row in answers] == [(TEAM_B, GRID_B)]


async def test_two_workspaces_install_through_oauth_and_are_served_apart(
    start_bot: StartBot, workspaces: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    await two_workspaces_are_served_apart(start_bot, workspaces, http)


async def test_two_workspaces_on_postgresql(
    start_bot: StartBot,
    workspaces: SlackAPIStandIn,
    http: aiohttp.ClientSession,
    postgres_url: str,  # noqa: F811
) -> None:
    await two_workspaces_are_served_apart(start_bot, workspaces, http, database_url=postgres_url)


async def test_a_replayed_or_forged_state_is_refused(
    start_bot: StartBot, workspaces: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    bot = await start_bot(**oauth_settings())
    oauth = workspaces.oauth
    assert oauth is not None
    page = await open_install_page(http, bot)
    code = oauth.approve(TEAM_A, ADMIN_A, page.scope)
    assert (await follow_redirect(http, bot, code, page.state, page.cookie))[0] == 200
    issued = len(oauth.issued)

    # The same redirect again (a replay): its state was consumed.
    again = oauth.approve(TEAM_A, ADMIN_A, page.scope)
    assert (await follow_redirect(http, bot, again, page.state, page.cookie))[0] == 401
    # A state the bot never issued, with a cookie to match (forged).
    forged = "0f0f0f0f-0000-4000-8000-000000000000"
    cookie = f"{STATE_COOKIE}={forged}"
    assert (await follow_redirect(http, bot, again, forged, cookie))[0] == 401
    # A fresh state, but from another browser (no cookie, or another one).
    fresh = await open_install_page(http, bot)
    assert (await follow_redirect(http, bot, again, fresh.state, None))[0] == 400
    assert (await follow_redirect(http, bot, again, fresh.state, page.cookie))[0] == 400
    # None of these reached oauth.v2.access.
    assert len(oauth.issued) == issued
    assert len(workspaces.calls_to("oauth.v2.access")) == 1


async def test_a_bad_code_or_secret_installs_nothing(
    start_bot: StartBot, workspaces: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    oauth = workspaces.oauth
    assert oauth is not None
    wrong_secret = await start_bot(**oauth_settings(slack_client_secret="not-the-secret"))
    page = await open_install_page(http, wrong_secret)
    code = oauth.approve(TEAM_A, ADMIN_A, page.scope)
    assert (await follow_redirect(http, wrong_secret, code, page.state, page.cookie))[0] == 401
    right_secret = await start_bot(**oauth_settings())
    page = await open_install_page(http, right_secret)
    made_up = f"{TEAM_A}.0123456789abcdef"
    assert (await follow_redirect(http, right_secret, made_up, page.state, page.cookie))[0] == 401
    answers = [call for call in workspaces.calls_to("oauth.v2.access")]
    assert len(answers) == 2  # both asked Slack, and Slack said no to both
    assert oauth.issued == []
    with right_secret.services.store.database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM slack_bots")).scalar() == 0


async def test_an_expiring_token_is_refreshed_before_it_is_used(
    start_bot: StartBot, workspaces: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    oauth = workspaces.enable_oauth(CLIENT_ID, CLIENT_SECRET, rotation=True)
    oauth.add_workspace(TEAM_A, "Rink A")
    oauth.token_seconds = 3600  # within the two hours before expiry the bot refreshes in
    bot = await start_bot(**oauth_settings())
    first = await install(http, bot, workspaces, TEAM_A, ADMIN_A)
    assert first.startswith("xoxe.xoxb-") and oauth.issued[-1]["expires_in"] == 3600
    oauth.token_seconds = 43_200
    slack = SlackSender(bot.events_url, SIGNING_SECRET, http, workspaces.response_url())

    await slack.event(message_event(HOCKEY, channel="C0RINKA", team=TEAM_A), team_id=TEAM_A)
    [add] = await workspaces.wait_for("reactions.add")
    [_, refresh] = workspaces.calls_to("oauth.v2.access")
    assert refresh.args["grant_type"] == "refresh_token"
    second = oauth.issued[-1]["access_token"]
    assert add.token == second != first

    # The first token now expires: the bot goes on with the refreshed one, refreshing no more.
    oauth.expire(first)
    await slack.event(message_event(HOCKEY, channel="C0RINKA", team=TEAM_A), team_id=TEAM_A)
    await workspaces.wait_for("reactions.add", 2)
    assert [call.token for call in workspaces.calls_to("reactions.add")] == [second, second]
    assert len(workspaces.calls_to("oauth.v2.access")) == 2


async def test_a_request_from_a_workspace_that_never_installed_does_nothing(
    start_bot: StartBot, workspaces: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    bot = await start_bot(**oauth_settings())
    await install(http, bot, workspaces, TEAM_A, ADMIN_A)
    slack = SlackSender(bot.events_url, SIGNING_SECRET, http, workspaces.response_url())
    reply = await slack.event(message_event(HOCKEY, team=TEAM_B), team_id=TEAM_B)
    assert reply.status == 200  # answered, so that Slack does not redeliver it
    await workspaces.settle()
    assert workspaces.calls_to("reactions.add") == []


async def test_one_workspace_mode_has_no_install_routes(
    bot: RunningBot, http: aiohttp.ClientSession
) -> None:
    for path in ("/slack/install", "/slack/oauth_redirect"):
        async with http.get(bot.url + path) as response:
            assert response.status == 404
    assert bot.services.settings.oauth is False
    assert ADMIN in bot.services.settings.sportbot_admins


async def test_requests_at_once_refresh_a_token_once_across_replicas(
    start_bot: StartBot, workspaces: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    """A refresh token is good once (the stand-in refuses it a second time, as Slack does):
    events arriving together at two replicas when the token is due are served with one
    refresh between them, none lost."""
    oauth = workspaces.enable_oauth(CLIENT_ID, CLIENT_SECRET, rotation=True)
    oauth.add_workspace(TEAM_A, "Rink A")
    oauth.token_seconds = 3600
    one = await start_bot(**oauth_settings())
    two = await start_bot(**oauth_settings())
    await install(http, one, workspaces, TEAM_A, ADMIN_A)
    oauth.token_seconds = 43_200
    senders = [
        SlackSender(bot.events_url, SIGNING_SECRET, http, workspaces.response_url())
        for bot in (one, two)
    ]
    events = [
        (sender, message_event(HOCKEY, channel="C0RINKA", team=TEAM_A))
        for sender in senders
        for _ in range(3)
    ]
    replies = await asyncio.gather(*(s.event(e, team_id=TEAM_A) for s, e in events))
    assert [reply.status for reply in replies] == [200] * 6
    await workspaces.wait_for("reactions.add", 6)
    refreshes = workspaces.calls_to("oauth.v2.access")[1:]
    assert [call.args["grant_type"] for call in refreshes] == ["refresh_token"]
    new = oauth.issued[-1]["access_token"]
    assert {call.token for call in workspaces.calls_to("reactions.add")} == {new}


async def test_a_workspace_that_removes_the_app_is_forgotten(
    start_bot: StartBot, workspaces: SlackAPIStandIn, http: aiohttp.ClientSession
) -> None:
    bot = await start_bot(**oauth_settings())
    await install(http, bot, workspaces, TEAM_A, ADMIN_A)
    await install(http, bot, workspaces, TEAM_B, USER_B)
    slack = SlackSender(bot.events_url, SIGNING_SECRET, http, workspaces.response_url())
    assert (await slack.event({"type": "app_uninstalled"}, team_id=TEAM_A)).status == 200

    def installed() -> list[str]:
        with bot.services.store.database.engine.connect() as connection:
            rows = connection.execute(text("SELECT team_id FROM slack_bots ORDER BY team_id"))
            return [str(row[0]) for row in rows]

    deadline = asyncio.get_running_loop().time() + 5
    while installed() != [TEAM_B] and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert installed() == [TEAM_B]
    await slack.event(message_event(HOCKEY, channel="C0RINKA", team=TEAM_A), team_id=TEAM_A)
    await workspaces.settle()
    assert workspaces.calls_to("reactions.add") == []
