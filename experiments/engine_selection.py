"""Choose the local engine's settings by cross-validation on the 948 training rows only.

The validation file and the 20 Newsgroups test split are never read here. Stages:
  1. features: word pairs or not, tagged Usenet header words or not, naive-Bayes feature scaling;
  2. optimisation (4 epochs fixed): Adam step size, batch size, L2 penalty;
  3. the smoothing of the naive-Bayes counts.
Each setting is scored by stratified 5-fold CV repeated twice (10 fits), mean accuracy
(``GridSearchCV`` over the stage's grid, in the grid's order: the first best setting wins a tie).
Also scores plain scikit-learn baselines on the same folds for reference (``cross_val_score``).

Stage 4 (``--stages 4``) tries to beat the chosen engine with what stages 1-3 did not cover: more
epochs, text handling (signature blocks, quoted lines, e-mail domains), the modern room's lexicon
as extra training rows, and log-odds ensembles with other views (character n-grams within word
boundaries with NB-scaled logistic regression, multinomial naive Bayes). Every candidate is
scored on the same folds as the chosen engine (5-fold x 4 repeats, 20 fits) and reported as the
paired difference in accuracy with its standard error; anything that looks better is then
re-checked on two fresh fold seeds, since picking the best of many candidates on one set of
folds favours luck.

Stage 5 (``--stages 5``) compares the weights the engine ends with: the last step's
(``average_epochs=0``, the engine before 2026-11-30) against the running mean over the last one or
two epochs, paired on three fold seeds, with the cross-validated log loss beside the accuracy.

    SCIKIT_LEARN_DATA=../shared/data/scikit_learn_data .venv/bin/python experiments/engine_selection.py [--stages 123 | 4 | 5]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV, RepeatedStratifiedKFold, cross_val_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.local.engine import SportEngine  # noqa: E402
from classifier.local.words import SEPARATE  # noqa: E402
from classifier.prompt import strip_prompt  # noqa: E402

TRAIN = ROOT / "tests" / "data" / "legacy_openai" / "sport2_prepared_train.jsonl"
"""The reference training rows (the same bytes as ../shared/data/reference/)."""


def load(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [strip_prompt(r["prompt"]) for r in rows], [r["completion"].strip() for r in rows]


def folds() -> RepeatedStratifiedKFold:
    """The folds of stages 1-3: stratified 5-fold CV repeated twice."""
    return RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)


def cv_score(texts: list[str], labels: list[str], make) -> tuple[float, float]:
    scores = cross_val_score(make(), texts, labels, cv=folds(), error_score="raise")
    return float(np.mean(scores)), float(np.std(scores))


def report(name: str, params: dict, score: tuple[float, float], seconds: float) -> None:
    print(f"| {name} | {params} | {score[0]:.4f} | {score[1]:.4f} | {seconds:.1f} |", flush=True)


def search(texts, labels, base: dict, grid: dict, stage: str) -> dict:
    """The best settings of ``grid`` over ``base`` (each setting's score reported)."""
    keys = list(grid)
    # One single-point grid per setting, in the grid's order (``ParameterGrid`` sorts the keys
    # of a grid): the first of equally good settings is chosen, as a loop over them would.
    points = [
        {k: [v] for k, v in zip(keys, values, strict=True)}
        for values in itertools.product(*(grid[k] for k in keys))
    ]
    cv = folds()
    result = GridSearchCV(SportEngine(**base), points, cv=cv, refit=False, error_score="raise").fit(
        texts, labels
    )
    runs = cv.get_n_splits()
    found = result.cv_results_
    for i, params in enumerate(found["params"]):
        seconds = runs * (found["mean_fit_time"][i] + found["mean_score_time"][i])
        score = (found["mean_test_score"][i], found["std_test_score"][i])
        report(stage, {k: params[k] for k in keys}, score, seconds)
    return {**base, **found["params"][result.best_index_]}


def baselines(texts, labels) -> None:
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    models = {
        "tfidf+LR(C=100)": lambda: make_pipeline(
            TfidfVectorizer(sublinear_tf=True), LogisticRegression(C=100, max_iter=2000)
        ),
        "counts+MNB(0.1)": lambda: make_pipeline(CountVectorizer(), MultinomialNB(alpha=0.1)),
    }
    for name, make in models.items():
        start = time.perf_counter()
        report(
            "sklearn baseline",
            {"model": name},
            cv_score(texts, labels, make),
            time.perf_counter() - start,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", default="12345", help="which stages to run (default: all)")
    args = parser.parse_args()
    texts, labels = load(TRAIN)
    if set(args.stages) & set("123"):
        stages_1_to_3(texts, labels)
    if "4" in args.stages:
        stage_4(texts, labels)
    if "5" in args.stages:
        stage_5(texts, labels)


def stages_1_to_3(texts: list[str], labels: list[str]) -> None:
    print(f"{len(texts)} training rows; 5-fold CV x 2 repeats\n")
    print("| stage | settings | CV accuracy | std | seconds |\n|---|---|---|---|---|")
    baselines(texts, labels)
    base = {"n_epochs": 4, "batch_size": 16, "learning_rate": 0.05, "alpha": 1e-5, "nb_alpha": 0.5}
    best = search(
        texts,
        labels,
        base,
        {"ngram_max": [1, 2], "headers": ["tagged", "plain"], "nb_power": [0.0, 0.5, 1.0]},
        "1 features",
    )
    best = search(
        texts,
        labels,
        best,
        {"learning_rate": [0.02, 0.05, 0.1], "batch_size": [16, 32], "alpha": [0.0, 1e-5, 1e-4]},
        "2 optimiser",
    )
    best = search(texts, labels, best, {"nb_alpha": [0.25, 0.5, 1.0]}, "3 smoothing")
    print(f"\nchosen: {best}")


# -- stage 4: candidates beyond the grid, paired against the chosen engine --------------------

_SIGNATURE_RE = re.compile(r"\n--\s*\n")
_ADDRESS_RE = re.compile(r"[\w.+-]+@(?:[\w-]+\.)+[\w-]+")


class _TextVariant(SportEngine):
    """``SportEngine`` (its defaults) with another reading of the text (in fit and in the batch
    predictions this script makes)."""

    def __init__(self, variant: str = "drop signature") -> None:
        super().__init__()
        self.variant = variant

    def _encode(self, texts):
        return self._encode_terms([self._terms(t) for t in texts])

    def _terms(self, text: str) -> list[str]:
        if self.variant in ("drop signature", "tag signature"):
            m = _SIGNATURE_RE.search(text)
            if m is None:
                return super()._terms(text)
            words = super()._terms(text[: m.start()])
            if self.variant == "tag signature":
                words += ["sig:" + w for w in _words(text[m.end() :])]
            return words
        if self.variant in ("drop quoted lines", "tag quoted lines"):
            lines = text.split("\n")
            own = "\n".join(line for line in lines if not line.lstrip().startswith(">"))
            words = super()._terms(own)
            if self.variant == "tag quoted lines":
                quoted = "\n".join(line for line in lines if line.lstrip().startswith(">"))
                words += ["q:" + w for w in _words(quoted)]
            return words
        words = super()._terms(text)
        if self.variant == "e-mail domains and addresses":
            header = text[: max(text.find("\n\n"), 0)].lower()
            for address in _ADDRESS_RE.findall(header):
                domain = address.split("@")[1].split(".")
                words += ["dom:" + ".".join(domain[-2:]), "addr:" + address]
        return words


def _words(text: str) -> list[str]:
    return text.lower().translate(SEPARATE).split()


def _log_odds_of(model, texts: list[str]) -> np.ndarray:
    logp = model.predict_log_proba(texts)
    return logp[:, 1] - logp[:, 0]


def _sklearn_view(kind: str):
    """Fit-and-score functions of other views for the ensembles (log-odds of the 2nd class)."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import MultinomialNB

    def fit_score(train_texts, train_labels, test_texts):
        if kind == "mnb":
            vectorizer = CountVectorizer()
            model = MultinomialNB(alpha=0.1)
        else:  # char n-grams within word boundaries, NB-scaled, logistic regression
            vectorizer = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2
            )
            model = LogisticRegression(C=100, max_iter=3000)
        x = vectorizer.fit_transform(train_texts)
        x_test = vectorizer.transform(test_texts)
        if kind == "char":
            y = np.array([label == sorted(set(train_labels))[1] for label in train_labels])
            present = (x > 0).astype(float)
            p = np.asarray(present[y].sum(axis=0)).ravel() + 1.0
            q = np.asarray(present[~y].sum(axis=0)).ravel() + 1.0
            scale = sp.diags(np.log((p / p.sum()) / (q / q.sum())))
            x, x_test = x @ scale, x_test @ scale
        model.fit(x, train_labels)
        return _log_odds_of(model, x_test)

    return fit_score


def _cv_log_odds(texts, labels, fit_score, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per fold: (log-odds of the test rows, whether each is the 2nd class)."""
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=4, random_state=seed)
    second = sorted(set(labels))[1]
    out = []
    for train, test in folds.split(texts, labels):
        scores = fit_score(
            [texts[i] for i in train], [labels[i] for i in train], [texts[i] for i in test]
        )
        out.append((np.asarray(scores), np.array([labels[i] == second for i in test])))
    return out


def _mix(folds, other, weight: float):
    return [(s + weight * o, y) for (s, y), (o, _) in zip(folds, other, strict=True)]


def _engine_fit_score(make):
    return lambda tr, lb, te: _log_odds_of(make().fit(tr, lb), te)


def _paired(name: str, folds, base, seconds: float | None = None, extra: str = "") -> float:
    acc = np.array([np.mean((s > 0) == y) for s, y in folds])
    base_acc = np.array([np.mean((s > 0) == y) for s, y in base])
    diff = acc - base_acc
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    timing = f" | {seconds:.0f}" if seconds is not None else " | -"
    print(
        f"| {name} | {acc.mean():.4f} | {diff.mean():+.4f} +/- {se:.4f} | "
        f"{int((diff > 0).sum())}/{int((diff < 0).sum())}{timing} |{extra}",
        flush=True,
    )
    return float(diff.mean() / se) if se > 0 else 0.0


def stage_4(texts: list[str], labels: list[str]) -> None:
    print(
        "\nstage 4: 5-fold CV x 4 repeats (20 fits, fold seed 1), paired against the chosen engine"
    )
    print("| candidate | CV accuracy | paired difference +/- s.e. | folds better/worse | seconds |")
    print("|---|---|---|---|---|")
    start = time.perf_counter()
    chosen = _cv_log_odds(texts, labels, _engine_fit_score(SportEngine), seed=1)
    _paired("chosen engine (defaults)", chosen, chosen, time.perf_counter() - start)
    candidates = {
        "8 epochs": lambda: SportEngine(n_epochs=8),
        "8 epochs, NB power 1.5": lambda: SportEngine(n_epochs=8, nb_power=1.5),
        "8 epochs, batch 32": lambda: SportEngine(n_epochs=8, batch_size=32),
        "8 epochs, lr 0.05": lambda: SportEngine(n_epochs=8, learning_rate=0.05),
        "12 epochs": lambda: SportEngine(n_epochs=12),
    }
    for variant in (
        "drop signature",
        "tag signature",
        "drop quoted lines",
        "tag quoted lines",
        "e-mail domains and addresses",
    ):
        candidates[variant] = lambda v=variant: _TextVariant(v)
    results = {}
    for name, make in candidates.items():
        start = time.perf_counter()
        results[name] = _cv_log_odds(texts, labels, _engine_fit_score(make), seed=1)
        _paired(name, results[name], chosen, time.perf_counter() - start)
    try:
        from classifier.local.lexicon import phrases
    except ImportError:  # the modern room's module, not committed everywhere
        phrases = None
    if phrases is not None:
        lexicon = phrases()
        extra_texts = [p for label in sorted(lexicon) for p in lexicon[label]]
        extra_labels = [label for label in sorted(lexicon) for _ in lexicon[label]]
        start = time.perf_counter()
        folds = _cv_log_odds(
            texts,
            labels,
            lambda tr, lb, te: _log_odds_of(
                SportEngine().fit([*tr, *extra_texts], [*lb, *extra_labels]), te
            ),
            seed=1,
        )
        _paired(
            "lexicon phrases as extra training rows", folds, chosen, time.perf_counter() - start
        )
    views = {"char": "char_wb 3-5 NB-LR", "mnb": "word counts MNB(0.1)"}
    scales = {}
    for view, label in views.items():
        start = time.perf_counter()
        other = _cv_log_odds(texts, labels, _sklearn_view(view), seed=1)
        _paired(f"{label} alone", other, chosen, time.perf_counter() - start)
        # put the other view's log-odds on the engine's scale (spread of the scores, no labels)
        scales[view] = np.median([np.std(s) for s, _ in chosen]) / np.median(
            [np.std(s) for s, _ in other]
        )
        for weight in (0.25, 0.5, 1.0):
            _paired(
                f"engine + {weight} x {label} (log-odds)",
                _mix(chosen, other, weight * scales[view]),
                chosen,
            )
    print("\nre-check of the best-looking candidates on fresh fold seeds (7 and 11):")
    print("| candidate | CV accuracy | paired difference +/- s.e. | folds better/worse | seconds |")
    print("|---|---|---|---|---|")
    for seed in (7, 11):
        base = _cv_log_odds(texts, labels, _engine_fit_score(SportEngine), seed=seed)
        _paired(f"chosen engine, seed {seed}", base, base)
        for name in ("drop signature", "8 epochs", "8 epochs, NB power 1.5", "8 epochs, batch 32"):
            start = time.perf_counter()
            folds = _cv_log_odds(texts, labels, _engine_fit_score(candidates[name]), seed=seed)
            _paired(f"{name}, seed {seed}", folds, base, time.perf_counter() - start)
        for view, weight in (("char", 0.25), ("mnb", 0.5)):
            other = _cv_log_odds(texts, labels, _sklearn_view(view), seed=seed)
            mixed = _mix(base, other, weight * scales[view])
            _paired(f"engine + {weight} x {views[view]}, seed {seed}", mixed, base)


def _log_loss(folds) -> float:
    """Mean log loss of the folds' log-odds (the 2nd class positive)."""
    losses = [np.logaddexp(0.0, np.where(y, -s, s)) for s, y in folds]
    return float(np.concatenate(losses).mean())


def stage_5(texts: list[str], labels: list[str]) -> None:
    print("\nstage 5: the final weights, last step vs averaged (5-fold x 4 repeats per seed)")
    print(
        "| candidate | CV accuracy | paired difference +/- s.e. | folds better/worse | seconds "
        "| log loss |"
    )
    print("|---|---|---|---|---|---|")
    for seed in (1, 7, 11):
        start = time.perf_counter()
        make = lambda: SportEngine(average_epochs=0)  # noqa: E731
        last = _cv_log_odds(texts, labels, _engine_fit_score(make), seed)
        seconds = time.perf_counter() - start
        name = f"last step's weights, seed {seed}"
        _paired(name, last, last, seconds, f" {_log_loss(last):.4f} |")
        for epochs in (1, 2):
            start = time.perf_counter()
            make = lambda e=epochs: SportEngine(average_epochs=e)  # noqa: E731
            folds = _cv_log_odds(texts, labels, _engine_fit_score(make), seed)
            name = f"mean of the last {epochs} epoch(s), seed {seed}"
            extra = f" {_log_loss(folds):.4f} |"
            _paired(name, folds, last, time.perf_counter() - start, extra)


if __name__ == "__main__":
    main()
