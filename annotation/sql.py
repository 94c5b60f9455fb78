"""Prepared statements for the few hand-written statements of the vote hot path (Postgres).

Django's psycopg cursors bind parameters on the client, so Postgres parses and plans every
statement again; for the claim and vote statements (CTEs over four tables) planning costs the
database more CPU than running them. :func:`fetch_prepared` runs them through a plain psycopg
cursor on Django's connection with server-side binding and ``prepare=True``: each connection
parses them once, and after Postgres's first five custom plans it keeps one generic plan. (This
needs ``prepare_threshold`` set in the database OPTIONS, config.settings.database: Django's
default, None, makes psycopg ignore ``prepare=True``.) Errors are Django's
(``django.db.IntegrityError`` ...), and the statement takes part in the caller's transaction
like any other. It skips Django's per-request connection health check (``SELECT 1``, a round
trip); instead, outside a transaction, it looks at the idle connection's socket before sending
(a server that ended the session has written its goodbye or closed it: the socket is readable)
and opens a fresh connection then, and it runs the statement once more on a fresh connection
when the server answered that it ended the session (SQLSTATE class 57: nothing of the statement
was committed). A connection killed while idle (a database restart, an idle timeout) so no
longer fails a vote with a 500.

Every new Postgres connection turns JIT compilation off: these statements run thousands of
times a second in well under a millisecond, but with LIMIT as a parameter their generic plans
look expensive enough to cross ``jit_above_cost``, and compiling them took Postgres about 1.8 s
per execution.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from django.db import OperationalError, connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver


def fetch_prepared(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run ``sql`` (named ``%(name)s`` placeholders; cast those whose type Postgres cannot
    infer) as a prepared statement on the default connection and return all its rows."""
    retry = not connection.in_atomic_block
    if retry and _dropped():
        connection.close()
    try:
        return _fetch(sql, params)
    except OperationalError as exc:
        if not (retry and _session_ended(exc)):
            raise
    connection.close()
    return _fetch(sql, params)


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if cursor.description is not None else []


def _dropped() -> bool:
    """Whether the idle connection is known dead without a round trip: closed or broken by
    psycopg, or its socket readable (an idle session receives nothing unless the server ended it)."""
    raw = connection.connection
    if raw is None:
        return False
    if raw.closed or raw.broken:
        return True
    try:
        readable, _, _ = select.select([raw.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _session_ended(exc: OperationalError) -> bool:
    # 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now...: the server ended
    # the session and rolled back what it had. A connection lost without a word is not retried:
    # the statement may have committed.
    return (getattr(exc.__cause__, "sqlstate", None) or "").startswith("57")


@receiver(connection_created, dispatch_uid="raf_postgres_jit_off")
def _jit_off(sender: Any, connection: Any, **_: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
