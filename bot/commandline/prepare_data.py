"""``sportbot prepare-data``: the legacy ``openai tools fine_tunes.prepare_data``, with ``--json``."""

from __future__ import annotations

import argparse
import json
import os
import sys


def run(args: argparse.Namespace) -> int:
    """Print the report as the legacy tool did; with ``--json`` add one JSON object as last line."""
    from training.prepare import StreamConsole, prepare_dataset
    from training.prepare.errors import DatasetFileError

    if os.path.exists(args.file) and not os.path.isfile(args.file):
        raise DatasetFileError(f"File {args.file} is not a file.")
    report = prepare_dataset(
        args.file,
        quiet=args.quiet,
        output_dir=args.output_dir,
        console=StreamConsole(sys.stdout, sys.stdin),
    )
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    return 0
