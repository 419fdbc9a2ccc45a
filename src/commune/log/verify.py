"""The checks an arriving entry must pass, as pure functions of the entry and what is known.

`check_envelope` needs nothing but the entry, the commune and the time; `check_successor`
needs the head of the entry's feed; `check_ref` needs the entry it refers to. Signatures are
checked in bulk by the store (see VerifyMode), because that is where the time goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from commune.log.entry import ZERO_ID, Entry
from commune.log.refusal import Reason, Refused

#: How far in this node's future an entry's claimed time may be (clocks disagree a little).
MAX_FUTURE_MS = 5 * 60 * 1000


class VerifyMode(Enum):
    """Which signatures an ingest checks.

    EVERY checks each entry's signature. NEWEST checks, per feed, only the newest entry of the
    batch: its signature authenticates its payload, whose `prev` is the id (hash) of the entry
    before, and so on down to the feed's stored head, so the hash chain authenticates the rest.
    Fork candidates are always checked one by one.
    """

    EVERY = "every"
    NEWEST = "newest"


@dataclass(frozen=True, slots=True)
class FeedHead:
    """The last stored entry of one author's feed, and where a fork proof froze it (if it did)."""

    fid: int
    author: bytes
    seq: int
    id: bytes
    time_ms: int
    frozen_at: int | None = None


def check_envelope(entry: Entry, commune: bytes, now_ms: int) -> None:
    """Refuse an entry of another commune, or one claiming a time too far in the future."""
    if entry.payload.commune != commune:
        raise Refused(Reason.WRONG_COMMUNE, f"commune {entry.payload.commune.hex()[:12]}")
    if entry.payload.time_ms > now_ms + MAX_FUTURE_MS:
        ahead = (entry.payload.time_ms - now_ms) // 1000
        raise Refused(Reason.FUTURE_TIME, f"{ahead} s ahead, at most {MAX_FUTURE_MS // 1000} s")


def check_successor(head: FeedHead | None, entry: Entry) -> None:
    """Refuse an entry that does not extend its feed's head exactly (seq, prev, time)."""
    p = entry.payload
    if head is None:
        if p.seq != 1:
            raise Refused(Reason.SEQ_GAP, f"feed unknown here, entry is #{p.seq}; #1 comes first")
        if p.prev != ZERO_ID:
            raise Refused(Reason.PREV_MISMATCH, "the first entry of a feed has prev = 32 zero bytes")
        return
    if p.seq != head.seq + 1:
        raise Refused(Reason.SEQ_GAP, f"entry is #{p.seq}, the feed is at #{head.seq}")
    if p.prev != head.id:
        raise Refused(Reason.PREV_MISMATCH, f"#{p.seq} does not name #{head.seq}")
    if p.time_ms < head.time_ms:
        raise Refused(Reason.TIME_BACKWARDS, f"{head.time_ms - p.time_ms} ms before #{head.seq}")


def check_ref(entry: Entry, ref_time_ms: int | None) -> None:
    """Refuse an entry whose reference is unknown (`None`) or claims a later time than it."""
    if ref_time_ms is None:
        raise Refused(Reason.MISSING_REF)
    if entry.payload.time_ms < ref_time_ms:
        raise Refused(Reason.TIME_BEHIND_REF, f"{ref_time_ms - entry.payload.time_ms} ms before it")
