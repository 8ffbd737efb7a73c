"""What a classifier is built from: typed settings, handed in by whoever read them.

Nothing in ``classifier`` reads the environment: ``bot.settings`` reads it once, at the edge (a
``sportbot`` command), and passes these objects down; a library user builds them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from classifier.prediction import DEFAULT_TAG_THRESHOLD

DEFAULT_HOME = Path("~/.sportbot")
"""Where models, jobs and the bot's database live unless ``SPORTBOT_HOME`` says otherwise."""

BackendKind = Literal["local", "openai"]


@dataclass(frozen=True)
class OpenAIConfig:
    """An OpenAI-compatible endpoint: OpenAI, vLLM, or ``sportbot serve``."""

    api_key: str | None = None
    base_url: str | None = None
    """None: OpenAI's own."""
    timeout: float = 10.0
    """Seconds per attempt."""
    max_retries: int = 2


@dataclass(frozen=True)
class ClassifierConfig:
    """Which model answers, through which backend, and when its answer becomes a tag."""

    home: Path = DEFAULT_HOME
    backend: BackendKind = "local"
    model: str | None = None
    """``openai``: the remote model's name; ``local``: a model id pinned instead of ``current``."""
    threshold: float = DEFAULT_TAG_THRESHOLD
    openai: OpenAIConfig = field(default_factory=OpenAIConfig)
    fallback: Literal["local"] | None = None
    """``local``: the registry's current model answers when the OpenAI backend fails."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser())
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"the tag threshold must be between 0 and 1, got {self.threshold}")
