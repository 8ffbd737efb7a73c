"""Settings: every variable read, `.env` honoured, one clear line for a missing or bad setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import ClassifierSettings, Settings, SettingsError, load_settings, read_settings
from bot.tagging.pacer import TAG_CALLS_PER_MINUTE, TIER_3_PER_MINUTE
from classifier.config import ClassifierConfig, OpenAIConfig

ALL_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_REDIRECT_URI",
    "SLACK_API_URL",
    "PORT",
    "SPORTBOT_HOST",
    "SPORTBOT_METRICS_PORT",
    "SPORTBOT_TAG_CALLS_PER_MINUTE",
    "SPORTBOT_HOME",
    "SPORTBOT_ADMINS",
    "SPORTBOT_TAG_THRESHOLD",
    "SPORTBOT_BACKEND",
    "SPORTBOT_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SPORTBOT_OPENAI_TIMEOUT",
    "SPORTBOT_OPENAI_MAX_RETRIES",
    "SPORTBOT_OPENAI_FALLBACK",
    "DATABASE_URL",
    "SPORTBOT_API_KEY",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_every_configuration_variable_is_a_setting() -> None:
    assert {name.lower() for name in ALL_VARIABLES} == set(Settings.model_fields)


def test_dot_env_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nPORT=4000\nSPORTBOT_ADMINS=U1, U2,,\n"
        "SLACK_API_URL=http://127.0.0.1:9000/api\nSPORTBOT_HOME=\n"
    )
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-file"
    assert settings.port == 5000
    assert settings.sportbot_admins == frozenset({"U1", "U2"})
    assert settings.slack_api_url == "http://127.0.0.1:9000/api/"
    # An empty value (as .env.example has) means "use the default", not "the current folder".
    assert settings.sportbot_home.is_absolute()


def test_metrics_port_and_tag_pace_default_to_none_and_a_little_under_tier_3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings(None)
    assert settings.sportbot_metrics_port is None
    assert settings.sportbot_tag_calls_per_minute == TAG_CALLS_PER_MINUTE == 48.0
    assert TAG_CALLS_PER_MINUTE < TIER_3_PER_MINUTE
    monkeypatch.setenv("SPORTBOT_METRICS_PORT", "9100")
    monkeypatch.setenv("SPORTBOT_TAG_CALLS_PER_MINUTE", "25")
    settings = load_settings(None)
    assert (settings.sportbot_metrics_port, settings.sportbot_tag_calls_per_minute) == (9100, 25.0)


def test_sqlite_under_home_unless_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPORTBOT_HOME", str(tmp_path / "home"))
    settings = load_settings(None)
    assert settings.sqlalchemy_url() == f"sqlite:///{tmp_path / 'home' / 'sportbot.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@db/sportbot")
    assert load_settings(None).sqlalchemy_url() == "postgresql+psycopg://u:p@db/sportbot"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PORT", "eighty", "PORT is malformed"),
        ("PORT", "70000", "PORT is malformed"),
        ("SPORTBOT_TAG_THRESHOLD", "1.5", "SPORTBOT_TAG_THRESHOLD is malformed"),
        ("SPORTBOT_BACKEND", "bert", "SPORTBOT_BACKEND is malformed"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL is malformed"),
        ("SLACK_REDIRECT_URI", "sportbot.example.com", "SLACK_REDIRECT_URI is malformed"),
        ("SPORTBOT_OPENAI_MAX_RETRIES", "-1", "SPORTBOT_OPENAI_MAX_RETRIES is malformed"),
        ("SPORTBOT_OPENAI_FALLBACK", "cloud", "SPORTBOT_OPENAI_FALLBACK is malformed"),
        ("SPORTBOT_METRICS_PORT", "0", "SPORTBOT_METRICS_PORT is malformed"),
        ("SPORTBOT_TAG_CALLS_PER_MINUTE", "0", "SPORTBOT_TAG_CALLS_PER_MINUTE is malformed"),
        ("SPORTBOT_HOST", "local host", "SPORTBOT_HOST is malformed"),
        ("SPORTBOT_HOST", "http://0.0.0.0/", "SPORTBOT_HOST is malformed"),
    ],
)
def test_a_malformed_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(None)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_missing_bot_token_says_which_and_where(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    with pytest.raises(SettingsError) as caught:
        load_settings(None).require_slack()
    assert str(caught.value) == (
        "SLACK_BOT_TOKEN is not set: find it under OAuth & Permissions at "
        "https://api.slack.com/apps"
    )


def test_http_mode_needs_the_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    settings = load_settings(None)
    assert not settings.socket_mode
    with pytest.raises(SettingsError, match=r"^SLACK_SIGNING_SECRET is not set: .*App Credentials"):
        settings.require_slack()


@pytest.mark.parametrize("secret", ["s", "secret", "0123456789abcde", "  0123456789abcde  "])
def test_a_short_signing_secret_stops_http_mode(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", secret)
    with pytest.raises(SettingsError) as caught:
        load_settings(None).require_slack()
    message = str(caught.value)
    assert message.startswith(
        f"SLACK_SIGNING_SECRET is too short ({len(secret.strip())} characters, at least 16"
    )
    assert "App Credentials" in message and "\n" not in message
    if len(secret.strip()) > 8:  # long enough not to occur in the message's own words
        assert secret.strip() not in message  # the secret is never echoed


def test_a_signing_secret_of_16_characters_or_slacks_32_is_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    for secret in ("0123456789abcdef", "8f742231b10e8888abcd99yyyzzz85a5"):
        monkeypatch.setenv("SLACK_SIGNING_SECRET", secret)
        load_settings(None).require_slack()


def test_http_mode_listens_on_all_interfaces_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(None).sportbot_host == "0.0.0.0"
    monkeypatch.setenv("SPORTBOT_HOST", " 127.0.0.1 ")
    assert load_settings(None).sportbot_host == "127.0.0.1"
    monkeypatch.setenv("SPORTBOT_HOST", "::1")
    assert load_settings(None).sportbot_host == "::1"


def test_socket_mode_needs_an_app_token_not_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xoxb-wrong-kind")
    settings = load_settings(None)
    assert settings.socket_mode
    with pytest.raises(SettingsError, match=r"^SLACK_APP_TOKEN should start with xapp-"):
        settings.require_slack()
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A1-2-abc")
    load_settings(None).require_slack()


SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
"""As long as Slack's (32 characters)."""


def test_a_client_id_and_secret_install_the_app_in_many_workspaces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_CLIENT_ID", "1111.2222")
    settings = load_settings(None)
    assert settings.oauth
    with pytest.raises(SettingsError, match=r"^SLACK_CLIENT_SECRET is not set: .*App Credentials"):
        settings.require_slack()
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    load_settings(None).require_slack()  # no SLACK_BOT_TOKEN needed: installations have them
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(SettingsError, match=r"^SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID"):
        load_settings(None).require_slack()
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A1-2-abc")
    with pytest.raises(
        SettingsError, match=r"^SLACK_APP_TOKEN is set with SLACK_CLIENT_ID: Socket"
    ):
        load_settings(None).require_slack()
    monkeypatch.delenv("SLACK_APP_TOKEN")
    monkeypatch.delenv("SLACK_CLIENT_ID")
    with pytest.raises(SettingsError, match=r"^SLACK_CLIENT_ID is not set"):
        load_settings(None).require_slack()


def test_one_workspace_without_a_client_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_CLIENT_ID", "  ")
    settings = load_settings(None)
    assert not settings.oauth
    settings.require_slack()


def test_tokens_never_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-very-secret")
    text = repr(load_settings(None))
    assert "very-secret" not in text


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])
    }
    assert documented == set(ALL_VARIABLES)


def test_the_classifier_settings_become_its_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {
        "SPORTBOT_HOME": str(tmp_path / "home"),
        "SPORTBOT_BACKEND": "openai",
        "SPORTBOT_MODEL": "ft:babbage-002:acme::x1",
        "SPORTBOT_TAG_THRESHOLD": "0.65",
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1",
        "SPORTBOT_OPENAI_TIMEOUT": "0.5",
        "SPORTBOT_OPENAI_MAX_RETRIES": "0",
        "SPORTBOT_OPENAI_FALLBACK": "local",
        "PORT": "not a port",  # not a setting of these commands: it does not stop them
    }.items():
        monkeypatch.setenv(name, value)
    assert read_settings(ClassifierSettings, None).classifier_config() == ClassifierConfig(
        home=tmp_path / "home",
        backend="openai",
        model="ft:babbage-002:acme::x1",
        threshold=0.65,
        openai=OpenAIConfig("sk-test", "http://127.0.0.1:8000/v1", 0.5, 0),
        fallback="local",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SPORTBOT_TAG_THRESHOLD", "high"),
        ("SPORTBOT_TAG_THRESHOLD", "1.5"),
        ("SPORTBOT_BACKEND", "carrier-pigeon"),
        ("SPORTBOT_OPENAI_TIMEOUT", "soon"),
        ("SPORTBOT_OPENAI_MAX_RETRIES", "-1"),
        ("SPORTBOT_OPENAI_FALLBACK", "sometimes"),
    ],
)
def test_a_malformed_classifier_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=rf"^{name} is malformed"):
        read_settings(ClassifierSettings, None)


def test_env_example_documents_every_setting() -> None:
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    names = {
        line.split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert names == set(ALL_VARIABLES)
    for line in example.splitlines():
        if line.startswith(
            (
                "SLACK_BOT_TOKEN",
                "SLACK_SIGNING_SECRET",
                "SLACK_APP_TOKEN",
                "SLACK_CLIENT_SECRET",
                "OPENAI_API_KEY",
            )
        ):
            assert line.endswith("="), f"a secret has a value in .env.example: {line.split('=')[0]}"
