"""How to look entries up by id without a random index on the hot insert path: the measurement.

Inserts N entry-sized rows (50 feeds, 270-byte blobs, random 32-byte ids) in committed batches
of 2,000 into four layouts, and times inserts and lookups by id:

- none:      (feed, seq) only; no lookup by id at all (the floor);
- id32:      an index on the 32-byte id;
- id8:       an index on the id's first 8 bytes as one integer;
- deferred:  what the entry store does: no id index on insert; ids of recent entries are held
             in memory, and every MERGE_AT entries they are merged, sorted, into an id index.

A random index costs at commit: each random insert dirties its own index page, and every
dirty page is written whole to the WAL. Sorting a large merge touches each page once.

Last line: RESULT insert_us_none=.. insert_us_id32=.. insert_us_id8=.. insert_us_deferred=..
lookup_us_deferred=..
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import sys
import tempfile
import time

BATCH = 2000
MERGE_AT = 50_000


def rows(n: int) -> list[tuple[int, int, bytes, bytes]]:
    rnd = random.Random(7)
    out = []
    for i in range(n):
        raw = rnd.randbytes(270)
        out.append((i % 50 + 1, i // 50 + 1, hashlib.blake2b(raw, digest_size=32).digest(), raw))
    return out


def key(entry_id: bytes) -> int:
    return int.from_bytes(entry_id[:8], "big", signed=True)


def connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def run_simple(data, schema: str, insert: str, make, lookup: str, lookup_arg) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(os.path.join(tmp, "x.sqlite"))
        db.executescript(schema)
        start = time.perf_counter()
        for i in range(0, len(data), BATCH):
            db.execute("BEGIN")
            db.executemany(insert, [make(r) for r in data[i : i + BATCH]])
            db.execute("COMMIT")
        insert_us = (time.perf_counter() - start) / len(data) * 1e6
        lookup_us = float("nan")
        if lookup:
            sample = random.Random(1).sample(data, 2000)
            start = time.perf_counter()
            for r in sample:
                assert db.execute(lookup, (lookup_arg(r[2]),)).fetchone() is not None
            lookup_us = (time.perf_counter() - start) / len(sample) * 1e6
        db.close()
    return insert_us, lookup_us


def run_deferred(data) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(os.path.join(tmp, "x.sqlite"))
        db.executescript(
            "CREATE TABLE e (n INTEGER PRIMARY KEY, fid INT, seq INT, id_key INT, raw BLOB);"
            "CREATE UNIQUE INDEX ef ON e (fid, seq);"
            "CREATE TABLE idx (id_key INT, n INT, PRIMARY KEY (id_key, n)) WITHOUT ROWID;"
        )
        recent: dict[bytes, int] = {}
        indexed_upto = 0
        n = 0
        start = time.perf_counter()
        for i in range(0, len(data), BATCH):
            batch = data[i : i + BATCH]
            db.execute("BEGIN")
            params = []
            for fid, seq, entry_id, raw in batch:
                n += 1
                params.append((n, fid, seq, key(entry_id), raw))
                recent[entry_id] = n
            db.executemany("INSERT INTO e VALUES (?, ?, ?, ?, ?)", params)
            db.execute("COMMIT")
            if len(recent) >= MERGE_AT:
                db.execute("BEGIN")
                db.execute("INSERT INTO idx SELECT id_key, n FROM e WHERE n > ? ORDER BY id_key", (indexed_upto,))
                db.execute("COMMIT")
                indexed_upto = n
                recent.clear()
        insert_us = (time.perf_counter() - start) / len(data) * 1e6
        sample = random.Random(1).sample(data, 2000)
        start = time.perf_counter()
        for r in sample:
            m = recent.get(r[2])
            if m is not None:
                row = db.execute("SELECT raw FROM e WHERE n = ?", (m,)).fetchone()
            else:
                row = next(
                    raw
                    for (raw,) in db.execute(
                        "SELECT e.raw FROM idx JOIN e ON e.n = idx.n WHERE idx.id_key = ?", (key(r[2]),)
                    )
                    if hashlib.blake2b(raw, digest_size=32).digest() == r[2]
                )
            assert row is not None
        lookup_us = (time.perf_counter() - start) / len(sample) * 1e6
        db.close()
    return insert_us, lookup_us


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=300_000)
    args = parser.parse_args()
    data = rows(args.entries)
    results = {
        "none": run_simple(
            data,
            "CREATE TABLE e (fid INT, seq INT, raw BLOB, PRIMARY KEY (fid, seq)) WITHOUT ROWID;",
            "INSERT INTO e VALUES (?, ?, ?)",
            lambda r: (r[0], r[1], r[3]),
            "",
            None,
        ),
        "id32": run_simple(
            data,
            "CREATE TABLE e (n INTEGER PRIMARY KEY, fid INT, seq INT, id BLOB, raw BLOB);"
            "CREATE UNIQUE INDEX ef ON e (fid, seq); CREATE INDEX ei ON e (id);",
            "INSERT INTO e (fid, seq, id, raw) VALUES (?, ?, ?, ?)",
            lambda r: r,
            "SELECT raw FROM e WHERE id = ?",
            lambda i: i,
        ),
        "id8": run_simple(
            data,
            "CREATE TABLE e (n INTEGER PRIMARY KEY, fid INT, seq INT, id_key INT, raw BLOB);"
            "CREATE UNIQUE INDEX ef ON e (fid, seq); CREATE INDEX ei ON e (id_key);",
            "INSERT INTO e (fid, seq, id_key, raw) VALUES (?, ?, ?, ?)",
            lambda r: (r[0], r[1], key(r[2]), r[3]),
            "SELECT raw FROM e WHERE id_key = ?",
            key,
        ),
        "deferred": run_deferred(data),
    }
    for name, (ins, look) in results.items():
        print(f"{name:9s} insert {ins:6.2f} us/entry   lookup by id {look:6.2f} us")
    print(
        "RESULT "
        + " ".join(f"insert_us_{k}={v[0]:.2f}" for k, v in results.items())
        + f" lookup_us_deferred={results['deferred'][1]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
