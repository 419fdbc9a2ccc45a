"""Batch ingest: atomic (a batch with one bad entry stores nothing), duplicates, verify modes.

The documented policy (store.py, module doc): a batch with a refused entry raises that refusal,
naming the entry's position, and stores nothing -- not even the valid prefix.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from logkit import (
    OTHER_COMMUNE,
    Feed,
    all_verify,
    assert_unchanged,
    blake,
    interleave,
    key_of,
    snapshot,
)

from commune.core.clock import ManualClock
from commune.core.verifier import ParallelVerifier
from commune.log.refusal import Refused
from commune.log.store import EntryStore
from commune.log.verify import MAX_FUTURE_MS, VerifyMode

BAD_AT = 57


def hundred() -> tuple[list[Feed], list[bytes]]:
    """100 valid entries of 4 feeds, interleaved (each feed in order)."""
    feeds = [Feed(key_of(f"batch{i}"), step_ms=7 + i) for i in range(4)]
    return feeds, interleave(*(f.many(25) for f in feeds))


def _flip(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]


BAD_ENTRIES: dict[str, tuple[Callable[[list[Feed], ManualClock], bytes], str]] = {
    "a new feed's entry with a bad signature": (lambda fs, c: _flip(Feed(key_of("x")).next(), 0), "bad_signature"),
    "an entry signed by another key": (
        lambda fs, c: Feed(key_of("x")).craft(sign_with=key_of("y")),
        "bad_signature",
    ),
    "a future entry": (lambda fs, c: Feed(key_of("x")).craft(time_ms=c.now_ms() + MAX_FUTURE_MS + 1), "future_time"),
    "another commune's entry": (lambda fs, c: Feed(key_of("x"), commune=OTHER_COMMUNE).next(), "wrong_commune"),
    "garbage": (lambda fs, c: b"\x07" * 99, "malformed_entry"),
    "a gap in a feed of the batch": (lambda fs, c: fs[1].craft(seq=fs[1].seq + 2), "seq_gap"),
    "a missing ref": (lambda fs, c: Feed(key_of("x")).craft(refs=(bytes(32),)), "missing_ref"),
}


@pytest.fixture
def seeded(store: EntryStore) -> EntryStore:
    """A store already holding some entries, so that 'unchanged' means something."""
    store.ingest(Feed(key_of("old")).many(10))
    return store


@pytest.mark.parametrize("name", list(BAD_ENTRIES))
def test_one_bad_entry_refuses_the_whole_batch(seeded: EntryStore, clock: ManualClock, name: str) -> None:
    store = seeded
    feeds, good = hundred()
    make_bad, reason = BAD_ENTRIES[name]
    bad = make_bad(feeds, clock)
    batch = [*good[:BAD_AT], bad, *good[BAD_AT:]]
    before = snapshot(store)
    with pytest.raises(Refused) as exc:
        store.ingest(batch)
    assert exc.value.reason == reason
    assert exc.value.index == BAD_AT
    assert_unchanged(store, before)
    assert not any(store.has(blake(raw)) for raw in good)
    assert all(store.head(f.author) is None for f in feeds)

    # the same batch without the bad entry stores all of it, in order
    report = store.ingest(good)
    assert [e.raw for e in report.stored] == good
    assert report.duplicates == 0 and report.forks == [] and report.frozen == 0
    assert store.count() == before["count"] + 100  # type: ignore[operator]
    assert {f.author: store.frontier()[f.author] for f in feeds} == {f.author: 25 for f in feeds}
    for f in feeds:
        assert [e.raw for e in store.feed(f.author)] == f.raws


def test_duplicates_are_counted_and_change_nothing(open_store: Callable[..., EntryStore]) -> None:
    store = open_store()
    feeds, good = hundred()
    store.ingest(good)
    before = snapshot(store)
    report = store.ingest(good)
    assert report.stored == [] and report.duplicates == 100 and report.forks == [] and report.frozen == 0
    assert_unchanged(store, before)
    # within one batch too, and after reopening (held entries found on disk)
    store.close()
    store = open_store()
    report = store.ingest(good + good[:10])
    assert report.duplicates == 110 and report.stored == []
    assert_unchanged(store, before)
    # a batch half held, half new
    more = interleave(*(f.many(5) for f in feeds))
    report = store.ingest(good[50:] + more)
    assert report.duplicates == 50 and [e.raw for e in report.stored] == more
    assert store.count() == 120


def test_a_duplicate_in_a_new_batch_twice(store: EntryStore) -> None:
    f = Feed(key_of("a"))
    raws = f.many(3)
    report = store.ingest(raws + raws)
    assert [e.raw for e in report.stored] == raws and report.duplicates == 3


def test_a_long_batch_of_one_feed_is_atomic(store: EntryStore) -> None:
    """Longer than one storage chunk (several hundred entries of one feed)."""
    f = Feed(key_of("long"))
    raws = f.many(700)
    bad = _flip(raws[400], 64 + 4)  # the first byte of the commune id in the payload
    with pytest.raises(Refused) as exc:
        store.ingest([*raws[:400], bad, *raws[401:]])
    assert (exc.value.reason, exc.value.index) == ("wrong_commune", 400)
    assert store.count() == 0 and store.frontier() == {}
    report = store.ingest(raws)
    assert len(report.stored) == 700 and store.count() == 700
    assert store.raws_after(f.author, 0, limit=10_000) == raws


# -- verify modes ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(VerifyMode))
def test_a_valid_batch_is_accepted_in_every_mode(store: EntryStore, mode: VerifyMode) -> None:
    _feeds, good = hundred()
    report = store.ingest(good, mode=mode)
    assert len(report.stored) == 100 and store.count() == 100
    assert all_verify(store)


@pytest.mark.parametrize("mode", list(VerifyMode))
@pytest.mark.parametrize("how", ["signature flipped", "payload changed after signing"])
def test_a_bad_newest_entry_is_refused_in_every_mode(store: EntryStore, mode: VerifyMode, how: str) -> None:
    feeds, good = hundred()
    newest_of_feed2 = max(i for i, raw in enumerate(good) if raw in feeds[2].raws)
    raw = good[newest_of_feed2]
    bad = _flip(raw, 10) if how == "signature flipped" else raw.replace(b" #25", b" #26")
    assert bad != raw
    batch = [*good[:newest_of_feed2], bad, *good[newest_of_feed2 + 1 :]]
    with pytest.raises(Refused) as exc:
        store.ingest(batch, mode=mode)
    assert (exc.value.reason, exc.value.index) == ("bad_signature", newest_of_feed2)
    assert store.count() == 0


@pytest.mark.parametrize("mode", list(VerifyMode))
def test_a_tampered_signature_in_the_middle_of_a_feed_is_refused(store: EntryStore, mode: VerifyMode) -> None:
    """A middle entry whose signature bytes were changed, payload untouched.

    The id of an entry is the hash of its signed bytes, signature included (entry.py), so the
    tampered entry has a different id and the next entry of its feed no longer names it.
    What the store does (both modes): it checks the hash chain before any signature, so the
    refusal is `prev_mismatch` at the entry after the tampered one. Had the id been the hash of
    the payload only, NEWEST would have accepted the batch and stored the tampered bytes; the
    test also accepts `bad_signature` at the tampered entry itself (signatures checked first).
    """
    feeds, good = hundred()
    k = good.index(feeds[0].raws[10])
    bad = _flip(good[k], 20)
    batch = [*good[:k], bad, *good[k + 1 :]]
    with pytest.raises(Refused) as exc:
        store.ingest(batch, mode=mode)
    next_of_feed = good.index(feeds[0].raws[11])
    assert (exc.value.reason, exc.value.index) in {("bad_signature", k), ("prev_mismatch", next_of_feed)}
    assert store.count() == 0 and store.frontier() == {}
    assert not store.has(blake(bad)) and not store.has(blake(good[k]))


def test_a_parallel_verifier_names_the_right_entry(open_store: Callable[..., EntryStore]) -> None:
    verifier = ParallelVerifier(2)
    try:
        store = open_store(verifier=verifier)
        feeds = [Feed(key_of(f"p{i}")) for i in range(4)]
        good = interleave(*(f.many(60) for f in feeds))
        at = good.index(feeds[3].raws[-1])
        bad = _flip(good[at], 1)
        with pytest.raises(Refused) as exc:
            store.ingest([*good[:at], bad, *good[at + 1 :]])
        assert (exc.value.reason, exc.value.index) == ("bad_signature", at)
        assert store.count() == 0
        assert len(store.ingest(good).stored) == 240
        assert all_verify(store)
    finally:
        verifier.close()


@pytest.mark.parametrize("where", ["early", "late"])
def test_a_parallel_verifier_checks_every_chunk_of_a_large_batch(
    open_store: Callable[..., EntryStore], where: str
) -> None:
    """A batch long enough to be verified in several chunks on the other core while the rest is
    decoded: a bad signature in any chunk refuses the batch at that entry, and replayed entries
    mixed into a later batch are not verified again or stored twice."""
    verifier = ParallelVerifier(2)
    try:
        store = open_store(verifier=verifier)
        feeds = [Feed(key_of(f"big{i}")) for i in range(5)]
        at = 10 if where == "early" else 1100
        lone = Feed(key_of("lone")).many(1)[0]  # no successor, so only its signature can fail
        good = interleave(*(f.many(240) for f in feeds))  # 1200 entries: several chunks
        good.insert(at, lone)
        with pytest.raises(Refused) as exc:
            store.ingest([*good[:at], _flip(lone, 1), *good[at + 1 :]])
        assert (exc.value.reason, exc.value.index) == ("bad_signature", at)
        assert store.count() == 0
        assert len(store.ingest(good[:700]).stored) == 700
        report = store.ingest(good)  # 700 replayed, 501 new
        assert (len(report.stored), report.duplicates) == (501, 700)
        assert store.count() == 1201 and all_verify(store)
    finally:
        verifier.close()


def test_a_batch_refused_before_its_signatures_are_joined_leaves_no_queued_work(
    open_store: Callable[..., EntryStore],
) -> None:
    verifier = ParallelVerifier(2)
    try:
        store = open_store(verifier=verifier)
        feeds = [Feed(key_of(f"q{i}")) for i in range(4)]
        good = interleave(*(f.many(300) for f in feeds))
        late = Feed(key_of("gap")).many(3)[2]  # #3 of a feed this store has never seen
        with pytest.raises(Refused) as exc:
            store.ingest([*good, late])
        assert (exc.value.reason, exc.value.index) == ("seq_gap", len(good))
        assert not verifier._queue  # the early verification jobs of the refused batch were dropped
        assert len(store.ingest(good).stored) == 1200
    finally:
        verifier.close()


def test_an_empty_batch_does_nothing(store: EntryStore) -> None:
    store.ingest(Feed(key_of("a")).many(2))
    before = snapshot(store)
    report = store.ingest([])
    assert report.stored == [] and report.duplicates == 0
    assert_unchanged(store, before)


def test_a_batch_may_refer_to_an_earlier_entry_of_itself(store: EntryStore) -> None:
    a, b = Feed(key_of("a")), Feed(key_of("b"))
    a1 = a.next()
    b1 = b.next(refs=(blake(a1),), time_ms=a.time_ms + 1)
    report = store.ingest([a1, b1])
    assert len(report.stored) == 2
    assert store.get(b.author, 1).refs == (blake(a1),)  # type: ignore[union-attr]
