"""The SQLite entry store: every feed's entries, the fork proofs, and each feed's head.

Layout (see docs/protocol.md, "The entry store"):

- `entries` is keyed by (feed number, seq) in a WITHOUT ROWID table, so the rows of one feed
  sit together and an insert goes to the end of its feed's run.
- Lookup by entry id uses an index on the id's first 8 bytes as one integer (`id_key`), not on
  the 32-byte id: the index is a quarter of the size, so the random inserts it costs stay
  cheap (bench/store_index.py measures the three choices). A lookup re-hashes the candidate
  rows to rule out prefix collisions.
- `feeds` holds each author's head (last seq, id, time) and where a fork proof froze it. The
  frontier (author -> last seq) is read from it, never computed from `entries`. It is small
  (one row per participant) and cached in memory; the cache changes only after a commit.

`ingest` takes a batch of entries and commits it atomically: it checks every entry first and,
if any is refused, raises that refusal (naming the entry's position) and stores nothing, not
even the valid prefix. A peer that sends one bad entry has its whole batch dropped; honest
peers never send one. Entries already held are skipped; a different entry at a held position
is a fork: its proof is stored and the feed is frozen from that position, and the entries the
batch carries beyond it for that feed are skipped.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from commune.core.clock import Clock, SystemClock
from commune.core.errors import CommuneError
from commune.core.keys import verify_all
from commune.log.entry import ZERO_ID, Entry, decode_entry, entry_id_of
from commune.log.fork import ForkProof, decode_fork_proof
from commune.log.refusal import Reason, Refused
from commune.log.verify import FeedHead, VerifyMode, check_envelope, check_ref, check_successor

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feeds (
    fid INTEGER PRIMARY KEY,
    author BLOB NOT NULL UNIQUE,
    last_seq INTEGER NOT NULL,
    last_id BLOB NOT NULL,
    last_time INTEGER NOT NULL,
    frozen_at INTEGER
);
CREATE TABLE IF NOT EXISTS entries (
    fid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    id_key INTEGER NOT NULL,
    raw BLOB NOT NULL,
    PRIMARY KEY (fid, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_id ON entries (id_key);
CREATE TABLE IF NOT EXISTS fork_proofs (
    fid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    proof BLOB NOT NULL,
    PRIMARY KEY (fid, seq)
) WITHOUT ROWID;
"""

Verifier = Callable[[Sequence[tuple[bytes, bytes]]], list[bool]]


class StoreError(CommuneError):
    reason = "store"


def id_key(entry_id: bytes) -> int:
    """The indexed part of an entry id: its first 8 bytes as a signed 64-bit integer."""
    return int.from_bytes(entry_id[:8], "big", signed=True)


@dataclass
class IngestReport:
    """What one ingest did: the entries it stored (in order), and what it passed over."""

    stored: list[Entry] = field(default_factory=list)
    duplicates: int = 0
    frozen: int = 0
    forks: list[ForkProof] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{len(self.stored)} stored, {self.duplicates} already held"
        if self.frozen:
            text += f", {self.frozen} skipped (feed frozen)"
        if self.forks:
            text += f", {len(self.forks)} fork(s) proven"
        return text


class EntryStore:
    """One commune's entries in one SQLite file (WAL mode)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        commune: bytes,
        *,
        clock: Clock | None = None,
        verifier: Verifier = verify_all,
        synchronous: str = "FULL",
    ) -> None:
        self.path = Path(path)
        self.commune = commune
        self.clock = clock or SystemClock()
        self.verifier = verifier
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_SCHEMA)
            self._check_meta()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the entry store {self.path}: {exc}") from None
        self._heads: dict[bytes, FeedHead] = {}
        for fid, author, seq, last_id, last_time, frozen_at in self._db.execute(
            "SELECT fid, author, last_seq, last_id, last_time, frozen_at FROM feeds"
        ):
            self._heads[author] = FeedHead(fid, author, seq, last_id, last_time, frozen_at)
        self._next_fid = max((h.fid for h in self._heads.values()), default=0) + 1

    def _check_meta(self) -> None:
        rows = dict(self._db.execute("SELECT key, value FROM meta"))
        if not rows:
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema", SCHEMA_VERSION), ("commune", self.commune)],
                )
            return
        if rows.get("schema") != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has store schema {rows.get('schema')}, this commune needs {SCHEMA_VERSION}")
        if rows.get("commune") != self.commune:
            raise StoreError(f"{self.path} holds another commune ({bytes(rows['commune']).hex()[:12]})")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> EntryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    def head(self, author: bytes) -> FeedHead | None:
        """The head of `author`'s feed, or None if no entry of it is held."""
        return self._heads.get(author)

    def frontier(self) -> dict[bytes, int]:
        """Author -> last held seq, for every feed held."""
        return {author: h.seq for author, h in self._heads.items()}

    def frozen(self) -> dict[bytes, int]:
        """Author -> the first position a fork proof freezes, for every frozen feed."""
        return {a: h.frozen_at for a, h in self._heads.items() if h.frozen_at is not None}

    def count(self) -> int:
        return sum(h.seq for h in self._heads.values())

    def get(self, author: bytes, seq: int) -> Entry | None:
        head = self._heads.get(author)
        if head is None:
            return None
        row = self._db.execute("SELECT raw FROM entries WHERE fid = ? AND seq = ?", (head.fid, seq)).fetchone()
        return decode_entry(row[0]) if row else None

    def get_by_id(self, entry_id: bytes) -> Entry | None:
        raw = self._raw_by_id(entry_id)
        return decode_entry(raw) if raw is not None else None

    def _raw_by_id(self, entry_id: bytes) -> bytes | None:
        for (raw,) in self._db.execute("SELECT raw FROM entries WHERE id_key = ?", (id_key(entry_id),)):
            if entry_id_of(raw) == entry_id:
                return raw
        return None

    def has(self, entry_id: bytes) -> bool:
        return self._raw_by_id(entry_id) is not None

    def raws_after(self, author: bytes, after_seq: int, limit: int = 1000) -> list[bytes]:
        """The raw entries of `author`'s feed after `after_seq`, in order, at most `limit`."""
        head = self._heads.get(author)
        if head is None:
            return []
        return [
            raw
            for (raw,) in self._db.execute(
                "SELECT raw FROM entries WHERE fid = ? AND seq > ? ORDER BY seq LIMIT ?",
                (head.fid, after_seq, limit),
            )
        ]

    def feed(self, author: bytes) -> Iterator[Entry]:
        """Every held entry of `author`'s feed, in order."""
        seq = 0
        while batch := self.raws_after(author, seq):
            for raw in batch:
                yield decode_entry(raw)
            seq += len(batch)

    def fork_proofs(self) -> list[ForkProof]:
        return [decode_fork_proof(bytes(p)) for (p,) in self._db.execute("SELECT proof FROM fork_proofs ORDER BY fid, seq")]

    # -- writing ---------------------------------------------------------------------------

    def ingest(self, raws: Sequence[bytes], *, mode: VerifyMode = VerifyMode.EVERY) -> IngestReport:
        """Verify a batch and commit it atomically, or refuse it whole (see the module doc)."""
        now = self.clock.now_ms()
        commune = self.commune
        entries: list[Entry] = []
        for i, raw in enumerate(raws):
            try:
                entry = decode_entry(raw)
                check_envelope(entry, commune, now)
            except Refused as exc:
                raise exc.at(i) from None
            entries.append(entry)

        report = IngestReport()
        heads: dict[bytes, FeedHead] = {}
        new_feeds: list[FeedHead] = []
        batch_at: dict[tuple[bytes, int], Entry] = {}
        batch_by_id: dict[bytes, Entry] = {}
        index_of: dict[bytes, int] = {}
        forks: list[tuple[int, bytes, Entry]] = []
        next_fid = self._next_fid
        for i, entry in enumerate(entries):
            author = entry.payload.author
            seq = entry.payload.seq
            head = heads.get(author) or self._heads.get(author)
            if head is not None and seq <= head.seq:
                held = batch_at.get((author, seq))
                held_raw = held.raw if held is not None else self._raw_at(head.fid, seq)
                if entry_id_of(held_raw) == entry.id:
                    report.duplicates += 1
                elif head.frozen_at is not None and head.frozen_at <= seq:
                    report.frozen += 1
                else:
                    forks.append((i, held_raw, entry))
                    heads[author] = replace(head, frozen_at=seq)
                continue
            if head is not None and head.frozen_at is not None and seq >= head.frozen_at:
                report.frozen += 1
                continue
            try:
                check_successor(head, entry)
                for ref in entry.payload.refs:
                    in_batch = batch_by_id.get(ref)
                    if in_batch is not None:
                        check_ref(entry, in_batch.payload.time_ms)
                    else:
                        held = self._raw_by_id(ref)
                        check_ref(entry, None if held is None else decode_entry(held).payload.time_ms)
            except Refused as exc:
                raise exc.at(i) from None
            if head is None:
                head = FeedHead(next_fid, author, seq, entry.id, entry.payload.time_ms)
                next_fid += 1
                new_feeds.append(head)
            else:
                head = FeedHead(head.fid, author, seq, entry.id, entry.payload.time_ms, head.frozen_at)
            heads[author] = head
            batch_at[(author, seq)] = entry
            batch_by_id[entry.id] = entry
            index_of[entry.id] = i
            report.stored.append(entry)

        self._verify_signatures(report.stored, forks, index_of, mode)
        proofs = [(heads[e.payload.author].fid, e.payload.seq, ForkProof.of(held, e.raw)) for _, held, e in forks]
        report.forks = [p for _, _, p in proofs]
        self._commit(report.stored, heads, new_feeds, proofs)
        self._heads.update(heads)
        self._next_fid = next_fid
        return report

    def _verify_signatures(
        self,
        stored: list[Entry],
        forks: list[tuple[int, bytes, Entry]],
        index_of: dict[bytes, int],
        mode: VerifyMode,
    ) -> None:
        if mode is VerifyMode.EVERY:
            checked = stored
        else:
            newest: dict[bytes, Entry] = {}
            for entry in stored:
                newest[entry.payload.author] = entry
            checked = list(newest.values())
        checked = checked + [e for _, _, e in forks]
        results = self.verifier([(e.payload.author, e.raw) for e in checked])
        for entry, ok in zip(checked, results):
            if not ok:
                i = index_of.get(entry.id)
                if i is None:
                    i = next(i for i, _, e in forks if e is entry)
                raise Refused(Reason.BAD_SIGNATURE, index=i)

    def _raw_at(self, fid: int, seq: int) -> bytes:
        return self._db.execute("SELECT raw FROM entries WHERE fid = ? AND seq = ?", (fid, seq)).fetchone()[0]

    def _commit(
        self,
        stored: list[Entry],
        heads: dict[bytes, FeedHead],
        new_feeds: list[FeedHead],
        proofs: list[tuple[int, int, ForkProof]],
    ) -> None:
        if not stored and not proofs:
            return
        db = self._db
        with self._transaction():
            db.executemany(
                "INSERT INTO feeds (fid, author, last_seq, last_id, last_time) VALUES (?, ?, ?, ?, ?)",
                [(h.fid, h.author, h.seq, h.id, h.time_ms) for h in new_feeds],
            )
            db.executemany(
                "INSERT INTO entries (fid, seq, id_key, raw) VALUES (?, ?, ?, ?)",
                [(heads[e.payload.author].fid, e.payload.seq, id_key(e.id), e.raw) for e in stored],
            )
            db.executemany(
                "UPDATE feeds SET last_seq = ?, last_id = ?, last_time = ?, frozen_at = ? WHERE fid = ?",
                [(h.seq, h.id, h.time_ms, h.frozen_at, h.fid) for h in heads.values()],
            )
            db.executemany(
                "INSERT OR IGNORE INTO fork_proofs (fid, seq, proof) VALUES (?, ?, ?)",
                [(fid, seq, p.to_bytes()) for fid, seq, p in proofs],
            )

    def add_fork_proof(self, proof: ForkProof) -> bool:
        """Check a fork proof that arrived on its own, keep it, freeze the feed. True if new."""
        author, seq = proof.check(self.commune)
        head = self._heads.get(author)
        if head is not None and head.frozen_at is not None and head.frozen_at <= seq:
            return False
        fid = head.fid if head is not None else self._next_fid
        with self._transaction():
            if head is None:
                # A feed not held yet: its entries before the fork may still arrive and count.
                head = FeedHead(fid, author, 0, ZERO_ID, 0)
                self._db.execute(
                    "INSERT INTO feeds (fid, author, last_seq, last_id, last_time) VALUES (?, ?, 0, ?, 0)",
                    (fid, author, ZERO_ID),
                )
            self._db.execute("UPDATE feeds SET frozen_at = ? WHERE fid = ?", (seq, fid))
            self._db.execute(
                "INSERT OR REPLACE INTO fork_proofs (fid, seq, proof) VALUES (?, ?, ?)",
                (fid, seq, proof.to_bytes()),
            )
        self._next_fid = max(self._next_fid, fid + 1)
        self._heads[author] = replace(head, frozen_at=seq)
        return True


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
