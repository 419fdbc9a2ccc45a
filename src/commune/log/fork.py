"""Fork proofs: two validly signed, different entries at one position of one feed.

A proof stands on its own: any node can check it with nothing but the two entries. Whoever
holds it freezes the author's feed from that position on (DESIGN 3.1).
"""

from __future__ import annotations

import msgspec

from commune.core.encoding import decode_canonical, decoder, encode
from commune.core.errors import CommuneError
from commune.core.keys import verify
from commune.log.entry import Entry, decode_entry
from commune.log.refusal import Reason, Refused


class ForkProof(msgspec.Struct, array_like=True, frozen=True):
    """The two entries, ordered by their bytes so that one fork has one proof."""

    first: bytes
    second: bytes

    @classmethod
    def of(cls, a: bytes, b: bytes) -> ForkProof:
        return cls(*sorted((a, b)))

    def check(self, commune: bytes | None = None) -> tuple[bytes, int]:
        """Verify the proof on its own; return the (author, seq) it freezes from.

        Refuses with `bad_fork_proof` unless both entries decode, carry valid signatures by
        one author, sit at one position, and differ (and, if given, belong to `commune`).
        """
        if self.first >= self.second:
            raise Refused(Reason.BAD_FORK_PROOF, "entries not distinct and in order")
        try:
            a, b = decode_entry(self.first), decode_entry(self.second)
        except Refused as exc:
            raise Refused(Reason.BAD_FORK_PROOF, f"an entry is refused: {exc.reason}") from None
        if a.author != b.author or a.seq != b.seq:
            raise Refused(Reason.BAD_FORK_PROOF, "not one position of one feed")
        if a.commune != b.commune or (commune is not None and a.commune != commune):
            raise Refused(Reason.BAD_FORK_PROOF, "not one commune")
        if not (verify(a.author, a.raw) and verify(b.author, b.raw)):
            raise Refused(Reason.BAD_FORK_PROOF, "a signature is not valid")
        return a.author, a.seq

    def entries(self) -> tuple[Entry, Entry]:
        return decode_entry(self.first), decode_entry(self.second)

    def to_bytes(self) -> bytes:
        return encode(self)


_decoder = decoder(ForkProof)


def decode_fork_proof(data: bytes) -> ForkProof:
    try:
        return decode_canonical(data, _decoder)
    except CommuneError as exc:
        raise Refused(Reason.BAD_FORK_PROOF, exc.message) from None
