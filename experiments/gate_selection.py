"""Which rows should the topic gate learn from? Cross-validated on the 20 Newsgroups train split.

The gate (``tools/build_base_model.py``) is a class-balanced logistic regression on static
sentence vectors: sport side = the 948 prepared training posts, their subject lines and the
lexicon's phrases; other side = the subject lines and 2,000 posts of the 18 other groups. Its
mistakes on chat-like text are short texts about something else that it reads as sport talk.
This script compares gates by their features and the sport side's extra rows:

* linear in the sentence vector (base model v2), or that plus a quadratic form of the vector's
  first ``NORM_DIMS`` coordinates (a unit vector: v3, ``classifier.local.base_model.quadratic_terms``),
  so that the gate can weigh combinations of directions, not only a plane through them;
* every lexicon phrase, players included, or the lexicon's teams, leagues and game terms only.
  Player names are person names, and the other side has few of those, so a gate taught that
  names are sport may read any name as sport; the sport head still learns the players.

Folds keep threads whole (``StratifiedGroupKFold`` by subject; 5 folds x 3 seeds); the lexicon
rows are always on the training side. Scored on the held-out subject lines of both sides (the
short, chat-like texts): class-balanced log loss, the share of other groups' subject lines the
gate calls sport at P(sport) >= 0.75 and >= 0.9, and the share of sport subject lines it keeps
at P(sport) >= 0.75. No validation, test or development set is read.

    SCIKIT_LEARN_DATA=../shared/data/scikit_learn_data .venv/bin/python experiments/gate_selection.py
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.local import lexicon  # noqa: E402
from classifier.local.base_model import load_base_model, quadratic_terms  # noqa: E402
from classifier.local.static_embedding import NORM_DIMS  # noqa: E402
from classifier.local.usenet import split_post, subject_row  # noqa: E402
from classifier.local.words import message_words  # noqa: E402
from classifier.prompt import SEPARATOR  # noqa: E402

TRAIN = ROOT / "tests" / "data" / "legacy_openai" / "sport2_prepared_train.jsonl"
"""The reference training rows (the same bytes as ../shared/data/reference/)."""
SPORT_GROUPS = ("rec.sport.baseball", "rec.sport.hockey")
OTHER_POSTS = 2000
GATE_C = 1.0
FOLD_SEEDS = (0, 1, 2)


def thread(text: str) -> str:
    return " ".join(split_post(text)[0].lower().split()) or text[:200]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    from sklearn.datasets import fetch_20newsgroups

    rows = [json.loads(line) for line in TRAIN.read_text().splitlines() if line.strip()]
    posts = [r["prompt"].removesuffix(SEPARATOR) for r in rows]
    bunch = fetch_20newsgroups(subset="train")
    other_posts = [
        text.strip()
        for text, target in zip(bunch.data, bunch.target, strict=True)
        if bunch.target_names[target] not in SPORT_GROUPS
    ]
    texts: list[str] = []
    sport: list[bool] = []
    short: list[bool] = []
    groups: list[str] = []

    def add(text: str, is_sport: bool, is_short: bool, group: str) -> None:
        texts.append(text)
        sport.append(is_sport)
        short.append(is_short)
        groups.append(group)

    for post in posts:
        add(post, True, False, thread(post))
        subject = subject_row(post)
        if subject:
            add(subject, True, True, thread(post))
    seen: set[str] = set()
    for post in other_posts:
        subject = subject_row(post)
        if subject and subject.lower() not in seen:
            seen.add(subject.lower())
            add(subject, False, True, thread(post))
    for post in random.Random(0).sample(other_posts, OTHER_POSTS):
        add(post, False, False, thread(post))

    embedding = load_base_model().embedding
    vectors = embedding.encode_words([message_words(t) for t in texts])
    y, is_short = np.array(sport), np.array(short)
    group_ids = np.unique(np.array(groups), return_inverse=True)[1]
    every = [p for v in lexicon.phrases().values() for p in v]
    no_players = [p for v in lexicon.team_and_term_phrases().values() for p in v]
    variants = {  # name: (the sport side's lexicon rows, a quadratic form too)
        "linear, every phrase (v2)": (every, False),
        "linear, no player names": (no_players, False),
        "linear + quadratic form, every phrase (v3)": (every, True),
        "linear + quadratic form, no player names": (no_players, True),
    }
    print(
        f"{len(texts)} rows ({int(y.sum())} sport, {int(is_short.sum())} subject lines), "
        f"{group_ids.max() + 1} threads; C={GATE_C}\n"
    )
    print(
        "| gate: features, sport side's lexicon rows | held-out subject lines: balanced log loss "
        "| other subject lines at P(sport) >= 0.75 / >= 0.9 | sport subject lines at >= 0.75 |"
    )
    print("|---|---|---|---|")
    per_fold: dict[str, np.ndarray] = {}
    for name, (phrases, quadratic) in variants.items():
        rows_extra = embedding.encode_words([message_words(p) for p in phrases])
        features = gate_features if quadratic else (lambda x: x)
        losses, off75, off90, kept = [], [], [], []
        for seed in FOLD_SEEDS:
            splitter = StratifiedGroupKFold(5, shuffle=True, random_state=seed)
            for train, held in splitter.split(vectors, y, group_ids):
                x = features(np.vstack([vectors[train], rows_extra]))
                target = np.concatenate([y[train], np.ones(len(rows_extra), bool)])
                gate = LogisticRegression(C=GATE_C, max_iter=5000, class_weight="balanced")
                gate.fit(x, target)
                held = held[is_short[held]]
                p = gate.predict_proba(features(vectors[held]))[:, 1]
                truth = y[held]
                weights = np.where(truth, 0.5 / truth.sum(), 0.5 / (~truth).sum())
                ll = -np.where(truth, np.log(p), np.log1p(-p))
                losses.append(float((weights * ll).sum()))
                off75.append(float((p[~truth] >= 0.75).mean()))
                off90.append(float((p[~truth] >= 0.9).mean()))
                kept.append(float((p[truth] >= 0.75).mean()))
        per_fold[name] = np.array([losses, off75, off90])
        print(
            f"| {name} ({len(phrases)} phrases) | {np.mean(losses):.4f} "
            f"| {np.mean(off75):.4f} / {np.mean(off90):.4f} | {np.mean(kept):.3f} |",
            flush=True,
        )
    first, *others = per_fold
    for name in others:
        diff = per_fold[name] - per_fold[first]
        print(f"\n{name} minus {first}, paired over {diff.shape[1]} folds (mean, folds lower):")
        for metric, d in zip(("log loss", "other at 0.75", "other at 0.9"), diff, strict=True):
            se = d.std(ddof=1) / np.sqrt(len(d))
            print(f"  {metric}: {d.mean():+.4f} +/- {se:.4f}, lower in {(d < 0).sum()} folds")


def gate_features(vectors: np.ndarray) -> np.ndarray:
    """The v3 gate's features: the vector and the products of its first coordinates."""
    return np.hstack([vectors, quadratic_terms(vectors[:, :NORM_DIMS])])


if __name__ == "__main__":
    main()
