"""``sportbot serve``: the OpenAI-compatible API over the local engine, until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from bot.settings import SettingsError, load_settings


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    key = settings.sportbot_api_key.get_secret_value().strip() if settings.sportbot_api_key else ""
    if not key:
        raise SettingsError(
            "SPORTBOT_API_KEY is not set: choose a secret for sportbot serve and give it to its "
            "clients as their API key (OPENAI_API_KEY for the openai package)."
        )
    from training.api import serve

    print(
        f"sportbot: OpenAI-compatible API on http://{args.host}:{args.port}/v1 "
        f"(models and jobs under {settings.sportbot_home}); Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    serve(settings.sportbot_home, key, host=args.host, port=args.port)
    return 0
