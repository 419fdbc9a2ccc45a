"""Appending to one's own feed."""

from __future__ import annotations

from commune.core.keys import SecretKey
from commune.log.bodies import Body
from commune.log.entry import ZERO_ID, Entry, sign_entry
from commune.log.refusal import Reason, Refused
from commune.log.store import EntryStore


class FeedWriter:
    """Signs and stores the next entries of `key`'s feed in `store`.

    Each new entry follows the feed's head (seq, prev) and claims the clock's time, or the
    latest time of its feed's head and the entries it refers to if the clock is behind them
    (a peer's clock may run a little ahead), so claimed times never go backwards. The entry goes
    through the same verified ingest as any entry that arrives from a peer.
    """

    def __init__(self, store: EntryStore, key: SecretKey) -> None:
        self.store = store
        self.key = key

    def append(self, body: Body, *, refs: tuple[bytes, ...] = (), chain_ref: bytes | None = None) -> Entry:
        head = self.store.head(self.key.public)
        if head is not None and head.frozen_at is not None:
            raise Refused(Reason.FEED_FROZEN, f"your feed is frozen from #{head.frozen_at}")
        # Never claim a time behind the feed's last entry or behind an entry referred to.
        now = self.store.clock.now_ms()
        floor = head.time_ms if head else 0
        for ref in refs:
            referred = self.store.get_by_id(ref)
            if referred is None:
                raise Refused(Reason.MISSING_REF, f"{ref.hex()[:12]} is not held here")
            floor = max(floor, referred.time_ms)
        raw = sign_entry(
            self.key,
            commune=self.store.commune,
            seq=head.seq + 1 if head else 1,
            prev=head.id if head else ZERO_ID,
            time_ms=max(now, floor),
            chain_ref=chain_ref if chain_ref is not None else self.store.commune,
            refs=refs,
            body=body,
        )
        return self.store.ingest([raw], durable=True).stored[0]
