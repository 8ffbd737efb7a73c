"""The ``sportbot`` command line: a thin shell that parses, then imports only the command it runs."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

COMMANDS = {
    "prepare-data": "prepare_data",
    "fine-tune": "fine_tune",
    "results": "results",
    "evaluate": "evaluate",
    "classify": "classify",
    "train": "train",
    "models": "models",
    "run": "run",
    "serve": "serve",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sportbot",
        description="Tell baseball from hockey the way OpenAI's fine-tuned classification notebook does.",
    )
    parser.add_argument("--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("prepare-data", help="check and fix a dataset like the legacy OpenAI tool")
    p.add_argument("-f", "--file", required=True, help="CSV, TSV, XLSX, TXT, JSON or JSONL file")
    p.add_argument("-q", "--quiet", action="store_true", help="accept every suggestion")
    p.add_argument(
        "-o", "--output-dir", help="write the prepared files here (default: beside FILE)"
    )
    p.add_argument("--json", action="store_true", help="also print a machine-readable report")

    p = sub.add_parser("fine-tune", help="fine-tune a model on prepared data")
    p.add_argument("-t", "--training-file", required=True)
    p.add_argument("-v", "--validation-file")
    p.add_argument("--compute-classification-metrics", action="store_true")
    p.add_argument("--classification-positive-class", help='e.g. " baseball"')
    p.add_argument("--provider", choices=["local", "openai"], default="local")
    p.add_argument("-m", "--model", help="base model (local engine name, or e.g. babbage-002)")
    p.add_argument("--n-epochs", type=int, default=4)
    p.add_argument("--suffix", help="added to the fine-tuned model's id")

    p = sub.add_parser("results", help="print a fine-tune job's result CSV")
    p.add_argument("-i", "--id", required=True, help="the job id")

    p = sub.add_parser("evaluate", help="classification metrics on prepared rows")
    p.add_argument("-m", "--model", default="current", help="model id or 'current'")
    p.add_argument("-f", "--file", required=True, help="prepared prompt/completion JSONL")
    p.add_argument("--positive-class", help="default: the most frequent completion")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("classify", help="classify texts")
    p.add_argument("-m", "--model", help="model id (default: the current one)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("-f", "--file", help="JSONL rows with 'text' or 'prompt'")
    p.add_argument("--explain", action="store_true", help="show the words behind each decision")
    p.add_argument("text", nargs="*")

    sub.add_parser("train", help="the notebook end to end on 20 Newsgroups")

    p = sub.add_parser("models", help="the model registry")
    msub = p.add_subparsers(dest="models_command", required=True)
    msub.add_parser("list", help="list registered models")
    pp = msub.add_parser("promote", help="make a model current")
    pp.add_argument("model_id")
    msub.add_parser("rollback", help="go back to the previous current model")

    sub.add_parser("run", help="run the Slack bot (Socket Mode or HTTP)")

    p = sub.add_parser("serve", help="OpenAI-compatible API over the local engine")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from classifier.errors import SportbotError

    module = importlib.import_module(f"bot.commandline.{COMMANDS[args.command]}")
    try:
        return int(module.run(args) or 0)
    except SportbotError as error:
        print(f"sportbot: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sportbot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
