"""Registered models made by hand for fault and security tests."""

from __future__ import annotations

import json
import shutil

from classifier.registry import ModelRegistry


def copy_model(registry: ModelRegistry, model_id: str, new_id: str) -> str:
    """Another registered model with the same file (a cheap second model for rollback tests)."""
    source = registry.model_dir(model_id)
    target = registry.model_dir(new_id)
    shutil.copytree(source, target)
    card = json.loads((target / "card.json").read_text())
    card["id"] = new_id
    card["created"] = "2026-11-25T00:00:00.000000Z"
    (target / "card.json").write_text(json.dumps(card))
    return new_id
