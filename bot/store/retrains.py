"""The retrain audit log: one row per retrain attempt, refused ones included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from bot.store.database import Database
from bot.store.schema import NO_TEAM, RetrainAudit, utcnow

UNFINISHED_STATUSES = ("queued", "running")

UPDATABLE_FIELDS = frozenset({"status", "job_id", "model_id", "message"})
"""What ``RetrainLog.update`` may change: who asked, when and for what stay as recorded."""


@dataclass(frozen=True)
class RetrainRecord:
    id: int
    user_id: str
    created_at: datetime
    updated_at: datetime
    source: str
    status: str
    job_id: str | None
    model_id: str | None
    message: str | None
    team_id: str = NO_TEAM
    """The workspace the retrain was asked from (every workspace shares the model)."""
    enterprise_id: str = NO_TEAM


class RetrainLog:
    """Audit rows of retrains and rollbacks, newest first when read."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def record(
        self,
        user_id: str,
        source: str,
        status: str,
        *,
        job_id: str | None = None,
        model_id: str | None = None,
        message: str | None = None,
        team_id: str | None = None,
        enterprise_id: str | None = None,
    ) -> int:
        """Add an audit row (asked from the workspace ``team_id``) and return its id."""
        workspace = (team_id or NO_TEAM, enterprise_id or NO_TEAM)
        return await self._database.run_in_thread(
            self._record, user_id, source, status, job_id, model_id, message, workspace
        )

    async def update(self, audit_id: int, **fields: str | None) -> None:
        """Change ``status``, ``job_id``, ``model_id`` or ``message`` of an audit row."""
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"unknown retrain audit fields: {sorted(unknown)}")
        await self._database.run_in_thread(self._update, audit_id, fields)

    async def recent(self, limit: int = 5, *, team_id: str | None = None) -> list[RetrainRecord]:
        """The newest audit rows first; with ``team_id``, only those asked from that workspace
        (and those of no recorded workspace)."""
        return await self._database.run_in_thread(self._recent, limit, team_id)

    async def get(self, audit_id: int) -> RetrainRecord | None:
        return await self._database.run_in_thread(self._get, audit_id)

    async def fail_unfinished(self, message: str) -> int:
        """Mark retrains left queued/running (their process died) as failed; return how many."""
        return await self._database.run_in_thread(self._fail_unfinished, message)

    def _record(
        self,
        user_id: str,
        source: str,
        status: str,
        job_id: str | None,
        model_id: str | None,
        message: str | None,
        workspace: tuple[str, str],
    ) -> int:
        with self._database.session() as session:
            row = RetrainAudit(
                team_id=workspace[0],
                enterprise_id=workspace[1],
                user_id=user_id,
                source=source,
                status=status,
                job_id=job_id,
                model_id=model_id,
                message=message,
            )
            session.add(row)
            session.flush()
            return row.id

    def _update(self, audit_id: int, fields: dict[str, str | None]) -> None:
        with self._database.session() as session:
            session.execute(
                update(RetrainAudit)
                .where(RetrainAudit.id == audit_id)
                .values(**fields, updated_at=utcnow())
            )

    def _recent(self, limit: int, team_id: str | None) -> list[RetrainRecord]:
        query = select(RetrainAudit).order_by(RetrainAudit.id.desc()).limit(limit)
        if team_id is not None:
            query = query.where(RetrainAudit.team_id.in_([team_id, NO_TEAM]))
        with self._database.session() as session:
            rows = session.scalars(query).all()
            return [_record_of(r) for r in rows]

    def _get(self, audit_id: int) -> RetrainRecord | None:
        with self._database.session() as session:
            row = session.get(RetrainAudit, audit_id)
            return _record_of(row) if row is not None else None

    def _fail_unfinished(self, message: str) -> int:
        with self._database.session() as session:
            result = session.execute(
                update(RetrainAudit)
                .where(RetrainAudit.status.in_(UNFINISHED_STATUSES))
                .values(status="failed", message=message, updated_at=utcnow())
            )
            return int(getattr(result, "rowcount", 0) or 0)


def _record_of(row: RetrainAudit) -> RetrainRecord:
    return RetrainRecord(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        source=row.source,
        status=row.status,
        job_id=row.job_id,
        model_id=row.model_id,
        message=row.message,
        team_id=row.team_id,
        enterprise_id=row.enterprise_id,
    )
