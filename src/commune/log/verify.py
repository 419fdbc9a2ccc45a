"""The checks an arriving entry must pass, as pure functions of the entry and what is known.

`check_envelope` needs nothing but the entry, the commune and the time; `check_successor`
needs the head of the entry's feed; `check_ref` needs the entry it refers to. Signatures are
checked in bulk by the store (see VerifyMode), because that is where the time goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from commune.log.entry import Entry
from commune.log.refusal import Reason, Refused

#: How far in this node's future an entry's claimed time may be (clocks disagree a little).
MAX_FUTURE_MS = 5 * 60 * 1000


class VerifyMode(Enum):
    """Which signatures an ingest checks.

    EVERY checks each entry's signature. NEWEST checks, per feed, only the newest entry of the
    batch: its signature authenticates its payload, whose `prev` is the id (hash) of the entry
    before, and so on down to the feed's stored head. An id is the hash of the whole signed
    entry, signature included, so the hash chain authenticates every byte of the rest.
    Fork candidates are always checked one by one.
    """

    EVERY = "every"
    NEWEST = "newest"


@dataclass(frozen=True, slots=True)
class FeedHead:
    """The last stored entry of one author's feed, how far its signatures are checked one by
    one (`verified_seq`), and where a proof froze it (if one did)."""

    fid: int
    author: bytes
    seq: int
    id: bytes
    time_ms: int
    frozen_at: int | None = None
    verified_seq: int = 0

    @property
    def valid_through(self) -> int:
        """The last position whose entry counts: its own signature checked, and not frozen."""
        limit = self.verified_seq
        if self.frozen_at is not None:
            limit = min(limit, self.frozen_at - 1)
        return limit


def check_envelope(entry: Entry, commune: bytes, now_ms: int) -> None:
    """Refuse an entry of another commune, or one claiming a time too far in the future."""
    if entry.payload.commune != commune:
        raise Refused(Reason.WRONG_COMMUNE, f"commune {entry.payload.commune.hex()[:12]}")
    if entry.payload.time_ms > now_ms + MAX_FUTURE_MS:
        ahead = -(-(entry.payload.time_ms - now_ms) // 1000)
        raise Refused(Reason.FUTURE_TIME, f"{ahead} s ahead, at most {MAX_FUTURE_MS // 1000} s")


def check_successor(last_seq: int, last_id: bytes, last_time_ms: int, entry: Entry) -> None:
    """Refuse an entry that does not extend its feed's last entry exactly (seq, prev, time).

    For a feed with no entry yet, the last entry is (0, 32 zero bytes, 0): the first entry is
    #1 and names 32 zero bytes as its predecessor.
    """
    p = entry.payload
    if p.seq != last_seq + 1:
        if last_seq == 0:
            raise Refused(Reason.SEQ_GAP, f"feed unknown here, entry is #{p.seq}; #1 comes first")
        raise Refused(Reason.SEQ_GAP, f"entry is #{p.seq}, the feed is at #{last_seq}")
    if p.prev != last_id:
        raise Refused(Reason.PREV_MISMATCH, f"#{p.seq} does not name #{last_seq}")
    if p.time_ms < last_time_ms:
        raise Refused(Reason.TIME_BACKWARDS, f"{last_time_ms - p.time_ms} ms before #{last_seq}")


def check_ref(entry: Entry, ref_time_ms: int | None) -> None:
    """Refuse an entry whose reference is unknown (`None`) or claims a later time than it."""
    if ref_time_ms is None:
        raise Refused(Reason.MISSING_REF)
    if entry.payload.time_ms < ref_time_ms:
        raise Refused(Reason.TIME_BEHIND_REF, f"{ref_time_ms - entry.payload.time_ms} ms before it")
