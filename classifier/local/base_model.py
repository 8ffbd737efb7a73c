"""The base model shipped inside the package (``classifier/local/base/``), read offline.

It holds what no fine-tune relearns: a static token table distilled from all-MiniLM-L6-v2 (int8
with one scale per row), its WordPiece vocabulary, and the topic gate (a logistic regression
telling sport talk from everything else, trained on the sport rows and the 18 other newsgroups:
linear in the static sentence vector plus a quadratic form of its first ``NORM_DIMS``
coordinates, a unit vector, so that the gate can weigh combinations of topics a plane cannot).
``manifest.json`` names the base model and holds the sha256 of every file; the files are checked
before use, and a model trained on the base model records the manifest's sha256 so it is never
paired with a different one. Built by tools/build_base_model.py.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.errors import ModelFileError
from classifier.local.static_embedding import NORM_DIMS, StaticEmbedding
from classifier.registry import file_sha256

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).with_name("base")
MANIFEST = "manifest.json"
TABLE_FILE = "table.npz"
VOCAB_FILE = "vocab.txt"
GATE_FILE = "gate.npz"


@dataclass(frozen=True)
class BaseModel:
    """The loaded base model: its id, the sha256 of its manifest, the embedding and the gate."""

    id: str
    sha256: str
    sport_labels: tuple[str, ...]
    embedding: StaticEmbedding
    gate_coef: np.ndarray
    gate_intercept: float
    gate_quadratic: np.ndarray
    """``(NORM_DIMS, NORM_DIMS)``, symmetric: the gate's quadratic form of the vector's first
    ``NORM_DIMS`` coordinates."""
    gate_axes: np.ndarray
    """The quadratic form's eigenvectors (columns, orthonormal): in these axes the form is
    ``sum(gate_curvature * x**2)`` and the length of ``x`` is unchanged."""
    gate_curvature: np.ndarray
    """The quadratic form's eigenvalues, one per axis."""

    def sport_log_odds(self, vectors: np.ndarray) -> np.ndarray:
        """The gate's log-odds that each text (as its static vector) is about a sport."""
        linear = vectors @ self.gate_coef + self.gate_intercept
        return linear + self.gate_quadratic_term(vectors[:, :NORM_DIMS])

    def gate_quadratic_term(self, lead: np.ndarray) -> np.ndarray:
        """The quadratic part of the gate's log-odds for rows of ``vector[:NORM_DIMS]``."""
        return np.einsum("ij,jk,ik->i", lead, self.gate_quadratic, lead)


def quadratic_terms(lead: np.ndarray) -> np.ndarray:
    """The gate's quadratic features of rows of ``vector[:NORM_DIMS]``: ``x_i * x_j`` for
    ``i <= j`` (what tools/build_base_model.py fits the gate on, after the vector itself)."""
    first, second = np.triu_indices(lead.shape[1])
    return lead[:, first] * lead[:, second]


def quadratic_form(coef: np.ndarray, dims: int = NORM_DIMS) -> np.ndarray:
    """The symmetric matrix ``Q`` with ``x @ Q @ x == quadratic_terms(x) @ coef``."""
    first, second = np.triu_indices(dims)
    form = np.zeros((dims, dims))
    form[first, second] = coef
    return (form + form.T) / 2


def load_base_model(folder: Path | None = None) -> BaseModel:
    """The base model in ``folder`` (default: the one shipped in the package), loaded once per
    process and folder. ``ModelFileError`` when a file is missing, corrupted or changed."""
    return _load(Path(folder or BASE_DIR).resolve())


@functools.lru_cache(maxsize=4)
def _load(folder: Path) -> BaseModel:
    manifest_path = folder / MANIFEST
    try:
        raw = manifest_path.read_bytes()
        manifest = json.loads(raw)
        files = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(
            f"The base model's manifest {manifest_path} is missing or unreadable ({exc}): "
            "reinstall sportbot."
        ) from exc
    for name in (TABLE_FILE, VOCAB_FILE, GATE_FILE):
        path = folder / name
        if name not in files:
            raise ModelFileError(f"The base model's manifest {manifest_path} does not list {name}.")
        if not path.is_file() or file_sha256(path) != files[name]:
            raise ModelFileError(
                f"The base model file {path} is missing or does not match the sha256 in its "
                "manifest (corrupted or changed): reinstall sportbot."
            )
    try:
        vocabulary = (folder / VOCAB_FILE).read_text(encoding="utf-8").split("\n")
        with np.load(folder / TABLE_FILE) as table:
            vectors = table["codes"].astype(np.float32) * table["scales"][:, None]
        with np.load(folder / GATE_FILE) as gate:
            coef = gate["coef"].astype(np.float32)
            intercept = float(gate["intercept"])
            # a gate without a quadratic part (base models before v3) is linear
            quadratic = gate.get("quadratic", np.zeros((NORM_DIMS, NORM_DIMS)))
        embedding = StaticEmbedding(vocabulary, vectors)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"The base model in {folder} cannot be read: {exc}") from exc
    if coef.shape != (embedding.dim,) or quadratic.shape != (NORM_DIMS, NORM_DIMS):
        raise ModelFileError(f"The base model's gate in {folder} does not fit its table.")
    curvature, axes = np.linalg.eigh(quadratic.astype(np.float64))
    logger.info("loaded base model %s (%d tokens x %d)", manifest.get("id"), *vectors.shape)
    return BaseModel(
        id=str(manifest.get("id", "")),
        sha256=hashlib.sha256(raw).hexdigest(),
        sport_labels=tuple(manifest.get("sport_labels", ("baseball", "hockey"))),
        embedding=embedding,
        gate_coef=coef,
        gate_intercept=intercept,
        gate_quadratic=quadratic.astype(np.float64),
        gate_axes=axes,
        gate_curvature=curvature,
    )
