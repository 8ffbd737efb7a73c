"""The bot's state in SQL, one module per concern behind one async facade, ``Store``.

SQLite under ``SPORTBOT_HOME`` by default, PostgreSQL (or any SQLAlchemy URL) through
``DATABASE_URL``. Everything that must hold across processes (event and signature claims, the
retrain lock) is decided by the database, never by process memory.

Every query method is a coroutine: callers ``await store.<concern>.<method>(…)`` and never pick
a thread themselves. Whether a query runs inline on the event loop or in a worker thread is
decided in ``bot.store.database`` (the hot path inline on SQLite, everything else in a thread).
"""

from __future__ import annotations

from bot.store.answers import AnswerLog, AnswerRecord
from bot.store.channels import Channels
from bot.store.database import Database
from bot.store.events import EventClaims
from bot.store.feedback import FeedbackExample, FeedbackLog
from bot.store.locks import Locks
from bot.store.retrains import RetrainLog, RetrainRecord
from bot.store.schema import utcnow
from bot.store.signatures import SignatureClaims

__all__ = ["AnswerRecord", "FeedbackExample", "RetrainRecord", "Store", "utcnow"]


class Store:
    """The bot's database: ``Store.open(url)`` creates the tables that are missing.

    ``channels``: the auto-tag switch per channel. ``feedback``: users' training examples.
    ``answers``: answers given with feedback buttons, under the ids the buttons carry.
    ``events``: claims of Slack event ids. ``signatures``: signed requests already accepted.
    ``retrains``: the retrain audit log. ``locks``: named locks (the retrain lock).
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self.channels = Channels(database)
        self.feedback = FeedbackLog(database)
        self.answers = AnswerLog(database)
        self.events = EventClaims(database)
        self.signatures = SignatureClaims(database)
        self.retrains = RetrainLog(database)
        self.locks = Locks(database)

    @classmethod
    def open(cls, url: str) -> Store:
        return cls(Database.open(url))

    def close(self) -> None:
        self.database.close()
