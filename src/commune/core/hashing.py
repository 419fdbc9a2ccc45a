"""Ids are BLAKE2b-256 digests."""

from __future__ import annotations

import hashlib

ID_BYTES = 32


def blake2b256(data: bytes | bytearray | memoryview) -> bytes:
    """The 32-byte BLAKE2b digest of `data` (the id of whatever `data` encodes)."""
    return hashlib.blake2b(data, digest_size=ID_BYTES).digest()


def short_hex(ident: bytes, length: int = 12) -> str:
    """A short hex prefix of an id or key, for people to read (never to compare)."""
    return ident.hex()[:length]
