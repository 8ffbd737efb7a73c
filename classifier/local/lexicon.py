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

MLB_TEAMS = [
    ("Arizona", "Diamondbacks"),
    ("Arizona", "D-backs"),
    ("Atlanta", "Braves"),
    ("Baltimore", "Orioles"),
    ("Boston", "Red Sox"),
    ("Chicago", "Cubs"),
    ("Chicago", "White Sox"),
    ("Cincinnati", "Reds"),
    ("Cleveland", "Guardians"),
    ("Cleveland", "Indians"),
    ("Colorado", "Rockies"),
    ("Detroit", "Tigers"),
    ("Houston", "Astros"),
    ("Kansas City", "Royals"),
    ("Los Angeles", "Angels"),
    ("Anaheim", "Angels"),
    ("Los Angeles", "Dodgers"),
    ("Miami", "Marlins"),
    ("Florida", "Marlins"),
    ("Milwaukee", "Brewers"),
    ("Minnesota", "Twins"),
    ("New York", "Mets"),
    ("New York", "Yankees"),
    ("Oakland", "Athletics"),
    ("Oakland", "A's"),
    ("Philadelphia", "Phillies"),
    ("Pittsburgh", "Pirates"),
    ("San Diego", "Padres"),
    ("San Francisco", "Giants"),
    ("Seattle", "Mariners"),
    ("St. Louis", "Cardinals"),
    ("Tampa Bay", "Rays"),
    ("Tampa Bay", "Devil Rays"),
    ("Texas", "Rangers"),
    ("Toronto", "Blue Jays"),
    ("Washington", "Nationals"),
    ("Montreal", "Expos"),
]
# nicknames that, on their own, name an MLB club far more often than anything else in sports talk
MLB_NICKS = [
    "Diamondbacks",
    "D-backs",
    "Dbacks",
    "Braves",
    "Orioles",
    "O's",
    "Red Sox",
    "Redsox",
    "BoSox",
    "Cubs",
    "Cubbies",
    "White Sox",
    "ChiSox",
    "Guardians",
    "Rockies",
    "Astros",
    "Stros",
    "Dodgers",
    "Marlins",
    "Brewers",
    "Brew Crew",
    "Twins",
    "Mets",
    "Yankees",
    "Yanks",
    "Bronx Bombers",
    "Phillies",
    "Phils",
    "Padres",
    "Mariners",
    "M's",
    "Rays",
    "Blue Jays",
    "Jays",
    "Nationals",
    "Nats",
    "Expos",
    "Halos",
]
NHL_TEAMS = [
    ("Anaheim", "Ducks"),
    ("Arizona", "Coyotes"),
    ("Phoenix", "Coyotes"),
    ("Utah", "Hockey Club"),
    ("Utah", "Mammoth"),
    ("Boston", "Bruins"),
    ("Buffalo", "Sabres"),
    ("Calgary", "Flames"),
    ("Carolina", "Hurricanes"),
    ("Chicago", "Blackhawks"),
    ("Colorado", "Avalanche"),
    ("Columbus", "Blue Jackets"),
    ("Dallas", "Stars"),
    ("Detroit", "Red Wings"),
    ("Edmonton", "Oilers"),
    ("Florida", "Panthers"),
    ("Los Angeles", "Kings"),
    ("Minnesota", "Wild"),
    ("Montreal", "Canadiens"),
    ("Nashville", "Predators"),
    ("New Jersey", "Devils"),
    ("New York", "Islanders"),
    ("New York", "Rangers"),
    ("Ottawa", "Senators"),
    ("Philadelphia", "Flyers"),
    ("Pittsburgh", "Penguins"),
    ("San Jose", "Sharks"),
    ("Seattle", "Kraken"),
    ("St. Louis", "Blues"),
    ("Tampa Bay", "Lightning"),
    ("Toronto", "Maple Leafs"),
    ("Vancouver", "Canucks"),
    ("Vegas", "Golden Knights"),
    ("Washington", "Capitals"),
    ("Winnipeg", "Jets"),
    ("Quebec", "Nordiques"),
    ("Hartford", "Whalers"),
    ("Atlanta", "Thrashers"),
    ("Minnesota", "North Stars"),
]
NHL_NICKS = [
    "Ducks",
    "Coyotes",
    "Yotes",
    "Bruins",
    "B's",
    "Sabres",
    "Flames",
    "Hurricanes",
    "Canes",
    "Blackhawks",
    "Avalanche",
    "Avs",
    "Blue Jackets",
    "CBJ",
    "Red Wings",
    "Oilers",
    "Predators",
    "Preds",
    "Canadiens",
    "Habs",
    "Islanders",
    "Isles",
    "Flyers",
    "Penguins",
    "Pens",
    "Sharks",
    "Kraken",
    "Lightning",
    "Bolts",
    "Maple Leafs",
    "Leafs",
    "Canucks",
    "Nucks",
    "Golden Knights",
    "Capitals",
    "Caps",
    "Nordiques",
    "Whalers",
    "Thrashers",
    "North Stars",
]
BASEBALL_TERMS = [
    "baseball",
    "MLB",
    "Major League Baseball",
    "World Series",
    "ALCS",
    "NLCS",
    "ALDS",
    "NLDS",
    "American League",
    "National League",
    "AL East",
    "AL West",
    "AL Central",
    "NL East",
    "NL West",
    "NL Central",
    "wild card game",
    "spring training",
    "Cy Young",
    "Rookie of the Year",
    "Silver Slugger",
    "Gold Glove",
    "pitcher",
    "pitchers",
    "pitching",
    "pitched",
    "pitch count",
    "starting pitcher",
    "reliever",
    "relievers",
    "bullpen",
    "setup man",
    "inning",
    "innings",
    "home run",
    "home runs",
    "homer",
    "homers",
    "homered",
    "grand slam",
    "walk-off",
    "walkoff",
    "RBI",
    "RBIs",
    "batting average",
    "on-base",
    "OPS",
    "strikeout",
    "strikeouts",
    "struck out",
    "no-hitter",
    "perfect game",
    "shortstop",
    "second baseman",
    "third baseman",
    "first baseman",
    "outfielder",
    "outfield",
    "infielder",
    "infield",
    "catcher",
    "designated hitter",
    "DH",
    "pinch hitter",
    "pinch-hit",
    "batter",
    "batters",
    "hitter",
    "hitters",
    "at-bat",
    "at-bats",
    "dugout",
    "mound",
    "fastball",
    "curveball",
    "slider",
    "changeup",
    "knuckleball",
    "splitter",
    "double play",
    "stolen base",
    "bunt",
    "base hit",
    "doubleheader",
    "ballpark",
    "ballgame",
    "Triple-A",
    "Double-A",
    "minor league",
    "Fenway",
    "Wrigley",
    "Yankee Stadium",
    "Dodger Stadium",
    "bleachers",
    "umpire",
    "foul ball",
    "bases loaded",
    "left field",
    "right field",
    "center field",
    "7th inning stretch",
    "slugger",
    "slugging",
]
HOCKEY_TERMS = [
    "hockey",
    "NHL",
    "National Hockey League",
    "Stanley Cup",
    "Stanley Cup Final",
    "Cup Final",
    "puck",
    "pucks",
    "goalie",
    "goalies",
    "goaltender",
    "goaltending",
    "netminder",
    "power play",
    "powerplay",
    "penalty kill",
    "PK",
    "shorthanded",
    "short-handed",
    "hat trick",
    "slapshot",
    "slap shot",
    "wrist shot",
    "one-timer",
    "faceoff",
    "faceoffs",
    "face-off",
    "icing",
    "blue line",
    "blueliner",
    "rink",
    "skate",
    "skates",
    "skating",
    "skater",
    "defenseman",
    "defencemen",
    "defenceman",
    "defensemen",
    "d-man",
    "winger",
    "centreman",
    "left wing",
    "right wing",
    "shutout",
    "save percentage",
    "GAA",
    "shootout",
    "penalty box",
    "sin bin",
    "boarding",
    "cross-checking",
    "cross-check",
    "hooking",
    "slashing",
    "high-sticking",
    "high sticking",
    "tripping",
    "fighting major",
    "enforcer",
    "Zamboni",
    "AHL",
    "KHL",
    "OHL",
    "WHL",
    "QMJHL",
    "CHL",
    "ECHL",
    "Calder",
    "Conn Smythe",
    "Vezina",
    "Norris",
    "Selke",
    "Art Ross",
    "Rocket Richard",
    "Presidents' Trophy",
    "Hart Trophy",
    "five-hole",
    "top shelf",
    "bar down",
    "celly",
    "snipe",
    "sniper",
    "deke",
    "backcheck",
    "forecheck",
    "plus-minus",
    "empty net",
    "empty-netter",
    "pulled the goalie",
    "line change",
    "Frozen Four",
    "World Juniors",
    "Original Six",
    "playoff beard",
    "stickhandling",
    "breakaway",
    "odd-man rush",
    "penalty shot",
    "overtime winner",
    "OT winner",
]


def team_and_term_phrases() -> dict[str, list[str]]:
    """Label -> phrases (city + nickname, nickname, terms), without players."""
    base = [f"{c} {n}" for c, n in MLB_TEAMS] + MLB_NICKS + BASEBALL_TERMS
    hock = [f"{c} {n}" for c, n in NHL_TEAMS] + NHL_NICKS + HOCKEY_TERMS
    return {"baseball": sorted(set(base)), "hockey": sorted(set(hock))}


ROSTERS = Path(__file__).parent / "rosters"
"""People of the game, full names, one per line (``#`` comments): ``mlb.txt``, ``nhl.txt``
(well-known players of the 1990s-2020s, then people of 2005-2024; some also in the modern
development set) and ``mlb_2008_2024.txt``, ``nhl_2008_2024.txt`` (~1,290 more people prominent
in 2008-2024), all written from general knowledge, none taken from an evaluation set; and the
common words among all their surnames, ``common_words.txt``."""


def read_names(path: Path | str) -> list[str]:
    """The lines of a roster file (a name: one of ``ROSTERS``), in file order, no comments."""
    lines = (line.strip() for line in (ROSTERS / path).read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


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
