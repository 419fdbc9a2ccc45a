"""Blocks of the commune chain (DESIGN 3.2) and their steward certificates.

A block is its header (commune, height, parent, time, the entries it takes in, the proofs it
carries, the effects it applies) and a certificate: a list of steward signatures over the
header's bytes. The block id is the hash of the header alone, so adding a signature (stage 2:
k of n stewards) never changes what a block is. Entries are named by (author, seq, id): the
position is one index probe in the store, the id pins the exact entry.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from commune.core.encoding import decode_canonical, decoder, encode
from commune.core.errors import CommuneError
from commune.core.hashing import blake2b256
from commune.core.keys import SIGNATURE_BYTES, SecretKey, verify
from commune.rules.effects import Effect

BLOCK_VERSION = 1
MAX_BLOCK_ENTRIES = 10_000
MAX_BLOCK_BYTES = 16 * 1024 * 1024
#: Signed with this prefix, so a block signature can never be taken for an entry signature.
SIGNING_CONTEXT = b"commune block v1\x00"

Key = Annotated[bytes, Meta(min_length=32, max_length=32)]
Hash32 = Key


class EntryRef(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, gc=False):
    author: Key
    seq: Annotated[int, Meta(ge=1, le=2**63 - 1)]
    id: Hash32


class ProofRef(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    """A fork proof ("fork") or a bad-link proof ("bad_link"), as its canonical bytes."""

    kind: Annotated[str, Meta(pattern="^(fork|bad_link)\\Z")]
    data: bytes


class Header(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    version: int
    commune: Hash32
    height: Annotated[int, Meta(ge=1, le=2**63 - 1)]
    parent: Hash32
    time_ms: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    entries: Annotated[tuple[EntryRef, ...], Meta(max_length=MAX_BLOCK_ENTRIES)]
    proofs: Annotated[tuple[ProofRef, ...], Meta(max_length=1000)]
    effects: tuple[Effect, ...]


class StewardSignature(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    steward: Key
    signature: Annotated[bytes, Meta(min_length=SIGNATURE_BYTES, max_length=SIGNATURE_BYTES)]


class Block(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    """A header's canonical bytes and the certificate over them."""

    header: bytes
    signatures: tuple[StewardSignature, ...]

    @property
    def id(self) -> bytes:
        return blake2b256(self.header)

    def decoded(self) -> Header:
        return decode_header(self.header)

    def to_bytes(self) -> bytes:
        return encode(self)

    def signed_by(self) -> list[bytes]:
        """The stewards whose signatures on this block verify."""
        return [s.steward for s in self.signatures if verify(s.steward, s.signature + SIGNING_CONTEXT + self.header)]

    def with_signature(self, key: SecretKey) -> Block:
        sig = key.sign(SIGNING_CONTEXT + self.header)[:SIGNATURE_BYTES]
        kept = tuple(s for s in self.signatures if s.steward != key.public)
        signatures = tuple(sorted((*kept, StewardSignature(key.public, sig)), key=lambda s: s.steward))
        return Block(self.header, signatures)


class BlockFormatError(CommuneError):
    reason = "malformed_block"


_header_decoder = decoder(Header)
_block_decoder = decoder(Block)


def decode_header(data: bytes) -> Header:
    try:
        header = decode_canonical(data, _header_decoder)
    except CommuneError as exc:
        raise BlockFormatError(f"not a block header: {exc.message}") from None
    if header.version != BLOCK_VERSION:
        raise BlockFormatError(f"block version {header.version} is not known here")
    return header


def decode_block(data: bytes) -> tuple[Block, Header]:
    if len(data) > MAX_BLOCK_BYTES:
        raise BlockFormatError(f"{len(data)} bytes, at most {MAX_BLOCK_BYTES}")
    try:
        block = decode_canonical(data, _block_decoder)
    except CommuneError as exc:
        raise BlockFormatError(f"not a block: {exc.message}") from None
    header = decode_header(block.header)
    stewards = [s.steward for s in block.signatures]
    if stewards != sorted(set(stewards)):
        raise BlockFormatError("signatures must be sorted by steward key, one each")
    return block, header


def make_block(header: Header, key: SecretKey) -> Block:
    return Block(encode(header), ()).with_signature(key)


def signatures_needed(stewards: int) -> int:
    """k of n: more than half the stewards (stage 1: one steward, k = 1)."""
    return stewards // 2 + 1
