"""Feedback and audit tables: SQLite (WAL, several writers) and PostgreSQL when available.

PostgreSQL: ``MISDIRECT_TEST_POSTGRES_URL`` if set, else a throw-away server started by the
``postgres_url`` fixture (tests/conftest.py); skipped when neither is possible.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from service.store import FeedbackStore


def _exercise(store: FeedbackStore) -> None:
    s, a, b = "c.martin@cds-havre.example", "x@gmail.com", "s.lemaire@cds-havre.example"
    for _ in range(3):
        store.add_feedback(sender=s, action="sent_anyway", recipient=a, replaced_by=None,
                           check_id="c1", at=None)
    store.add_feedback(sender=s, action="changed_recipient", recipient=a, replaced_by=b,
                       check_id="c2", at=datetime(2023, 6, 3, 9, 13, tzinfo=UTC))
    store.add_feedback(sender="other@cds-havre.example", action="sent_anyway", recipient=a,
                       replaced_by=None, check_id=None, at=None)
    assert store.sent_anyway(s, [a, b]) == {(s, a): 3}
    assert store.sent_anyway(s, []) == {}
    for verdict in ("send", "send", "warn", "block"):
        store.add_audit(check_id="k", would_verdict=verdict, risk=0.5, recipients=2,
                        flagged_recipients=int(verdict != "send"), model_version="v1")
    summary = store.audit_summary()
    assert summary["would_verdicts"] == {"send": 2, "warn": 1, "block": 1}
    assert summary["would_flag_rate"] == 0.5
    assert store.audit_summary(datetime.now(UTC) + timedelta(hours=1))["checks"] == 0


def test_sqlite_store(tmp_path: Path) -> None:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'sub' / 'fb.db'}")
    _exercise(store)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()


def test_sqlite_concurrent_writers(tmp_path: Path) -> None:
    """Two stores (two workers) and several threads write at once: nothing is lost."""
    url = f"sqlite:///{tmp_path / 'fb.db'}"
    stores = [FeedbackStore(url), FeedbackStore(url)]
    errors: list[BaseException] = []

    def write(store: FeedbackStore, n: int) -> None:
        try:
            for _ in range(n):
                store.add_feedback(sender="a@b.fr", action="sent_anyway", recipient="c@d.fr",
                                   replaced_by=None, check_id=None, at=None)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(stores[i % 2], 25)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert stores[0].sent_anyway("a@b.fr", ["c@d.fr"]) == {("a@b.fr", "c@d.fr"): 150}


def test_postgres_store(postgres_url: str) -> None:
    store = FeedbackStore(postgres_url)
    from service.store import Base

    Base.metadata.drop_all(store.engine)
    Base.metadata.create_all(store.engine)
    try:
        _exercise(store)
    finally:
        Base.metadata.drop_all(store.engine)
        store.close()
