"""Reading the entry store: get, get_by_id, raws_after, feed, frontier, head; persistence."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable

import pytest
from logkit import COMMUNE, OTHER_COMMUNE, START_MS, Feed, blake, interleave, key_of, snapshot

from commune.core.clock import ManualClock
from commune.core.keys import verify
from commune.log.bodies import Note, Profile
from commune.log.entry import decode_entry
from commune.log.feed import FeedWriter
from commune.log.store import EntryStore, StoreError


def _random_batches(rng: random.Random, feeds: list[Feed], total_per_feed: int) -> list[list[bytes]]:
    """Each feed's entries cut into runs of random length, the runs of all feeds shuffled into batches."""
    per_feed = [f.many(total_per_feed) for f in feeds]
    cursors = [0] * len(feeds)
    batches: list[list[bytes]] = []
    while any(c < total_per_feed for c in cursors):
        batch: list[bytes] = []
        for i in rng.sample(range(len(feeds)), len(feeds)):
            n = rng.choice([0, 1, 2, 7, 40, 255, 256, 257, 300])
            batch += per_feed[i][cursors[i] : cursors[i] + n]
            cursors[i] = min(total_per_feed, cursors[i] + n)
        batches.append(batch)
    return batches


def check_lookups(store: EntryStore, feeds: list[Feed], rng: random.Random) -> None:
    assert store.frontier() == {f.author: f.seq for f in feeds}
    assert store.count() == sum(f.seq for f in feeds)
    for f in feeds:
        head = store.head(f.author)
        assert head is not None
        assert (head.author, head.seq, head.id, head.time_ms, head.frozen_at) == (
            f.author,
            f.seq,
            f.ids()[-1],
            f.time_ms,
            None,
        )
        assert [e.raw for e in store.feed(f.author)] == f.raws
        assert store.get(f.author, 0) is None
        assert store.get(f.author, f.seq + 1) is None
        assert store.get(f.author, -1) is None
        for seq in {1, f.seq, *rng.sample(range(1, f.seq + 1), min(20, f.seq))}:
            e = store.get(f.author, seq)
            assert e is not None and e.raw == f.raws[seq - 1] and e.seq == seq
        for raw in [*rng.sample(f.raws, min(25, len(f.raws))), f.raws[0], f.raws[-1]]:
            e = store.get_by_id(blake(raw))
            assert e is not None and e.raw == raw
            assert store.has(blake(raw))
        # raws_after, across chunk boundaries and with limits
        n = f.seq
        points = {0, 1, n - 1, n, n + 5, 255, 256, 257, 511, 512, *rng.sample(range(n + 1), min(15, n + 1))}
        for after in points:
            for limit in (1, 3, 256, 1000, 10**6):
                assert store.raws_after(f.author, after, limit) == f.raws[max(after, 0) : max(after, 0) + limit], (
                    after,
                    limit,
                )
        assert store.raws_after(f.author, 0) == f.raws[:1000]
    for missing in (bytes(32), bytes([9]) * 32, blake(b"nothing")):
        assert store.get_by_id(missing) is None
        assert not store.has(missing)
    stranger = key_of("stranger").public
    assert store.head(stranger) is None
    assert store.get(stranger, 1) is None
    assert store.raws_after(stranger, 0) == []
    assert list(store.feed(stranger)) == []


def test_lookups_after_random_batches_merge_and_reopen(open_store: Callable[..., EntryStore]) -> None:
    rng = random.Random(20260101)
    feeds = [Feed(key_of(f"look{i}"), step_ms=3) for i in range(4)]
    store = open_store()
    batches = _random_batches(rng, feeds, 600)
    half = len(batches) // 2
    for b in batches[:half]:
        store.ingest(b)
    # entries held only in the in-memory recent part, then merged into the id index
    stored_so_far = {f.author: store.frontier().get(f.author, 0) for f in feeds}
    partial = [Feed(f.key) for f in feeds]
    for p, f in zip(partial, feeds, strict=False):
        p.raws, p.seq = f.raws[: stored_so_far[f.author]], stored_so_far[f.author]
        p.time_ms = decode_entry(p.raws[-1]).time_ms if p.raws else p.time_ms
    present = [p for p in partial if p.seq]
    check_lookups_subset(store, present, rng)
    store.merge_id_index()
    check_lookups_subset(store, present, rng)
    for b in batches[half:]:
        store.ingest(b)
    check_lookups(store, feeds, rng)  # part in the id index, part recent
    before = snapshot(store)
    store.close()

    store = open_store()  # recent part rebuilt from the file
    assert snapshot(store) == before
    check_lookups(store, feeds, rng)
    store.merge_id_index()
    check_lookups(store, feeds, rng)
    store.close()

    store = open_store()  # everything in the id index
    assert snapshot(store) == before
    check_lookups(store, feeds, rng)
    store.merge_id_index()  # merging nothing is harmless
    store.merge_id_index()
    check_lookups(store, feeds, rng)


def check_lookups_subset(store: EntryStore, feeds: list[Feed], rng: random.Random) -> None:
    for f in feeds:
        assert store.frontier()[f.author] == f.seq
        assert [e.raw for e in store.feed(f.author)] == f.raws
        for raw in rng.sample(f.raws, min(20, len(f.raws))):
            assert store.get_by_id(blake(raw)).raw == raw  # type: ignore[union-attr]


def test_one_entry_at_a_time(open_store: Callable[..., EntryStore]) -> None:
    rng = random.Random(7)
    feeds = [Feed(key_of("single"), step_ms=0), Feed(key_of("other"))]
    store = open_store()
    for raw in interleave(feeds[0].many(300), feeds[1].many(20)):
        assert len(store.ingest([raw]).stored) == 1
    check_lookups(store, feeds, rng)
    store.merge_id_index()
    store.close()
    check_lookups(open_store(), feeds, rng)


def test_entries_decode_and_verify_as_stored(store: EntryStore) -> None:
    f = Feed(key_of("v"))
    store.ingest([f.next(Profile("Vera", ("tcp://10.0.0.1:9000",))), f.next(Note("héllo ✓"))])
    e1, e2 = store.feed(f.author)
    assert e1.body == Profile("Vera", ("tcp://10.0.0.1:9000",)) and e1.kind == "profile"
    assert e2.body == Note("héllo ✓") and e2.prev == e1.id
    assert verify(f.author, e1.raw) and verify(f.author, e2.raw)


def test_a_store_of_another_commune_is_not_opened(open_store: Callable[..., EntryStore]) -> None:
    store = open_store()
    store.ingest(Feed(key_of("a")).many(2))
    store.close()
    with pytest.raises(StoreError) as exc:
        open_store(commune=OTHER_COMMUNE)
    assert "another commune" in str(exc.value)
    again = open_store()
    assert again.count() == 2


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: object, clock: ManualClock) -> None:
    path = tmp_path / "junk.db"  # type: ignore[operator]
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as exc:
        EntryStore(path, COMMUNE, clock=clock)
    assert str(path) in str(exc.value)


def test_the_store_is_sqlite_in_wal_mode(store: EntryStore) -> None:
    store.ingest(Feed(key_of("a")).many(3))
    con = sqlite3.connect(store.path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()


# -- appending to one's own feed -----------------------------------------------------------------


def test_feed_writer_appends_and_persists(open_store: Callable[..., EntryStore], clock: ManualClock) -> None:
    key = key_of("writer")
    store = open_store()
    w = FeedWriter(store, key)
    e1 = w.append(Profile("Wanda"))
    clock.advance(1_000)
    e2 = w.append(Note("second"), refs=(e1.id,))
    e3 = w.append(Note("third"), chain_ref=bytes([5]) * 32)
    assert [e.seq for e in (e1, e2, e3)] == [1, 2, 3]
    assert e1.prev == bytes(32) and e2.prev == e1.id and e3.prev == e2.id
    assert e1.time_ms == START_MS and e2.time_ms == e3.time_ms == START_MS + 1_000
    assert e1.chain_ref == COMMUNE and e3.chain_ref == bytes([5]) * 32
    assert e2.refs == (e1.id,)
    assert e1.commune == COMMUNE and e1.author == key.public
    assert all(verify(key.public, e.raw) for e in (e1, e2, e3))
    store.close()
    store = open_store()
    assert [e.raw for e in store.feed(key.public)] == [e1.raw, e2.raw, e3.raw]
    assert FeedWriter(store, key).append(Note("fourth")).prev == e3.id


def test_feed_writer_never_claims_a_time_before_its_head(store: EntryStore, clock: ManualClock) -> None:
    """If the feed's head claims a later time than the clock (written elsewhere, clock skew), the
    next entry claims the head's time."""
    key = key_of("skew")
    f = Feed(key, time_ms=clock.now_ms() + 60_000 - 10)
    store.ingest([f.next()])  # one minute ahead, within the allowed future
    e = FeedWriter(store, key).append(Note("after"))
    assert e.seq == 2 and e.time_ms == clock.now_ms() + 60_000


def test_feed_writer_refs_must_be_held(store: EntryStore) -> None:
    from commune.log.refusal import Refused

    w = FeedWriter(store, key_of("w"))
    before = snapshot(store)
    with pytest.raises(Refused) as exc:
        w.append(Note("x"), refs=(bytes([1]) * 32,))
    assert exc.value.reason == "missing_ref"
    assert snapshot(store) == before


def test_feed_writer_never_claims_a_time_before_an_entry_it_refers_to(store: EntryStore, clock: ManualClock) -> None:
    peer = Feed(key_of("peer"), time_ms=clock.now_ms() + 120_000 - 10)
    ahead = peer.next()  # a peer whose clock runs two minutes ahead
    store.ingest([ahead])
    w = FeedWriter(store, key_of("me"))
    e = w.append(Note("re: your note"), refs=(blake(ahead),))
    assert e.time_ms == clock.now_ms() + 120_000 and e.refs == (blake(ahead),)
    assert w.append(Note("no refs")).time_ms == e.time_ms  # and then not before its own head
