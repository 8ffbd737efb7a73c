"""``sportbot fine-tune``: run a fine-tune job, stream its events to stderr, print the model id."""

from __future__ import annotations

import argparse
import importlib
import sys
from datetime import datetime
from types import ModuleType
from typing import TextIO

from tqdm import tqdm

from bot.settings import ClassifierSettings, read_settings
from classifier.errors import SportbotError
from training.jobs import JobEvent


class EventPrinter:
    """Prints job events as ``[2026-11-25 16:05:01] Completed epoch 1/4`` lines and drives a
    progress bar from the per-step metrics events (the bar shows only on a terminal)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar: tqdm | None = None

    def __call__(self, event: JobEvent) -> None:
        data = event.data or {}
        if event.type == "metrics":
            if "total_steps" in data:
                if self.bar is None:
                    self.bar = tqdm(
                        total=int(data["total_steps"]),
                        file=self.stream,
                        unit="step",
                        desc="fine-tune",
                        leave=False,
                        disable=None,
                    )
                self.bar.update(int(data["step"]) - self.bar.n)
                self.bar.set_postfix(loss=f"{data.get('train_loss', 0.0):.3f}", refresh=False)
            return
        when = datetime.fromtimestamp(event.created_at).strftime("%Y-%m-%d %H:%M:%S")
        line = f"[{when}] {event.message}"
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)
        if event.message.startswith(
            ("Fine-tune succeeded", "Fine-tune failed", "Fine-tune cancel")
        ):
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def provider_module(name: str) -> ModuleType:
    """The fine-tune provider ``name`` (``local`` or ``openai``), imported only when asked for."""
    if name == "local":
        return importlib.import_module("training.local_provider")
    try:
        return importlib.import_module(f"training.{name}_provider")
    except ModuleNotFoundError as error:
        if error.name == f"training.{name}_provider":
            raise SportbotError(
                f"The {name} fine-tune provider is not available in this installation; "
                "use --provider local."
            ) from None
        raise


def run(args: argparse.Namespace) -> int:
    if args.classification_positive_class is not None and not args.compute_classification_metrics:
        raise SportbotError(
            "--classification-positive-class only applies with --compute-classification-metrics "
            "(the positive class is for the classification metrics); add that option or drop it."
        )
    provider = provider_module(args.provider)
    settings = read_settings(ClassifierSettings)
    extra = {"openai_config": settings.openai_config()} if args.provider == "openai" else {}
    printer = EventPrinter()
    try:
        job = provider.fine_tune(
            settings.sportbot_home,
            args.training_file,
            args.validation_file,
            model=args.model,
            n_epochs=args.n_epochs,
            compute_classification_metrics=args.compute_classification_metrics,
            classification_positive_class=args.classification_positive_class,
            suffix=args.suffix,
            on_event=printer,
            **extra,
        )
    finally:
        printer.close()
    print(f"job: {job.id}")
    print(f"fine_tuned_model: {job.fine_tuned_model}")
    return 0
