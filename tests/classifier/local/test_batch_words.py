"""``look_up_batch`` (words found in numpy) against ``look_up`` (one ``dict.get`` per word), and
``WordIndex`` against a dictionary."""

from __future__ import annotations

import random
import string

import numpy as np
import pytest

from classifier.local.batch_words import BatchIndex, look_up_batch, tagged_index
from classifier.local.word_index import MAX_KEY_BYTES, WordIndex, split_words
from classifier.local.words import LOWER_SEPARATE_BYTES, Vocabulary, look_up, pack, words_of
from tests.classifier.local.test_words import ODD_TEXTS

LONG_TEXTS = [
    "Subject: Supercalifragilistic expialidocious fifteencharword sixteencharwords\n\n"
    "antidisestablishmentarianism eight888 "
    "nine99999 sixteen1234567890 seventeen12345678 a",
    "From: someone@averyveryverylongdomainname.example\nSubject: Re: x\n\nshort words only",
    "1234567 12345678 123456789 1234567890123456 12345678901234567 zzzunknownzzz",
]


@pytest.fixture(scope="module")
def tables(valid_rows: tuple[list[str], list[str]]) -> tuple[Vocabulary, BatchIndex]:
    """Tables that know most words of the texts (every third word of the validation rows is
    left out, to be unknown), and a few tagged header words."""
    words = sorted({w for t in [*ODD_TEXTS, *LONG_TEXTS, *valid_rows[0]] for w in words_of(t)})
    known = {w: j for j, w in enumerate(words, start=1) if j % 3}
    packed = dict(zip(known, pack(known.values()), strict=True))
    bytes_words = {w.encode(): j for w, j in packed.items() if w.isascii()}
    fields = {
        "subject": {
            "rays": 10_001,
            "leafs": 10_002,
            "supercalifragilistic": 10_004,
            "fifteencharword": 10_007,
            "sixteencharwords": 10_008,
        },
        "from": {"fan": 10_003, "averyveryverylongdomainname": 10_005, "edu": 10_006},
    }
    str_fields = {f: dict(zip(v, pack(v.values()), strict=True)) for f, v in fields.items()}
    for field in ("organization", "keywords", "summary", "distribution"):
        str_fields[field] = {}
    vocabulary = Vocabulary(
        bytes_words.get,
        packed.get,
        {f.encode(): {w.encode(): j for w, j in v.items()}.get for f, v in str_fields.items()},
        {f: v.get for f, v in str_fields.items()},
    )
    ascii_words = [w for w in known if w.isascii()]
    index = BatchIndex(
        WordIndex([w.encode() for w in ascii_words], [known[w] for w in ascii_words]),
        tagged_index(str_fields),
    )
    return vocabulary, index


@pytest.mark.parametrize("message", [True, False], ids=["message", "no-message"])
@pytest.mark.parametrize("missing", [True, False], ids=["missing", "padding"])
@pytest.mark.parametrize("fields", [True, False], ids=["header-fields", "no-header-fields"])
def test_a_batch_looks_up_what_look_up_does(
    tables, valid_rows, message: bool, missing: bool, fields: bool
) -> None:
    vocabulary, index = tables
    if not fields:
        vocabulary = vocabulary._replace(bytes_field_gets={}, str_field_gets={})
    texts = [*ODD_TEXTS, *LONG_TEXTS, *valid_rows[0][:80], *ODD_TEXTS[::-1]]
    for batch in (texts, [t for t in texts if t.isascii()], ODD_TEXTS[-3:], ["", ""]):
        ours = look_up_batch(batch, vocabulary, index, missing=missing, message=message)
        theirs = look_up(batch, vocabulary, missing=missing, message=message)
        assert ours.ids.tolist() == theirs.ids.tolist()
        assert ours.lengths == theirs.lengths
        assert ours.message_ids.tolist() == theirs.message_ids.tolist()
        assert ours.message_lengths == theirs.message_lengths
        assert ours.posts == theirs.posts


def test_the_index_finds_exactly_the_words_it_holds() -> None:
    rng = random.Random(0)

    def word() -> bytes:
        n = rng.choice([1, 2, 7, 8, 9, 15, 16, 17, 30])
        return "".join(
            rng.choice(string.ascii_lowercase + string.digits) for _ in range(n)
        ).encode()

    words = list(dict.fromkeys(word() for _ in range(6000)))
    ids = {w: i for i, w in enumerate(words)}
    index = WordIndex(words[:100], list(range(100)))
    index.add(words[100:4000], list(range(100, 4000)))  # grows the table several times
    copy = index.copy()
    copy.add([b"onlyinthecopy"], [99_999])
    text = b" ".join(rng.choice(words) if rng.random() < 0.8 else word() for _ in range(20_000))
    separated = text.translate(LOWER_SEPARATE_BYTES)
    found = split_words(separated)
    split = separated.split()
    assert [separated[s : s + n] for s, n in zip(found.starts, found.lengths, strict=True)] == split
    expected = [
        ids[w] if ids.get(w, 4000) < 4000 and len(w) <= MAX_KEY_BYTES else -1 for w in split
    ]
    assert index.find(found.lo, found.hi).tolist() == expected
    assert copy.find(*split_words(b"onlyinthecopy")[2:]).tolist() == [99_999]
    assert index.find(*split_words(b"onlyinthecopy")[2:]).tolist() == [-1]
    with pytest.raises(ValueError):
        index.add([b"two words"], [1])
    assert np.array_equal(index.find(*split_words(b"")[2:]), np.zeros(0, np.int32))
