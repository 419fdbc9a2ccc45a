"""The feed entry of DESIGN 3.1, its canonical bytes, and its decoding.

An entry travels and is stored as libsodium's combined signed form:

    signature (64 bytes) || payload

where `payload` is the canonical MessagePack array of `Payload`. The signature is over the
payload bytes exactly. The entry id is BLAKE2b-256 of the whole signed message (signature and
payload), so each entry's `prev` pins the exact bytes of the entry before it, signature
included: verifying only a feed's newest signature then authenticates every stored byte of
the feed below it. What is signed is what is stored and what is sent: nothing is re-encoded.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import msgspec
from msgspec import Meta

from commune.core.encoding import DECODE_ERRORS, encode
from commune.core.hashing import blake2b256
from commune.core.keys import SIGNATURE_BYTES, SecretKey
from commune.log.bodies import BODY_DECODERS, KIND_OF, Body
from commune.log.refusal import Reason, Refused

FORMAT_VERSION = 1
MAX_ENTRY_BYTES = 64 * 1024
MAX_REFS = 64
ZERO_ID = bytes(32)

Hash32 = Annotated[bytes, Meta(min_length=32, max_length=32)]
U63 = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class Payload(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """What an author signs: the envelope of DESIGN 3.1 with the body as raw canonical bytes."""

    version: int
    commune: Hash32
    author: Hash32
    seq: Annotated[int, Meta(ge=1, le=2**63 - 1)]
    prev: Hash32
    time_ms: U63
    chain_ref: Hash32
    refs: Annotated[tuple[Hash32, ...], Meta(max_length=MAX_REFS)]
    kind: Annotated[str, Meta(min_length=1, max_length=64)]
    body: msgspec.Raw


_decode_payload = msgspec.msgpack.Decoder(Payload).decode
_encode = msgspec.msgpack.Encoder().encode
_blake2b = hashlib.blake2b


class Entry:
    """A decoded, well-formed entry. Whether its signature holds is checked separately."""

    __slots__ = ("body", "id", "payload", "raw")

    def __init__(self, raw: bytes, id: bytes, payload: Payload, body: Body) -> None:
        self.raw = raw
        self.id = id
        self.payload = payload
        self.body = body

    @property
    def author(self) -> bytes:
        return self.payload.author

    @property
    def seq(self) -> int:
        return self.payload.seq

    @property
    def prev(self) -> bytes:
        return self.payload.prev

    @property
    def time_ms(self) -> int:
        return self.payload.time_ms

    @property
    def commune(self) -> bytes:
        return self.payload.commune

    @property
    def kind(self) -> str:
        return self.payload.kind

    @property
    def refs(self) -> tuple[bytes, ...]:
        return self.payload.refs

    @property
    def chain_ref(self) -> bytes:
        return self.payload.chain_ref

    @property
    def signature(self) -> bytes:
        return self.raw[:SIGNATURE_BYTES]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"Entry({self.kind} {self.author.hex()[:8]}#{self.seq} id={self.id.hex()[:8]})"


def decode_entry(raw: bytes) -> Entry:
    """Decode and check the form of one entry (not its signature, not its place in its feed).

    Refuses with `too_large`, `malformed_entry`, `non_canonical`, `unsupported_version`,
    `unknown_kind`, `malformed_body`. This runs once per arriving entry, so it is kept lean.
    """
    if type(raw) is not bytes:
        raise Refused(Reason.MALFORMED_ENTRY, "an entry is a byte string")
    size = len(raw)
    if size > MAX_ENTRY_BYTES:
        raise Refused(Reason.TOO_LARGE, f"{size} bytes, at most {MAX_ENTRY_BYTES}")
    if size <= SIGNATURE_BYTES:
        raise Refused(Reason.MALFORMED_ENTRY, "shorter than a signature")
    data = raw[SIGNATURE_BYTES:]
    try:
        payload = _decode_payload(data)
    except DECODE_ERRORS as exc:
        version = _peek_version(data)
        if version is not None and version != FORMAT_VERSION:
            raise Refused(Reason.UNSUPPORTED_VERSION, f"version {version}") from None
        raise Refused(Reason.MALFORMED_ENTRY, str(exc)) from None
    if _encode(payload) != data:
        raise Refused(Reason.NON_CANONICAL, "payload")
    if payload.version != FORMAT_VERSION:
        raise Refused(Reason.UNSUPPORTED_VERSION, f"version {payload.version}")
    refs = payload.refs
    if len(refs) > 1 and any(refs[i] >= refs[i + 1] for i in range(len(refs) - 1)):
        raise Refused(Reason.NON_CANONICAL, "refs must be sorted and distinct")
    body_decoder = BODY_DECODERS.get(payload.kind)
    if body_decoder is None:
        raise Refused(Reason.UNKNOWN_KIND, repr(payload.kind))
    raw_body = payload.body
    try:
        body = body_decoder.decode(raw_body)
    except DECODE_ERRORS as exc:
        raise Refused(Reason.MALFORMED_BODY, f"{payload.kind}: {exc}") from None
    if _encode(body) != memoryview(raw_body):
        raise Refused(Reason.NON_CANONICAL, "body")
    return Entry(raw, _blake2b(raw, digest_size=32).digest(), payload, body)


def _peek_version(data: bytes) -> int | None:
    """The version an undecodable payload claims, if it is an array that starts with an int."""
    try:
        value = msgspec.msgpack.decode(data)
    except DECODE_ERRORS:
        return None
    if isinstance(value, list) and value and type(value[0]) is int:
        return value[0]
    return None


def entry_id_of(raw: bytes) -> bytes:
    """The id of a stored or received entry: BLAKE2b-256 of its signed bytes (signature and payload)."""
    return blake2b256(raw)


def sign_entry(
    key: SecretKey,
    *,
    commune: bytes,
    seq: int,
    prev: bytes,
    time_ms: int,
    chain_ref: bytes,
    body: Body,
    refs: tuple[bytes, ...] = (),
) -> bytes:
    """The signed bytes of a new entry (no checks against any feed: see FeedWriter)."""
    payload = Payload(
        version=FORMAT_VERSION,
        commune=commune,
        author=key.public,
        seq=seq,
        prev=prev,
        time_ms=time_ms,
        chain_ref=chain_ref,
        refs=tuple(sorted(set(refs))),
        kind=KIND_OF[type(body)],
        body=msgspec.Raw(encode(body)),
    )
    return key.sign(encode(payload))
