"""Votes out of Postgres straight into numpy arrays: the reader of live updates and reliability runs.

One statement aggregates each column into a single ``bytea`` of big-endian binary values
(``string_agg(int4send(x), '')``), fetched in binary, so the client's work is one
``np.frombuffer`` per column, whatever the number of votes; every column of one statement is
aggregated over the same rows in the same order, so the arrays stay aligned. The server does
not sort; ``order_by`` names a column of distinct values (the vote id) to sort the rows by
here, in one pass.

Why not ``COPY ... TO STDOUT``: Postgres sends one message per row, and taking 1.2 M of them
through psycopg costs about 1.5 s of the worker's CPU, more than the whole live update may
(``bench/live_update.py``); this reader spends about 0.1 s at that scale. One value is at most
1 GB, so a column of 8-byte values holds up to about 130 M votes: a hundred times RAF.

Parallel query is off for these statements: a background job should not take the cores the
vote path needs, and one backend keeps the server's work measurable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
from django.db import connection, transaction

from annotation.errors import ServiceError

# SQL type -> (send function, numpy big-endian dtype)
_TYPES = {"int2": ("int2send", ">i2"), "int4": ("int4send", ">i4"), "int8": ("int8send", ">i8")}


def query_arrays(
    *,
    columns: Sequence[tuple[str, str, str]],
    from_where: str,
    params: Mapping[str, Any],
    order_by: str | None = None,
) -> dict[str, np.ndarray]:
    """``{name: (n,) int64 array}`` for ``columns`` = ``(name, SQL expression, int2|int4|int8)``
    over the rows of ``from_where`` (``FROM ... WHERE ...`` with ``%(name)s`` parameters), sorted
    by the column ``order_by`` when given (its values must be distinct: an id).

    Every expression must be non-null (``COALESCE`` where a column may be null): a null would
    shift its column, and is refused with a ``ServiceError`` rather than misread.
    """
    aggregates = ", ".join(
        f"string_agg({_TYPES[kind][0]}(({expression})::{kind}), ''::bytea)" for _, expression, kind in columns
    )
    sql = f"SELECT count(*), {aggregates} {from_where}"
    connection.ensure_connection()
    with transaction.atomic(), connection.wrap_database_errors:
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute(sql, params, binary=True)
            row = cursor.fetchone()
    assert row is not None  # an aggregate without GROUP BY returns one row
    n = int(row[0])
    arrays: dict[str, np.ndarray] = {}
    for (name, _, kind), data in zip(columns, row[1:], strict=True):
        values = np.frombuffer(data, dtype=_TYPES[kind][1]) if data is not None else np.zeros(0, dtype=np.int64)
        if values.shape[0] != n:
            raise ServiceError(f"The column {name} of the votes has null values.", code="bad_votes")
        arrays[name] = values.astype(np.int64)
    if order_by is not None:
        order = _sorting_permutation(arrays[order_by])
        arrays = {name: values[order] for name, values in arrays.items()}
    return arrays


def _sorting_permutation(key: np.ndarray) -> np.ndarray:
    """The permutation that sorts ``key``, whose values are distinct (ids): one scatter through
    a table over their range when they are compact, as database ids are (the rows may come in
    any order the plan gives, e.g. image by image), else a sort."""
    n = key.shape[0]
    if n == 0 or int(key.max()) - int(key.min()) > 4 * n + 1_000_000:
        return np.argsort(key, kind="stable")
    low = int(key.min())
    slot = np.full(int(key.max()) - low + 1, -1, dtype=np.int64)
    slot[key - low] = np.arange(n)
    return slot[slot >= 0]


# A vote's annotator (user id), image id and label, and its id to keep the order of writing.
VOTE_COLUMNS = (
    ("id", "v.id", "int8"),
    ("annotator", "v.annotator_id", "int4"),
    ("image", "v.image_id", "int8"),
    ("label", "v.label", "int2"),
)
PROJECT_VOTES = (
    "FROM annotation_vote v JOIN annotation_image i ON i.id = v.image_id WHERE i.project_id = %(project)s::bigint"
)
