"""SQLite-backed state shared by every emulator and every process using one sandbox directory.

SQLite gives what a JSON file cannot: per-object writes (an apply of thousands of products
stays fast), real transactions (a failed request leaves nothing half-written) and safe
concurrent writers across processes (``BEGIN IMMEDIATE`` plus a busy timeout).

Objects are JSON documents addressed by (kind, scope, id). ``scope`` partitions state the way
the real systems do, e.g. ``acct_123/test`` for Stripe or ``proj_sandbox/live`` for Licenzy.
Each object gets a sequence number when first inserted, which gives the newest-first order
Stripe lists use and stable cursors.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol, overload

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, scope, id)
);
CREATE INDEX IF NOT EXISTS objects_by_seq ON objects (kind, scope, seq);
CREATE INDEX IF NOT EXISTS objects_by_active
    ON objects (kind, scope, json_extract(body, '$.active'), seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

STATE_FILE = "state.sqlite3"


def encode(body: Mapping[str, Any]) -> str:
    """How every object is stored: compact with sorted keys, which is also exactly how an
    answer encodes the decoded object (`Response.json` keeps the decoded key order)."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def decode(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


class Tx:
    """One transaction: every read and write of a single emulated request."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, kind: str, scope: str, id_: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT body FROM objects WHERE kind=? AND scope=? AND id=?", (kind, scope, id_)
        ).fetchone()
        return None if row is None else decode(row[0])

    def seq_of(self, kind: str, scope: str, id_: str) -> int | None:
        row = self._conn.execute(
            "SELECT seq FROM objects WHERE kind=? AND scope=? AND id=?", (kind, scope, id_)
        ).fetchone()
        return None if row is None else int(row[0])

    def put(self, kind: str, scope: str, id_: str, body: dict[str, Any]) -> None:
        """Insert or replace; a replaced object keeps its place in list order."""
        text = encode(body)
        updated = self._conn.execute(
            "UPDATE objects SET body=? WHERE kind=? AND scope=? AND id=?",
            (text, kind, scope, id_),
        ).rowcount
        if not updated:
            self._conn.execute(
                "INSERT INTO objects (kind, scope, id, seq, body) VALUES (?, ?, ?, ?, ?)",
                (kind, scope, id_, self.next_value("seq"), text),
            )

    def delete(self, kind: str, scope: str, id_: str) -> bool:
        return bool(
            self._conn.execute(
                "DELETE FROM objects WHERE kind=? AND scope=? AND id=?", (kind, scope, id_)
            ).rowcount
        )

    @overload
    def iter(
        self,
        kind: str,
        scope: str,
        *,
        newest_first: bool = True,
        below_seq: int | None = None,
        above_seq: int | None = None,
        where: Mapping[str, Collection[str | int | bool]] | None = None,
        text: Literal[False] = False,
    ) -> Iterator[tuple[int, dict[str, Any]]]: ...

    @overload
    def iter(
        self,
        kind: str,
        scope: str,
        *,
        newest_first: bool = True,
        below_seq: int | None = None,
        above_seq: int | None = None,
        where: Mapping[str, Collection[str | int | bool]] | None = None,
        text: Literal[True],
    ) -> Iterator[tuple[int, str]]: ...

    def iter(
        self,
        kind: str,
        scope: str,
        *,
        newest_first: bool = True,
        below_seq: int | None = None,
        above_seq: int | None = None,
        where: Mapping[str, Collection[str | int | bool]] | None = None,
        text: bool = False,
    ) -> Iterator[tuple[int, dict[str, Any]]] | Iterator[tuple[int, str]]:
        """Objects of one kind and scope in insertion order (or its reverse), lazily.

        ``where`` keeps only objects whose top-level field holds one of the given values,
        judged by SQLite on the stored text: a list that skips most of a large table (the
        archived prices among thousands of active ones) then decodes only what it returns.
        ``text`` yields each object as its stored JSON (`put`'s compact, sorted encoding)
        instead: a list page can then be spliced from it without decoding anything."""
        sql = "SELECT seq, body FROM objects WHERE kind=? AND scope=?"
        args: list[Any] = [kind, scope]
        if below_seq is not None:
            sql += " AND seq < ?"
            args.append(below_seq)
        if above_seq is not None:
            sql += " AND seq > ?"
            args.append(above_seq)
        for name, values in (where or {}).items():
            if not name.isidentifier():
                raise ValueError(f"not a field name: {name!r}")
            sql += f" AND json_extract(body, '$.{name}') IN ({', '.join('?' * len(values))})"
            args.extend(values)
        sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq ASC"
        rows = self._conn.execute(sql, args)
        if text:
            return rows  # (seq, body) as SQLite holds them: INTEGER and TEXT columns
        return ((int(seq), decode(body)) for seq, body in rows)

    def count(self, kind: str, scope: str) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM objects WHERE kind=? AND scope=?", (kind, scope)
        ).fetchone()
        return int(row[0])

    def scopes(self, kind: str) -> list[str]:
        rows = self._conn.execute("SELECT DISTINCT scope FROM objects WHERE kind=?", (kind,))
        return [str(r[0]) for r in rows]

    def next_value(self, name: str) -> int:
        """A persistent counter, for sequence numbers and deterministic ids."""
        self._conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1",
            (name,),
        )
        row = self._conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
        return int(row[0])


class _Executes(Protocol):
    def execute(self, sql: str, /) -> object: ...


def _enter_wal(conn: _Executes, *, patience: float = 30.0) -> None:
    """Switch a fresh or existing state file to WAL, waiting out other processes doing the same.

    Two processes that open a new file at once can each hold a read lock while asking for the
    write lock the switch needs; SQLite answers one of them "database is locked" at once, without
    consulting the busy timeout, to break that deadlock. The other's switch then succeeds, so
    retrying is all this needs.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


GITIGNORE = "# Written by licenzy-sync: the sandbox's state is never committed.\n*\n"


def _make_ignored_dir(path: Path) -> None:
    """Create ``path``; the outermost directory this creates (``.licenzy-sync/`` by default)
    gets a ``.gitignore`` ignoring everything in it, itself included, as a virtualenv does.
    A directory that already existed is left as it is: it may be the user's."""
    created = next((p for p in reversed([path, *path.parents]) if not p.exists()), None)
    path.mkdir(parents=True, exist_ok=True)
    if created is not None:
        (created / ".gitignore").write_text(GITIGNORE, encoding="utf-8")


class Store:
    """The sandbox's state, in memory (``path=None``) or in a directory shared by processes."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is None:
            target = ":memory:"
        else:
            _make_ignored_dir(path)
            target = str(path / STATE_FILE)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            target, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        if path is not None:
            _enter_wal(self._conn)
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Serialises requests in this process and, with BEGIN IMMEDIATE, across processes.

        Everything written inside is rolled back if the block raises.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def reset(self) -> None:
        with self.transaction() as tx:
            tx._conn.execute("DELETE FROM objects")
            tx._conn.execute("DELETE FROM counters")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
