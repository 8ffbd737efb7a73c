"""Virtual environments with the OpenAI clients that users run, made by the tests themselves.

``client_venv("openai==0.28.1")`` makes a venv once per test session (under a temporary folder
removed at exit; pip's own cache makes the next session's install fast) with that client from
PyPI and nothing of sportbot's. The notebook's data libraries (pandas, matplotlib,
scikit-learn) are this checkout's: a ``.pth`` file puts this interpreter's site-packages after
the venv's own, so the client the venv installed is the one imported. When PyPI cannot be
reached the test is skipped, saying so.

``run_cells`` runs notebook cells in such a venv as Jupyter runs them: a ``!`` line goes to the
shell, the rest is Python whose last expression is the cell's value.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

CELL_RUNNER = Path(__file__).with_name("run_cells.py")
INSTALL_TIMEOUT_S = 600
UNREACHABLE = re.compile(
    r"(from versions: none|NewConnectionError|Network is unreachable|Temporary failure in name "
    r"resolution|Failed to establish a new connection|ConnectTimeout|ReadTimeout)"
)


@dataclass(frozen=True)
class ClientVenv:
    """A venv holding one OpenAI client."""

    root: Path
    spec: str

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self, **extra: str) -> dict[str, str]:
        """This process's environment with the venv's ``bin`` first on ``PATH`` and no
        ``OPENAI_*`` setting of the caller's, plus ``extra``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        env.pop("PYTHONPATH", None)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        env["MPLBACKEND"] = "Agg"
        return {**env, **extra}

    def version(self) -> str:
        done = subprocess.run(
            [str(self.python), "-c", "import openai; print(openai.version.VERSION)"],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()


@functools.cache
def _session_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="sportbot-client-venvs-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def _make_venv(spec: str) -> ClientVenv | str:
    """The venv, or why it could not be made (PyPI unreachable)."""
    root = _session_folder() / re.sub(r"[^a-z0-9.]+", "-", spec.lower())
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    venv = ClientVenv(root, spec)
    install = subprocess.run(
        [str(venv.python), "-m", "pip", "install", "-q", "--disable-pip-version-check", spec],
        env=venv.env(),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    if install.returncode != 0:
        if UNREACHABLE.search(install.stdout + install.stderr):
            return f"PyPI cannot be reached to install {spec} into a test venv"
        raise RuntimeError(f"pip install {spec} failed:\n{install.stdout}\n{install.stderr}")
    site = subprocess.run(
        [str(venv.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "zz_checkout_libraries.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv


def client_venv(spec: str) -> ClientVenv:
    """The session's venv with ``spec`` installed (the test is skipped when PyPI is out of
    reach)."""
    made = _make_venv(spec)
    if isinstance(made, str):
        pytest.skip(made)
    return made


@dataclass(frozen=True)
class CellResult:
    """What a cell printed and, for Python, the ``repr`` of its value (None when it has none)."""

    output: str
    value: str | None
    error: str | None


def run_cells(
    venv: ClientVenv,
    cells: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float = 600,
) -> list[CellResult]:
    """Run ``cells`` in order in one Python process of ``venv`` (one namespace, as a kernel);
    a cell that raises stops the run (its ``error`` says what)."""
    source = cwd / ".cells.json"
    source.write_text(json.dumps(list(cells)))
    done = subprocess.run(
        [str(venv.python), str(CELL_RUNNER), str(source)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the cell runner failed:\n{done.stdout}\n{done.stderr}")
    return [CellResult(**result) for result in json.loads(done.stdout.splitlines()[-1])]
