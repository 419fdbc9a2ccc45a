"""One crafted entry (or action) per refusal reason; each refused by name, with no change to the store.

`CASES` maps every `Reason` to the ways of provoking it; `test_every_reason_has_a_case` fails if
a reason is added to the protocol without a test here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import pytest
from logkit import (
    COMMUNE,
    OTHER_COMMUNE,
    START_MS,
    Feed,
    assert_unchanged,
    blake,
    key_of,
    payload,
    snapshot,
    unsigned_middle_feed,
)

from commune.core.clock import ManualClock
from commune.core.encoding import encode
from commune.log.badlink import BadLinkProof
from commune.log.bodies import Note, Profile
from commune.log.entry import MAX_ENTRY_BYTES, decode_entry
from commune.log.feed import FeedWriter
from commune.log.fork import ForkProof
from commune.log.refusal import EXPLANATIONS, Reason, Refused
from commune.log.store import EntryStore
from commune.log.verify import MAX_FUTURE_MS


@dataclass
class World:
    """A store holding alice #1-3, bob #1-2 (older times), and carol frozen by a fork proof at #1.

    `dave` is a fresh feed whose valid first entry goes first in every refused batch, so each
    refusal also shows that the valid prefix of a batch is not stored.
    """

    store: EntryStore
    clock: ManualClock
    alice: Feed
    bob: Feed
    carol: Feed
    dave: Feed
    erin: Feed

    def batch(self, bad: bytes) -> Callable[[], object]:
        dave1 = self.dave.craft(seq=1)
        return lambda: self.store.ingest([dave1, bad])


Case = Callable[[World], tuple[Callable[[], object], "int | None"]]


def make_world(store: EntryStore, clock: ManualClock) -> World:
    alice = Feed(key_of("alice"), time_ms=START_MS - 3_600_000)
    bob = Feed(key_of("bob"), time_ms=START_MS - 7_200_000)
    carol = Feed(key_of("carol"))
    w = World(store, clock, alice, bob, carol, Feed(key_of("dave")), Feed(key_of("erin")))
    store.ingest(alice.many(3) + bob.many(2))
    c1, c1_again = carol.craft(body=Note("one")), carol.craft(body=Note("other"))
    assert store.add_fork_proof(ForkProof.of(c1, c1_again))
    return w


def in_batch(bad: Callable[[World], bytes]) -> Case:
    return lambda w: (w.batch(bad(w)), 1)


def _set_field(w: World, index: int, value: object) -> bytes:
    """Alice's next entry as a plain list with one element replaced, encoded and signed."""
    p = payload(w.alice.key, seq=4, prev=w.alice.prev, time_ms=w.alice.time_ms + 1)
    items = list(msgspec.msgpack.decode(encode(p)))
    items[index] = value
    return w.alice.key.sign(encode(items))


def _flip(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1 :]


def _str8_note(text: str) -> bytes:
    data = text.encode()
    return b"\x91\xd9" + bytes([len(data)]) + data


def _forged_proof(kind: str) -> Callable[[World], ForkProof]:
    def make(w: World) -> ForkProof:
        a4 = w.alice.craft(body=Note("a"))
        a4_other = w.alice.craft(body=Note("b"))
        if kind == "same entry twice":
            return ForkProof(a4, a4)
        if kind == "different authors":
            return ForkProof.of(a4, w.erin.craft(seq=4, prev=w.alice.prev, time_ms=w.alice.time_ms + 10))
        if kind == "one bad signature":
            return ForkProof.of(a4, _flip(a4_other, 5))
        if kind == "different seqs":
            return ForkProof.of(a4, w.alice.craft(seq=5, body=Note("b")))
        if kind == "other commune":
            f = Feed(key_of("alice"), commune=OTHER_COMMUNE)
            return ForkProof.of(f.craft(body=Note("a")), f.craft(body=Note("b")))
        if kind == "unordered":
            lo, hi = sorted((a4, a4_other))
            return ForkProof(hi, lo)
        if kind == "undecodable entry":
            return ForkProof.of(a4, b"\x00" * 80)
        raise AssertionError(kind)

    return make


def proof_case(kind: str) -> Case:
    return lambda w: ((lambda p: lambda: w.store.add_fork_proof(p))(_forged_proof(kind)(w)), None)


CASES: dict[Reason, dict[str, Case]] = {
    Reason.MALFORMED_ENTRY: {
        "ten bytes": in_batch(lambda w: b"\x01" * 10),
        "a signature and nothing else": in_batch(lambda w: w.alice.craft()[:64]),
        "empty": in_batch(lambda w: b""),
        "not msgpack": in_batch(lambda w: w.alice.key.sign(b"\xc1")),
        "not an array": in_batch(lambda w: w.alice.key.sign(encode({"seq": 4}))),
        "too few fields": in_batch(lambda w: w.alice.key.sign(encode([1, COMMUNE, w.alice.author]))),
        "seq is a string": in_batch(lambda w: _set_field(w, 3, "4")),
        "seq is zero": in_batch(lambda w: _set_field(w, 3, 0)),
        "seq is negative": in_batch(lambda w: _set_field(w, 3, -1)),
        "time is a float": in_batch(lambda w: _set_field(w, 5, 1.5)),
        "prev of 31 bytes": in_batch(lambda w: _set_field(w, 4, bytes(31))),
        "author of 33 bytes": in_batch(lambda w: _set_field(w, 2, bytes(33))),
        "empty kind": in_batch(lambda w: _set_field(w, 8, "")),
        "65 refs": in_batch(lambda w: _set_field(w, 7, sorted(bytes([i]) * 32 for i in range(65)))),
        "a bytearray": in_batch(lambda w: bytearray(w.alice.craft())),  # type: ignore[return-value,arg-type]
        "a memoryview": in_batch(lambda w: memoryview(w.alice.craft())),  # type: ignore[return-value,arg-type]
        "the body is not a msgpack value": in_batch(lambda w: w.alice.craft(body=b"\xc1")),
        "a str": in_batch(lambda w: w.alice.craft().hex()),  # type: ignore[return-value,arg-type]
    },
    Reason.TOO_LARGE: {
        "a 70 kB note": in_batch(lambda w: w.alice.craft(body=encode(Note("x" * 70_000)))),
        "one byte over": in_batch(lambda w: b"\x00" * (MAX_ENTRY_BYTES + 1)),
    },
    Reason.NON_CANONICAL: {
        "payload: version as uint8": in_batch(
            lambda w: w.alice.key.sign(
                b"\x9a\xcc\x01"
                + encode(payload(w.alice.key, seq=4, prev=w.alice.prev, time_ms=w.alice.time_ms + 1))[2:]
            )
        ),
        "body: note text as str8": in_batch(lambda w: w.alice.craft(body=_str8_note("hello"))),
        "body: profile without its defaulted field": in_batch(
            lambda w: w.alice.craft(kind="profile", body=encode(["name only"]))
        ),
        "unsorted refs": in_batch(
            lambda w: w.alice.craft(refs=tuple(sorted((w.alice.ids()[0], w.bob.ids()[0]), reverse=True)))
        ),
        "duplicate refs": in_batch(lambda w: w.alice.craft(refs=(w.bob.ids()[0], w.bob.ids()[0]))),
    },
    Reason.UNSUPPORTED_VERSION: {
        "version 2": in_batch(lambda w: w.alice.craft(version=2)),
        "version 0": in_batch(lambda w: w.alice.craft(version=0)),
    },
    Reason.WRONG_COMMUNE: {
        "another commune's first entry": in_batch(lambda w: Feed(w.erin.key, commune=OTHER_COMMUNE).next()),
        "alice's next entry for another commune": in_batch(lambda w: w.alice.craft(commune=OTHER_COMMUNE)),
    },
    Reason.UNKNOWN_KIND: {
        "bogus": in_batch(lambda w: w.alice.craft(kind="bogus")),
        "Note in capitals": in_batch(lambda w: w.alice.craft(kind="Note")),
    },
    Reason.MALFORMED_BODY: {
        "note with a profile body": in_batch(lambda w: w.alice.craft(kind="note", body=encode(Profile("x")))),
        "profile with an empty name": in_batch(lambda w: w.alice.craft(kind="profile", body=encode(["", []]))),
        "body is an int": in_batch(lambda w: w.alice.craft(body=encode(5))),
        "note too long": in_batch(lambda w: w.alice.craft(body=encode(["x" * 4097]))),
    },
    Reason.FUTURE_TIME: {
        "one ms beyond the limit": in_batch(lambda w: w.alice.craft(time_ms=w.clock.now_ms() + MAX_FUTURE_MS + 1)),
        "a year ahead": in_batch(lambda w: w.erin.craft(time_ms=w.clock.now_ms() + 365 * 86_400_000)),
    },
    Reason.BAD_SIGNATURE: {
        "flipped signature bit": in_batch(lambda w: _flip(w.alice.craft(), 3)),
        "signed by bob, authored by alice": in_batch(lambda w: w.alice.craft(sign_with=w.bob.key)),
        "body changed after signing": in_batch(
            lambda w: (lambda raw: raw.replace(b"zzzz", b"zzzy"))(w.alice.craft(body=Note("zzzz")))
        ),
        "zero signature": in_batch(lambda w: bytes(64) + w.alice.craft()[64:]),
    },
    Reason.SEQ_GAP: {
        "alice skips #4": in_batch(lambda w: w.alice.craft(seq=5)),
        "alice repeats nothing but jumps far": in_batch(lambda w: w.alice.craft(seq=2**62)),
        "an unknown feed starting at #2": in_batch(lambda w: w.erin.craft(seq=2)),
    },
    Reason.PREV_MISMATCH: {
        "alice #4 names #2": in_batch(lambda w: w.alice.craft(prev=w.alice.ids()[1])),
        "alice #4 names #3's payload hash": in_batch(lambda w: w.alice.craft(prev=blake(w.alice.raws[2][64:]))),
        "a first entry naming something": in_batch(lambda w: w.erin.craft(prev=w.bob.ids()[0])),
    },
    Reason.TIME_BACKWARDS: {
        "alice #4 one ms before #3": in_batch(lambda w: w.alice.craft(time_ms=w.alice.time_ms - 1)),
    },
    Reason.MISSING_REF: {
        "an unknown id": in_batch(lambda w: w.alice.craft(refs=(bytes([7]) * 32,))),
        "one known, one unknown": in_batch(lambda w: w.alice.craft(refs=tuple(sorted((w.bob.ids()[0], bytes(32)))))),
        "a later entry of the same batch": lambda w: (
            (lambda e5_ref, a4: lambda: w.store.ingest([e5_ref, a4]))(
                w.erin.craft(refs=(blake(w.alice.craft()),), time_ms=w.alice.time_ms + 100), w.alice.craft()
            ),
            0,
        ),
    },
    Reason.TIME_BEHIND_REF: {
        "bob #3 refers to alice #3 and claims an earlier time": in_batch(
            lambda w: w.bob.craft(refs=(w.alice.ids()[2],), time_ms=w.alice.time_ms - 1)
        ),
    },
    Reason.FEED_FROZEN: {
        "carol appends to her frozen feed": lambda w: (
            lambda: FeedWriter(w.store, w.carol.key).append(Note("after the fork")),
            None,
        ),
    },
    Reason.BAD_FORK_PROOF: {
        kind: proof_case(kind)
        for kind in (
            "same entry twice",
            "different authors",
            "one bad signature",
            "different seqs",
            "other commune",
            "unordered",
            "undecodable entry",
        )
    },
}


def _bad_link_case(kind: str) -> Case:
    def make(w: World) -> tuple[Callable[[], object], None]:
        _, sly = unsigned_middle_feed()
        proof = {
            "every signature holds": BadLinkProof(tuple(w.alice.raws[:2])),
            "one entry": BadLinkProof((sly[3],)),
            "the last signature fails": BadLinkProof((sly[3], _flip(sly[4], 0))),
            "not chained": BadLinkProof((sly[2], sly[4])),
        }[kind]
        return (lambda: w.store.add_proof(proof)), None

    return make


CASES[Reason.BAD_LINK_PROOF] = {
    kind: _bad_link_case(kind)
    for kind in ("every signature holds", "one entry", "the last signature fails", "not chained")
}

ALL_CASES = [(reason, name) for reason, cases in CASES.items() for name in cases]


def test_every_reason_has_a_case() -> None:
    missing = [r.value for r in Reason if not CASES.get(r)]
    assert not missing, f"refusal reasons without a test case: {missing}"
    assert set(CASES) == set(Reason)
    assert set(EXPLANATIONS) == set(Reason)


def test_the_world_is_as_described(store: EntryStore, clock: ManualClock) -> None:
    w = make_world(store, clock)
    # carol's feed is known only through the proof: frozen, but no entry of it is held
    assert store.frontier() == {w.alice.author: 3, w.bob.author: 2}
    assert store.count() == 5
    assert store.frozen() == {w.carol.author: 1}
    assert len(store.fork_proofs()) == 1
    # every crafted "next entry" of alice is accepted when nothing is wrong with it
    a4 = w.alice.craft()
    assert [e.raw for e in store.ingest([a4]).stored] == [a4]


@pytest.mark.parametrize("reason,name", ALL_CASES, ids=[f"{r.value}-{n}" for r, n in ALL_CASES])
def test_refused_by_name_and_nothing_changes(store: EntryStore, clock: ManualClock, reason: Reason, name: str) -> None:
    w = make_world(store, clock)
    act, index = CASES[reason][name](w)
    before = snapshot(store)
    with pytest.raises(Refused) as exc:
        act()
    assert exc.value.reason == reason.value, str(exc.value)
    assert exc.value.code is reason
    assert exc.value.index == index
    assert reason.value in str(exc.value)
    assert_unchanged(store, before)
    # The store still works after the refusal: the valid entries alone are accepted.
    dave1 = w.dave.craft(seq=1)
    assert [e.raw for e in store.ingest([dave1]).stored] == [dave1]


def test_decode_entry_refuses_form_errors_by_name() -> None:
    """The refusals decode_entry itself raises, without a store (no index)."""
    alice = Feed(key_of("alice"))
    for raw, reason in [
        (b"", "malformed_entry"),
        (b"\x00" * (MAX_ENTRY_BYTES + 1), "too_large"),
        (alice.craft(version=3), "unsupported_version"),
        (alice.craft(kind="nope"), "unknown_kind"),
        (alice.craft(body=encode([1])), "malformed_body"),
        (alice.craft(body=_str8_note("hi")), "non_canonical"),
    ]:
        with pytest.raises(Refused) as exc:
            decode_entry(raw)
        assert exc.value.reason == reason and exc.value.index is None


def test_future_time_limit_is_inclusive(store: EntryStore, clock: ManualClock) -> None:
    f = Feed(key_of("frank"))
    at_limit = f.craft(time_ms=clock.now_ms() + MAX_FUTURE_MS)
    assert len(store.ingest([at_limit]).stored) == 1
    # A refused future entry is accepted once the node's clock has caught up.
    g = Feed(key_of("gina"))
    ahead = g.craft(time_ms=clock.now_ms() + MAX_FUTURE_MS + 1_000)
    with pytest.raises(Refused, match="future_time"):
        store.ingest([ahead])
    clock.advance(1_000)
    assert len(store.ingest([ahead]).stored) == 1


def test_equal_times_along_a_feed_and_to_a_ref_are_accepted(store: EntryStore) -> None:
    a, b = Feed(key_of("alice")), Feed(key_of("bob"))
    a1 = a.next()
    a2 = a.next(time_ms=a.time_ms)  # same time as #1
    b1 = b.next(refs=(blake(a2),), time_ms=a.time_ms)  # same time as the entry it refers to
    report = store.ingest([a1, a2, b1])
    assert len(report.stored) == 3
    assert store.get(b.author, 1).refs == (blake(a2),)  # type: ignore[union-attr]


def test_refusal_keeps_the_reason_and_detail_when_placed_in_a_batch() -> None:
    r = Refused(Reason.SEQ_GAP, "detail text")
    placed = r.at(7)
    assert (placed.reason, placed.code, placed.detail, placed.index) == ("seq_gap", Reason.SEQ_GAP, "detail text", 7)
    assert "entry 7 of the batch" in str(placed)
