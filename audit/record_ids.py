"""Audit record ids, fixed before the INSERT so the record's MAC can cover them, drawn in blocks.

On Postgres one statement draws BLOCK values from the table's sequence (nextval over
generate_series) and this process hands them out in order, so a record write costs no round trip
for its id. The sequence never returns a value twice, to this process or any other, so ids stay
unique without a lock in the database; values drawn but never used (a process that ends, a
refused write) are gaps, as a rolled-back insert leaves. Nothing relies on contiguous ids or on
their order across processes: the chain's positions are contiguous (audit/sealing.py seals every
committed record no seal covers, whatever its id), and ids rise within one process only. A child
process forgets the values its parent drew (they are the parent's to use).

SQLite (the demo) has no sequence to draw from: the next id is read inside the INSERT's
transaction, writes being serialized there.
"""

import os
import threading
from collections import deque

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

BLOCK = 64

_lock = threading.Lock()
_drawn: dict[tuple[str, str], deque[int]] = {}  # (alias, database name) -> ids drawn, not yet used
_sequences: dict[tuple[str, str], str] = {}


def next_id(db: BaseDatabaseWrapper, table: str) -> int:
    """An id for the next row of `table` (its serial `id` column) on `db`, never handed out before."""
    if db.vendor != "postgresql":
        return _next_sqlite_id(db, table)
    key = (db.alias, str(db.settings_dict["NAME"]))
    with _lock:
        drawn = _drawn.setdefault(key, deque())
        if drawn:
            return drawn.popleft()
    # The draw's round trip is made outside the lock: threads waiting on it queued behind a database
    # answer under load (issue 24). Two threads drawing at once each add their block, kept in order.
    block = _draw(db, table, key)
    with _lock:
        drawn = _drawn.setdefault(key, deque())
        if drawn:
            block = sorted([*drawn, *block])
            drawn.clear()
        drawn.extend(block)
        return drawn.popleft()


def _draw(db: BaseDatabaseWrapper, table: str, key: tuple[str, str]) -> list[int]:
    # In a savepoint when the caller's transaction is open: a failed draw must not abort it.
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        if key not in _sequences:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            _sequences[key] = cursor.fetchone()[0]
        # One session's nextval calls in one statement: BLOCK distinct values, rising.
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s) ORDER BY 1", [_sequences[key], BLOCK])
        return [row[0] for row in cursor.fetchall()]


def _next_sqlite_id(db: BaseDatabaseWrapper, table: str) -> int:
    with db.cursor() as cursor:
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        cursor.execute(f"SELECT MAX(id) FROM {db.ops.quote_name(table)}")  # noqa: S608 (a model's table)
        return max(row[0] if row else 0, cursor.fetchone()[0] or 0) + 1


def _forget_parents_ids() -> None:
    global _lock
    _lock = threading.Lock()  # the parent's lock may have been held by another thread at fork
    _drawn.clear()


os.register_at_fork(after_in_child=_forget_parents_ids)
