"""The SQLite entry store: every feed's entries, the fork proofs, and each feed's head.

Layout (see docs/protocol.md, "The entry store"):

- Entries are kept in `chunks`: the run of consecutive entries of one feed that one batch
  brought (at most CHUNK_ENTRIES), as one row in arrival order (`n`), the raw entries packed as
  a MessagePack array of byte strings. A row costs SQLite several microseconds whatever its
  size, and a batch from a sync carries dozens of entries per feed, so one row per run instead
  of one per entry takes most of the cost out of storing (bench/ingest.py). A unique index on
  (feed number, first seq) finds the chunk that holds a position.
- Lookup by entry id does not put a random index on the hot insert path: a random insert
  dirties one index page per entry, and each dirty page is written whole at commit
  (bench/store_index.py: 26 us/entry with an 8-byte id index, 44 with a 32-byte one, 10
  without). Instead the ids of entries since the last merge are held in memory, and every
  MERGE_AT entries they are merged, sorted, into `id_index` (first 8 bytes of the id as one
  integer -> chunk and position packed in one integer), which touches each index page once. A lookup re-hashes what
  it finds, so an 8-byte prefix collision cannot return the wrong entry. Reopening rebuilds
  the in-memory part from the chunks after the merge mark.
- `feeds` holds each author's head (last seq, id, time), where a proof froze it, and how far
  its entries' own signatures are checked (`verified_seq`, see VerifyMode and verify_backlog).
  The frontier (author -> last seq) is read from it, never computed from the chunks. It is
  small (one row per participant) and cached in memory; the cache changes only after a commit.
- `proofs` keeps the fork and bad-link proofs, one per feed position and kind.
- Commits use synchronous=NORMAL in WAL mode: a killed process loses nothing committed, and a
  power cut can lose only the last commits of entries that peers also hold. The node's own
  entries are committed with `durable=True` (synchronous=FULL): an own entry lost after it was
  sent would make the author sign a different entry at the same position, which is a fork.

`ingest` takes a batch of entries and commits it atomically: it checks every entry first and,
if any is refused, raises that refusal (naming the entry's position) and stores nothing, not
even the valid prefix. A peer that sends one bad entry has its whole batch dropped; honest
peers never send one. Entries already held are skipped; a different entry at a held position
is a fork: its proof is stored and the feed is frozen from that position, and the entries the
batch carries beyond it for that feed are skipped. Signatures are checked by the store's
verifier: one core (`verify_all`) or several (`ParallelVerifier`, which starts on the entries
at new positions while the rest of the batch is still being decoded).
"""

from __future__ import annotations

import heapq
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from commune.core.clock import Clock, SystemClock
from commune.core.errors import CommuneError
from commune.core.keys import SIGNATURE_BYTES, verify, verify_all
from commune.log.badlink import MAX_RUN as BAD_LINK_MAX_RUN
from commune.log.badlink import BadLinkProof, decode_bad_link_proof
from commune.log.entry import ZERO_ID, Entry, decode_entry, entry_id_of
from commune.log.fork import ForkProof, decode_fork_proof
from commune.log.refusal import Reason, Refused
from commune.log.verify import (
    MAX_FUTURE_MS,
    FeedHead,
    VerifyMode,
    check_envelope,
    check_ref,
    check_successor,
)

SCHEMA_VERSION = 1
#: WAL pages (4 KiB) written between automatic checkpoints.
WAL_CHECKPOINT_PAGES = 10_000
#: How many entries' ids are held in memory before they are merged into the id index.
MERGE_AT = 50_000
#: About how many decoded entries the store keeps in memory, the latest runs stored (see EntryStore.cached).
LATEST_ENTRIES = 50_000
#: How many entries' signatures are handed to another core at a time during an ingest. Smaller
#: chunks start the other core sooner (bench/ingest.py, 200,000 entries, 2 cores: speedup
#: 1.75-1.79 at 32, 1.63-1.73 at 64, three runs each).
EARLY_CHUNK = 32
#: The most entries one chunk row holds.
CHUNK_ENTRIES = 256
#: An entry's location is its chunk number and its position in the chunk as one integer.
_POS_BITS = 8
_POS_MASK = (1 << _POS_BITS) - 1
assert CHUNK_ENTRIES <= 1 << _POS_BITS

_pack = msgspec.msgpack.Encoder().encode
_unpack = msgspec.msgpack.Decoder(list[bytes]).decode


class _Head(msgspec.Struct, array_like=True, gc=False):
    """The start of an entry's payload, up to its claimed time (the rest is not decoded)."""

    version: int
    commune: msgspec.Raw
    author: msgspec.Raw
    seq: int
    prev: msgspec.Raw
    time_ms: int


_head = msgspec.msgpack.Decoder(_Head).decode

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
    frozen_at INTEGER,
    verified_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS chunks (
    n INTEGER PRIMARY KEY,
    fid INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    raws BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS chunks_by_feed ON chunks (fid, first_seq);
CREATE TABLE IF NOT EXISTS id_index (
    id_key INTEGER NOT NULL,
    loc INTEGER NOT NULL,
    PRIMARY KEY (id_key, loc)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS proofs (
    fid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    proof BLOB NOT NULL,
    PRIMARY KEY (fid, seq, kind)
) WITHOUT ROWID;
"""

_Chunk = tuple[int, int, int, list["Entry"]]  # (n, fid, first seq, entries)

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
    bad_links: list[BadLinkProof] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{len(self.stored)} stored, {self.duplicates} already held"
        if self.frozen:
            text += f", {self.frozen} skipped (feed frozen)"
        if self.forks:
            text += f", {len(self.forks)} fork(s) proven"
        if self.bad_links:
            text += f", {len(self.bad_links)} badly signed entr{'y' if len(self.bad_links) == 1 else 'ies'} proven"
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
    ) -> None:
        self.path = Path(path)
        self.commune = commune
        self.clock = clock or SystemClock()
        self.verifier = verifier
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # A checkpoint syncs the disk twice; one per 40 MB of log instead of per 4 MB
            # took a fifth off ingest time (measured: 0.31 s -> 0.07 s of commits per 100k).
            self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            self._db.executescript(_SCHEMA)
            self._check_meta()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the entry store {self.path}: {exc}") from None
        self._heads: dict[bytes, FeedHead] = {}
        for fid, author, seq, last_id, last_time, frozen_at, verified_seq in self._db.execute(
            "SELECT fid, author, last_seq, last_id, last_time, frozen_at, verified_seq FROM feeds"
        ):
            self._heads[author] = FeedHead(fid, author, seq, last_id, last_time, frozen_at, verified_seq)
        self._next_fid = max((h.fid for h in self._heads.values()), default=0) + 1
        self._last_n = self._db.execute("SELECT coalesce(max(n), 0) FROM chunks").fetchone()[0]
        self._recent: dict[bytes, int] = {}  # id -> location (see _loc), not yet merged
        #: The runs of entries stored last (about LATEST_ENTRIES entries), by feed: the chain takes
        #: in what was just synced, and a position's entry never changes once stored. Kept per run,
        #: not per entry, so ingest pays one step per run; kept as raw bytes, which the cycle
        #: collector does not track (50,000 decoded entries slowed every ingest by a fifth).
        self._latest_runs: dict[bytes, list[tuple[int, list[bytes]]]] = {}
        self._latest_order: deque[tuple[bytes, int]] = deque()
        self._latest_count = 0
        for n, raws in self._db.execute("SELECT n, raws FROM chunks WHERE n > ?", (self._indexed_upto(),)):
            for pos, raw in enumerate(_unpack(raws)):
                self._recent[entry_id_of(raw)] = n << _POS_BITS | pos

    def _check_meta(self) -> None:
        rows = dict(self._db.execute("SELECT key, value FROM meta"))
        if not rows:
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema", SCHEMA_VERSION), ("commune", self.commune), ("indexed_upto", 0)],
                )
            return
        if rows.get("schema") != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has store schema {rows.get('schema')}, this commune needs {SCHEMA_VERSION}")
        if rows.get("commune") != self.commune:
            raise StoreError(f"{self.path} holds another commune ({bytes(rows['commune']).hex()[:12]})")

    def _indexed_upto(self) -> int:
        return self._db.execute("SELECT value FROM meta WHERE key = 'indexed_upto'").fetchone()[0]

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
        return {author: h.seq for author, h in self._heads.items() if h.seq}

    def frozen(self) -> dict[bytes, int]:
        """Author -> the first position a fork proof freezes, for every frozen feed."""
        return {a: h.frozen_at for a, h in self._heads.items() if h.frozen_at is not None}

    def valid_through(self, author: bytes) -> int:
        """The last position of `author`'s feed that counts: signature checked, not frozen (0: none)."""
        head = self._heads.get(author)
        return head.valid_through if head is not None else 0

    def verified_through(self, author: bytes) -> int:
        """The last position of `author`'s feed whose signature is checked, frozen or not (0: none).

        A block may take in an entry this store froze: the chain, not one store, decides from
        where a feed is frozen (a proof counts once a block carries it)."""
        head = self._heads.get(author)
        return head.verified_seq if head is not None else 0

    def unverified(self) -> int:
        """How many held entries were taken in under NEWEST and still await their own check."""
        return sum(h.seq - h.verified_seq for h in self._heads.values() if h.seq > h.verified_seq)

    def count(self) -> int:
        return sum(h.seq for h in self._heads.values())

    def cached(self, author: bytes, seq: int) -> Entry | None:
        """The entry at (author, seq) if it is among the last stored (no disk read), else None."""
        for first, run in reversed(self._latest_runs.get(author, ())):
            if first <= seq:
                return decode_entry(run[seq - first]) if seq - first < len(run) else None
        return None

    def get(self, author: bytes, seq: int) -> Entry | None:
        cached = self.cached(author, seq)
        if cached is not None:
            return cached
        head = self._heads.get(author)
        if head is None or not 1 <= seq <= head.seq:
            return None
        return decode_entry(self._raw_at(head.fid, seq))

    def _raw_at(self, fid: int, seq: int) -> bytes:
        first, raws = self._db.execute(
            "SELECT first_seq, raws FROM chunks WHERE fid = ? AND first_seq <= ? ORDER BY first_seq DESC LIMIT 1",
            (fid, seq),
        ).fetchone()
        return _unpack(raws)[seq - first]

    def get_by_id(self, entry_id: bytes) -> Entry | None:
        raw = self._raw_by_id(entry_id)
        return decode_entry(raw) if raw is not None else None

    def _raw_by_id(self, entry_id: bytes) -> bytes | None:
        where = self._recent.get(entry_id)
        locs = (
            [where]
            if where is not None
            else [loc for (loc,) in self._db.execute("SELECT loc FROM id_index WHERE id_key = ?", (id_key(entry_id),))]
        )
        for loc in locs:
            (raws,) = self._db.execute("SELECT raws FROM chunks WHERE n = ?", (loc >> _POS_BITS,)).fetchone()
            raw = _unpack(raws)[loc & _POS_MASK]
            if entry_id_of(raw) == entry_id:
                return raw
        return None

    def has(self, entry_id: bytes) -> bool:
        return self._raw_by_id(entry_id) is not None

    def raws_after(self, author: bytes, after_seq: int, limit: int = 1000) -> list[bytes]:
        """The raw entries of `author`'s feed after `after_seq`, in order, at most `limit`."""
        head = self._heads.get(author)
        if head is None or after_seq >= head.seq:
            return []
        out: list[bytes] = []
        rows = self._db.execute(
            "SELECT first_seq, raws FROM chunks WHERE fid = ?1 AND first_seq >= (SELECT coalesce(max(first_seq), 0)"
            " FROM chunks WHERE fid = ?1 AND first_seq <= ?2) ORDER BY first_seq",
            (head.fid, after_seq + 1),
        )
        for first, raws in rows:
            out.extend(_unpack(raws)[max(0, after_seq - first + 1) :])
            if len(out) >= limit:
                break
        return out[:limit]

    def chunks_since(self, have: dict[bytes, int], page: int = 64) -> Iterator[tuple[int, bytes]]:
        """What a holder of `have` (author -> last seq) lacks of what this store holds verified and
        unfrozen (`FeedHead.valid_through`), as (entry count, packed chunk of at
        most CHUNK_ENTRIES entries), in an order that puts each entry after the entries it refers
        to, so that a receiver can take them in as they come: each feed in ascending seq, the
        feeds merged by claimed time (an entry never claims a time before an entry it refers to,
        nor before its feed's previous entry), equal times in the order this store stored them.

        Stored order alone is not enough: one batch is stored as one run per feed, so an entry
        can be stored before another of the same batch that it refers to. Only a reference
        between two entries of one batch claiming the same millisecond can still come first."""

        def runs(fid: int, after: int, top: int) -> Iterator[tuple[int, int, int, bytes]]:
            # The run that holds seq after + 1 and those after it, a page of runs per query.
            rows = self._db.execute(
                "SELECT n, first_seq, raws FROM chunks WHERE fid = ?1 AND first_seq >= (SELECT"
                " coalesce(max(first_seq), 1) FROM chunks WHERE fid = ?1 AND first_seq <= ?2)"
                " ORDER BY first_seq LIMIT ?3",
                (fid, after + 1, page),
            ).fetchall()
            while True:
                for n, first, raws in rows:
                    run = _unpack(raws)
                    for pos in range(max(0, after + 1 - first), min(len(run), top - first + 1)):
                        raw = run[pos]
                        yield _head(memoryview(raw)[SIGNATURE_BYTES:]).time_ms, n, pos, raw
                if len(rows) < page or rows[-1][1] > top:
                    return
                rows = self._db.execute(
                    "SELECT n, first_seq, raws FROM chunks WHERE fid = ? AND first_seq > ? ORDER BY first_seq LIMIT ?",
                    (fid, rows[-1][1], page),
                ).fetchall()

        # Only what this store has checked and not frozen: a node never passes on an entry whose
        # signature it has not verified itself, nor one a proof condemns.
        feeds = [
            runs(h.fid, have.get(a, 0), h.valid_through)
            for a, h in self._heads.items()
            if h.valid_through > have.get(a, 0)
        ]
        out: list[bytes] = []
        for *_, raw in heapq.merge(*feeds):
            out.append(raw)
            if len(out) == CHUNK_ENTRIES:
                yield len(out), _pack(out)
                out = []
        if out:
            yield len(out), _pack(out)

    def feed(self, author: bytes) -> Iterator[Entry]:
        """Every held entry of `author`'s feed, in order."""
        seq = 0
        while batch := self.raws_after(author, seq):
            for raw in batch:
                yield decode_entry(raw)
            seq += len(batch)

    def fork_proofs(self) -> list[ForkProof]:
        rows = self._db.execute("SELECT proof FROM proofs WHERE kind = 'fork' ORDER BY fid, seq")
        return [decode_fork_proof(bytes(proof)) for (proof,) in rows]

    def bad_link_proofs(self) -> list[BadLinkProof]:
        rows = self._db.execute("SELECT proof FROM proofs WHERE kind = 'bad_link' ORDER BY fid, seq")
        return [decode_bad_link_proof(bytes(proof)) for (proof,) in rows]

    # -- writing ---------------------------------------------------------------------------

    def ingest(
        self, raws: Sequence[bytes], *, mode: VerifyMode = VerifyMode.EVERY, durable: bool = False
    ) -> IngestReport:
        """Verify a batch and commit it atomically, or refuse it whole (see the module doc).

        `durable` waits for the disk (fsync) before returning: for the node's own entries.
        """
        # With a verifier that can start work early, signatures of entries at new positions are
        # checked on the other cores while this thread decodes and orders the rest.
        start = getattr(self.verifier, "start", None) if mode is VerifyMode.EVERY else None
        jobs: list[tuple[list[Entry], Any]] = []
        try:
            return self._ingest(raws, mode, durable, start, jobs)
        except BaseException:
            for _, job in jobs:  # a refused batch leaves no work queued behind it
                job.discard()
            raise

    def _ingest(
        self,
        raws: Sequence[bytes],
        mode: VerifyMode,
        durable: bool,
        start: Callable[[Sequence[tuple[bytes, bytes]]], Any] | None,
        jobs: list[tuple[list[Entry], Any]],
    ) -> IngestReport:
        now = self.clock.now_ms()
        commune = self.commune
        committed = self._heads
        entries: list[Entry] = []
        latest = now + MAX_FUTURE_MS
        early: list[Entry] = []
        for i, raw in enumerate(raws):
            try:
                entry = decode_entry(raw)
                payload = entry.payload
                if payload.commune != commune or payload.time_ms > latest:
                    check_envelope(entry, commune, now)
            except Refused as exc:
                raise exc.at(i) from None
            entries.append(entry)
            if start is not None:
                head = committed.get(payload.author)
                if head is None or (
                    payload.seq > head.seq and (head.frozen_at is None or payload.seq < head.frozen_at)
                ):
                    early.append(entry)
                    if len(early) == EARLY_CHUNK:
                        jobs.append((early, start([(e.payload.author, e.raw) for e in early])))
                        early = []
        if early:
            jobs.append((early, start([(e.payload.author, e.raw) for e in early])))

        report = IngestReport()
        pending: dict[bytes, _Pending] = {}
        batch_by_id: dict[bytes, Entry] = {}
        forks: list[tuple[int, bytes, Entry]] = []
        stored = report.stored
        for i, entry in enumerate(entries):
            payload = entry.payload
            author = payload.author
            seq = payload.seq
            feed = pending.get(author)
            if feed is None:
                feed = pending[author] = _Pending(committed.get(author))
            if seq <= feed.last_seq:
                held_raw = feed.raw_at(seq, self._raw_at)
                if held_raw == entry.raw:
                    report.duplicates += 1
                elif feed.frozen_at is not None and feed.frozen_at <= seq:
                    report.frozen += 1
                else:
                    forks.append((i, held_raw, entry))
                    feed.frozen_at = seq
                continue
            if feed.frozen_at is not None and seq >= feed.frozen_at:
                report.frozen += 1
                continue
            try:
                if seq != feed.last_seq + 1 or payload.prev != feed.last_id or payload.time_ms < feed.last_time:
                    check_successor(feed.last_seq, feed.last_id, feed.last_time, entry)
                for ref in payload.refs:
                    in_batch = batch_by_id.get(ref)
                    if in_batch is not None:
                        check_ref(entry, in_batch.payload.time_ms)
                    else:
                        held_raw = self._raw_by_id(ref)
                        check_ref(entry, None if held_raw is None else decode_entry(held_raw).payload.time_ms)
            except Refused as exc:
                raise exc.at(i) from None
            feed.last_seq = seq
            feed.last_id = entry.id
            feed.last_time = payload.time_ms
            feed.new.append(entry)
            batch_by_id[entry.id] = entry
            stored.append(entry)

        checked_early: dict[int, bool] = {}
        for part, job in reversed(jobs):  # the last queued are the likeliest still to be free
            results = job.join()
            checked_early.update(zip(map(id, part), results, strict=True))
        forks, bad_links = self._verify_signatures(entries, stored, forks, mode, checked_early)
        if mode is VerifyMode.EVERY:
            for feed in pending.values():
                if feed.new and feed.verified_seq == feed.new[0].payload.seq - 1:
                    feed.verified_seq = feed.last_seq

        next_fid = self._next_fid
        heads: dict[bytes, FeedHead] = {}
        new_feeds: list[FeedHead] = []
        for author, feed in pending.items():
            head = feed.head
            if head is None:
                if not feed.new:
                    continue
                head = FeedHead(
                    next_fid, author, feed.last_seq, feed.last_id, feed.last_time, feed.frozen_at, feed.verified_seq
                )
                next_fid += 1
                new_feeds.append(head)
            elif feed.new or feed.frozen_at != head.frozen_at:
                head = FeedHead(
                    head.fid, author, feed.last_seq, feed.last_id, feed.last_time, feed.frozen_at, feed.verified_seq
                )
            else:
                continue
            heads[author] = head
        proofs = [(heads[e.payload.author].fid, e.payload.seq, ForkProof.of(held, e.raw)) for _, held, e in forks]
        report.forks = [p for _, _, p in proofs]
        chunks = _chunk(pending, heads, self._last_n + 1)
        self._commit(chunks, heads, new_feeds, proofs, durable)
        committed.update(heads)
        self._next_fid = next_fid
        self._last_n += len(chunks)
        recent = self._recent
        runs, order = self._latest_runs, self._latest_order
        for n, _, _, run in chunks:
            base = n << _POS_BITS
            for pos, entry in enumerate(run):
                recent[entry.id] = base | pos
            author = run[0].payload.author
            runs.setdefault(author, []).append((run[0].payload.seq, [entry.raw for entry in run]))
            order.append((author, len(run)))
            self._latest_count += len(run)
        while self._latest_count > LATEST_ENTRIES:
            author, size = order.popleft()  # the oldest run stored is its feed's oldest cached run
            held = runs[author]
            del held[0]
            if not held:
                del runs[author]
            self._latest_count -= size
        if len(recent) >= MERGE_AT:
            self.merge_id_index()
        for _, _, entry in bad_links:
            proof = self._bad_link_proof(entry.payload.author, entry.payload.seq)
            if proof is not None:
                self._freeze(entry.payload.author, entry.payload.seq, "bad_link", proof)
                report.bad_links.append(proof)
        return report

    def merge_id_index(self) -> None:
        """Move the in-memory ids into the id index, sorted, in one transaction."""
        if not self._recent:
            return
        count = len(self._recent)
        keys = np.frombuffer(b"".join(self._recent), dtype=">i8").reshape(count, 4)[:, 0]  # id_key of each
        locs = np.fromiter(self._recent.values(), dtype=np.int64, count=count)
        order = np.argsort(keys, kind="stable")
        rows = zip(keys[order].tolist(), locs[order].tolist(), strict=True)
        with self._transaction():
            self._db.executemany("INSERT OR IGNORE INTO id_index (id_key, loc) VALUES (?, ?)", rows)
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'indexed_upto'", (self._last_n,))
        self._recent.clear()

    def _verify_signatures(
        self,
        entries: list[Entry],
        stored: list[Entry],
        forks: list[tuple[int, bytes, Entry]],
        mode: VerifyMode,
        checked_early: dict[int, bool],
    ) -> tuple[list[tuple[int, bytes, Entry]], list[tuple[int, bytes, Entry]]]:
        """Refuse the batch at the first entry whose signature fails; return the forks that can
        be proven, and those whose held entry has a bad signature.

        A fork candidate is always checked itself, and so is the entry it conflicts with: that
        one may have been stored under NEWEST (authenticated only by the hash chain), and a proof
        must check on any node. If the held one fails, its author chained an entry with a bad
        signature: the feed is frozen there all the same, and a bad-link proof is made instead.
        """
        if mode is VerifyMode.EVERY:
            wanted = stored
        else:
            wanted = list({e.payload.author: e for e in stored}.values())
        if checked_early:
            failed = {id(e) for e in wanted if checked_early.get(id(e)) is False}
            checked = [e for e in wanted if id(e) not in checked_early]
        else:
            failed = set()
            checked = list(wanted)
        checked += [e for _, _, e in forks]
        results = self.verifier([(e.payload.author, e.raw) for e in checked])
        if not all(results):
            failed.update(id(e) for e, ok in zip(checked, results, strict=True) if not ok)
        if failed:
            first = next(i for i, e in enumerate(entries) if id(e) in failed)
            raise Refused(Reason.BAD_SIGNATURE, index=first)
        if not forks:
            return forks, []
        held_ok = self.verifier([(e.payload.author, held) for _, held, e in forks])
        return (
            [fork for fork, ok in zip(forks, held_ok, strict=True) if ok],
            [fork for fork, ok in zip(forks, held_ok, strict=True) if not ok],
        )

    def _commit(
        self,
        chunks: list[_Chunk],
        heads: dict[bytes, FeedHead],
        new_feeds: list[FeedHead],
        proofs: list[tuple[int, int, ForkProof]],
        durable: bool,
    ) -> None:
        if not chunks and not proofs and not heads:
            return
        db = self._db
        if durable:
            db.execute("PRAGMA synchronous=FULL")
        try:
            with self._transaction():
                db.executemany(
                    "INSERT INTO feeds (fid, author, last_seq, last_id, last_time) VALUES (?, ?, ?, ?, ?)",
                    [(h.fid, h.author, h.seq, h.id, h.time_ms) for h in new_feeds],
                )
                db.executemany(
                    "INSERT INTO chunks (n, fid, first_seq, count, raws) VALUES (?, ?, ?, ?, ?)",
                    [(n, fid, first, len(run), _pack([e.raw for e in run])) for n, fid, first, run in chunks],
                )
                db.executemany(
                    "UPDATE feeds SET last_seq = ?, last_id = ?, last_time = ?, frozen_at = ?, verified_seq = ?"
                    " WHERE fid = ?",
                    [(h.seq, h.id, h.time_ms, h.frozen_at, h.verified_seq, h.fid) for h in heads.values()],
                )
                db.executemany(
                    "INSERT OR IGNORE INTO proofs (fid, seq, kind, proof) VALUES (?, ?, 'fork', ?)",
                    [(fid, seq, p.to_bytes()) for fid, seq, p in proofs],
                )
        finally:
            if durable:
                db.execute("PRAGMA synchronous=NORMAL")

    def add_proof(self, proof: ForkProof | BadLinkProof) -> bool:
        """Check a proof that arrived on its own, keep it, freeze the feed. True if it was new here.

        Refuses with `bad_fork_proof` or `bad_link_proof` if it proves nothing.
        """
        author, seq = proof.check(self.commune)
        kind = "fork" if isinstance(proof, ForkProof) else "bad_link"
        head = self._heads.get(author)
        if head is not None and head.frozen_at is not None and head.frozen_at <= seq:
            return False
        self._freeze(author, seq, kind, proof)
        return True

    def add_fork_proof(self, proof: ForkProof) -> bool:
        return self.add_proof(proof)

    def _freeze(self, author: bytes, seq: int, kind: str, proof: ForkProof | BadLinkProof | None) -> None:
        """Freeze `author`'s feed from `seq` on (keeping `proof`, if there is one to pass on)."""
        head = self._heads.get(author)
        fid = head.fid if head is not None else self._next_fid
        with self._transaction():
            if head is None:
                # A feed not held yet: its entries before the frozen position may still arrive.
                head = FeedHead(fid, author, 0, ZERO_ID, 0)
                self._db.execute(
                    "INSERT INTO feeds (fid, author, last_seq, last_id, last_time) VALUES (?, ?, 0, ?, 0)",
                    (fid, author, ZERO_ID),
                )
            frozen_at = seq if head.frozen_at is None else min(seq, head.frozen_at)
            self._db.execute("UPDATE feeds SET frozen_at = ? WHERE fid = ?", (frozen_at, fid))
            if proof is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO proofs (fid, seq, kind, proof) VALUES (?, ?, ?, ?)",
                    (fid, seq, kind, proof.to_bytes()),
                )
        self._next_fid = max(self._next_fid, fid + 1)
        self._heads[author] = replace(head, frozen_at=frozen_at)

    def verify_backlog(self, limit: int = 20_000) -> list[BadLinkProof]:
        """Check, one by one, the signatures of up to `limit` entries taken in under NEWEST.

        Moves each feed's `verified_seq` up over entries whose signature holds. At an entry whose
        signature fails, freezes the feed there and returns the bad-link proof to pass on.
        """
        found: list[BadLinkProof] = []
        budget = limit
        for author, head in list(self._heads.items()):
            if budget <= 0:
                break
            top = head.seq if head.frozen_at is None else min(head.seq, head.frozen_at - 1)
            if head.verified_seq >= top:
                continue
            raws = self.raws_after(author, head.verified_seq, min(budget, top - head.verified_seq))
            budget -= len(raws)
            results = self.verifier([(author, raw) for raw in raws])
            good = next((i for i, ok in enumerate(results) if not ok), len(raws))
            verified = head.verified_seq + good
            if good < len(raws):
                proof = self._bad_link_proof(author, verified + 1)
                self._freeze(author, verified + 1, "bad_link", proof)
                if proof is not None:
                    found.append(proof)
            with self._transaction():
                self._db.execute("UPDATE feeds SET verified_seq = ? WHERE fid = ?", (verified, head.fid))
            self._heads[author] = replace(self._heads[author], verified_seq=verified)
        return found

    def _bad_link_proof(self, author: bytes, seq: int) -> BadLinkProof | None:
        """The run from the badly signed entry at `seq` to the first validly signed one above it."""
        run: list[bytes] = []
        for raw in self.raws_after(author, seq - 1, BAD_LINK_MAX_RUN):
            run.append(raw)
            if len(run) > 1 and verify(author, raw):
                return BadLinkProof(tuple(run))
        return None


class _Pending:
    """One feed's state during an ingest: its committed head, then what the batch adds."""

    __slots__ = ("frozen_at", "head", "last_id", "last_seq", "last_time", "new", "verified_seq")

    def __init__(self, head: FeedHead | None) -> None:
        self.head = head
        if head is None:
            self.last_seq, self.last_id, self.last_time, self.frozen_at = 0, ZERO_ID, 0, None
            self.verified_seq = 0
        else:
            self.last_seq, self.last_id, self.last_time = head.seq, head.id, head.time_ms
            self.frozen_at = head.frozen_at
            self.verified_seq = head.verified_seq
        self.new: list[Entry] = []

    def raw_at(self, seq: int, read_stored: Callable[[int, int], bytes]) -> bytes:
        """The raw entry this feed holds at `seq`, from this batch or from the store."""
        first_new = self.head.seq + 1 if self.head is not None else 1
        if seq >= first_new:
            return self.new[seq - first_new].raw
        return read_stored(self.head.fid, seq)  # type: ignore[union-attr]


def _chunk(pending: dict[bytes, _Pending], heads: dict[bytes, FeedHead], first_n: int) -> list[_Chunk]:
    """Cut each feed's new entries into (n, fid, first seq, entries) runs of at most CHUNK_ENTRIES."""
    out: list[_Chunk] = []
    for author, feed in pending.items():
        new = feed.new
        for i in range(0, len(new), CHUNK_ENTRIES):
            run = new[i : i + CHUNK_ENTRIES]
            out.append((first_n + len(out), heads[author].fid, run[0].payload.seq, run))
    return out


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
