"""The ``sportbot`` command line: a thin shell that parses, then imports only the command it runs."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

STDOUT_CLOSED = 141
"""The exit status when the reader of stdout went away (``sportbot models list | head -1``):
128 + SIGPIPE, what the shell reports for ``cat`` or ``grep`` in the same place, so scripts that
run with ``set -o pipefail`` can treat it as they treat any other tool; 1 means bad input."""

SERVERS = frozenset({"run", "serve"})
"""Commands that keep running: their logs keep every traceback, for whoever operates them."""

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
    """The parser of every command. Each option's help says what it does and its default (an
    option with no default says what leaving it out means)."""
    parser = argparse.ArgumentParser(
        prog="sportbot",
        description="Tell baseball from hockey the way OpenAI's fine-tuned classification notebook does.",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log at DEBUG level, with tracebacks (default: off)"
    )
    # No metavar: a bare `sportbot` prints a usage line that names every command.
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare-data", help="check and fix a dataset like the legacy OpenAI tool")
    p.add_argument(
        "-f",
        "--file",
        required=True,
        help="CSV, TSV, XLSX, TXT, JSON or JSONL file; JSONL may hold chat rows ('messages') "
        "(required)",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="accept every suggestion (default: off, ask each question)",
    )
    p.add_argument(
        "-o", "--output-dir", help="write the prepared files here (default: beside FILE)"
    )
    p.add_argument(
        "--json", action="store_true", help="also print a machine-readable report (default: off)"
    )

    p = sub.add_parser("fine-tune", help="fine-tune a model on prepared data")
    p.add_argument(
        "-t", "--training-file", required=True, help="prepared prompt/completion JSONL (required)"
    )
    p.add_argument(
        "-v",
        "--validation-file",
        help="prepared JSONL to compute validation metrics on (default: none, no validation)",
    )
    p.add_argument(
        "--compute-classification-metrics",
        action="store_true",
        help="accuracy, precision, recall, F1, AUROC, AUPRC (more than two labels: accuracy, "
        "weighted F1) on the validation file every 10 steps and at each epoch's end; needs -v "
        "(default: off)",
    )
    p.add_argument(
        "--classification-positive-class",
        help='the positive class of those metrics, e.g. " baseball" (default: the most '
        "frequent completion, when there are two labels)",
    )
    p.add_argument(
        "--classification-n-classes",
        type=int,
        metavar="N",
        help="the number of labels in the training file; over two, the metrics are multiclass: "
        "accuracy and weighted F1 (default: none, needed for more than two labels)",
    )
    p.add_argument(
        "--provider",
        choices=["local", "openai"],
        default="local",
        help="train here, or on an OpenAI-compatible API (default: %(default)s)",
    )
    p.add_argument(
        "-m",
        "--model",
        help="base model (default: sport-engine, the only one, for local; babbage-002 for openai)",
    )
    p.add_argument(
        "--n-epochs",
        type=int,
        default=4,
        help="passes over the training file (default: %(default)s)",
    )
    p.add_argument("--suffix", help="added to the fine-tuned model's id (default: none)")

    p = sub.add_parser("results", help="print a fine-tune job's result CSV")
    p.add_argument("-i", "--id", required=True, help="the job id, ftjob-… (required)")

    p = sub.add_parser("evaluate", help="classification metrics on prepared rows")
    p.add_argument(
        "-m", "--model", help="model id, or 'current' (default: SPORTBOT_MODEL, else current)"
    )
    p.add_argument(
        "-f", "--file", required=True, help="prepared prompt/completion JSONL (required)"
    )
    p.add_argument(
        "--positive-class",
        help="with or without its leading space; scores that class against the rest (default: "
        "the most frequent completion for a model of two labels; multiclass metrics for more)",
    )
    p.add_argument(
        "--json", action="store_true", help="print one JSON object instead (default: off)"
    )

    p = sub.add_parser("classify", help="classify texts")
    p.add_argument(
        "-m", "--model", help="model id, or 'current' (default: SPORTBOT_MODEL, else current)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line (default: off)")
    p.add_argument(
        "-f", "--file", help="JSONL rows with 'text' or 'prompt' (default: none, TEXT only)"
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="show the words behind each decision, local models only (default: off)",
    )
    p.add_argument(
        "text", nargs="*", help="texts to classify, before those of -f FILE (default: none)"
    )

    sub.add_parser("train", help="the notebook end to end on 20 Newsgroups")

    p = sub.add_parser("models", help="the model registry")
    # `sportbot models` alone prints a usage line, and an error line, naming the three.
    msub = p.add_subparsers(dest="models_command", required=True, metavar="{list,promote,rollback}")
    msub.add_parser("list", help="list registered models")
    pp = msub.add_parser("promote", help="make a model current")
    pp.add_argument("model_id", help="a registered model's id (see `sportbot models list`)")
    msub.add_parser("rollback", help="go back to the previous current model")

    sub.add_parser("run", help="run the Slack bot (Socket Mode or HTTP)")

    p = sub.add_parser("serve", help="OpenAI-compatible API over the local engine")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--port", type=int, default=8000, help="TCP port to listen on (default: %(default)s)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler()
    line = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    tracebacks = args.verbose or args.command in SERVERS
    handler.setFormatter(logging.Formatter(line) if tracebacks else _OneLineFormatter(line))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler]
    )
    from classifier.errors import SportbotError

    try:
        module = importlib.import_module(f"bot.commandline.{COMMANDS[args.command]}")
        status = int(module.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except SportbotError as error:
        print(f"sportbot: error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        _silence_stdout()
        return STDOUT_CLOSED
    except OSError as error:
        logging.getLogger(__name__).debug("the traceback", exc_info=True)
        print(f"sportbot: error: {describe_os_error(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sportbot: interrupted", file=sys.stderr)
        return 130


class _OneLineFormatter(logging.Formatter):
    """Log lines without tracebacks: a one-shot command says what went wrong in one line
    (``sportbot: error: ...``); the traceback a library logged with it is for ``--verbose``."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def describe_os_error(error: OSError) -> str:
    """``cannot access /path: Permission denied``, from the error's file name and reason."""
    reason = error.strerror or str(error)
    if error.filename is None:
        return reason
    where = os.fsdecode(error.filename)
    if error.filename2 is not None:
        where += f" -> {os.fsdecode(error.filename2)}"
    return f"cannot access {where}: {reason}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no real file (tests capture it)
        pass


if __name__ == "__main__":
    sys.exit(main())
