"""Settings from the environment (and ``.env`` when present), read once at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from classifier.errors import SportbotError
from classifier.loader import default_home
from classifier.prediction import DEFAULT_TAG_THRESHOLD

SLACK_APPS_URL = "https://api.slack.com/apps"

WHERE_TO_FIND = {
    "SLACK_BOT_TOKEN": f"find it under OAuth & Permissions at {SLACK_APPS_URL}",
    "SLACK_SIGNING_SECRET": f"find it under Basic Information > App Credentials at {SLACK_APPS_URL}",
    "SLACK_APP_TOKEN": (
        f"create an app-level token with the connections:write scope under Basic Information "
        f"at {SLACK_APPS_URL}"
    ),
    "SLACK_API_URL": "it is the Web API base URL ending in /api/, e.g. https://slack.com/api/",
    "PORT": "give a TCP port number, e.g. 3000",
    "SPORTBOT_ADMINS": "give Slack user ids separated by commas, e.g. U0123ABC,U0456DEF",
    "SPORTBOT_TAG_THRESHOLD": "give a number between 0 and 1, e.g. 0.8",
    "SPORTBOT_BACKEND": "give local or openai",
    "SPORTBOT_OPENAI_TIMEOUT": "give a number of seconds, e.g. 10",
    "SPORTBOT_OPENAI_MAX_RETRIES": "give a whole number of at least 0, e.g. 2",
    "SPORTBOT_OPENAI_FALLBACK": "give local, or leave it empty for no fallback",
    "DATABASE_URL": "give an SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host/sportbot",
}


class SettingsError(SportbotError):
    """A setting is missing or malformed."""


AnySettings = TypeVar("AnySettings", bound="ServeSettings")


class ServeSettings(BaseSettings):
    """The settings ``sportbot serve`` reads, and only those: a malformed setting it does not use
    (``PORT``, say) does not stop it."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    sportbot_home: Path = Field(default_factory=default_home)
    sportbot_api_key: SecretStr | None = None

    @field_validator("sportbot_home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()


class Settings(ServeSettings):
    """Every setting of DESIGN.md's Configuration section (plus the OpenAI backend's timeout,
    retries and fallback); field names are the variables' names."""

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    port: int = Field(default=3000, ge=1, le=65535)
    sportbot_admins: Annotated[frozenset[str], NoDecode] = frozenset()
    sportbot_tag_threshold: float = Field(default=DEFAULT_TAG_THRESHOLD, ge=0.0, le=1.0)
    sportbot_backend: Literal["local", "openai"] = "local"
    sportbot_model: str | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    sportbot_openai_timeout: float = Field(default=10.0, ge=0.0)
    sportbot_openai_max_retries: int = Field(default=2, ge=0)
    sportbot_openai_fallback: Literal["local"] | None = None
    database_url: str | None = None

    @field_validator("sportbot_admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    @field_validator(
        "sportbot_model",
        "database_url",
        "openai_base_url",
        "sportbot_openai_fallback",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def socket_mode(self) -> bool:
        """Socket Mode when an app-level token is set, HTTP otherwise."""
        return self.slack_app_token is not None

    def sqlalchemy_url(self) -> str:
        """``DATABASE_URL``, or an SQLite file under ``SPORTBOT_HOME``."""
        return self.database_url or f"sqlite:///{self.sportbot_home / 'sportbot.db'}"

    def require_slack(self) -> None:
        """Stop with one line naming the first Slack setting ``sportbot run`` lacks."""
        _require_token(self.slack_bot_token, "SLACK_BOT_TOKEN", "xoxb-")
        if self.socket_mode:
            _require_token(self.slack_app_token, "SLACK_APP_TOKEN", "xapp-")
        else:
            _require_token(self.slack_signing_secret, "SLACK_SIGNING_SECRET", "")


def load_settings(env_file: Path | str | None = ".env") -> Settings:
    """Read the settings; a malformed one raises ``SettingsError`` with one line naming it."""
    return _read_settings(Settings, env_file)


def load_serve_settings(env_file: Path | str | None = ".env") -> ServeSettings:
    """Read the settings of ``sportbot serve`` only, as ``load_settings`` reads them all."""
    return _read_settings(ServeSettings, env_file)


def _read_settings(kind: type[AnySettings], env_file: Path | str | None) -> AnySettings:
    try:
        return kind(_env_file=env_file)  # type: ignore[call-arg]
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
