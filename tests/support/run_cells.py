"""Runs notebook cells the way Jupyter does, in one namespace; started by ``openai_venv.run_cells``
with a client venv's Python (it imports nothing of sportbot's).

A cell whose first line starts with ``!`` is a shell command (its output is the cell's output,
a non-zero exit its error, and the run goes on, as in Jupyter); any other cell is Python, run
statement by statement, the value of a last expression being the cell's value. A Python cell
that raises ends the run. Prints one JSON line: per cell ``output``, ``value`` (its ``repr``)
and ``error``.

    python run_cells.py CELLS.json
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import subprocess
import sys
import traceback
from typing import Any


def run_shell(command: str) -> tuple[str, str | None]:
    done = subprocess.run(
        command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return done.stdout, (f"exit status {done.returncode}" if done.returncode else None)


def run_python(source: str, namespace: dict[str, Any]) -> str | None:
    tree = ast.parse(source)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    statements = tree.body[:-1] if last is not None else tree.body
    exec(compile(ast.Module(statements, type_ignores=[]), "<cell>", "exec"), namespace)
    if last is None:
        return None
    value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
    return None if value is None else repr(value)


def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        cells = json.load(handle)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    results = []
    for source in cells:
        output, value, error = io.StringIO(), None, None
        if source.lstrip().startswith("!"):
            printed, error = run_shell(source.lstrip()[1:])
            output.write(printed)
        else:
            try:
                with contextlib.redirect_stdout(output):
                    value = run_python(source, namespace)
            except Exception:
                error = traceback.format_exc()
        results.append({"output": output.getvalue(), "value": value, "error": error})
        if error is not None and not source.lstrip().startswith("!"):
            break
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
