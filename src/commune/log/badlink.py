"""Bad-link proofs: an author chained an entry whose own signature does not verify.

Under VerifyMode.NEWEST a store takes a run of entries in on the strength of the newest one's
signature and the hash chain below it. The chain proves the bytes are the ones the author
committed to, not that each carries a valid signature; an entry whose own signature fails is
invalid, even though its author vouched for it by signing a successor that names it. When a
store's backlog check finds one, the run from the bad entry up to the first validly signed
entry above it is the proof: any node can check it alone, and every node that holds it freezes
the feed at the bad entry, as a fork proof does. Nodes that checked every signature refused the
bad entry and hold the feed only below it; with the proof they also stop asking for it.
"""

from __future__ import annotations

import itertools

import msgspec

from commune.core.encoding import decode_canonical, decoder, encode
from commune.core.errors import CommuneError
from commune.core.keys import verify
from commune.log.entry import decode_entry
from commune.log.refusal import Reason, Refused

#: The longest run a bad-link proof may carry (the author's newest entries are always signed).
MAX_RUN = 4096


class BadLinkProof(msgspec.Struct, array_like=True, frozen=True):
    """Consecutive entries of one feed: the first's signature fails, the last's holds."""

    run: tuple[bytes, ...]

    def check(self, commune: bytes | None = None) -> tuple[bytes, int]:
        """Verify the proof on its own; return the (author, seq) it freezes from."""
        if not 2 <= len(self.run) <= MAX_RUN:
            raise Refused(Reason.BAD_LINK_PROOF, f"a bad-link run has 2 to {MAX_RUN} entries")
        try:
            entries = [decode_entry(raw) for raw in self.run]
        except Refused as exc:
            raise Refused(Reason.BAD_LINK_PROOF, f"an entry is refused: {exc.reason}") from None
        first, last = entries[0], entries[-1]
        for below, above in itertools.pairwise(entries):
            if above.author != first.author or above.seq != below.seq + 1 or above.prev != below.id:
                raise Refused(Reason.BAD_LINK_PROOF, "not a chained run of one feed")
        if any(e.commune != first.commune for e in entries) or commune not in (None, first.commune):
            raise Refused(Reason.BAD_LINK_PROOF, "not one commune")
        if verify(first.author, first.raw):
            raise Refused(Reason.BAD_LINK_PROOF, "the first entry's signature holds")
        if not verify(last.author, last.raw):
            raise Refused(Reason.BAD_LINK_PROOF, "the last entry's signature does not hold")
        return first.author, first.seq

    def to_bytes(self) -> bytes:
        return encode(self)


_decoder = decoder(BadLinkProof)


def decode_bad_link_proof(data: bytes) -> BadLinkProof:
    try:
        return decode_canonical(data, _decoder)
    except CommuneError as exc:
        raise Refused(Reason.BAD_LINK_PROOF, exc.message) from None
