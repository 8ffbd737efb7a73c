"""The lexicon's rows: players by their distinctive surnames, common words left out by the rule
the module states (recomputed here from the real 20 Newsgroups)."""

from __future__ import annotations

from classifier.local import lexicon
from classifier.local.words import words_of


def test_common_words_are_what_the_other_newsgroups_say() -> None:
    from sklearn.datasets import fetch_20newsgroups

    data = fetch_20newsgroups(subset="train")
    other = [
        text
        for text, target in zip(data.data, data.target, strict=True)
        if not data.target_names[target].startswith("rec.sport.")
    ]
    names = lexicon.MLB_PLAYERS + lexicon.NHL_PLAYERS
    names += lexicon.RECENT_MLB_PLAYERS + lexicon.RECENT_NHL_PLAYERS
    assert len(other) == 10_117
    assert lexicon.common_words(names, other) == lexicon.COMMON_WORDS
    # the rule itself: a surname word in 10 documents is common, in 9 it is not
    assert lexicon.common_words(["Al Xyzzy", "Bo Plugh"], ["xyzzy"] * 10 + ["plugh"] * 9) == {
        "xyzzy"
    }


def test_surname() -> None:
    assert lexicon.surname("Wayne Gretzky") == "Gretzky"
    assert lexicon.surname("Bobby Witt Jr") == "Witt"
    assert lexicon.surname("Marc-Andre Fleury") == "Fleury"
    assert lexicon.surname("Ichiro") == "Ichiro"


def test_player_rows_are_distinctive_surnames() -> None:
    rows = lexicon.player_rows()
    assert "Gretzky" in rows["hockey"] and "Ovechkin" in rows["hockey"]
    assert "Ohtani" in rows["baseball"] and "Jeter" in rows["baseball"]
    every = rows["baseball"] + rows["hockey"]
    assert not set(rows["baseball"]) & set(rows["hockey"])
    assert all(" " not in row for row in every), "first names are not rows"
    assert not any(lexicon.COMMON_WORDS.intersection(words_of(row)) for row in every)
    # a common word is no row: Carey Price, Aaron Judge
    assert "Price" not in every and "Judge" not in every


def test_recent_surnames_are_distinctive_one_words_not_taught_as_rows() -> None:
    recent = lexicon.recent_surnames()
    assert "profar" in recent["baseball"] and "kotkaniemi" in recent["hockey"]
    every = recent["baseball"] + recent["hockey"]
    assert len(every) > 800 and not set(recent["baseball"]) & set(recent["hockey"])
    assert all(words_of(word) == [word] for word in every), "one lowercase word each"
    assert not lexicon.COMMON_WORDS & set(every)  # Bell, Bay, Adams: common words, no prior
    taught = {w for rows in lexicon.player_rows().values() for row in rows for w in words_of(row)}
    assert not taught & set(every)
    # a surname in both sports' lists says neither
    assert "Dexter Fowler" in lexicon.RECENT_MLB_PLAYERS
    assert "Cam Fowler" in lexicon.RECENT_NHL_PLAYERS
    assert "fowler" not in lexicon.COMMON_WORDS and "fowler" not in every


def test_phrases_hold_teams_terms_and_surnames_once() -> None:
    phrases = lexicon.phrases()
    for label, rows in phrases.items():
        assert rows == sorted(set(rows)), label
    assert "Stanley Cup" in phrases["hockey"] and "Gretzky" in phrases["hockey"]
    assert "World Series" in phrases["baseball"] and "Wayne Gretzky" not in phrases["hockey"]


def test_rosters_are_names_without_comments_or_blank_lines() -> None:
    for names in (
        lexicon.MLB_PLAYERS,
        lexicon.NHL_PLAYERS,
        lexicon.RECENT_MLB_PLAYERS,
        lexicon.RECENT_NHL_PLAYERS,
    ):
        assert len(names) > 300
        assert not [n for n in names if n.startswith("#") or n != n.strip() or not n]
    assert "Shohei Ohtani" in lexicon.MLB_PLAYERS and "Wayne Gretzky" in lexicon.NHL_PLAYERS


def test_the_clubs_read_as_city_and_nickname() -> None:
    assert ("Tampa Bay", "Rays") in lexicon.MLB_TEAMS and ("Boston", "Bruins") in lexicon.NHL_TEAMS
    assert len(lexicon.MLB_TEAMS) > 30 and len(lexicon.NHL_TEAMS) > 30
    assert "Tampa Bay Rays" in lexicon.phrases()["baseball"]
    assert "Halos" in lexicon.MLB_NICKS and "Yotes" in lexicon.NHL_NICKS
    assert "puck" in lexicon.HOCKEY_TERMS and "slugger" in lexicon.BASEBALL_TERMS
