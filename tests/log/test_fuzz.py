"""The wire decoder survives fuzzing (DESIGN 8): random and mutated bytes raise only `Refused`.

`decode_entry`, `EntryStore.ingest`, `decode_fork_proof`, `ForkProof.check` and
`EntryStore.add_fork_proof` are fed random bytes and valid inputs with bytes flipped, inserted,
deleted and overwritten. Each must succeed or raise `Refused`; any other exception fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logkit import COMMUNE, START_MS, Feed, blake, key_of, payload

from commune.core.clock import ManualClock
from commune.core.encoding import encode
from commune.log.bodies import Note, Profile
from commune.log.entry import Entry, decode_entry
from commune.log.fork import ForkProof, decode_fork_proof
from commune.log.refusal import Reason, Refused
from commune.log.store import EntryStore

REASONS = {r.value for r in Reason}

# A fixed pool of valid inputs to mutate.
_alice, _bob = Feed(key_of("fuzz-alice")), Feed(key_of("fuzz-bob"))
A = [_alice.next(Profile("Alice", ("tcp://a:1", "onion://b"))), _alice.next(Note("héllo ✓ " * 5)), _alice.next()]
B = [_bob.next(refs=(blake(A[0]),), time_ms=_alice.time_ms)]
A4 = _alice.craft(body=Note("fourth"), refs=tuple(sorted((blake(A[1]), blake(B[0])))))
B2 = _bob.craft(body=Profile("Bob"))
A2_OTHER = Feed(key_of("fuzz-alice"), seq=1, prev=blake(A[0]), time_ms=_alice.time_ms).craft(body=Note("fork"))
HELD = A + B  # what the fuzz store holds
NEW = [A4, B2]  # valid, not held: must never be stored by accident
POOL = HELD + NEW + [A2_OTHER]
PROOF = ForkProof.of(A[1], A2_OTHER)
PROOF_BYTES = PROOF.to_bytes()

INTERESTING = [
    0x00,
    0x01,
    0x7F,
    0x80,
    0x90,
    0x9A,
    0xA0,
    0xC0,
    0xC1,
    0xC2,
    0xC4,
    0xC5,
    0xCC,
    0xCF,
    0xD0,
    0xD3,
    0xD9,
    0xDC,
    0xDD,
    0xDE,
    0xDF,
    0xE0,
    0xFF,
]


@st.composite
def mutated(draw: st.DrawFn, pool: list[bytes]) -> tuple[bytes, bytes]:
    original = draw(st.sampled_from(pool))
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "splice"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from(INTERESTING) | st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
        elif op == "splice":
            other = draw(st.sampled_from(pool))
            cut = draw(st.integers(0, len(other)))
            data[pos:] = other[cut:]
    return original, bytes(data)


def _bad_utf8_entries() -> dict[str, bytes]:
    """Correctly signed entries with invalid UTF-8 in a string field (any peer can send them)."""
    key = key_of("utf8")
    good = encode(payload(key, body=Note("hi")))
    kind_at, text_at = good.index(b"note"), good.index(b"hi")
    prof = encode(payload(key, body=Profile("Pat", ("addr",))))
    addr_at = prof.index(b"addr")
    return {
        "in the kind": key.sign(good[:kind_at] + b"\xff" + good[kind_at + 1 :]),
        "in a note's text": key.sign(good[:text_at] + b"\xc3(" + good[text_at + 2 :]),
        "in a profile's address": key.sign(prof[:addr_at] + b"\xed\xa0\x80d" + prof[addr_at + 4 :]),  # a surrogate
    }


BAD_UTF8 = _bad_utf8_entries()


def _decode_or_refuse(raw: bytes) -> object:
    try:
        return decode_entry(raw)
    except Refused as exc:
        assert exc.reason in REASONS and exc.index is None
        return exc


prefixed = st.one_of(
    st.binary(max_size=400),
    st.binary(max_size=400).map(lambda b: bytes(64) + b),
    st.binary(max_size=400).map(lambda b: bytes(64) + b"\x9a" + b),
    st.binary(max_size=200).map(lambda b: bytes(64) + encode(payload(key_of("x")))[:-8] + b),
)


@settings(max_examples=1500, deadline=None)
@given(prefixed)
def test_decode_entry_on_random_bytes(raw: bytes) -> None:
    result = _decode_or_refuse(raw)
    if isinstance(result, Entry):
        # if it decodes it is canonical: the payload re-encodes to itself
        assert encode(result.payload) == raw[64:]  # type: ignore[attr-defined]


@settings(max_examples=1500, deadline=None)
@given(mutated(POOL))
def test_decode_entry_on_mutated_entries(case: tuple[bytes, bytes]) -> None:
    _original, raw = case
    result = _decode_or_refuse(raw)
    if isinstance(result, Entry):
        assert encode(result.payload) == raw[64:]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EntryStore]:
    s = EntryStore(tmp_path_factory.mktemp("fuzz") / "fuzz.db", COMMUNE, clock=ManualClock(START_MS))
    s.ingest(HELD)
    yield s
    s.close()


def _state(s: EntryStore) -> tuple[object, ...]:
    return (s.frontier(), s.count(), s.frozen(), len(s.fork_proofs()))


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(mutated(POOL), st.binary(max_size=200).map(lambda b: (b"", b))), min_size=1, max_size=4))
def test_ingest_of_mutated_and_random_entries_refuses_or_changes_nothing(
    fuzz_store: EntryStore, cases: list[tuple[bytes, bytes]]
) -> None:
    batch = [raw for _, raw in cases]
    if all(raw in POOL for raw in batch):
        return  # nothing was changed: a valid batch may be stored (keep the shared store as it is)
    before = _state(fuzz_store)
    # At least one entry is not a valid entry of the pool: its signature cannot hold, so the
    # batch must be refused whole.
    with pytest.raises(Refused) as exc:
        fuzz_store.ingest(batch)
    assert exc.value.reason in REASONS
    assert exc.value.index is not None and 0 <= exc.value.index < len(batch)
    assert batch[exc.value.index] not in POOL or exc.value.reason in ("seq_gap", "prev_mismatch", "missing_ref")
    assert _state(fuzz_store) == before


@settings(max_examples=800, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(lambda b: b"\x92" + b)))
def test_decode_fork_proof_on_random_bytes(data: bytes) -> None:
    try:
        proof = decode_fork_proof(data)
    except Refused as exc:
        assert exc.reason == "bad_fork_proof"
        return
    assert proof.to_bytes() == data
    try:
        proof.check()
    except Refused as exc:
        assert exc.reason == "bad_fork_proof"


@settings(max_examples=800, deadline=None)
@given(mutated([PROOF_BYTES]))
def test_mutated_fork_proofs_are_refused(case: tuple[bytes, bytes]) -> None:
    original, data = case
    try:
        proof = decode_fork_proof(data)
        author_seq = proof.check(COMMUNE)
    except Refused as exc:
        assert exc.reason == "bad_fork_proof"
        return
    assert data == original, "a changed fork proof still proves a fork"
    assert author_seq == (_alice.author, 2)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(POOL), st.sampled_from([A[1], A2_OTHER]))
def test_add_fork_proof_of_a_mutated_entry_is_refused(
    fuzz_store: EntryStore, case: tuple[bytes, bytes], partner: bytes
) -> None:
    _original, raw = case
    if raw in POOL:
        return
    before = _state(fuzz_store)
    with pytest.raises(Refused) as exc:
        fuzz_store.add_fork_proof(ForkProof.of(raw, partner))
    assert exc.value.reason == "bad_fork_proof"
    assert _state(fuzz_store) == before


# -- invalid UTF-8 (found by the fuzz tests above) ----------------------------------------------
#
# Found while writing these tests: msgspec raises UnicodeDecodeError (not DecodeError) for
# invalid UTF-8, and RecursionError for deeply nested values, and decode_entry let both escape.
# The decoder now catches them (core.encoding.DECODE_ERRORS); these are the regression tests.


@pytest.mark.parametrize("where", list(BAD_UTF8))
def test_invalid_utf8_is_refused_by_decode_entry(where: str) -> None:
    with pytest.raises(Refused) as exc:
        decode_entry(BAD_UTF8[where])
    assert exc.value.reason in ("malformed_entry", "malformed_body")


def test_invalid_utf8_is_refused_by_ingest(store: EntryStore) -> None:
    with pytest.raises(Refused) as exc:
        store.ingest([Feed(key_of("ok")).next(), BAD_UTF8["in the kind"]])
    assert exc.value.index == 1 and store.count() == 0


def test_a_fork_proof_with_invalid_utf8_is_refused(store: EntryStore) -> None:
    with pytest.raises(Refused) as exc:
        store.add_fork_proof(ForkProof.of(BAD_UTF8["in a note's text"], Feed(key_of("utf8")).next()))
    assert exc.value.reason == "bad_fork_proof"


# -- deep nesting in the body (found by reading the decoder: the body is skipped as msgspec.Raw) --

DEEP = 5_000  # nested one-element arrays: 5 kB, far below the 64 KiB entry limit


def _deep_body_entry() -> bytes:
    """A correctly signed entry whose body is 5000 nested arrays (any peer can send one: the decoder
    runs before the signature check)."""
    p = payload(key_of("deep"), body=b"\x91" * DEEP + b"\xc0")
    return key_of("deep").sign(encode(p))


def test_the_deep_body_entry_is_well_framed() -> None:
    raw = _deep_body_entry()
    assert len(raw) < 6_000
    # the payload around the body is fine: the same entry with a flat body decodes
    flat = key_of("deep").sign(encode(payload(key_of("deep"), body=b"\x91\xc0")))
    with pytest.raises(Refused) as exc:
        decode_entry(flat)
    assert exc.value.reason == "malformed_body"


def test_a_deeply_nested_body_is_refused_by_decode_entry() -> None:
    with pytest.raises(Refused) as exc:
        decode_entry(_deep_body_entry())
    assert exc.value.reason in ("malformed_body", "malformed_entry")


def test_a_deeply_nested_body_is_refused_by_ingest(store: EntryStore) -> None:
    with pytest.raises(Refused) as exc:
        store.ingest([Feed(key_of("ok")).next(), _deep_body_entry()])
    assert exc.value.index == 1
    assert store.count() == 0


def test_a_fork_proof_with_a_deeply_nested_entry_is_refused(store: EntryStore) -> None:
    proof = ForkProof.of(_deep_body_entry(), Feed(key_of("deep")).next())
    with pytest.raises(Refused) as exc:
        store.add_fork_proof(decode_fork_proof(proof.to_bytes()))
    assert exc.value.reason == "bad_fork_proof"


def test_notes_at_the_size_limits_decode() -> None:
    f = Feed(key_of("big"))
    raw = f.next(Note("\U0001f600" * 4096))
    assert decode_entry(raw).body == Note("\U0001f600" * 4096)
    widest = Profile("p" * 200, tuple("a" * 300 for _ in range(16)))
    many = f.next(widest, refs=tuple(bytes([i]) * 32 for i in range(64)))
    assert len(decode_entry(many).refs) == 64
