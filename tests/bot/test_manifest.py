"""manifest.yml (Socket Mode, one workspace) and manifest.http.yml (HTTP, many workspaces) ask
for every command, shortcut, event and scope the code uses, and no more."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"

SCOPES_OF_METHOD = {
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "reactions_add": {"reactions:write"},
    "reactions_remove": {"reactions:write"},
    "users_info": {"users:read"},
    "views_publish": set(),
    "conversations_open": {"im:write"},
    "files_upload_v2": {"files:write"},
    "auth_test": set(),
}
"""The bot scope each Web API method needs (https://api.slack.com/methods)."""

SCOPES_OF_EVENT = {
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "app_home_opened": set(),
    "app_mention": {"app_mentions:read"},
}


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def source() -> str:
    return "\n".join(path.read_text() for path in sorted(BOT.rglob("*.py")))


def string_constants(text: str) -> dict[str, str]:
    return dict(re.findall(r'^([A-Z_]+) = "([^"]*)"', text, flags=re.MULTILINE))


def registered(kind: str) -> set[str]:
    """Names given to app.<kind>(…) in the bot's code, constants resolved."""
    text = source()
    constants = string_constants(text)
    names = set()
    for argument in re.findall(rf"app\.{kind}\(([^)]*)\)", text):
        argument = argument.strip()
        names.add(argument.strip('"') if argument.startswith('"') else constants[argument])
    return names


def test_socket_mode_and_interactivity_are_on() -> None:
    settings = manifest()["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert manifest()["features"]["app_home"]["home_tab_enabled"] is True


def test_the_messages_tab_shows_the_bots_messages_and_takes_none() -> None:
    """The bot DMs retrain reports; it listens to no message.im, so people may not write there."""
    app_home = manifest()["features"]["app_home"]
    assert app_home["messages_tab_enabled"] is True
    assert app_home["messages_tab_read_only_enabled"] is True
    assert "message.im" not in manifest()["settings"]["event_subscriptions"]["bot_events"]


def test_commands_match_the_code() -> None:
    declared = {c["command"] for c in manifest()["features"]["slash_commands"]}
    assert declared == registered("command")


def test_shortcuts_match_the_code() -> None:
    declared = {s["callback_id"] for s in manifest()["features"]["shortcuts"]}
    assert all(s["type"] == "message" for s in manifest()["features"]["shortcuts"])
    assert declared == registered("shortcut")


def test_events_match_the_code() -> None:
    declared = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    wanted = set()
    for event in registered("event"):
        # A message listener hears the channels the bot is in: public and private ones.
        wanted |= {"message.channels", "message.groups"} if event == "message" else {event}
    assert declared == wanted


def test_scopes_are_exactly_what_the_code_needs() -> None:
    methods = set(re.findall(r"client\.([A-Za-z0-9_]+)\(", source()))
    unknown = methods - set(SCOPES_OF_METHOD)
    assert not unknown, f"add the scopes of {unknown} to SCOPES_OF_METHOD and the manifest"
    needed = {"commands"}
    for method in methods:
        needed |= SCOPES_OF_METHOD[method]
    for event in manifest()["settings"]["event_subscriptions"]["bot_events"]:
        needed |= SCOPES_OF_EVENT[event]
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed


def http_manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.http.yml").read_text())


REVOCATION_EVENTS = {"app_uninstalled", "tokens_revoked"}
"""Bolt's token revocation listeners (``enable_token_revocation_listeners``, OAuth mode)."""


def test_the_http_manifest_asks_for_what_manifest_yml_asks_for() -> None:
    """Commands, shortcuts, scopes and App Home are the same; events add the two that delete a
    workspace's installation when it removes the app."""
    one, many = manifest(), http_manifest()
    assert many["display_information"] == one["display_information"]
    assert many["features"]["app_home"] == one["features"]["app_home"]
    assert [c["command"] for c in many["features"]["slash_commands"]] == [
        c["command"] for c in one["features"]["slash_commands"]
    ]
    assert many["features"]["shortcuts"] == one["features"]["shortcuts"]
    assert many["oauth_config"]["scopes"] == one["oauth_config"]["scopes"]
    events = set(many["settings"]["event_subscriptions"]["bot_events"])
    assert events == set(one["settings"]["event_subscriptions"]["bot_events"]) | REVOCATION_EVENTS
    assert "enable_token_revocation_listeners()" in source()


def test_the_http_manifest_sends_everything_to_the_bots_routes() -> None:
    from bot.oauth import BOT_SCOPES, REDIRECT_PATH
    from bot.web import EVENTS_PATH

    many = http_manifest()
    settings = many["settings"]
    assert settings["socket_mode_enabled"] is False  # the Marketplace takes no Socket Mode app
    assert settings["token_rotation_enabled"] is True
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(c["url"] for c in many["features"]["slash_commands"]),
    ]
    assert all(url.startswith("https://") and url.endswith(EVENTS_PATH) for url in urls)
    [redirect] = many["oauth_config"]["redirect_urls"]
    assert redirect.startswith("https://") and redirect.endswith(REDIRECT_PATH)
    assert {urlsplit(url).netloc for url in [*urls, redirect]} == {urlsplit(redirect).netloc}
    # An install asks Slack for exactly the manifests' scopes.
    assert set(BOT_SCOPES) == set(many["oauth_config"]["scopes"]["bot"])
