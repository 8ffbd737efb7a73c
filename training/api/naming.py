"""Fine-tuned model names in OpenAI's forms, each one also a registry id.

- today's API: ``ft:<base>:<org>:<suffix>:<id>`` (``ft:babbage-002:sportbot::7p4lurel``), the
  suffix empty when none was given, the id 8 random lowercase letters and digits;
- the legacy API: ``<base>:ft-<org>-<UTC time>`` or ``<base>:ft-<org>:<suffix>-<UTC time>``
  (``ada:ft-sportbot-2026-11-25-16-05-01``), as OpenAI named them;
- a checkpoint: its model's name and ``:ckpt-step-<step>``.

Every part is lowercased and reduced to letters, digits and ``.``/``_``/``-`` (the legacy suffix
to letters, digits and dashes, as OpenAI did), so a name is always a registry id
(``classifier.registry``), whatever base model or suffix a client sends.
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import UTC, datetime, timedelta

from classifier.registry import ModelRegistry

ORG = "sportbot"
"""The organisation part of the names (and ``owned_by`` of the models)."""
CHECKPOINT_MARK = ":ckpt-step-"
MAX_BASE_CHARS = 40
MAX_SUFFIX_CHARS = 64
_ALPHABET = string.ascii_lowercase + string.digits
_CHECKPOINT_RE = re.compile(r"^(?P<model>.+):ckpt-step-(?P<step>[1-9][0-9]{0,9})$")


def base_of(model: str) -> str:
    """The base model a name comes from: ``ft:babbage-002:o:s:id`` -> ``babbage-002``,
    ``ada:ft-o-2021-…`` -> ``ada``; any other name is its own base."""
    if model.startswith("ft:") and model.count(":") >= 2:
        return model.split(":")[1]
    head, colon, rest = model.partition(":")
    return head if colon and rest.startswith("ft-") else model


def openai_model_id(registry: ModelRegistry, base_model: str, suffix: str | None) -> str:
    """A fresh ``ft:<base>:sportbot:<suffix>:<id>`` that no registered model has."""
    base = _slug(base_of(base_model), MAX_BASE_CHARS) or "model"
    tail = _slug(suffix or "", MAX_SUFFIX_CHARS)
    while True:
        unique = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        model_id = f"ft:{base}:{ORG}:{tail}:{unique}"
        if not registry.model_dir(model_id).exists():
            return model_id


def legacy_model_id(
    registry: ModelRegistry, base_model: str, suffix: str | None, now: datetime | None = None
) -> str:
    """A fresh ``<base>:ft-sportbot[:<suffix>]-<UTC time>``; a second later when that one is
    taken (two jobs named in the same second)."""
    base = _slug(base_of(base_model), MAX_BASE_CHARS) or "model"
    tail = re.sub(r"[^a-z0-9]+", "-", (suffix or "").lower()).strip("-")[:40].strip("-")
    when = now or datetime.now(UTC)
    while True:
        stamp = when.strftime("%Y-%m-%d-%H-%M-%S")
        model_id = f"{base}:ft-{ORG}:{tail}-{stamp}" if tail else f"{base}:ft-{ORG}-{stamp}"
        if not registry.model_dir(model_id).exists():
            return model_id
        when += timedelta(seconds=1)


def checkpoint_model_id(model_id: str, step: int) -> str:
    return f"{model_id}{CHECKPOINT_MARK}{step}"


def parse_checkpoint(name: str) -> tuple[str, int] | None:
    """``(model id, step)`` of a checkpoint's name; None for any other name."""
    match = _CHECKPOINT_RE.match(name)
    return (match["model"], int(match["step"])) if match else None


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")[:limit].strip("-._")
