"""The admin gate: SPORTBOT_ADMINS, workspace admins/owners per users.info, a short cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot import admin
from bot.admin import AdminCache, AdminGate, is_admin
from bot.settings import Settings
from tests.support.slack_api import SlackAPIStandIn

TOKEN = "xoxb-1-2-admin-gate-test"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackAPIStandIn]:
    api = SlackAPIStandIn()
    await api.start()
    api.add_user("UPLAIN")
    api.add_user("UWSADMIN", is_admin=True)
    api.add_user("UOWNER", is_owner=True)
    yield api
    await api.stop()


@pytest.fixture
def client(slack_api: SlackAPIStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack_api.base_url)


def settings(admins: str = "UCONF1, UCONF2") -> Settings:
    return Settings(_env_file=None, sportbot_admins=admins)  # type: ignore[call-arg]


async def test_configured_admins_need_no_users_info(
    slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    assert await is_admin("UCONF1", client, settings())
    assert await is_admin("UCONF2", client, settings())
    assert slack_api.calls_to("users.info") == []


@pytest.mark.parametrize(
    ("user", "expected"),
    [("UWSADMIN", True), ("UOWNER", True), ("UPLAIN", False), ("UNOBODY", False), ("", False)],
)
async def test_workspace_admins_and_owners_count_per_users_info(
    slack_api: SlackAPIStandIn, client: AsyncWebClient, user: str, expected: bool
) -> None:
    assert await is_admin(user, client, settings()) is expected
    asked = [call.args.get("user") for call in slack_api.calls_to("users.info")]
    assert asked == ([user] if user else [])


async def test_answers_are_cached_briefly(
    slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    clock = FakeClock()
    cache = AdminCache(ttl=60.0, clock=clock)
    for _ in range(3):
        assert await is_admin("UWSADMIN", client, settings(), cache=cache)
        assert not await is_admin("UPLAIN", client, settings(), cache=cache)
    assert len(slack_api.calls_to("users.info")) == 2
    clock.now += 61.0
    assert await is_admin("UWSADMIN", client, settings(), cache=cache)
    assert len(slack_api.calls_to("users.info")) == 3


async def test_answers_are_cached_per_workspace(
    slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    cache = AdminCache()
    assert await is_admin("UWSADMIN", client, settings(), cache=cache, team_id="T0001")
    assert await is_admin("UWSADMIN", client, settings(), cache=cache, team_id="T0001")
    assert len(slack_api.calls_to("users.info")) == 1
    # Another workspace's answer is its own: asked again (and here with T0001's token: no).
    other = AsyncWebClient(token="xoxb-other", base_url=slack_api.base_url)
    slack_api.tokens["xoxb-other"] = "T0002"
    assert not await is_admin("UWSADMIN", other, settings(), cache=cache, team_id="T0002")
    assert len(slack_api.calls_to("users.info")) == 2
    assert cache.get(("", "T0002", "UWSADMIN")) is None  # a failure: not remembered
    assert cache.get(("", "T0001", "UWSADMIN")) is True
    assert await is_admin("UWSADMIN", client, settings(), cache=cache, team_id="T0001")
    assert len(slack_api.calls_to("users.info")) == 2


async def test_org_admins_and_owners_of_an_enterprise_grid_count(
    slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    slack_api.add_user("WORGADMIN", enterprise_user={"id": "WORGADMIN", "is_admin": True})
    slack_api.add_user("WORGOWNER", enterprise_user={"id": "WORGOWNER", "is_owner": True})
    slack_api.add_user("WMEMBER", enterprise_user={"id": "WMEMBER", "is_admin": False})
    assert await is_admin("WORGADMIN", client, settings(), enterprise_id="E1", team_id="T0001")
    assert await is_admin("WORGOWNER", client, settings(), enterprise_id="E1", team_id="T0001")
    assert not await is_admin("WMEMBER", client, settings(), enterprise_id="E1", team_id="T0001")


async def test_only_operators_may_change_the_shared_model_when_installed_by_oauth(
    slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    single = AdminGate(settings())
    assert await single.may_change_model("UWSADMIN", client, team_id="T0001")
    assert await single.may_change_model("UCONF1", client, team_id="T0001")
    many = AdminGate(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            sportbot_admins="UCONF1",
            slack_client_id="123.456",
            slack_client_secret="secret",
        )
    )
    assert not await many.may_change_model("UWSADMIN", client, team_id="T0001")
    assert not await many.may_change_model("", client, team_id="T0001")
    assert await many.may_change_model("UCONF1", client, team_id="T0001")
    # The workspace admin still switches auto-tagging in their own workspace.
    assert await many.is_admin("UWSADMIN", client, team_id="T0001")


async def test_a_failed_users_info_denies_and_is_not_remembered(
    slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    cache = AdminCache()
    slack_api.rate_limit_next("users.info", retry_after=1)
    assert not await is_admin("UWSADMIN", client, settings(), cache=cache)
    slack_api.fail_next("users.info", status=500)
    assert not await is_admin("UWSADMIN", client, settings(), cache=cache)
    assert await is_admin("UWSADMIN", client, settings(), cache=cache)
    assert len(slack_api.calls_to("users.info")) == 3


async def test_a_users_info_that_never_answers_denies_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(30)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(admin, "USERS_INFO_TIMEOUT_SECONDS", 0.2)
    client = AsyncWebClient(token=TOKEN, base_url=f"http://127.0.0.1:{port}/api/")
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        assert not await is_admin("UWSADMIN", client, settings())
    finally:
        server.close()
    assert loop.time() - started < 2.0


async def test_the_gate_holds_its_own_cache(
    slack_api: SlackAPIStandIn, client: AsyncWebClient
) -> None:
    gate = AdminGate(settings(""))
    assert await gate.is_admin("UOWNER", client)
    assert await gate.is_admin("UOWNER", client)
    assert not await gate.is_admin("UCONF1", client)
    assert len(slack_api.calls_to("users.info")) == 2
