"""Prepared statements for the few hand-written statements of the vote hot path (Postgres).

Django's psycopg cursors bind parameters on the client, so Postgres parses and plans every
statement again; for the claim and vote statements (CTEs over four tables) planning costs the
database more CPU than running them. :func:`fetch_prepared` runs them through a plain psycopg
cursor on Django's connection with server-side binding and ``prepare=True``: each connection
parses them once. Errors are Django's (``django.db.IntegrityError`` ...), and the statement
takes part in the caller's transaction like any other. It skips Django's per-request
connection health check (``SELECT 1``): a connection broken meanwhile fails that request, and
Django drops it before the next.

Every new Postgres connection turns JIT compilation off: these statements run thousands of
times a second in well under a millisecond, but with LIMIT as a parameter their generic plans
look expensive enough to cross ``jit_above_cost``, and compiling them took Postgres about 1.8 s
per execution.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver


def fetch_prepared(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run ``sql`` (named ``%(name)s`` placeholders; cast those whose type Postgres cannot
    infer) as a prepared statement on the default connection and return all its rows."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall() if cursor.description is not None else []


@receiver(connection_created, dispatch_uid="raf_postgres_jit_off")
def _jit_off(sender: Any, connection: Any, **_: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
