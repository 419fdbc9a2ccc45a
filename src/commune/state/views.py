"""The state's tables as SQLite tables (materialised views), one column per field.

Each table of `rules.model.TABLES` becomes a SQLite table with its key columns and one column
per row field, so members, accounts, proposals and votes can be queried directly. Tuples
(an enterprise's signers) are stored as their canonical MessagePack bytes; `meta` values too.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from commune.core.encoding import encode
from commune.rules.model import TABLES

#: Table -> key columns, and the value column for tables whose rows are plain values.
KEYS: dict[str, tuple[str, ...]] = {
    "members": ("person",),
    "investors": ("person",),
    "names": ("person",),
    "enterprises": ("enterprise",),
    "balances": ("account",),
    "credits": ("participant", "height"),
    "probations": ("until_ms", "person"),
    "debits": ("participant",),
    "included": ("author",),
    "frozen": ("author",),
    "attestations": ("id",),
    "pending": ("id",),
    "spends": ("id",),
    "proposals": ("id",),
    "votes": ("proposal", "voter"),
    "delegations": ("delegator", "topic"),
    "assets": ("id",),
    "bids": ("id",),
    "holdings": ("asset", "holder"),
    "relet_bids": ("id",),
    "arrears": ("enterprise", "asset"),
    "blocks": ("id",),
    "meta": ("name",),
}
VALUE_COLUMN: dict[str, str] = {
    "balances": "balance",
    "names": "name",
    "credits": "cumulative",
    "probations": "waiting",
    "debits": "cumulative",
    "included": "seq",
    "frozen": "seq",
    "votes": "choice",
    "holdings": "bonds",
    "arrears": "owed",
    "delegations": "delegate",
    "meta": "value",
}


@functools.cache
def _fields(table: str) -> list[tuple[str, Any]]:
    row = TABLES[table]
    if table in VALUE_COLUMN:
        return [(VALUE_COLUMN[table], row)]
    return [(f.name, f.type) for f in msgspec.structs.fields(row)]


def _is_encoded(table: str, type_: Any) -> bool:
    return table == "meta" or getattr(type_, "__origin__", None) is tuple or type_ is tuple


def schema() -> str:
    statements = []
    for table in TABLES:
        keys = KEYS[table]
        cols = [*keys, *(name for name, _ in _fields(table))]
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(cols)}, PRIMARY KEY ({', '.join(keys)})) WITHOUT ROWID;"
        )
    return "\n".join(statements)


def _key_tuple(table: str, key: Any) -> tuple:
    return key if len(KEYS[table]) > 1 else (key,)


def write(db: sqlite3.Connection, state_tables: dict[str, dict], changed: Iterable[tuple[str, Any]]) -> None:
    """Write the rows `changed` names as they are now in `state_tables` (deleted if gone)."""
    by_table: dict[str, list[Any]] = {}
    for table, key in changed:
        by_table.setdefault(table, []).append(key)
    for table, keys in by_table.items():
        rows = state_tables[table]
        key_cols = KEYS[table]
        fields = _fields(table)
        encoded = [_is_encoded(table, t) for _, t in fields]
        upserts, deletes = [], []
        for key in keys:
            if key in rows:
                value = rows[key]
                values = [value] if table in VALUE_COLUMN else list(msgspec.structs.astuple(value))
                values = [encode(v) if enc else v for v, enc in zip(values, encoded, strict=False)]
                upserts.append((*_key_tuple(table, key), *values))
            else:
                deletes.append(_key_tuple(table, key))
        if upserts:
            marks = ", ".join("?" * (len(key_cols) + len(fields)))
            db.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", upserts)
        if deletes:
            where = " AND ".join(f"{c} = ?" for c in key_cols)
            db.executemany(f"DELETE FROM {table} WHERE {where}", deletes)


def read(db: sqlite3.Connection, table: str) -> Iterator[tuple[Any, Any]]:
    """Every (key, row) of `table` as the model holds them."""
    nkeys = len(KEYS[table])
    fields = _fields(table)
    row_type = TABLES[table]
    decoders = [
        (lambda b, t=t: msgspec.msgpack.decode(b, type=t) if t is not Any else msgspec.msgpack.decode(b))
        if _is_encoded(table, t)
        else None
        for _, t in fields
    ]
    for record in db.execute(f"SELECT * FROM {table}"):
        key = tuple(record[:nkeys]) if nkeys > 1 else record[0]
        values = [d(v) if d else v for v, d in zip(record[nkeys:], decoders, strict=False)]
        if table in VALUE_COLUMN:
            value = values[0]
        else:
            value = row_type(*values)
        yield key, value
