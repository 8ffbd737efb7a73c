"""``sportbot models list|promote ID|rollback``: the model registry."""

from __future__ import annotations

import argparse

from classifier.loader import default_home
from classifier.registry import ModelRegistry


def run(args: argparse.Namespace) -> int:
    registry = ModelRegistry(default_home())
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
    print(f"  {'id':<44} {'created':<25} {'provider':<8} {'accuracy':>8}  job")
    for card in cards:
        mark = "*" if card.id == current else " "
        accuracy = card.metrics.get("accuracy")
        shown = f"{accuracy:.4f}" if isinstance(accuracy, float) else "-"
        print(
            f"{mark} {card.id:<44} {card.created!s:<25} {card.provider:<8} {shown:>8}  {card.job_id or '-'}"
        )
    return 0
