"""What the registry knows about one model: its card (``card.json``), read strictly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

DataFormat = Literal["prompt_completion", "chat"]
"""What a model was trained on: prompt/completion rows, or chat ``messages`` rows."""


@dataclass
class ModelCard:
    """What the registry knows about a model (``card.json``)."""

    id: str
    created: str
    """ISO 8601, UTC."""
    provider: str
    """``"local"`` or ``"openai"``."""
    base_model: str
    labels: list[str]
    separator: str
    data_hash: str
    metrics: dict[str, float] = field(default_factory=dict)
    job_id: str | None = None
    remote_model: str | None = None
    sha256: str | None = None
    """Of ``model.skops``; set by ``ModelRegistry.register``."""
    data_format: DataFormat = "prompt_completion"
    """The rows it was trained on: ``prompt_completion`` (answers legacy completions) or ``chat``
    (``{"messages": [...]}`` rows; answers chat completions)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCard:
        """Build a card from ``card.json`` contents; keys this version does not know are ignored.

        Raises ``ValueError`` saying what is wrong when ``data`` is not a card: not an object, a
        field missing, or a field of the wrong type.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"it holds {_json_kind(data)}, not an object")
        for item in fields(cls):
            if item.name not in data:
                if item.default is MISSING and item.default_factory is MISSING:
                    raise ValueError(f"it has no {item.name!r}")
                continue
            value, wanted = data[item.name], _CARD_FIELD_TYPES[item.name]
            stray_label = isinstance(value, list) and not all(isinstance(v, str) for v in value)
            if not isinstance(value, wanted) or (item.name == "labels" and stray_label):
                raise ValueError(f"its {item.name!r} is {_json_kind(value)}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


_CARD_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "created": str,
    "provider": str,
    "base_model": str,
    "labels": list,
    "separator": str,
    "data_hash": str,
    "metrics": dict,
    "job_id": (str, type(None)),
    "remote_model": (str, type(None)),
    "sha256": (str, type(None)),
    "data_format": str,
}
"""What each field of ``card.json`` may hold (``labels``: strings)."""


def _json_kind(value: object) -> str:
    """What a JSON value is, in words: ``an array``, ``a number``, ``null``…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    kinds = {
        dict: "an object",
        list: "an array",
        str: "a string",
        int: "a number",
        float: "a number",
    }
    return kinds.get(type(value), type(value).__name__)


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC, e.g. ``2026-11-25T16:05:01.123456Z`` (microseconds, so
    models registered within one second still sort in order)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
