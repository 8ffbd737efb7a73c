"""Loading the classifier in a child process: same predictions, same errors, no skops here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.child_loader import load_classifier_in_child
from classifier import load_classifier
from classifier.config import ClassifierConfig
from classifier.errors import ModelFileError, NoModelError
from classifier.registry import MODEL_FILE
from tests.support.reference_model import copy_trained_home, trained_home

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "Bottom of the ninth, two outs, and the catcher hits a walk-off home run to left field.",
    "The goalie stopped 40 shots and the Bruins won in overtime on a power-play goal.",
    "Our quarterly budget meeting moved to Thursday afternoon.",
]


def test_the_child_loaded_classifier_predicts_as_the_one_loaded_in_process() -> None:
    home = trained_home().home
    here = load_classifier(config=ClassifierConfig(home=home)).classify_many(TEXTS)
    there = load_classifier_in_child(None, ClassifierConfig(home=home)).classify_many(TEXTS)
    assert there == here
    assert there[0].model == trained_home().model_id


def test_the_process_that_asks_never_imports_skops_or_scikit_learn() -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from bot.child_loader import load_classifier_in_child\n"
        "from classifier.config import ClassifierConfig\n"
        f"c = load_classifier_in_child(None, ClassifierConfig(home=Path({str(trained_home().home)!r})))\n"
        "print(c.classify('a grand slam in the bottom of the ninth').label)\n"
        "print(sorted(m for m in ('skops', 'sklearn', 'scipy', 'pandas') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["baseball", "[]"]


def test_a_corrupted_model_file_raises_the_same_error_as_in_process(tmp_path: Path) -> None:
    trained = copy_trained_home(tmp_path / "home")
    model_file = trained.home / "models" / trained.model_id / MODEL_FILE
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as in_process:
        load_classifier(config=ClassifierConfig(home=trained.home))
    with pytest.raises(ModelFileError) as in_child:
        load_classifier_in_child(None, ClassifierConfig(home=trained.home))
    assert str(in_child.value) == str(in_process.value)


def test_no_model_yet_raises_no_model_error(tmp_path: Path) -> None:
    with pytest.raises(NoModelError, match="sportbot train"):
        load_classifier_in_child(None, ClassifierConfig(home=tmp_path / "empty"))
