"""Answers given with feedback buttons, kept under a short random id that the buttons carry."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from bot.store.database import Database
from bot.store.schema import NO_TEAM, AnsweredText, storable_text, utcnow

ANSWER_MEMORY = timedelta(days=7)
"""How long an answer can take feedback: people press a button within minutes of an ephemeral
answer (whose ``response_url`` lasts 30 minutes), and an answer in a thread may be read days
later; a week covers both without keeping people's messages longer than that."""
ANSWER_ID_BYTES = 12
"""Random bytes of an answer id: 16 URL-safe characters, never guessed."""


@dataclass(frozen=True)
class AnswerRecord:
    id: str
    team_id: str | None
    text: str
    predicted_label: str
    """The label the answer gave: a sport, or "other" when it said neither."""
    model: str
    created_at: datetime
    enterprise_id: str = NO_TEAM


class AnswerLog:
    """Answered texts, each under a random id, forgotten after ``ANSWER_MEMORY``."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(
        self,
        text: str,
        predicted_label: str,
        model: str,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> str:
        """Keep an answer given in the workspace ``team_id``; return its id."""
        return await self._database.run_in_thread(
            self._add, text, predicted_label, model, team_id, enterprise_id or NO_TEAM
        )

    async def get(self, answer_id: str, team_id: str | None = None) -> AnswerRecord | None:
        """The answer with this id, or None when there is none, it is older than
        ``ANSWER_MEMORY``, or it was given in another workspace than ``team_id``."""
        if not answer_id:
            return None
        record = await self._database.run_in_thread(self._get, answer_id)
        if record is None or record.created_at < utcnow() - ANSWER_MEMORY:
            return None
        if team_id and record.team_id and record.team_id != team_id:
            return None
        return record

    async def forget_before(self, when: datetime) -> int:
        """Drop answers given before ``when``; return how many."""
        return await self._database.run_in_thread(self._forget_before, when)

    def _add(
        self,
        text: str,
        predicted_label: str,
        model: str,
        team_id: str | None,
        enterprise_id: str,
    ) -> str:
        answer_id = secrets.token_urlsafe(ANSWER_ID_BYTES)
        with self._database.session() as session:
            session.add(
                AnsweredText(
                    id=answer_id,
                    team_id=storable_text(team_id) if team_id else None,
                    enterprise_id=storable_text(enterprise_id),
                    text=storable_text(text),
                    predicted_label=storable_text(predicted_label),
                    model=storable_text(model),
                )
            )
        return answer_id

    def _get(self, answer_id: str) -> AnswerRecord | None:
        with self._database.session() as session:
            row = session.get(AnsweredText, answer_id)
            if row is None:
                return None
            return AnswerRecord(
                id=row.id,
                team_id=row.team_id,
                text=row.text,
                predicted_label=row.predicted_label,
                model=row.model,
                created_at=row.created_at,
                enterprise_id=row.enterprise_id,
            )

    def _forget_before(self, when: datetime) -> int:
        with self._database.session() as session:
            result = session.execute(delete(AnsweredText).where(AnsweredText.created_at < when))
            return int(getattr(result, "rowcount", 0) or 0)
