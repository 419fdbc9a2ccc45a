"""Canonical bytes and round trips of single entries (DESIGN 3.1, issue 2: core encoding)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logkit import COMMUNE, key_of, payload, sign_bytes, sign_payload

from commune.core.encoding import encode
from commune.core.keys import SecretKey, verify
from commune.log.bodies import Note, Profile
from commune.log.entry import FORMAT_VERSION, Payload, decode_entry, entry_id_of, sign_entry
from commune.log.refusal import Reason, Refused
from commune.log.store import EntryStore

KEYS = [key_of(f"k{i}") for i in range(4)]

hash32 = st.binary(min_size=32, max_size=32)
texts = st.text(max_size=300)
notes = st.builds(Note, text=texts)
profiles = st.builds(
    Profile,
    name=st.text(min_size=1, max_size=60),
    addresses=st.lists(st.text(min_size=1, max_size=40), max_size=6).map(tuple),
)
bodies = st.one_of(notes, profiles)
seqs = st.one_of(st.integers(1, 300), st.integers(1, 2**63 - 1))
times = st.one_of(st.integers(0, 2**40), st.integers(0, 2**63 - 1))
refs_st = st.lists(hash32, max_size=8)


@st.composite
def entries(draw: st.DrawFn) -> tuple[bytes, dict[str, object]]:
    fields = {
        "key": draw(st.sampled_from(KEYS)),
        "commune": draw(st.one_of(st.just(COMMUNE), hash32)),
        "seq": draw(seqs),
        "prev": draw(hash32),
        "time_ms": draw(times),
        "chain_ref": draw(hash32),
        "refs": tuple(draw(refs_st)),
        "body": draw(bodies),
    }
    return sign_entry(**fields), fields  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(entries())
def test_sign_then_decode_gives_back_every_field(case: tuple[bytes, dict[str, object]]) -> None:
    raw, f = case
    entry = decode_entry(raw)
    key = f["key"]
    assert entry.author == key.public  # type: ignore[attr-defined]
    assert entry.commune == f["commune"]
    assert entry.seq == f["seq"]
    assert entry.prev == f["prev"]
    assert entry.time_ms == f["time_ms"]
    assert entry.chain_ref == f["chain_ref"]
    assert entry.refs == tuple(sorted(set(f["refs"])))  # type: ignore[arg-type]
    assert entry.body == f["body"]
    assert type(entry.body) is type(f["body"])
    assert entry.kind == ("note" if isinstance(f["body"], Note) else "profile")
    assert entry.payload.version == FORMAT_VERSION
    assert entry.raw == raw
    assert entry.signature == raw[:64]
    assert verify(entry.author, raw)


@settings(max_examples=300, deadline=None)
@given(entries())
def test_canonical_bytes_and_id(case: tuple[bytes, dict[str, object]]) -> None:
    raw, _ = case
    entry = decode_entry(raw)
    data = raw[64:]
    # The payload bytes are the canonical encoding of what they decode to, and of the entry's payload.
    assert encode(msgspec.msgpack.decode(data, type=Payload)) == data
    assert encode(entry.payload) == data
    assert encode(entry.body) == bytes(entry.payload.body)
    # The id is BLAKE2b-256 of the signed bytes (signature and payload, see entry.py), so it
    # pins the signature too; it is not the hash of the payload alone.
    assert entry.id == hashlib.blake2b(raw, digest_size=32).digest()
    assert entry.id != hashlib.blake2b(data, digest_size=32).digest()
    assert entry_id_of(raw) == entry.id
    # Decoding is a pure function of the bytes.
    again = decode_entry(bytes(raw))
    assert again == entry and again.id == entry.id and hash(again) == hash(entry)


def test_sign_entry_sorts_and_dedups_refs() -> None:
    a, b, c = bytes([3]) * 32, bytes([1]) * 32, bytes([2]) * 32
    raw = sign_entry(
        KEYS[0], commune=COMMUNE, seq=1, prev=bytes(32), time_ms=1, chain_ref=COMMUNE, body=Note("x"), refs=(a, b, a, c)
    )
    assert decode_entry(raw).refs == (b, c, a)


# -- non-minimal encodings ------------------------------------------------------------------------
#
# The payload is assembled from the canonical encoding of each field, then one field's encoding
# is replaced by a longer form that decodes to the same value. The result is signed properly and
# must still be refused as non_canonical.

_INT_FORMS = [
    (0xCC, 1, False),
    (0xCD, 2, False),
    (0xCE, 4, False),
    (0xCF, 8, False),
    (0xD0, 1, True),
    (0xD1, 2, True),
    (0xD2, 4, True),
    (0xD3, 8, True),
]


def wider_int(v: int) -> list[bytes]:
    minimal = encode(v)
    out = []
    for prefix, n, signed in _INT_FORMS:
        try:
            b = bytes([prefix]) + v.to_bytes(n, "big", signed=signed)
        except OverflowError:
            continue
        if b != minimal:
            out.append(b)
    return out


def _wider_len(n: int, fix: int | None, forms: list[tuple[int, int]], minimal_header: bytes) -> list[bytes]:
    out = []
    if fix is not None and n < 16:
        out.append(bytes([fix | n]))
    for prefix, width in forms:
        if n < 256**width:
            out.append(bytes([prefix]) + n.to_bytes(width, "big"))
    return [h for h in out if h != minimal_header]


def wider_bin(b: bytes) -> list[bytes]:
    minimal = encode(b)
    header = minimal[: len(minimal) - len(b)]
    return [h + b for h in _wider_len(len(b), None, [(0xC4, 1), (0xC5, 2), (0xC6, 4)], header)]


def wider_str(s: str) -> list[bytes]:
    data = s.encode()
    minimal = encode(s)
    header = minimal[: len(minimal) - len(data)]
    fix = 0xA0 if len(data) < 32 else None
    out = []
    if fix is not None:
        out.append(bytes([fix | len(data)]))
    for prefix, width in [(0xD9, 1), (0xDA, 2), (0xDB, 4)]:
        if len(data) < 256**width:
            out.append(bytes([prefix]) + len(data).to_bytes(width, "big"))
    return [h + data for h in out if h != header]


def wider_array_header(n: int) -> list[bytes]:
    minimal = encode([None] * n)[:-n] if n else encode([])
    return _wider_len(n, 0x90, [(0xDC, 2), (0xDD, 4)], minimal)


def parts_of(p: Payload, body: Note | Profile) -> list[tuple[bytes, list[bytes]]]:
    """(canonical bytes, non-minimal alternatives) for each piece of the payload, in order."""
    parts: list[tuple[bytes, list[bytes]]] = [
        (encode([None] * 10)[:1], wider_array_header(10)),
        (encode(p.version), wider_int(p.version)),
        (encode(p.commune), wider_bin(p.commune)),
        (encode(p.author), wider_bin(p.author)),
        (encode(p.seq), wider_int(p.seq)),
        (encode(p.prev), wider_bin(p.prev)),
        (encode(p.time_ms), wider_int(p.time_ms)),
        (encode(p.chain_ref), wider_bin(p.chain_ref)),
        (encode(list(p.refs))[: len(encode(list(p.refs))) - 34 * len(p.refs)], wider_array_header(len(p.refs))),
    ]
    parts += [(encode(r), wider_bin(r)) for r in p.refs]
    parts.append((encode(p.kind), wider_str(p.kind)))
    # the body: an array of its fields
    if isinstance(body, Note):
        parts += [(encode([None])[:1], wider_array_header(1)), (encode(body.text), wider_str(body.text))]
    else:
        n = len(body.addresses)
        parts += [
            (encode([None, None])[:1], wider_array_header(2)),
            (encode(body.name), wider_str(body.name)),
            (encode([None] * n)[: 1 if n < 16 else 3], wider_array_header(n)),
        ]
        parts += [(encode(a), wider_str(a)) for a in body.addresses]
    return parts


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries(), st.data())
def test_a_non_minimal_encoding_is_refused_even_when_signed(
    case: tuple[bytes, dict[str, object]], data: st.DataObject
) -> None:
    raw, f = case
    entry = decode_entry(raw)
    parts = parts_of(entry.payload, entry.body)  # type: ignore[arg-type]
    assert b"".join(b for b, _ in parts) == raw[64:], "the test's own assembly of the payload is wrong"
    choices = [(i, alt) for i, (_, alts) in enumerate(parts) for alt in alts]
    i, alt = data.draw(st.sampled_from(choices))
    crafted = b"".join(alt if j == i else b for j, (b, _) in enumerate(parts))
    assert crafted != raw[64:]
    signed = sign_bytes(f["key"], crafted)  # type: ignore[arg-type]
    assert verify(entry.author, signed)
    with pytest.raises(Refused) as exc:
        decode_entry(signed)
    assert exc.value.reason == Reason.NON_CANONICAL


@pytest.mark.parametrize(
    "old,new",
    [
        (b"\x01", b"\xcc\x01"),  # version as uint8
        (b"\x01", b"\xd0\x01"),  # version as int8
        (b"\x01", b"\xcf" + (1).to_bytes(8, "big")),  # version as uint64
    ],
)
def test_version_in_a_wide_int_form_is_non_canonical_and_changes_nothing(
    tmp_path: object, clock: object, old: bytes, new: bytes
) -> None:
    key = KEYS[0]
    good = encode(payload(key))
    assert good[1:2] == old  # version is the first element of the payload array
    crafted = good[:1] + new + good[2:]
    assert msgspec.msgpack.decode(crafted, type=Payload) == msgspec.msgpack.decode(good, type=Payload)
    signed = key.sign(crafted)
    with pytest.raises(Refused) as exc:
        decode_entry(signed)
    assert exc.value.reason == "non_canonical"
    with EntryStore(tmp_path / "s.db", COMMUNE, clock=clock) as s:  # type: ignore[operator]
        with pytest.raises(Refused) as exc:
            s.ingest([signed])
        assert exc.value.reason == "non_canonical" and exc.value.index == 0
        assert s.count() == 0 and s.frontier() == {}
        # The canonical form of the same payload is accepted.
        assert len(s.ingest([key.sign(good)]).stored) == 1


def test_seq_in_uint8_form_is_non_canonical() -> None:
    key = KEYS[1]
    p = payload(key, seq=5)
    good = encode(p)
    # version(1) + commune(34) + author(34) follow the 1-byte array header: seq is at offset 70
    assert good[70:71] == b"\x05"
    crafted = good[:70] + b"\xcc\x05" + good[71:]
    assert msgspec.msgpack.decode(crafted, type=Payload).seq == 5
    with pytest.raises(Refused) as exc:
        decode_entry(sign_payload(key, p)[:64] + crafted)
    assert exc.value.reason == "non_canonical"
    with pytest.raises(Refused) as exc:
        decode_entry(key.sign(crafted))
    assert exc.value.reason == "non_canonical"


def test_trailing_bytes_after_the_payload_are_refused(
    sign: Callable[[SecretKey, bytes], bytes], commune: bytes
) -> None:
    key = KEYS[2]
    good = encode(payload(key, commune=commune))
    assert decode_entry(sign(key, good)).commune == commune
    with pytest.raises(Refused) as exc:
        decode_entry(sign(key, good + b"\x00"))
    assert exc.value.reason in ("malformed_entry", "non_canonical")
