"""``sportbot train``: the notebook end to end, with progress on stderr and the outcome on stdout."""

from __future__ import annotations

import argparse

from bot.commandline.fine_tune import EventPrinter
from bot.settings import ClassifierSettings, read_settings
from classifier.loader import load_classifier

NOTEBOOK_TWEETS = (
    (
        "hockey",
        "Thank you to the @Canes and all you amazing Caniacs that have been so supportive! You "
        "guys are some of the best fans in the NHL without a doubt! Really excited to start this "
        "new chapter in my career with the @DetroitRedWings !!",
    ),
    (
        "baseball",
        "BREAKING: The Tampa Bay Rays are finalizing a deal to acquire slugger Nelson Cruz from "
        "the Minnesota Twins, sources tell ESPN.",
    ),
)
"""The notebook's two tweets, with the sport each is about."""

METRICS = ("accuracy", "precision", "recall", "f1", "auroc", "auprc")


def run(args: argparse.Namespace) -> int:
    from training.pipeline import run_training

    config = read_settings(ClassifierSettings).classifier_config()
    home = config.home
    printer = EventPrinter()
    try:
        report = run_training(home, on_event=printer)
    finally:
        printer.close()
    print(f"job: {report.job_id}")
    print(f"model: {report.model_id}")
    print(_metrics_line("validation file", report.validation_metrics))
    print(_metrics_line("20 Newsgroups test split (held out)", report.test_metrics))
    if report.previous_model_id and report.previous_test_metrics:
        print(
            _metrics_line(
                f"previous model {report.previous_model_id}", report.previous_test_metrics
            )
        )
    verdict = "promoted" if report.promoted else "not promoted"
    print(f"{verdict}: {report.reason}")
    print(f"results: {report.results_path}")
    print(f"plot: {report.plot_path}")
    classifier = load_classifier(report.model_id, config)
    texts = [text for _, text in NOTEBOOK_TWEETS]
    for (expected, text), prediction in zip(
        NOTEBOOK_TWEETS, classifier.classify_many(texts), strict=True
    ):
        mark = "right" if prediction.label == expected else f"wrong, it is about {expected}"
        print(f"tweet: {prediction.label} {prediction.confidence:.1%} ({mark}): {text[:60]}…")
    return 0


def _metrics_line(what: str, metrics: dict[str, object]) -> str:
    numbers = ", ".join(
        f"{key} {value:.4f}" if isinstance(value, float) else f"{key} -"
        for key, value in ((key, metrics.get(key)) for key in METRICS)
    )
    return f"{what} ({metrics.get('n')} rows): {numbers}"
