"""Feedback and audit tables (SQLAlchemy; SQLite in WAL mode by default, PostgreSQL works).

Neither table holds content: feedback keeps addresses, the action and times; the audit table
keeps the check id, time, the verdict the model would have given, the highest risk, the
recipient count and the model version.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    String,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class Feedback(Base):
    """What a user did after a check: ``sent_anyway``, ``changed_recipient`` or ``cancelled``."""

    __tablename__ = "misdirect_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    check_id: Mapped[str | None] = mapped_column(String(128), index=True)
    sender: Mapped[str] = mapped_column(String(320), index=True)
    action: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str | None] = mapped_column(String(320), index=True)
    replaced_by: Mapped[str | None] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditRecord(Base):
    """Audit mode: what the model would have answered to one check (no content)."""

    __tablename__ = "misdirect_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    check_id: Mapped[str] = mapped_column(String(128), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    would_verdict: Mapped[str] = mapped_column(String(8))
    risk: Mapped[float] = mapped_column(Float)
    recipients: Mapped[int] = mapped_column(Integer)
    flagged_recipients: Mapped[int] = mapped_column(Integer)
    model_version: Mapped[str] = mapped_column(String(128))


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and its folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            # WAL: readers never block the writer; several processes may write in turn.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class FeedbackStore:
    """Writes feedback and audit rows; reads ``sent_anyway`` counts for a sender's recipients."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        for attempt in range(5):
            try:
                Base.metadata.create_all(self.engine)
                break
            except DBAPIError:
                # Several workers start at once: another one created the tables in between.
                if attempt == 4:
                    raise
                time.sleep(0.1 * (attempt + 1))

    def close(self) -> None:
        self.engine.dispose()

    def add_feedback(
        self,
        *,
        sender: str,
        action: str,
        recipient: str | None,
        replaced_by: str | None,
        check_id: str | None,
        at: datetime | None,
    ) -> int:
        """Store one feedback row; returns its id."""
        now = datetime.now(UTC)
        row = Feedback(
            check_id=check_id,
            sender=sender,
            action=action,
            recipient=recipient,
            replaced_by=replaced_by,
            at=at or now,
            received_at=now,
        )
        with self._session() as session, session.begin():
            session.add(row)
        return row.id

    def sent_anyway(self, sender: str, recipients: Iterable[str]) -> dict[tuple[str, str], int]:
        """How often ``sender`` sent anyway to each of ``recipients`` after a warning."""
        wanted = sorted(set(recipients))
        if not wanted:
            return {}
        stmt = (
            select(Feedback.recipient, func.count())
            .where(
                Feedback.sender == sender,
                Feedback.action == "sent_anyway",
                Feedback.recipient.in_(wanted),
            )
            .group_by(Feedback.recipient)
        )
        with self._session() as session:
            return {(sender, rcpt): int(n) for rcpt, n in session.execute(stmt) if rcpt}

    def add_audit(
        self,
        *,
        check_id: str,
        would_verdict: str,
        risk: float,
        recipients: int,
        flagged_recipients: int,
        model_version: str,
    ) -> None:
        with self._session() as session, session.begin():
            session.add(
                AuditRecord(
                    check_id=check_id,
                    at=datetime.now(UTC),
                    would_verdict=would_verdict,
                    risk=float(risk),
                    recipients=recipients,
                    flagged_recipients=flagged_recipients,
                    model_version=model_version,
                )
            )

    def audit_summary(self, since: datetime | None = None) -> dict[str, object]:
        """Counts of would-be verdicts (all time or since a date), and the share flagged."""
        stmt = select(AuditRecord.would_verdict, func.count()).group_by(AuditRecord.would_verdict)
        if since is not None:
            stmt = stmt.where(AuditRecord.at >= since)
        with self._session() as session:
            counts = {v: int(n) for v, n in session.execute(stmt)}
        total = sum(counts.values())
        flagged = counts.get("warn", 0) + counts.get("block", 0)
        return {
            "checks": total,
            "would_verdicts": {v: counts.get(v, 0) for v in ("send", "warn", "block")},
            "would_flag_rate": (flagged / total) if total else None,
        }

    def session(self) -> Session:
        return self._session()
