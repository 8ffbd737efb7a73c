"""``sportbot serve``: the OpenAI-compatible API over the local engine, until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bot.settings import ServeSettings, SettingsError, read_settings
from classifier.errors import SportbotError


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise SportbotError(f"--port {args.port} is not a TCP port: give a number from 0 to 65535.")
    settings = read_settings(ServeSettings)
    key = settings.sportbot_api_key.get_secret_value().strip() if settings.sportbot_api_key else ""
    if not key:
        raise SettingsError(
            "SPORTBOT_API_KEY is not set: choose a secret for sportbot serve and give it to its "
            "clients as their API key (OPENAI_API_KEY for the openai package)."
        )
    _check_home(settings.sportbot_home)
    from training.api import serve

    def announce() -> None:
        print(
            f"sportbot: OpenAI-compatible API on http://{args.host}:{args.port}/v1 "
            f"(models and jobs under {settings.sportbot_home}); Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )

    try:
        serve(settings.sportbot_home, key, host=args.host, port=args.port, on_listening=announce)
    except OSError as error:
        if error.filename is not None:  # a file under SPORTBOT_HOME: main names it
            raise
        raise SportbotError(f"cannot listen on {args.host}:{args.port}: {_reason(error)}") from None
    return 0


def _check_home(home: Path) -> None:
    """Fail at the start, not with a 500 on the first upload, when SPORTBOT_HOME cannot hold the
    server's files (a file where a folder should be, a read-only folder)."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as error:
        raise SportbotError(
            f"SPORTBOT_HOME {home} cannot hold sportbot serve's files: {error.strerror or error}"
        ) from None


def _reason(error: OSError) -> str:
    """asyncio words a failed bind as ``error while attempting to bind on address (…): address
    already in use``; keep the reason only."""
    reason = error.strerror or str(error)
    return reason.rsplit(": ", 1)[-1] if "attempting to bind" in reason else reason
