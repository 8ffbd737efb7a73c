"""Prior knowledge that carries across decades, as short training rows for the local model.

MLB and NHL teams (current and recent names), leagues, trophies, the game's own vocabulary and
some 750 players, managers and other people of the game, 1990s to 2020s (``rosters/``). Written
from general domain knowledge and never fitted on any evaluation set. Ambiguous names (Rangers:
Texas MLB and New York NHL; Panthers, Jets, Kings: also other sports) are listed with the city
only, so every phrase is unambiguous; a city alone is never listed. A person becomes one row,
the surname alone (``player_rows``): that is how today's chat names a player, and a first name
says nothing about the sport. Surnames that are common words elsewhere (Price, Judge, Point) or
in both lists are left out (experiments/lexicon_selection.py compares the ways of writing the
rows). Some 1,290 more people of 2008-2024 are no rows: their distinctive surnames
(``recent_surnames``) are what the default model adds to short texts only (its surname prior),
so that what it learns from the Usenet posts stays as it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from classifier.local.words import words_of

ROSTERS = Path(__file__).parent / "rosters"
"""The lexicon's lists, one entry per line (``#`` comments): the clubs (``mlb_teams.txt``,
``nhl_teams.txt``: city | nickname), nicknames that name a club alone (``mlb_nicknames.txt``,
``nhl_nicknames.txt``), the game's terms (``baseball_terms.txt``, ``hockey_terms.txt``); the
people of the game, full names: ``mlb.txt``, ``nhl.txt`` (well-known players of the
1990s-2020s, then people of 2005-2024; some also in the modern development set) and
``mlb_2008_2024.txt``, ``nhl_2008_2024.txt`` (~1,290 more people prominent in 2008-2024), all
written from general knowledge, none taken from an evaluation set; and the common words among
all their surnames, ``common_words.txt``."""


def read_names(path: Path | str) -> list[str]:
    """The lines of a list (a file name in ``ROSTERS``), in file order, no comments."""
    lines = (line.strip() for line in (ROSTERS / path).read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def read_teams(path: Path | str) -> list[tuple[str, str]]:
    """The (city, nickname) pairs of a list of clubs (a file name in ``ROSTERS``)."""
    pairs = (line.split(" | ") for line in read_names(path))
    return [(city, nickname) for city, nickname in pairs]


MLB_TEAMS = read_teams("mlb_teams.txt")
NHL_TEAMS = read_teams("nhl_teams.txt")
MLB_NICKS = read_names("mlb_nicknames.txt")
NHL_NICKS = read_names("nhl_nicknames.txt")
BASEBALL_TERMS = read_names("baseball_terms.txt")
HOCKEY_TERMS = read_names("hockey_terms.txt")


def team_and_term_phrases() -> dict[str, list[str]]:
    """Label -> phrases (city + nickname, nickname, terms), without players."""
    base = [f"{c} {n}" for c, n in MLB_TEAMS] + MLB_NICKS + BASEBALL_TERMS
    hock = [f"{c} {n}" for c, n in NHL_TEAMS] + NHL_NICKS + HOCKEY_TERMS
    return {"baseball": sorted(set(base)), "hockey": sorted(set(hock))}


MLB_PLAYERS = read_names("mlb.txt")
NHL_PLAYERS = read_names("nhl.txt")
RECENT_MLB_PLAYERS = read_names("mlb_2008_2024.txt")
RECENT_NHL_PLAYERS = read_names("nhl_2008_2024.txt")
COMMON_WORDS = frozenset(read_names("common_words.txt"))
"""Words of the players' surnames that are common outside sport talk: each occurs in at least
``COMMON_DOCUMENTS`` of the 10,117 training documents of the 18 newsgroups that are not about
sport (point, power, price, sale, story, young, lee, ...), over all four rosters. A player whose
surname holds one is left out of the training rows and the surname prior: a row "Price" would
teach the model that a price is hockey. Recomputed from the 20 Newsgroups by
tests/classifier/test_lexicon.py."""
COMMON_DOCUMENTS = 10


def common_words(names: Iterable[str], documents: Iterable[str]) -> frozenset[str]:
    """The words of these people's surnames found in at least ``COMMON_DOCUMENTS`` of the
    documents (the rule behind ``COMMON_WORDS``, whose documents are the 20 Newsgroups training
    documents of the groups that are not about sport)."""
    surname_words = {w for name in names for w in words_of(surname(name))}
    counts = Counter(w for text in documents for w in set(words_of(text)) & surname_words)
    return frozenset(w for w in surname_words if counts[w] >= COMMON_DOCUMENTS)


def surname(name: str) -> str:
    """The last word of a player's name ("Jr" dropped); a one-word name is its own surname."""
    words = name.split()
    if len(words) > 1 and words[-1] in ("Jr", "Jr."):
        words = words[:-1]
    return words[-1]


def player_rows() -> dict[str, list[str]]:
    """Label -> one row per player: the surname alone, what today's chat calls a player by.

    First names say nothing about the sport (they would only learn the lists' accidents: three
    Jacks in hockey, none in baseball), so they are not rows. Left out: surnames holding a common
    word (``COMMON_WORDS``) and surnames found in both lists.
    """

    def distinctive(names: list[str]) -> set[str]:
        return {s for s in map(surname, names) if not COMMON_WORDS.intersection(words_of(s))}

    baseball, hockey = distinctive(MLB_PLAYERS), distinctive(NHL_PLAYERS)
    return {"baseball": sorted(baseball - hockey), "hockey": sorted(hockey - baseball)}


def recent_surnames() -> dict[str, list[str]]:
    """Label -> the surnames of the 2008-2024 rosters that are one word, as ``words_of`` reads
    them (lowercase), sorted: the default model's prior for short texts
    (``GatedSportModel``'s ``surname_prior``), not training rows.

    Left out, as from ``player_rows``: surnames holding a common word and surnames found in
    both sports' lists (of all four rosters); and those already player rows.
    """
    taught = {w for rows in player_rows().values() for row in rows for w in words_of(row)}

    def one_words(names: list[str]) -> set[str]:
        words = (words_of(surname(name)) for name in names)
        return {w[0] for w in words if len(w) == 1 and w[0] not in COMMON_WORDS}

    baseball = one_words(MLB_PLAYERS + RECENT_MLB_PLAYERS)
    hockey = one_words(NHL_PLAYERS + RECENT_NHL_PLAYERS)
    recent = {
        "baseball": one_words(RECENT_MLB_PLAYERS) - hockey - taught,
        "hockey": one_words(RECENT_NHL_PLAYERS) - baseball - taught,
    }
    return {label: sorted(words) for label, words in recent.items()}


def phrases() -> dict[str, list[str]]:
    """Label -> every row of this module (teams, terms and players' surnames), sorted, no
    duplicates."""
    p = team_and_term_phrases()
    players = player_rows()
    return {
        "baseball": sorted(set(p["baseball"] + players["baseball"])),
        "hockey": sorted(set(p["hockey"] + players["hockey"])),
    }
