"""``sportbot fine-tune``: run a fine-tune job, stream its events to stderr, print the model id."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from bot.settings import ClassifierSettings, read_settings
from classifier.errors import SportbotError
from training.finetune.events import JobEvent


class EventPrinter:
    """Prints job events as ``[2026-11-25 16:05:01] Completed epoch 1/4`` lines and drives a
    progress bar from the per-step metrics events (the bar shows only on a terminal)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar: tqdm | None = None

    def __call__(self, event: JobEvent) -> None:
        if event.type == "metrics":
            step, total = event.step, event.total_steps
            if step is not None and total is not None:
                if self.bar is None:
                    self.bar = tqdm(
                        total=total,
                        file=self.stream,
                        unit="step",
                        desc="fine-tune",
                        leave=False,
                        disable=None,
                    )
                self.bar.update(step - self.bar.n)
                loss = (event.data or {}).get("train_loss", 0.0)
                self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            return
        when = datetime.fromtimestamp(event.created_at).strftime("%Y-%m-%d %H:%M:%S")
        line = f"[{when}] {event.message}"
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)
        if event.is_final_status:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run(args: argparse.Namespace) -> int:
    if args.classification_positive_class is not None and not args.compute_classification_metrics:
        raise SportbotError(
            "--classification-positive-class only applies with --compute-classification-metrics "
            "(the positive class is for the classification metrics); add that option or drop it."
        )
    if args.classification_n_classes is not None and not args.compute_classification_metrics:
        raise SportbotError(
            "--classification-n-classes only applies with --compute-classification-metrics "
            "(the number of classes is for the classification metrics); add that option or "
            "drop it."
        )
    from training.finetune.lifecycle import fine_tune
    from training.finetune.providers import provider_named
    from training.finetune.request import FineTuneRequest

    settings = read_settings(ClassifierSettings)
    openai_config = settings.openai_config() if args.provider == "openai" else None
    provider = provider_named(args.provider, openai_config=openai_config)
    request = FineTuneRequest(
        Path(args.training_file),
        Path(args.validation_file) if args.validation_file else None,
        model=args.model,
        n_epochs=args.n_epochs,
        compute_classification_metrics=args.compute_classification_metrics,
        classification_positive_class=args.classification_positive_class,
        classification_n_classes=args.classification_n_classes,
        suffix=args.suffix,
    )
    printer = EventPrinter()
    try:
        job = fine_tune(settings.sportbot_home, request, provider, on_event=printer)
    finally:
        printer.close()
    print(f"job: {job.id}")
    print(f"fine_tuned_model: {job.fine_tuned_model}")
    return 0
