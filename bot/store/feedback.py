"""Feedback: corrections (or confirmations) from users' buttons, the bot's own training data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bot.store.database import Database
from bot.store.schema import Feedback, storable_text


@dataclass(frozen=True)
class FeedbackExample:
    text: str
    label: str
    user_id: str
    created_at: datetime
    model: str | None
    predicted_label: str | None


class FeedbackLog:
    """Stored feedback examples, in the order they came."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(
        self,
        text: str,
        label: str,
        user_id: str,
        model: str | None = None,
        predicted_label: str | None = None,
    ) -> int:
        """Store one example; return its row id."""
        return await self._database.run_in_thread(
            self._add, text, label, user_id, model, predicted_label
        )

    async def count(self) -> int:
        return await self._database.run_in_thread(self._count)

    async def examples(self) -> list[FeedbackExample]:
        """Every stored feedback example, oldest first (a training data source)."""
        return await self._database.run_in_thread(self._examples)

    def _add(
        self,
        text: str,
        label: str,
        user_id: str,
        model: str | None,
        predicted_label: str | None,
    ) -> int:
        with self._database.session() as session:
            row = Feedback(
                text=storable_text(text),
                label=storable_text(label),
                user_id=storable_text(user_id),
                model=storable_text(model) if model is not None else None,
                predicted_label=(
                    storable_text(predicted_label) if predicted_label is not None else None
                ),
            )
            session.add(row)
            session.flush()
            return row.id

    def _count(self) -> int:
        with self._database.session() as session:
            return int(session.scalar(select(func.count()).select_from(Feedback)) or 0)

    def _examples(self) -> list[FeedbackExample]:
        with self._database.session() as session:
            rows = session.scalars(select(Feedback).order_by(Feedback.id)).all()
            return [
                FeedbackExample(
                    text=r.text,
                    label=r.label,
                    user_id=r.user_id,
                    created_at=r.created_at,
                    model=r.model,
                    predicted_label=r.predicted_label,
                )
                for r in rows
            ]
