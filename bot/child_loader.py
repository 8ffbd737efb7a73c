"""Load the classifier in a short-lived child process, so that the bot never imports skops.

Reading a model file safely takes ``skops.io``, which imports all of scikit-learn, scipy and
pandas (about 150 MB resident that no Python process gives back); the loaded engine itself
needs numpy only. ``sportbot run`` therefore has a child process load and check the model (the
registry's sha256 and skops' trusted types, exactly as in process) and hand the resulting
classifier back pickled over a pipe: a pickle this process's own child wrote from a checked
model, never a file from disk. A classifier whose backend is not the local engine (the OpenAI
backend holds HTTP clients) is loaded in process instead; a domain error raised in the child
(no model, unknown id, a corrupted file) is raised again here, unchanged.

    python -m bot.child_loader    # reads {"model", "config"} as JSON on stdin
"""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from classifier.config import ClassifierConfig, OpenAIConfig
from classifier.core import Classifier
from classifier.errors import ModelFileError, SportbotError

logger = logging.getLogger(__name__)

LOAD_TIMEOUT_SECONDS = 600


def load_classifier_in_child(model: str | None, config: ClassifierConfig) -> Classifier:
    """``classifier.load_classifier(model, config)``, done in a child."""
    request = json.dumps({"model": model, "config": _config_to_json(config)})
    result = subprocess.run(
        [sys.executable, "-m", __name__],
        input=request.encode(),
        capture_output=True,
        timeout=LOAD_TIMEOUT_SECONDS,
        check=False,
    )
    if result.stderr:
        logger.debug("model loader said: %s", result.stderr.decode(errors="replace")[-2000:])
    if result.returncode != 0:
        raise ModelFileError(
            f"Could not load model {model or 'current'} from {config.home}: the loader exited with "
            f"status {result.returncode}: {_last_line(result.stderr)}"
        )
    kind, value = pickle.loads(result.stdout)  # written by our own child, never read from disk
    if kind == "error":
        raise value
    if kind == "in_process":
        from classifier import load_classifier

        return load_classifier(model, config)
    return value


def _config_to_json(config: ClassifierConfig) -> dict[str, Any]:
    return {**dataclasses.asdict(config), "home": str(config.home)}


def _config_from_json(data: dict[str, Any]) -> ClassifierConfig:
    return ClassifierConfig(
        **{**data, "home": Path(data["home"]), "openai": OpenAIConfig(**data["openai"])}
    )


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"


def _child() -> int:
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever a library prints must not mix with the pickle
    from classifier import load_classifier
    from classifier.local.backend import LocalBackend

    request = json.loads(sys.stdin.read())
    reply: tuple[str, Any]
    try:
        classifier = load_classifier(request["model"], _config_from_json(request["config"]))
    except SportbotError as error:
        reply = ("error", error)
    else:
        local = isinstance(classifier.backend, LocalBackend)
        reply = ("classifier", classifier) if local else ("in_process", None)
    out.write(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child())
