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
    p.add_argument(
        "-m", "--model", help="model id, or 'current' (default: SPORTBOT_MODEL, else current)"
    )
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
