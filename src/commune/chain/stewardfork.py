"""A steward who signs two different blocks at one height: a proof anyone can check alone.

Stage 1 has one steward, so such a proof means the chain itself forked; members answer it by
recalling the steward (a proposal). The proof names the steward and carries both blocks.
"""

from __future__ import annotations

import msgspec

from commune.chain.block import Block, BlockFormatError, decode_block
from commune.core.encoding import decode_canonical, decoder, encode
from commune.core.errors import CommuneError


class StewardForkError(CommuneError):
    reason = "bad_steward_fork_proof"


class StewardForkProof(msgspec.Struct, array_like=True, frozen=True):
    steward: bytes
    first: bytes
    second: bytes

    @classmethod
    def of(cls, steward: bytes, a: Block, b: Block) -> StewardForkProof:
        first, second = sorted((a.to_bytes(), b.to_bytes()))
        return cls(steward, first, second)

    def check(self, commune: bytes | None = None) -> tuple[bytes, int]:
        """Verify alone; return (steward, height) of the double signing."""
        if self.first >= self.second:
            raise StewardForkError("the two blocks must differ and be in order")
        try:
            (a, ha), (b, hb) = decode_block(self.first), decode_block(self.second)
        except BlockFormatError as exc:
            raise StewardForkError(exc.message) from None
        if a.id == b.id:
            raise StewardForkError("the two blocks are one block")
        if ha.height != hb.height or ha.commune != hb.commune or commune not in (None, ha.commune):
            raise StewardForkError("not one height of one commune's chain")
        if self.steward not in a.signed_by() or self.steward not in b.signed_by():
            raise StewardForkError("the steward's signature is not on both blocks")
        return self.steward, ha.height

    def to_bytes(self) -> bytes:
        return encode(self)


_decoder = decoder(StewardForkProof)


def decode_steward_fork_proof(data: bytes) -> StewardForkProof:
    try:
        return decode_canonical(data, _decoder)
    except CommuneError as exc:
        raise StewardForkError(exc.message) from None
