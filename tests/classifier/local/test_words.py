"""The one word split of the local models: ``look_up``'s fast path against the plain functions."""

from __future__ import annotations

import pytest

from classifier.local.usenet import is_post, message_text
from classifier.local.words import (
    PADDING,
    Vocabulary,
    header_terms,
    look_up,
    message_words,
    pack,
    words_of,
)

ODD_TEXTS = [
    "",
    "?!",
    "Leafs win in OT",
    "Reminder: game tonight\n\nLeafs vs Habs at 7",
    "Subject: only a header line\n\nand a body",
    "Subject: Re: Re:re: Rays win\nFrom: fan@pitt.edu (A Fan)\nLines: 2\n\nWhat a game!",
    "From: fan@pitt.edu\nSubject:Re:Rays\n  continued subject\nSubject: the last one counts\n\nbody",
    "From: a@b.c\nSubject:\x1cRe: control separator\n\nbody words",
    "From: a@b.c\nSubject:  Re: two spaces keep the re\n\nbody",
    "From: a@b.c\nSubject:\nOrganization: none\n\nempty subject",
    "From: a@b.c\nX1-Field: digits in a name\nSubject: still a post\n\nbody here",
    "From: a@b.c\nArticle-I.D.: news.1\nNntp-Posting-Host-[x]: y\nSubject: dots\n\nstill a post",
    "From: a@b.c\nnot a header line\n\nso the whole text is the message",
    "X-Note: header lines\nLines: 2\n\nbut no From or Subject: not a post",
    "Keywords: late\nfrom: lowercase field name\n\nstill a post",
    "\n\nstarts with a blank line",
    "subject: lowercase header\nORGANIZATION: Upper Case Field\n\nbody",
    "Subject: Rays\x1cwin\x0bagain\x1f\n\nASCII controls\x1eseparate words",
    "From: Fan\xa0Club <fan@pitt.edu>\nSubject: ÉTÉ Penguins\u2003win\n\nK\u212a \u0130stanbul",
    "Subject: Re: café\n\nnon-ASCII post body, naïve",
    "Ohtani\u2019s 50th homer \u26be\ufe0f",
]


@pytest.fixture(scope="module")
def vocabulary() -> tuple[Vocabulary, dict[str, int], dict[str, dict[str, int]]]:
    """Tables that know every word of the texts, and a few tagged header words."""
    words = sorted({w for t in ODD_TEXTS for w in words_of(t)})
    ids = {w: j for j, w in enumerate(words, start=1)}
    fields = {"subject": {"rays": 10_001, "penguins": 10_002}, "from": {"fan": 10_003}}
    packed = dict(zip(ids, pack(ids.values()), strict=True))
    bytes_words = {w.encode(): j for w, j in packed.items() if w.isascii()}
    str_fields = {f: dict(zip(v, pack(v.values()), strict=True)) for f, v in fields.items()}
    for field in ("organization", "keywords", "summary", "distribution"):
        str_fields[field] = {}
    bytes_fields = {
        f.encode(): {w.encode(): j for w, j in v.items()}.get for f, v in str_fields.items()
    }
    table = Vocabulary(
        bytes_words.get,
        packed.get,
        bytes_fields,
        {f: v.get for f, v in str_fields.items()},
    )
    return table, ids, fields


def _split(lengths: list[int], ids: list[int]) -> list[list[int]]:
    rows, start = [], 0
    for n in lengths:
        rows.append(ids[start : start + n])
        start += n
    return rows


@pytest.mark.parametrize("fields", [True, False], ids=["header-fields", "no-header-fields"])
@pytest.mark.parametrize("texts", [ODD_TEXTS, ODD_TEXTS[::-1]], ids=["forward", "reversed"])
def test_the_message_words_are_those_of_message_text(vocabulary, fields, texts) -> None:
    table, ids, _ = vocabulary
    if not fields:  # the subject is then found without the tagged header words' scan
        table = table._replace(bytes_field_gets={}, str_field_gets={})
    found = look_up(texts, table, message=True)
    rows = _split(found.message_lengths, found.message_ids.tolist())
    assert len(rows) == len(texts)
    assert found.posts == [is_post(text) for text in texts]
    for text, row in zip(texts, rows, strict=True):
        expected = [ids[w] for w in words_of(message_text(text))]
        assert row == [0, *expected], text
        alone = look_up([text], table, message=True)  # a text alone is gathered by slices
        assert alone.message_ids.tolist() == row, text
        assert alone.message_lengths == [len(row)]
        assert alone.posts == [is_post(text)], text


def test_the_words_and_tagged_header_words_are_those_of_the_plain_split(vocabulary) -> None:
    table, ids, fields = vocabulary
    found = look_up(ODD_TEXTS, table)
    rows = _split(found.lengths, found.ids.tolist())
    for text, row in zip(ODD_TEXTS, rows, strict=True):
        tagged = [t.partition(":") for t in header_terms(text.lower())]
        expected = [ids[w] for w in words_of(text)]
        expected += [fields.get(f, {}).get(w, 0) for f, _, w in tagged]
        assert row == [0, *expected], text


def test_unknown_words_are_padding_or_marked_missing(vocabulary) -> None:
    table, _, _ = vocabulary
    assert look_up(["zzzunknown Leafs"], table).ids.tolist()[:2] == [0, 0]
    marked = look_up(["zzzunknown Leafs", "caf\xe9 zzzunknown"], table, missing=True)
    assert marked.ids.tolist().count(-1) == 2
    assert pack([0]) == [PADDING]


def test_message_words_of_a_chat_message_are_all_its_words() -> None:
    text = "Reminder: the Leafs won\nin OT"
    assert message_words(text) == words_of(text)
