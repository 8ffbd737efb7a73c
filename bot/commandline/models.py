"""``sportbot models list|promote ID|rollback``: the model registry."""

from __future__ import annotations

import argparse

from bot.settings import HomeSettings, read_settings
from classifier.registry import ModelRegistry


def run(args: argparse.Namespace) -> int:
    registry = ModelRegistry(read_settings(HomeSettings).sportbot_home)
    if args.models_command == "promote":
        registry.promote(args.model_id)
        print(f"current: {args.model_id}")
        return 0
    if args.models_command == "rollback":
        print(f"current: {registry.rollback()}")
        return 0
    cards = registry.list_models()
    if not cards:
        print("No models yet: run `sportbot train` or `sportbot fine-tune`.")
        return 0
    current = registry.current_id()
    rows = [("id", "created", "provider", "accuracy", "job")]
    for card in cards:
        accuracy = card.metrics.get("accuracy")
        shown = f"{accuracy:.4f}" if isinstance(accuracy, float) else "-"
        rows.append((card.id, card.created, card.provider, shown, card.job_id or "-"))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for index, (model_id, created, provider, shown, job) in enumerate(rows):
        mark = "*" if index and model_id == current else " "
        print(
            f"{mark} {model_id:<{widths[0]}}  {created:<{widths[1]}}  {provider:<{widths[2]}}  "
            f"{shown:>{widths[3]}}  {job}"
        )
    return 0
