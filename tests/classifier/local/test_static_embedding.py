"""The static embedding's own WordPiece split and sentence vectors, on the shipped table."""

from __future__ import annotations

import numpy as np
import pytest

import classifier.local.static_embedding as static_embedding
from classifier.local.base_model import load_base_model
from classifier.local.static_embedding import StaticEmbedding, words_of


@pytest.fixture(scope="module")
def embedding() -> StaticEmbedding:
    return load_base_model().embedding


def test_words_are_the_engines_words() -> None:
    assert words_of("The Rays' ace: 12 K's, café!") == [
        "the",
        "rays",
        "ace",
        "12",
        "k",
        "s",
        "café",
    ]


def test_wordpiece_splits_unknown_words_into_known_pieces(embedding: StaticEmbedding) -> None:
    vocabulary = {i: t for t, i in embedding._token_id.items()}
    assert len(embedding.tokens("baseball")) == 1  # a whole-word token
    pieces = [vocabulary[i] for i in embedding.tokens("ohtani")]
    assert len(pieces) > 1 and pieces[0] == pieces[0].lstrip("#")
    assert all(p.startswith("##") for p in pieces[1:])
    assert "".join(p.removeprefix("##") for p in pieces) == "ohtani"


def test_accents_are_stripped_and_punctuation_split_off(embedding: StaticEmbedding) -> None:
    assert embedding.tokens("café") == embedding.tokens("cafe")
    apostrophe = embedding.tokens("ohtani\u2019s")  # a curly apostrophe stays inside the word
    assert apostrophe[: len(embedding.tokens("ohtani"))] == embedding.tokens("ohtani")
    assert len(apostrophe) == len(embedding.tokens("ohtani")) + 2  # the apostrophe and s


def test_overlong_pieces_are_unknown(embedding: StaticEmbedding) -> None:
    assert embedding.tokens("a" * 101) == [embedding._unk]


def test_vectors_are_word_sums_over_their_leading_norm_and_empty_texts_zero(
    embedding: StaticEmbedding,
) -> None:
    texts = ["Gretzky scores again", "", "?!", "home run in the ninth"]
    vectors = embedding.encode(texts)
    leading = np.linalg.norm(vectors[:, : static_embedding.NORM_DIMS], axis=1)
    assert leading == pytest.approx([1.0, 0.0, 0.0, 1.0], abs=1e-5)
    words = words_of(texts[0])
    total = embedding.word_rows(words).sum(axis=0)
    expected = total / np.linalg.norm(total[: static_embedding.NORM_DIMS])
    assert vectors[0] == pytest.approx(expected, abs=1e-5)


def test_batch_and_single_texts_agree(embedding: StaticEmbedding) -> None:
    texts = ["The Leafs lost in overtime", "Judge homered twice", "lunch at noon?"]
    batch = embedding.encode(texts)
    singles = np.vstack([embedding.encode([t]) for t in texts])
    assert batch == pytest.approx(singles, abs=1e-5)


def test_the_word_memo_starting_over_changes_no_vector(
    embedding: StaticEmbedding, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["xqzzy blorfing quuxes", "ohtani deGrom mcdavid draisaitl", "zzkx wobblefrump"]
    before = embedding.encode(texts)
    fresh = StaticEmbedding(
        [t for t, _ in sorted(embedding._token_id.items(), key=lambda kv: kv[1])], embedding._base
    )
    monkeypatch.setattr(static_embedding, "MAX_EXTRA_ROWS", 2)
    for text in texts:  # every text brings more multi-token words than the memo may keep
        fresh.encode([text])
    assert fresh.encode(texts) == pytest.approx(before, abs=1e-5)
