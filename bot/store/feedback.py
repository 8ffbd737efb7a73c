"""Feedback: corrections (or confirmations) from users' buttons, the bot's own training data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bot.store.database import Database
from bot.store.schema import NO_TEAM, Feedback, storable_text


@dataclass(frozen=True)
class FeedbackExample:
    text: str
    label: str
    user_id: str
    created_at: datetime
    model: str | None
    predicted_label: str | None
    team_id: str = NO_TEAM
    enterprise_id: str = NO_TEAM


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
        *,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> int:
        """Store one example, given in the workspace ``team_id``; return its row id."""
        workspace = (storable_text(team_id or NO_TEAM), storable_text(enterprise_id or NO_TEAM))
        return await self._database.run_in_thread(
            self._add, text, label, user_id, model, predicted_label, workspace
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
        workspace: tuple[str, str],
    ) -> int:
        with self._database.session() as session:
            row = Feedback(
                team_id=workspace[0],
                enterprise_id=workspace[1],
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
                    team_id=r.team_id,
                    enterprise_id=r.enterprise_id,
                )
                for r in rows
            ]
