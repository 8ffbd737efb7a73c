"""Which texts are Usenet posts, and their parts."""

from __future__ import annotations

import pytest

from classifier.local.usenet import is_post, message_text, subject_row

ARTICLE_ID_POST = (
    "From: fan@pitt.edu (A Fan)\nSubject: Re: Leafs in the playoffs\nArticle-I.D.: pitt.1993Apr5\n"
    "Organization: Pitt\nLines: 1\n\nGilmour had two goals."
)


@pytest.mark.parametrize(
    "text",
    [
        ARTICLE_ID_POST,  # one post in sixteen of the 20 Newsgroups has this field
        "From: a@b.c\nNntp-Posting-Host-[nntpd-8755]: x\nSubject: odd field names\n\nbody",
        "Subject: only a subject\n\nbody",
        "From: a@b.c\nSubject: folded\n  onto a second line\n\nbody",
    ],
)
def test_a_header_of_field_lines_with_from_or_subject_is_a_post(text: str) -> None:
    assert is_post(text)


@pytest.mark.parametrize(
    "text",
    [
        "Reminder: game tonight\n\nLeafs vs Habs at 7",  # a field line, but no From or Subject
        "From: a@b.c\nnot a header line\n\nbody",
        "From: a@b.c\nSubject: no body",
        "From a@b.c: spaces are no field name\nSubject: x\n\nbody",
        "Leafs win in OT",
    ],
)
def test_anything_else_is_not(text: str) -> None:
    assert not is_post(text)


def test_a_post_with_dotted_field_names_reads_as_subject_and_body() -> None:
    assert message_text(ARTICLE_ID_POST) == "Leafs in the playoffs\nGilmour had two goals."
    assert subject_row(ARTICLE_ID_POST) == "Leafs in the playoffs"
