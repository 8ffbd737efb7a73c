"""Settings from the environment (and ``.env`` when present), read once at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from classifier.config import DEFAULT_HOME, ClassifierConfig, OpenAIConfig
from classifier.errors import SportbotError
from classifier.prediction import DEFAULT_TAG_THRESHOLD

SLACK_APPS_URL = "https://api.slack.com/apps"

WHERE_TO_FIND = {
    "SLACK_BOT_TOKEN": f"find it under OAuth & Permissions at {SLACK_APPS_URL}",
    "SLACK_SIGNING_SECRET": f"find it under Basic Information > App Credentials at {SLACK_APPS_URL}",
    "SLACK_APP_TOKEN": (
        f"create an app-level token with the connections:write scope under Basic Information "
        f"at {SLACK_APPS_URL}"
    ),
    "SLACK_CLIENT_ID": f"find it under Basic Information > App Credentials at {SLACK_APPS_URL}",
    "SLACK_CLIENT_SECRET": (
        f"find it under Basic Information > App Credentials at {SLACK_APPS_URL}"
    ),
    "SLACK_REDIRECT_URI": (
        "give the https URL of /slack/oauth_redirect listed under OAuth & Permissions > "
        "Redirect URLs, or leave it empty"
    ),
    "SLACK_API_URL": "it is the Web API base URL ending in /api/, e.g. https://slack.com/api/",
    "PORT": "give a TCP port number, e.g. 3000",
    "SPORTBOT_HOST": "give the address to listen on, e.g. 0.0.0.0 or 127.0.0.1",
    "SPORTBOT_METRICS_PORT": "give a TCP port number for /metrics, e.g. 9100, or leave it empty",
    "SPORTBOT_TAG_CALLS_PER_MINUTE": (
        "give the reactions.add calls a minute per workspace, e.g. 48 (under Slack's Tier 3, 50)"
    ),
    "SPORTBOT_ADMINS": "give Slack user ids separated by commas, e.g. U0123ABC,U0456DEF",
    "SPORTBOT_TAG_THRESHOLD": "give a number between 0 and 1, e.g. 0.8",
    "SPORTBOT_BACKEND": "give local or openai",
    "SPORTBOT_OPENAI_TIMEOUT": "give a number of seconds, e.g. 10",
    "SPORTBOT_OPENAI_MAX_RETRIES": "give a whole number of at least 0, e.g. 2",
    "SPORTBOT_OPENAI_FALLBACK": "give local, or leave it empty for no fallback",
    "DATABASE_URL": "give an SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host/sportbot",
}


MIN_SECRET_LENGTH = 16
"""The shortest ``SLACK_SIGNING_SECRET`` accepted (Slack's are 32 hex characters): a short one
is a placeholder or a typo, and one an attacker could guess."""


class SettingsError(SportbotError):
    """A setting is missing or malformed."""


AnySettings = TypeVar("AnySettings", bound="HomeSettings")


class HomeSettings(BaseSettings):
    """``SPORTBOT_HOME`` alone: what ``models`` and ``results`` read. Each command reads the
    settings it uses and only those, so that a malformed setting it does not use (``PORT``, say)
    does not stop it."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    sportbot_home: Path = DEFAULT_HOME

    @field_validator("sportbot_home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()


class ServeSettings(HomeSettings):
    """What ``sportbot serve`` reads."""

    sportbot_api_key: SecretStr | None = None


class ClassifierSettings(HomeSettings):
    """What the commands that classify or fine-tune read (``classify``, ``evaluate``,
    ``fine-tune``, ``train``): the model, its backend, the tag threshold, the OpenAI endpoint."""

    sportbot_tag_threshold: float = Field(default=DEFAULT_TAG_THRESHOLD, ge=0.0, le=1.0)
    sportbot_backend: Literal["local", "openai"] = "local"
    sportbot_model: str | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    sportbot_openai_timeout: float = Field(default=10.0, ge=0.0)
    sportbot_openai_max_retries: int = Field(default=2, ge=0)
    sportbot_openai_fallback: Literal["local"] | None = None

    @field_validator("sportbot_model", "openai_base_url", "sportbot_openai_fallback", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def openai_config(self) -> OpenAIConfig:
        """The OpenAI-compatible endpoint these settings name."""
        key = self.openai_api_key.get_secret_value().strip() if self.openai_api_key else ""
        return OpenAIConfig(
            api_key=key or None,
            base_url=self.openai_base_url,
            timeout=self.sportbot_openai_timeout,
            max_retries=self.sportbot_openai_max_retries,
        )

    def classifier_config(self) -> ClassifierConfig:
        """What ``classifier.load_classifier`` is given."""
        return ClassifierConfig(
            home=self.sportbot_home,
            backend=self.sportbot_backend,
            model=self.sportbot_model,
            threshold=self.sportbot_tag_threshold,
            openai=self.openai_config(),
            fallback=self.sportbot_openai_fallback,
        )


class Settings(ClassifierSettings, ServeSettings):
    """Every setting of DESIGN.md's Configuration section (plus the OpenAI backend's timeout,
    retries and fallback, the metrics port and the tags' pace); field names are the variables'
    names."""

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_redirect_uri: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    port: int = Field(default=3000, ge=1, le=65535)
    sportbot_host: str = "0.0.0.0"
    """The address HTTP mode listens on: all interfaces, for Slack to reach it directly; a
    loopback or private one behind a proxy or load balancer."""
    sportbot_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    sportbot_tag_calls_per_minute: float = Field(default=48.0, gt=0)
    """A little under Slack's Tier 3 (``reactions.add``, ``reactions.remove``: 50), so that the
    network's jitter never makes Slack count more; ``bot.tagging`` paces at it."""
    sportbot_admins: Annotated[frozenset[str], NoDecode] = frozenset()
    database_url: str | None = None

    @field_validator("sportbot_admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("sportbot_host")
    @classmethod
    def _host(cls, value: str) -> str:
        host = value.strip()
        if not host or not host.isascii() or any(ch.isspace() or ch in "/[]" for ch in host):
            raise ValueError("must be an IP address or a host name")
        return host

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https://")
        return value

    @field_validator(
        "database_url",
        "slack_client_id",
        "slack_redirect_uri",
        "slack_client_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def oauth(self) -> bool:
        """Installed in many workspaces through Slack's OAuth flow: a client id or secret is set
        (``require_slack`` asks for both). Tokens then come from the installations, not from
        ``SLACK_BOT_TOKEN``."""
        return self.slack_client_id is not None or self.slack_client_secret is not None

    @property
    def socket_mode(self) -> bool:
        """Socket Mode when an app-level token is set, HTTP otherwise."""
        return self.slack_app_token is not None

    def sqlalchemy_url(self) -> str:
        """``DATABASE_URL``, or an SQLite file under ``SPORTBOT_HOME``."""
        return self.database_url or f"sqlite:///{self.sportbot_home / 'sportbot.db'}"

    def require_slack(self) -> None:
        """Stop with one line naming the first Slack setting ``sportbot run`` lacks."""
        if self.oauth:
            self._require_oauth()
        else:
            _require_token(self.slack_bot_token, "SLACK_BOT_TOKEN", "xoxb-")
        if self.socket_mode:
            _require_token(self.slack_app_token, "SLACK_APP_TOKEN", "xapp-")
        else:
            _require_token(self.slack_signing_secret, "SLACK_SIGNING_SECRET", "")
            _require_length(self.slack_signing_secret, "SLACK_SIGNING_SECRET", MIN_SECRET_LENGTH)

    def _require_oauth(self) -> None:
        if self.slack_client_id is None:
            raise SettingsError(f"SLACK_CLIENT_ID is not set: {WHERE_TO_FIND['SLACK_CLIENT_ID']}")
        _require_token(self.slack_client_secret, "SLACK_CLIENT_SECRET", "")
        if self.socket_mode:
            raise SettingsError(
                "SLACK_APP_TOKEN is set with SLACK_CLIENT_ID: Socket Mode serves one workspace; "
                "leave SLACK_APP_TOKEN empty to install the app in many over HTTP"
            )
        if self.slack_bot_token is not None:
            raise SettingsError(
                "SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID: installed in many workspaces, the "
                "bot takes each one's token from its installation; leave SLACK_BOT_TOKEN empty"
            )


def load_settings(env_file: Path | str | None = ".env") -> Settings:
    """Read every setting; a malformed one raises ``SettingsError`` with one line naming it."""
    return read_settings(Settings, env_file)


def read_settings(kind: type[AnySettings], env_file: Path | str | None = ".env") -> AnySettings:
    """Read the settings of ``kind`` (``HomeSettings``, ``ClassifierSettings``,
    ``ServeSettings`` or ``Settings``) from the environment and ``env_file``; a malformed one
    raises ``SettingsError`` with one line naming it."""
    try:
        return kind(_env_file=env_file)
    except UnicodeDecodeError as error:
        raise SettingsError(
            f"cannot read {env_file}: it is not UTF-8 text ({error.reason})"
        ) from None
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        reason = first["msg"].removeprefix("Value error, ")
        hint = WHERE_TO_FIND.get(name)
        line = f"{name} is malformed ({reason})"
        raise SettingsError(f"{line}: {hint}" if hint else line) from None


def _require_token(value: SecretStr | None, name: str, prefix: str) -> None:
    secret = value.get_secret_value().strip() if value is not None else ""
    if not secret:
        raise SettingsError(f"{name} is not set: {WHERE_TO_FIND[name]}")
    if prefix and not secret.startswith(prefix):
        raise SettingsError(f"{name} should start with {prefix}: {WHERE_TO_FIND[name]}")


def _require_length(value: SecretStr | None, name: str, shortest: int) -> None:
    secret = value.get_secret_value().strip() if value is not None else ""
    if len(secret) < shortest:
        raise SettingsError(
            f"{name} is too short ({len(secret)} characters, at least {shortest}; Slack's are "
            f"32): {WHERE_TO_FIND[name]}"
        )
