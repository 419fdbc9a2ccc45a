"""Fork proofs: detection on ingest, freezing, proofs that stand on their own, replication."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from logkit import OTHER_COMMUNE, Feed, assert_unchanged, key_of, snapshot

from commune.core.keys import verify
from commune.log.bodies import Note
from commune.log.fork import ForkProof, decode_fork_proof
from commune.log.refusal import Refused
from commune.log.store import EntryStore


def forked_feed(name: str = "alice", at: int = 2, after: int = 2) -> tuple[Feed, list[bytes], bytes, list[bytes]]:
    """A feed with entries #1..#at, a second entry at #at, and `after` entries that follow the first.

    Returns (feed, the honest entries #1..#at+after, the other entry at #at, the entries after #at).
    """
    f = Feed(key_of(name))
    honest = f.many(at - 1)
    other = f.craft(body=Note("the other entry"))
    honest.append(f.next(body=Note("the entry")))
    later = f.many(after)
    return f, honest + later, other, later


def test_second_entry_at_one_position_is_proven_and_freezes_the_feed(store: EntryStore) -> None:
    f, honest, other, later = forked_feed(at=2, after=2)
    bob = Feed(key_of("bob"))
    assert len(store.ingest(honest[:2] + bob.many(1)).stored) == 3

    report = store.ingest([other])
    assert report.stored == [] and report.duplicates == 0
    assert len(report.forks) == 1
    proof = report.forks[0]
    assert store.frozen() == {f.author: 2}
    assert store.head(f.author).frozen_at == 2  # type: ignore[union-attr]
    assert store.fork_proofs() == [proof]
    assert {proof.first, proof.second} == {honest[1], other}
    assert proof.first < proof.second
    # the feed keeps what it held; nothing of it moves on
    assert store.frontier() == {f.author: 2, bob.author: 1}
    assert store.count() == 3

    # later entries of the frozen feed are skipped, not refused, and other feeds go on
    before = snapshot(store)
    report = store.ingest(later)
    assert report.stored == [] and report.frozen == len(later)
    assert snapshot(store) == before
    report = store.ingest([*later, bob.next()])
    assert report.frozen == len(later) and len(report.stored) == 1
    assert store.frontier()[f.author] == 2

    # the proof stands on its own, also after a trip through its bytes
    assert proof.check() == (f.author, 2)
    assert proof.check(store.commune) == (f.author, 2)
    again = decode_fork_proof(proof.to_bytes())
    assert again == proof and again.to_bytes() == proof.to_bytes()
    assert again.check(store.commune) == (f.author, 2)
    a, b = again.entries()
    assert a.seq == b.seq == 2 and a.author == b.author == f.author and a.raw != b.raw
    assert verify(f.author, a.raw) and verify(f.author, b.raw)
    # the same fork arriving again changes nothing
    before = snapshot(store)
    report = store.ingest([other])
    assert report.forks == [] and report.frozen == 1
    assert_unchanged(store, before)


def test_fork_state_survives_reopening(open_store: Callable[..., EntryStore]) -> None:
    f, honest, other, _later = forked_feed(at=3, after=1)
    s = open_store()
    s.ingest(honest)
    proof = s.ingest([other]).forks[0]
    s.close()
    s = open_store()
    assert s.frozen() == {f.author: 3}
    assert s.fork_proofs() == [proof]
    assert s.frontier() == {f.author: 4}
    assert s.ingest([f.next()]).frozen == 1
    assert s.count() == 4


def test_a_fork_inside_one_batch(store: EntryStore) -> None:
    f, honest, other, later = forked_feed(at=2, after=3)
    bob = Feed(key_of("bob"))
    b = bob.many(2)
    batch = [honest[0], b[0], honest[1], other, b[1], *later]
    report = store.ingest(batch)
    assert [e.raw for e in report.stored] == [honest[0], b[0], honest[1], b[1]]
    assert len(report.forks) == 1 and report.frozen == len(later)
    assert report.forks[0] == ForkProof.of(honest[1], other)
    assert store.frozen() == {f.author: 2}
    assert store.frontier() == {f.author: 2, bob.author: 2}
    assert store.fork_proofs() == report.forks


def test_the_first_entry_wins_in_one_batch_and_the_proof_is_the_same_either_way(
    open_store: Callable[..., EntryStore],
) -> None:
    f, honest, other, _ = forked_feed(at=1, after=0)
    s1, s2 = open_store("one.db"), open_store("two.db")
    r1 = s1.ingest([honest[0], other])
    r2 = s2.ingest([other, honest[0]])
    assert [e.raw for e in r1.stored] == [honest[0]]
    assert [e.raw for e in r2.stored] == [other]
    assert r1.forks == r2.forks and len(r1.forks) == 1
    assert s1.frozen() == s2.frozen() == {f.author: 1}


def test_an_earlier_fork_moves_the_freeze_down(store: EntryStore) -> None:
    f = Feed(key_of("alice"))
    honest = f.many(6)
    store.ingest(honest)
    # a second entry at #5, then one at #2
    at5 = Feed(key_of("alice"), seq=4, prev=f.ids()[3], time_ms=f.time_ms).craft(body=Note("five"))
    at2 = Feed(key_of("alice"), seq=1, prev=f.ids()[0], time_ms=f.time_ms).craft(body=Note("two"))
    assert len(store.ingest([at5]).forks) == 1
    assert store.frozen() == {f.author: 5}
    assert len(store.ingest([at2]).forks) == 1
    assert store.frozen() == {f.author: 2}
    assert len(store.fork_proofs()) == 2
    assert store.count() == 6
    # a third entry at #5 is now inside the frozen part: no new proof
    at5b = Feed(key_of("alice"), seq=4, prev=f.ids()[3], time_ms=f.time_ms).craft(body=Note("five b"))
    report = store.ingest([at5b])
    assert report.forks == [] and report.frozen == 1


def test_a_fork_candidate_with_a_bad_signature_refuses_the_batch(store: EntryStore) -> None:
    _f, honest, other, _ = forked_feed(at=2, after=0)
    store.ingest(honest)
    forged = other[:10] + bytes([other[10] ^ 1]) + other[11:]
    before = snapshot(store)
    with pytest.raises(Refused) as exc:
        store.ingest([Feed(key_of("bob")).next(), forged])
    assert exc.value.reason == "bad_signature" and exc.value.index == 1
    assert_unchanged(store, before)
    assert store.frozen() == {}


# -- carrying a proof to another store ---------------------------------------------------------


def test_a_proof_carried_to_another_store_freezes_the_feed_there(open_store: Callable[..., EntryStore]) -> None:
    f, honest, other, _later = forked_feed(at=3, after=2)
    s1, s2 = open_store("one.db"), open_store("two.db")
    s1.ingest(honest[:3])
    proof = s1.ingest([other]).forks[0]
    s2.ingest(honest)  # s2 holds the whole honest feed, beyond the fork
    assert s2.frontier() == {f.author: 5}

    assert s2.add_fork_proof(decode_fork_proof(proof.to_bytes())) is True
    assert s2.frozen() == {f.author: 3}
    assert s2.fork_proofs() == [proof]
    assert s2.frontier() == {f.author: 5} and s2.count() == 5
    assert s2.ingest([f.next()]).frozen == 1
    # adding it again is not news and changes nothing
    before = snapshot(s2)
    assert s2.add_fork_proof(proof) is False
    assert_unchanged(s2, before)
    # the fork itself arriving as entries adds nothing either
    assert s2.ingest([other]).forks == []


def test_a_proof_for_a_feed_never_seen_freezes_it_but_earlier_entries_still_count(
    open_store: Callable[..., EntryStore],
) -> None:
    f, honest, other, _later = forked_feed(at=3, after=2)
    s2 = open_store("two.db")
    proof = ForkProof.of(honest[2], other)
    assert s2.add_fork_proof(proof) is True
    assert s2.frozen() == {f.author: 3}
    assert s2.count() == 0
    assert s2.get(f.author, 1) is None and list(s2.feed(f.author)) == []

    report = s2.ingest(honest[:2])
    assert [e.raw for e in report.stored] == honest[:2]
    assert s2.frontier()[f.author] == 2 and s2.count() == 2
    report = s2.ingest(honest[2:])
    assert report.stored == [] and report.frozen == 3
    assert s2.frozen() == {f.author: 3}
    assert [e.raw for e in s2.feed(f.author)] == honest[:2]

    # and all of it survives reopening
    s2.close()
    s2 = open_store("two.db")
    assert s2.frozen() == {f.author: 3} and s2.count() == 2 and s2.fork_proofs() == [proof]
    assert s2.ingest(honest[2:]).frozen == 3


def test_a_proof_for_an_unseen_feed_then_its_first_entry_frozen(open_store: Callable[..., EntryStore]) -> None:
    _f, honest, other, _ = forked_feed(at=1, after=1)
    s = open_store()
    assert s.add_fork_proof(ForkProof.of(honest[0], other))
    report = s.ingest(honest)
    assert report.stored == [] and report.frozen == 2
    assert s.count() == 0


def test_an_earlier_proof_replaces_the_freeze_point(store: EntryStore) -> None:
    f = Feed(key_of("alice"))
    honest = f.many(5)
    at4 = Feed(key_of("alice"), seq=3, prev=f.ids()[2], time_ms=f.time_ms).craft(body=Note("x"))
    at2 = Feed(key_of("alice"), seq=1, prev=f.ids()[0], time_ms=f.time_ms).craft(body=Note("y"))
    assert store.add_fork_proof(ForkProof.of(honest[3], at4))
    assert store.frozen() == {f.author: 4}
    assert store.add_fork_proof(ForkProof.of(honest[1], at2))
    assert store.frozen() == {f.author: 2}
    assert store.add_fork_proof(ForkProof.of(honest[3], at4)) is False
    assert store.frozen() == {f.author: 2}
    store.ingest(honest[:1])
    assert store.frontier() == {f.author: 1}


# -- forged proofs -------------------------------------------------------------------------------


def _forgeries() -> dict[str, ForkProof]:
    _f, honest, other, _ = forked_feed(at=2, after=1)
    bob = Feed(key_of("bob"))
    b = bob.many(2)
    bad_sig = other[:1] + bytes([other[1] ^ 0x80]) + other[2:]
    foreign = Feed(key_of("alice"), commune=OTHER_COMMUNE)
    return {
        "the same entry twice": ForkProof(honest[1], honest[1]),
        "different authors": ForkProof.of(honest[1], b[1]),
        "one bad signature": ForkProof.of(honest[1], bad_sig),
        "different seqs": ForkProof.of(honest[1], honest[2]),
        "out of order": ForkProof(max(honest[1], other), min(honest[1], other)),
        "not an entry": ForkProof.of(honest[1], b"\x00" * 100),
        "another commune": ForkProof.of(foreign.craft(body=Note("1")), foreign.craft(body=Note("2"))),
    }


@pytest.mark.parametrize("name", list(_forgeries()))
def test_a_forged_proof_is_refused(store: EntryStore, name: str) -> None:
    proof = _forgeries()[name]
    f = Feed(key_of("alice"))
    store.ingest(f.many(3))
    before = snapshot(store)
    with pytest.raises(Refused) as exc:
        store.add_fork_proof(proof)
    assert exc.value.reason == "bad_fork_proof"
    assert_unchanged(store, before)
    if name != "another commune":
        with pytest.raises(Refused) as exc:
            proof.check()
        assert exc.value.reason == "bad_fork_proof"
        with pytest.raises(Refused) as exc:
            decode_fork_proof(proof.to_bytes()).check()
        assert exc.value.reason == "bad_fork_proof"


def test_a_proof_of_another_commune_is_valid_only_there() -> None:
    proof = _forgeries()["another commune"]
    assert proof.check(OTHER_COMMUNE)[1] == 1
    assert proof.check()[1] == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x92",  # an array of two, and nothing in it
        b"\x91\xc4\x00",  # one field
        b"\x93\xc4\x00\xc4\x00\xc4\x00",  # three fields
        b"\x92\xa1a\xa1b",  # strings, not byte strings
        b"\xc0",  # nil
        b"\x92\xc5\x00\x01a\xc4\x01b",  # a bin16 where bin8 is the canonical form
    ],
)
def test_decode_fork_proof_refuses_bad_bytes(data: bytes) -> None:
    with pytest.raises(Refused) as exc:
        decode_fork_proof(data)
    assert exc.value.reason == "bad_fork_proof"
