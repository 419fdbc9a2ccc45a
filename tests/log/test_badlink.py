"""VerifyMode.NEWEST, the backlog check, and bad-link proofs.

NEWEST takes a feed's run in on the strength of its newest signature and the hash chain. The
chain proves the author committed to the bytes below, not that each entry's own signature holds:
an author can chain an entry with a garbage signature (`unsigned_middle_feed`). Such an entry is
stored under NEWEST (EVERY refuses it) and stays unverified until `verify_backlog` checks it,
freezes the feed there, and returns a bad-link proof that any node can check on its own.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from logkit import (
    OTHER_COMMUNE,
    Feed,
    all_verify,
    assert_unchanged,
    blake,
    interleave,
    key_of,
    payload,
    reopened_snapshot,
    snapshot,
    unsigned_middle_feed,
)

from commune.core.encoding import encode
from commune.core.keys import verify
from commune.log.badlink import BadLinkProof, decode_bad_link_proof
from commune.log.bodies import Note
from commune.log.refusal import Refused
from commune.log.store import EntryStore
from commune.log.verify import VerifyMode


def _flip(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]


def test_every_refuses_a_feed_with_an_unsigned_middle_entry(store: EntryStore) -> None:
    _, raws = unsigned_middle_feed()
    assert not verify(key_of("sly").public, raws[3]) and verify(key_of("sly").public, raws[4])
    with pytest.raises(Refused) as exc:
        store.ingest(raws, mode=VerifyMode.EVERY)
    assert (exc.value.reason, exc.value.index) == ("bad_signature", 3)
    assert store.count() == 0
    assert len(store.ingest(raws[:3]).stored) == 3
    assert store.unverified() == 0 and store.valid_through(key_of("sly").public) == 3


def test_newest_takes_the_run_in_unverified_and_the_backlog_check_proves_it(
    open_store: Callable[..., EntryStore],
) -> None:
    f, raws = unsigned_middle_feed()
    s = open_store()
    report = s.ingest(raws, mode=VerifyMode.NEWEST)
    assert [e.raw for e in report.stored] == raws
    # held, but not counted as valid: nothing of it has had its own signature checked
    assert s.frontier() == {f.author: 5}
    assert s.unverified() == 5
    assert s.valid_through(f.author) == 0
    assert not all_verify(s)

    found = s.verify_backlog()
    assert len(found) == 1
    proof = found[0]
    assert proof.run == (raws[3], raws[4])
    assert proof.check() == (f.author, 4) and proof.check(s.commune) == (f.author, 4)
    assert decode_bad_link_proof(proof.to_bytes()) == proof
    assert s.frozen() == {f.author: 4}
    assert s.valid_through(f.author) == 3
    assert s.bad_link_proofs() == [proof]
    assert s.fork_proofs() == []
    assert s.verify_backlog() == []  # nothing new to find

    # all of it survives reopening
    before = snapshot(s)
    s.close()
    s = open_store()
    assert snapshot(s) == before
    assert s.valid_through(f.author) == 3 and s.bad_link_proofs() == [proof]
    assert s.verify_backlog() == []
    # the feed is frozen: its later entries are skipped
    assert s.ingest([f.next()]).frozen == 1


def test_a_bad_link_proof_carried_to_an_every_store(open_store: Callable[..., EntryStore]) -> None:
    f, raws = unsigned_middle_feed()
    newest = open_store("newest.db")
    newest.ingest(raws, mode=VerifyMode.NEWEST)
    (proof,) = newest.verify_backlog()

    every = open_store("every.db")
    every.ingest(raws[:3])
    with pytest.raises(Refused, match="bad_signature"):
        every.ingest(raws[3:])
    assert every.add_proof(decode_bad_link_proof(proof.to_bytes())) is True
    assert every.frozen() == {f.author: 4}
    assert every.bad_link_proofs() == [proof]
    # with the proof it stops asking for the bad entry: the rest is skipped, not refused
    report = every.ingest(raws[3:])
    assert report.stored == [] and report.frozen == 2
    before = snapshot(every)
    assert every.add_proof(proof) is False
    assert_unchanged(every, before)

    # a store that never saw the feed freezes it too, and still takes what comes before
    fresh = open_store("fresh.db")
    assert fresh.add_proof(proof) is True
    assert fresh.frozen() == {f.author: 4} and fresh.count() == 0
    report = fresh.ingest(raws)
    assert [e.raw for e in report.stored] == raws[:3] and report.frozen == 2
    assert fresh.valid_through(f.author) == 3


def test_a_valid_newest_batch_is_verified_by_the_backlog_check_in_steps(store: EntryStore) -> None:
    feeds = [Feed(key_of(f"n{i}")) for i in range(4)]
    good = interleave(*(f.many(25) for f in feeds))
    store.ingest(good, mode=VerifyMode.NEWEST)
    assert store.unverified() == 100
    assert store.verify_backlog(limit=30) == []
    assert store.unverified() == 70
    assert store.verify_backlog() == []
    assert store.unverified() == 0
    assert all(store.valid_through(f.author) == 25 for f in feeds)
    assert store.frozen() == {} and store.bad_link_proofs() == []
    assert reopened_snapshot(store)["count"] == 100


def test_every_ingest_leaves_nothing_to_verify(store: EntryStore) -> None:
    f = Feed(key_of("e"))
    store.ingest(f.many(10))
    store.ingest(f.many(5))
    assert store.unverified() == 0 and store.valid_through(f.author) == 15
    assert store.verify_backlog() == []
    assert store.valid_through(key_of("nobody").public) == 0


# -- a fork against an unverified entry -------------------------------------------------------


def _fork_against_the_unsigned_entry(s: EntryStore) -> tuple[Feed, list[bytes], bytes]:
    f, raws = unsigned_middle_feed()
    s.ingest(raws, mode=VerifyMode.NEWEST)
    signed4 = Feed(f.key, seq=3, prev=blake(raws[2]), time_ms=f.time_ms).craft(body=Note("a signed #4"))
    return f, raws, signed4


def test_a_fork_against_an_unverified_entry_keeps_no_proof_that_does_not_check(
    open_store: Callable[..., EntryStore],
) -> None:
    """The held #4's signature fails, so (#4, signed #4) proves nothing to anyone else: the
    store freezes the feed at #4 (its author signed two different successors of #3, counting
    #5) but keeps no fork proof, since every proof it keeps or passes on must check anywhere."""
    s = open_store()
    f, _, signed4 = _fork_against_the_unsigned_entry(s)
    report = s.ingest([signed4])
    assert report.stored == []
    for proof in [*report.forks, *s.fork_proofs()]:
        assert proof.check(s.commune)[0] == f.author
    assert s.frozen() == {f.author: 4}


def test_a_freeze_without_a_proof_survives_reopening(open_store: Callable[..., EntryStore]) -> None:
    """Regression: the commit was skipped when a batch stored no entry and no proof, so such a
    freeze lived in memory only (fixed by committing changed heads too)."""
    s = open_store()
    f, _, signed4 = _fork_against_the_unsigned_entry(s)
    s.ingest([signed4])
    frozen = s.frozen()
    assert frozen == {f.author: 4}
    assert reopened_snapshot(s)["frozen"] == frozen
    s.close()
    assert open_store().frozen() == frozen


def test_every_freeze_is_backed_by_a_proof_after_the_backlog_check(open_store: Callable[..., EntryStore]) -> None:
    s = open_store()
    f, _raws, signed4 = _fork_against_the_unsigned_entry(s)
    s.ingest([signed4])
    s.verify_backlog()
    assert s.frozen() == {f.author: 4}
    assert s.fork_proofs() or s.bad_link_proofs(), "the store is frozen at #4 but holds no proof to pass on"


# -- forged bad-link proofs -------------------------------------------------------------------


def _forgeries() -> dict[str, BadLinkProof]:
    _f, raws = unsigned_middle_feed()
    honest = Feed(key_of("honest")).many(3)
    foreign = Feed(key_of("alien"), commune=OTHER_COMMUNE)
    foreign.many(2)
    foreign_bad = bytes(64) + encode(
        payload(foreign.key, seq=3, prev=foreign.prev, time_ms=foreign.time_ms + 1, commune=OTHER_COMMUNE)
    )
    foreign_next = Feed(foreign.key, commune=OTHER_COMMUNE, seq=3, prev=blake(foreign_bad), time_ms=foreign.time_ms + 1)
    return {
        "one entry": BadLinkProof((raws[3],)),
        "no entries": BadLinkProof(()),
        "every signature holds": BadLinkProof(tuple(honest[:2])),
        "the last signature fails": BadLinkProof((raws[3], _flip(raws[4], 0))),
        "not chained": BadLinkProof((raws[2], raws[4])),
        "out of order": BadLinkProof((raws[4], raws[3])),
        "two feeds": BadLinkProof((raws[3], honest[1])),
        "not an entry": BadLinkProof((raws[3], b"\x00" * 90)),
        "another commune": BadLinkProof((foreign_bad, foreign_next.next())),
        "too long": BadLinkProof(tuple([raws[3]] * 5000)),
    }


@pytest.mark.parametrize("name", list(_forgeries()))
def test_a_forged_bad_link_proof_is_refused(store: EntryStore, name: str) -> None:
    proof = _forgeries()[name]
    store.ingest(Feed(key_of("sly")).many(2))
    before = snapshot(store)
    with pytest.raises(Refused) as exc:
        store.add_proof(proof)
    assert exc.value.reason == "bad_link_proof"
    assert_unchanged(store, before)
    if name != "another commune":
        with pytest.raises(Refused) as exc:
            proof.check()
        assert exc.value.reason == "bad_link_proof"


def test_a_bad_link_proof_of_another_commune_is_valid_only_there() -> None:
    proof = _forgeries()["another commune"]
    assert proof.check(OTHER_COMMUNE)[1] == 3


@pytest.mark.parametrize("data", [b"", b"\x90", b"\x91\x91\xa1x", b"\x91\xdc\x00\x01\xc4\x00", b"\xc0"])
def test_decode_bad_link_proof_refuses_bad_bytes(data: bytes) -> None:
    with pytest.raises(Refused) as exc:
        decode_bad_link_proof(data)
    assert exc.value.reason == "bad_link_proof"


_, _SLY = unsigned_middle_feed()
_PROOF = BadLinkProof((_SLY[3], _SLY[4])).to_bytes()


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_mutated_bad_link_proofs_are_refused(data: st.DataObject) -> None:
    raw = bytearray(_PROOF)
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        else:
            del raw[pos : pos + data.draw(st.integers(1, 4))]
    mutated = bytes(raw)
    try:
        proof = decode_bad_link_proof(mutated)
        proof.check()
    except Refused as exc:
        assert exc.reason == "bad_link_proof"
        return
    assert mutated == _PROOF or proof.run == BadLinkProof((_SLY[3], _SLY[4])).run
