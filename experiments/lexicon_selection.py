"""How the default model should learn the lexicon's players: as full names, as surnames, as
distinctive surnames only (the default, ``classifier.local.lexicon.player_rows``), or not at all; and
whether the larger roster (``classifier/local/rosters/*_2008_2024.txt``: ~1,290 more people of
2008-2024, distinctive surnames) is worth its rows, or better left to the model's surname prior
for short texts (its default; ``--no-surname-prior`` turns it off). ``--old-header-rule`` scores
the model as it read Usenet headers before 2026-12-01 (see ``header_rule``).

Each variant changes only the player rows of ``GatedSportModel``'s training rows; with
``--post-expert-c`` / ``--post-expert-weight`` each is scored at every strength and weight of the
posts expert, with ``--posts-only`` that expert is fitted on the training rows that are posts
instead of every row (subject lines and phrases too), and with ``--seeds N`` its
cross-validation is pooled over N shuffling seeds (the development sets are read by seed 0's
model). Scored on

* the 948 prepared training rows, 5 folds x 2 fold seeds, folds grouped by thread and plain
  (held-out posts and their subject lines: accuracy / log loss, as in thread_selection.py);
* the development sets, the model fitted on the 948 rows: modern_dev accuracy (all texts, those
  that name a player of the lexicon's roster, the others), the share of it tagged and the
  precision of the tags, and other_dev texts tagged, at the default threshold.

The validation file and the 20 Newsgroups test split are not read.

    SCIKIT_LEARN_DATA=../shared/data/scikit_learn_data .venv/bin/python experiments/lexicon_selection.py \\
        [--only NAME ...] [--post-expert-c C ...] [--post-expert-weight W ...] [--posts-only] \\
        [--seeds N] [--no-surname-prior] [--old-header-rule]
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import itertools
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gated_selection  # noqa: E402
import thread_selection  # noqa: E402
from gated_selection import held_out_kinds, pooled_row, tally, training_rows  # noqa: E402
from thread_selection import fitted_folds  # noqa: E402

import classifier.local.batch_words  # noqa: E402
import classifier.local.usenet  # noqa: E402
import classifier.local.words  # noqa: E402
from classifier.core import Classifier  # noqa: E402
from classifier.local import lexicon  # noqa: E402
from classifier.local.backend import LocalBackend  # noqa: E402
from classifier.local.experts import fit_expert  # noqa: E402
from classifier.local.gated_model import (  # noqa: E402
    DEFAULT_POST_EXPERT_C,
    DEFAULT_POST_EXPERT_WEIGHT,
    GatedSportModel,
)
from classifier.local.tfidf import log_softmax  # noqa: E402
from classifier.local.usenet import is_post  # noqa: E402
from classifier.local.words import words_of  # noqa: E402

MODERN = ROOT.parent / "shared" / "data" / "modern"
Rows = dict[str, list[str]]
DISTINCTIVE = lexicon.player_rows


def _apart(baseball: set[str], hockey: set[str]) -> Rows:
    return {"baseball": sorted(baseball - hockey), "hockey": sorted(hockey - baseball)}


def full_names() -> Rows:
    return _apart(set(lexicon.MLB_PLAYERS), set(lexicon.NHL_PLAYERS))


def every_surname() -> Rows:
    surname = lexicon.surname
    return _apart(set(map(surname, lexicon.MLB_PLAYERS)), set(map(surname, lexicon.NHL_PLAYERS)))


def surnames_or_full_names() -> Rows:
    """Distinctive surnames; the full name where the surname is a common word."""
    kept = DISTINCTIVE()
    out = {}
    for label, names in (("baseball", lexicon.MLB_PLAYERS), ("hockey", lexicon.NHL_PLAYERS)):
        out[label] = sorted(
            {lexicon.surname(n) if lexicon.surname(n) in kept[label] else n for n in names}
        )
    return out


VARIANTS: dict[str, Callable[[], Rows]] = {
    "no player rows": lambda: {"baseball": [], "hockey": []},
    "full names": full_names,
    "every surname": every_surname,
    "**distinctive surnames (default)**": DISTINCTIVE,
    "distinctive surnames, else full names": surnames_or_full_names,
    "larger roster, distinctive surnames": DISTINCTIVE,
}
LARGER = "larger roster, distinctive surnames"


@contextmanager
def roster(name: str) -> Iterator[None]:
    """The lexicon's player lists for a variant: the larger roster makes the 2008-2024 rosters
    training rows too (``lexicon.COMMON_WORDS`` already covers their surnames)."""
    mlb, nhl = lexicon.MLB_PLAYERS, lexicon.NHL_PLAYERS
    if name == LARGER:
        lexicon.MLB_PLAYERS = mlb + lexicon.RECENT_MLB_PLAYERS
        lexicon.NHL_PLAYERS = nhl + lexicon.RECENT_NHL_PLAYERS
    try:
        yield
    finally:
        lexicon.MLB_PLAYERS, lexicon.NHL_PLAYERS = mlb, nhl


OLD_FIELD_NAME = r"[A-Za-z][A-Za-z0-9-]*"
"""A header line's field name before 2026-12-01: no dots, so a post with an ``Article-I.D.:`` line
(one in sixteen of the 20 Newsgroups) was no post."""


@contextmanager
def header_rule(old: bool) -> Iterator[None]:
    """With ``old``, the model reads header lines by ``OLD_FIELD_NAME`` while the folds' threads
    and the held-out subject lines keep today's rule (a second copy of ``classifier.local.usenet``):
    both rules are scored on the same folds and rows."""
    if not old:
        yield
        return
    usenet, words, batch = (
        classifier.local.usenet,
        classifier.local.words,
        classifier.local.batch_words,
    )
    spec = importlib.util.spec_from_file_location("usenet_today", usenet.__file__)
    assert spec is not None and spec.loader is not None
    today = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(today)
    saved = (
        usenet._HEADER,
        words.POST_HEAD_BYTES_RE,
        batch.POST_HEAD_BYTES_RE,
        thread_selection.split_post,
        gated_selection.subject_row,
    )
    line = rf"(?:{OLD_FIELD_NAME}:[^\n]*|[ \t][^\n]*)".encode()
    usenet._HEADER = re.compile(rf"^({OLD_FIELD_NAME}):\s?(.*)$")
    words.POST_HEAD_BYTES_RE = batch.POST_HEAD_BYTES_RE = re.compile(
        line + rb"(?:\n" + line + rb")*"
    )
    thread_selection.split_post, gated_selection.subject_row = today.split_post, today.subject_row
    try:
        yield
    finally:
        (
            usenet._HEADER,
            words.POST_HEAD_BYTES_RE,
            batch.POST_HEAD_BYTES_RE,
            thread_selection.split_post,
            gated_selection.subject_row,
        ) = saved


class PostsOnlyExpert(GatedSportModel):
    """The default model with its posts expert fitted on the training rows that are posts (not
    on the subject lines and the lexicon's phrases, which it never reads)."""

    def _fit_expert(self, rows: list[str], labels: list[str], classes: tuple[str, ...]) -> None:
        super()._fit_expert(rows, labels, classes)
        posts = [i for i, row in enumerate(rows) if is_post(row)]
        vectors = self._vectors([rows[i] for i in posts]).astype(np.float64)
        self.post_expert_coef_, self.post_expert_intercept_ = fit_expert(
            vectors,
            [labels[i] for i in posts],
            classes,
            self.post_expert_c,
            self.base.embedding.dim,
        )


Model = Callable[[], GatedSportModel]


def read_jsonl(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def development(texts: np.ndarray, labels: np.ndarray, model: Model) -> str:
    """The dev-set cells of the model fitted on all 948 rows."""
    modern, other = read_jsonl(MODERN / "modern_dev.jsonl"), read_jsonl(MODERN / "other_dev.jsonl")
    roster = {
        w for n in lexicon.MLB_PLAYERS + lexicon.NHL_PLAYERS for w in words_of(lexicon.surname(n))
    }
    roster -= lexicon.COMMON_WORDS
    names = np.array([bool(roster.intersection(words_of(r["text"]))) for r in modern])
    classifier = Classifier(LocalBackend(model().fit(list(texts), list(labels)), "dev"))
    answers = classifier.classify_many([r["text"] for r in modern])
    right = np.array([p.label == r["label"] for p, r in zip(answers, modern, strict=True)])
    tagged = np.array([p.tag is not None for p in answers])
    tags_right = sum(p.tag == r["label"] for p, r in zip(answers, modern, strict=True))
    off_topic = sum(p.tag is not None for p in classifier.classify_many([r["text"] for r in other]))
    return (
        f"{right.mean():.3f} | {right[names].mean():.3f} (n={names.sum()}) / "
        f"{right[~names].mean():.3f} (n={(~names).sum()}) | {tagged.mean():.3f} @ "
        f"{tags_right / max(tagged.sum(), 1):.3f} | {off_topic} of {len(other)}"
    )


def cross_validated(kind: str, texts: np.ndarray, labels: np.ndarray, models: list[Model]) -> str:
    """Held-out posts and subject lines, pooled over 5 folds x 2 fold seeds and the models (one
    per shuffling seed)."""
    totals: dict[str, list[float]] = {}
    for seed, new_model in itertools.product((0, 1), models):
        for model, held in fitted_folds(new_model(), kind, texts, labels, seed):
            classes = model.engine_.classes_
            for part, xs, ys in held_out_kinds(list(texts[held]), list(labels[held])):
                logp = log_softmax(model.predict_log_proba(xs)[:, : len(classes)])
                truth = np.array([classes.index(y) for y in ys])
                tally(totals.setdefault(part, [0.0, 0.0, 0.0]), logp, truth)
    return pooled_row(totals["post"], totals["subject"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="variants whose name holds NAME")
    parser.add_argument("--post-expert-c", type=float, nargs="+", default=[DEFAULT_POST_EXPERT_C])
    parser.add_argument(
        "--post-expert-weight", type=float, nargs="+", default=[DEFAULT_POST_EXPERT_WEIGHT]
    )
    parser.add_argument("--posts-only", action="store_true", help="posts expert on posts only")
    parser.add_argument("--seeds", type=int, default=1, help="shuffling seeds 0..N-1 (1)")
    parser.add_argument(
        "--no-surname-prior", action="store_true", help="no surname prior for short texts"
    )
    parser.add_argument(
        "--old-header-rule", action="store_true", help="read headers as before 2026-12-01"
    )
    args = parser.parse_args()
    texts, labels = training_rows()
    print(
        "| player rows | posts expert | rows | modern_dev | naming a roster player / not "
        "| tagged @ precision | other_dev tagged | grouped folds: posts acc / loss "
        "| subject lines | pooled | plain folds: posts acc / loss | subject lines | pooled |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    model_class = PostsOnlyExpert if args.posts_only else GatedSportModel
    try:
        for name, rows in VARIANTS.items():
            if args.only and not any(part in name for part in args.only):
                continue
            lexicon.player_rows = rows  # phrases() reads it at call time
            for c, weight in itertools.product(args.post_expert_c, args.post_expert_weight):
                start = time.perf_counter()
                models: list[Model] = [
                    functools.partial(
                        model_class,
                        post_expert_c=c,
                        post_expert_weight=weight,
                        surname_prior=not args.no_surname_prior,
                        random_state=seed,
                    )
                    for seed in range(args.seeds)
                ]
                with roster(name), header_rule(args.old_header_rule):
                    count = sum(len(v) for v in rows().values())
                    cells = [development(texts, labels, models[0])]
                    cells += [
                        cross_validated(kind, texts, labels, models)
                        for kind in ("grouped", "random")
                    ]
                expert = (
                    f"{'posts' if args.posts_only else 'every row'}, C {c:g}, weight {weight:g}"
                    f"{'' if args.no_surname_prior else ', surname prior'}"
                    f"{', old header rule' if args.old_header_rule else ''}"
                )
                print(f"| {name} | {expert} | {count} | " + " | ".join(cells) + " |", flush=True)
                print(f"  ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    finally:
        lexicon.player_rows = DISTINCTIVE


if __name__ == "__main__":
    main()
