"""The history store: profiles persisted with plain SQLAlchemy Core.

SQLite by default (WAL mode, so the service can read while a message is being learned), and any
SQLAlchemy URL works (``postgresql+psycopg://…``). It holds addresses, display names, counts,
dates and numeric topic vectors only.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from sqlalchemy import (
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

from model.history.kinds import org_key
from model.history.profiles import AddressInfo, HistoryProfiles, Pair, message_parties
from model.history.topics import TopicModel
from model.mail import Message

metadata = MetaData()
A = 320  # longest address

meta_t = Table("mh_meta", metadata, Column("key", String(64), primary_key=True),
               Column("value", Text))
addresses_t = Table(
    "mh_addresses", metadata,
    Column("address", String(A), primary_key=True),
    Column("sent", Integer, nullable=False), Column("received", Integer, nullable=False),
    Column("first", Float), Column("last", Float),
    Column("names", Text),  # JSON {display name: count}, at most 5
    Column("topic", LargeBinary),
)


def _pair_table(name: str, left: str) -> Table:
    return Table(
        name, metadata,
        Column(left, String(A), primary_key=True), Column("recipient", String(A), primary_key=True),
        Column("count", Integer, nullable=False), Column("first", Float), Column("last", Float),
        Column("weight", Float), Column("ref", Float), Column("topic", LargeBinary),
    )


pairs_t = _pair_table("mh_pairs", "sender")
org_pairs_t = _pair_table("mh_org_pairs", "org")
corecipients_t = Table(
    "mh_corecipients", metadata,
    Column("a", String(A), primary_key=True), Column("b", String(A), primary_key=True),
    Column("count", Integer, nullable=False),
)
domains_t = Table(
    "mh_domains", metadata,
    Column("scope", String(8), primary_key=True),  # "sender" or "org"
    Column("owner", String(A), primary_key=True), Column("domain", String(255), primary_key=True),
    Column("count", Integer, nullable=False),
)


def _blob(vec: np.ndarray | None) -> bytes | None:
    return None if vec is None else np.asarray(vec, dtype=np.float32).tobytes()


def _vec(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()


def _names_json(names: Counter) -> str:
    return json.dumps(dict(names.most_common(5)), ensure_ascii=False)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode and its parent folder created."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    return engine


class HistoryStore:
    """Profiles in a database. ``save`` writes a whole snapshot, ``update`` one message."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ metadata
    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(meta_t.c.value).where(meta_t.c.key == key)).scalar()

    def set_meta(self, conn: Connection, key: str, value: str) -> None:
        if conn.execute(update(meta_t).where(meta_t.c.key == key).values(value=value)).rowcount == 0:
            conn.execute(insert(meta_t).values(key=key, value=value))

    def count_messages(self) -> int:
        value = self.get_meta("n_messages")
        return int(value) if value else 0

    def holds_snapshot(self, snapshot_id: str) -> bool:
        """Whether this store was seeded from the bundle snapshot ``snapshot_id`` (and so may
        hold mail learnt since): the one test of the service, the retraining loop and its
        report, so that they cannot disagree."""
        return self.get_meta("snapshot_id") == snapshot_id and self.count_messages() > 0

    # ------------------------------------------------------------------ snapshot
    def save(self, profiles: HistoryProfiles, snapshot_id: str = "") -> None:
        """Replace the store's content with ``profiles``."""
        with self.engine.begin() as conn:
            for table in (meta_t, addresses_t, pairs_t, org_pairs_t, corecipients_t, domains_t):
                conn.execute(delete(table))
            rows = [
                {"address": a, "sent": i.sent, "received": i.received, "first": i.first,
                 "last": i.last, "names": _names_json(i.names), "topic": _blob(i.topic)}
                for a, i in profiles.addresses.items()
            ]
            self._bulk(conn, addresses_t, rows)
            self._bulk(conn, pairs_t, [self._pair_row("sender", s, r, p)
                                       for (s, r), p in profiles.pairs.items()])
            self._bulk(conn, org_pairs_t, [self._pair_row("org", o, r, p)
                                           for (o, r), p in profiles.org_pairs.items()])
            self._bulk(conn, corecipients_t, [{"a": a, "b": b, "count": c}
                                              for (a, b), c in profiles.corecipients.items()])
            drows = [{"scope": "sender", "owner": s, "domain": d, "count": c}
                     for s, counter in profiles.sender_domains.items() for d, c in counter.items()]
            drows += [{"scope": "org", "owner": o, "domain": d, "count": c}
                      for o, counter in profiles.org_domains.items() for d, c in counter.items()]
            self._bulk(conn, domains_t, drows)
            self.set_meta(conn, "n_messages", str(profiles.n_messages))
            self.set_meta(conn, "last_date", repr(profiles.last_date))
            self.set_meta(conn, "snapshot_id", snapshot_id)

    @staticmethod
    def _bulk(conn: Connection, table: Table, rows: list[dict], chunk: int = 5000) -> None:
        for i in range(0, len(rows), chunk):
            conn.execute(insert(table), rows[i : i + chunk])

    @staticmethod
    def _pair_row(left: str, owner: str, recipient: str, p: Pair) -> dict:
        return {left: owner, "recipient": recipient, "count": p.count, "first": p.first,
                "last": p.last, "weight": p.weight, "ref": p.ref, "topic": _blob(p.topic)}

    def load(self, topics: TopicModel) -> HistoryProfiles:
        """Read the whole store into memory."""
        profiles = HistoryProfiles(topics)
        with self.engine.connect() as conn:
            for row in conn.execute(select(addresses_t)):
                profiles.addresses[row.address] = AddressInfo(
                    sent=row.sent, received=row.received, first=row.first or 0.0,
                    last=row.last or 0.0, names=Counter(json.loads(row.names or "{}")),
                    topic=_vec(row.topic),
                )
            for row in conn.execute(select(pairs_t)):
                profiles.pairs[(row.sender, row.recipient)] = Pair(
                    row.count, row.first, row.last, row.weight, row.ref, _vec(row.topic))
                profiles.out[row.sender].add(row.recipient)
                profiles.inn[row.recipient].add(row.sender)
            for row in conn.execute(select(org_pairs_t)):
                profiles.org_pairs[(row.org, row.recipient)] = Pair(
                    row.count, row.first, row.last, row.weight, row.ref, None)
                profiles.org_out[row.org].add(row.recipient)
            for row in conn.execute(select(corecipients_t)):
                profiles.corecipients[(row.a, row.b)] = row.count
            for row in conn.execute(select(domains_t)):
                target = profiles.sender_domains if row.scope == "sender" else profiles.org_domains
                target[row.owner][row.domain] = row.count
            meta = dict(conn.execute(select(meta_t.c.key, meta_t.c.value)).all())
        profiles.n_messages = int(meta.get("n_messages") or 0)
        profiles.last_date = float(meta.get("last_date") or 0.0)
        return profiles

    # ------------------------------------------------------------------ incremental
    def update(self, message: Message, vector: np.ndarray | None) -> bool:
        """Add one message that left, reading and writing the touched rows in one transaction.

        The new values are computed from the rows in the database (not from a process's memory),
        so several service workers learning at once do not overwrite each other's counts.
        """
        parties = message_parties(message)
        if parties is None:
            return False
        sender, recipients = parties
        t = message.date.timestamp()
        org = org_key(sender)
        names = {a.address: a.name for _, a in message.recipients() if a.name}
        if message.sender.name:
            names[sender] = message.sender.name
        with self.engine.begin() as conn:
            for r in recipients:
                self._add_pair(conn, pairs_t, "sender", sender, r, t, vector)
                self._add_pair(conn, org_pairs_t, "org", org, r, t, None)
            for address in [sender, *recipients]:
                self._add_address(conn, address, address == sender, t, vector, names.get(address))
            for domain in {r.rsplit("@", 1)[1] for r in recipients}:
                self._increment(conn, domains_t, {"scope": "sender", "owner": sender,
                                                  "domain": domain})
                self._increment(conn, domains_t, {"scope": "org", "owner": org, "domain": domain})
            if len(recipients) <= 20:
                ordered = sorted(recipients)
                for i, a in enumerate(ordered):
                    for b in ordered[i + 1 :]:
                        self._increment(conn, corecipients_t, {"a": a, "b": b})
            n = conn.execute(select(meta_t.c.value).where(meta_t.c.key == "n_messages")).scalar()
            self.set_meta(conn, "n_messages", str(int(n or 0) + 1))
            last = conn.execute(select(meta_t.c.value).where(meta_t.c.key == "last_date")).scalar()
            self.set_meta(conn, "last_date", repr(max(float(last or 0.0), t)))
        return True

    @staticmethod
    def _where(table: Table, key: dict):
        return [table.c[k] == v for k, v in key.items()]

    def _increment(self, conn: Connection, table: Table, key: dict) -> None:
        cond = self._where(table, key)
        done = conn.execute(update(table).where(*cond).values(count=table.c["count"] + 1)).rowcount
        if done == 0:
            conn.execute(insert(table).values(**key, count=1))

    def _add_pair(self, conn: Connection, table: Table, left: str, owner: str, recipient: str,
                  t: float, vector: np.ndarray | None) -> None:
        key = {left: owner, "recipient": recipient}
        row = conn.execute(select(table).where(*self._where(table, key))).first()
        pair = Pair() if row is None else Pair(row.count, row.first, row.last, row.weight, row.ref,
                                               _vec(row.topic))
        pair.add(t, vector)
        values = self._pair_row(left, owner, recipient, pair)
        if row is None:
            conn.execute(insert(table).values(**values))
        else:
            conn.execute(update(table).where(*self._where(table, key)).values(**values))

    def _add_address(self, conn: Connection, address: str, is_sender: bool, t: float,
                     vector: np.ndarray | None, name: str | None) -> None:
        row = conn.execute(select(addresses_t).where(addresses_t.c.address == address)).first()
        info = AddressInfo() if row is None else AddressInfo(
            row.sent, row.received, row.first or 0.0, row.last or 0.0,
            Counter(json.loads(row.names or "{}")), _vec(row.topic))
        if is_sender:
            info.sent += 1
        else:
            info.received += 1
        info.touch(t, vector)
        if name:
            info.names[name] += 1
        values = {"address": address, "sent": info.sent, "received": info.received,
                  "first": info.first, "last": info.last, "names": _names_json(info.names),
                  "topic": _blob(info.topic)}
        if row is None:
            conn.execute(insert(addresses_t).values(**values))
        else:
            conn.execute(update(addresses_t).where(addresses_t.c.address == address).values(**values))
