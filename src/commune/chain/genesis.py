"""Founding a commune: the genesis block, whose hash is the commune id.

The genesis names the charter, the founding members (members at once, no probation), the
founding enterprises (so the founders can attest the labour of the next members), and the
founding steward. Everyone who holds the genesis bytes can check the commune id for themself.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from commune.core.encoding import decode_canonical, decoder, encode
from commune.core.errors import CommuneError
from commune.core.hashing import blake2b256
from commune.rules.charter import Charter

GENESIS_VERSION = 1
Key = Annotated[bytes, Meta(min_length=32, max_length=32)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]


class GenesisError(CommuneError):
    reason = "bad_genesis"


class Founder(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    key: Key
    name: Name


class FoundingEnterprise(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    name: Name
    signers: Annotated[tuple[Key, ...], Meta(min_length=1, max_length=64)]
    k: Annotated[int, Meta(ge=1, le=64)]


class Genesis(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    version: int
    charter: Charter
    time_ms: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    founders: Annotated[tuple[Founder, ...], Meta(min_length=1, max_length=100_000)]
    enterprises: Annotated[tuple[FoundingEnterprise, ...], Meta(max_length=1000)]
    stewards: Annotated[tuple[Key, ...], Meta(min_length=1, max_length=1)]

    def __post_init__(self) -> None:
        if self.version != GENESIS_VERSION:
            raise GenesisError(f"genesis version {self.version} is not known here")
        keys = [f.key for f in self.founders]
        if len(set(keys)) != len(keys):
            raise GenesisError("a founder is listed twice")
        for s in self.stewards:
            if s not in keys:
                raise GenesisError("the founding steward must be a founder")
        for ent in self.enterprises:
            if ent.k > len(ent.signers) or len(set(ent.signers)) != len(ent.signers):
                raise GenesisError(f"enterprise {ent.name!r}: signers must be distinct and k at most their number")

    def to_bytes(self) -> bytes:
        return encode(self)

    @property
    def commune_id(self) -> bytes:
        return blake2b256(self.to_bytes())

    def enterprise_ids(self) -> list[bytes]:
        """Each founding enterprise's id: a hash of the commune-free facts that name it."""
        return [
            blake2b256(encode(["founding enterprise", i, e.name, e.signers])) for i, e in enumerate(self.enterprises)
        ]


_decoder = decoder(Genesis)


def decode_genesis(data: bytes) -> Genesis:
    try:
        return decode_canonical(data, _decoder)
    except CommuneError as exc:
        raise GenesisError(f"not a genesis block: {exc.message}") from None


def make_genesis(
    charter: Charter,
    time_ms: int,
    founders: list[tuple[bytes, str]],
    steward: bytes,
    enterprises: list[tuple[str, list[bytes], int]] = (),
) -> Genesis:
    """A genesis from plain values (the `found` command's road)."""
    try:
        return Genesis(
            GENESIS_VERSION,
            charter,
            time_ms,
            tuple(Founder(k, n) for k, n in founders),
            tuple(FoundingEnterprise(n, tuple(s), k) for n, s, k in enterprises),
            (steward,),
        )
    except (msgspec.ValidationError, ValueError) as exc:
        raise GenesisError(str(exc)) from None
