"""Shared helpers for the log tests (the fixtures are in conftest.py).

Everything here goes through public interfaces: `sign_entry`, `decode_entry`, the `Payload`
struct and `encode` (to craft entries with bad fields), `SecretKey.sign` (to sign arbitrary
payload bytes), and `EntryStore`'s public methods (to take snapshots of a store).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import msgspec

from commune.core.encoding import encode
from commune.core.keys import SecretKey
from commune.log.bodies import KIND_OF, Body, Note
from commune.log.entry import FORMAT_VERSION, ZERO_ID, Payload, decode_entry
from commune.log.store import EntryStore

#: The commune every test store belongs to, and another one.
COMMUNE = hashlib.blake2b(b"test commune", digest_size=32).digest()
OTHER_COMMUNE = hashlib.blake2b(b"another commune", digest_size=32).digest()

#: The time every ManualClock of these tests starts at (2026-01-01T00:00:00Z).
START_MS = 1_767_225_600_000


def key_of(name: str) -> SecretKey:
    """A deterministic key per name, so failures reproduce."""
    return SecretKey(hashlib.blake2b(name.encode(), digest_size=32).digest())


def blake(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def payload(
    key: SecretKey | bytes,
    *,
    seq: int = 1,
    prev: bytes = ZERO_ID,
    time_ms: int = START_MS - 60_000,
    commune: bytes = COMMUNE,
    chain_ref: bytes = COMMUNE,
    refs: tuple[bytes, ...] = (),
    kind: str | None = None,
    body: bytes | Body | None = None,
    version: int = FORMAT_VERSION,
) -> Payload:
    """A Payload with any field set by hand: refs are NOT sorted, the body may be any bytes.

    The kind defaults to the body's kind (or "note" for a body given as bytes).
    """
    if body is None:
        body = Note(f"entry {seq}")
    raw_body = body if isinstance(body, bytes) else encode(body)
    if kind is None:
        kind = "note" if isinstance(body, bytes) else KIND_OF[type(body)]
    return Payload(
        version=version,
        commune=commune,
        author=key if isinstance(key, bytes) else key.public,
        seq=seq,
        prev=prev,
        time_ms=time_ms,
        chain_ref=chain_ref,
        refs=refs,
        kind=kind,
        body=msgspec.Raw(raw_body),
    )


def sign_bytes(key: SecretKey, data: bytes) -> bytes:
    """Sign arbitrary payload bytes: the combined form signature || data, as stored and sent."""
    return key.sign(data)


def sign_payload(key: SecretKey, p: Payload) -> bytes:
    return key.sign(encode(p))


@dataclass
class Feed:
    """Builds a valid chain of entries for one key, tracking seq, prev and time.

    `next()` advances the feed; `craft()` builds an entry at the next position with any field
    overridden and does not advance (for entries meant to be refused).
    """

    key: SecretKey
    commune: bytes = COMMUNE
    time_ms: int = START_MS - 3_600_000
    step_ms: int = 10
    seq: int = 0
    prev: bytes = ZERO_ID
    raws: list[bytes] = field(default_factory=list)

    @property
    def author(self) -> bytes:
        return self.key.public

    def next(self, body: Body | None = None, *, refs: tuple[bytes, ...] = (), time_ms: int | None = None) -> bytes:
        t = self.time_ms + self.step_ms if time_ms is None else time_ms
        p = payload(
            self.key,
            seq=self.seq + 1,
            prev=self.prev,
            time_ms=t,
            commune=self.commune,
            refs=tuple(sorted(set(refs))),
            body=body if body is not None else Note(f"{self.author.hex()[:6]} #{self.seq + 1}"),
        )
        raw = sign_payload(self.key, p)
        self.seq += 1
        self.prev = blake(raw)
        self.time_ms = t
        self.raws.append(raw)
        return raw

    def many(self, n: int) -> list[bytes]:
        return [self.next() for _ in range(n)]

    def craft(self, *, sign_with: SecretKey | None = None, **fields: object) -> bytes:
        base: dict[str, object] = {
            "seq": self.seq + 1,
            "prev": self.prev,
            "time_ms": self.time_ms + self.step_ms,
            "commune": self.commune,
        }
        base.update(fields)
        return sign_payload(sign_with or self.key, payload(self.key, **base))  # type: ignore[arg-type]

    def ids(self) -> list[bytes]:
        return [blake(r) for r in self.raws]


def unsigned_middle_feed(name: str = "sly") -> tuple[Feed, list[bytes]]:
    """A feed #1-#5 whose #4 carries a garbage signature and whose validly signed #5 names it.

    Only the author can make this (it signs #5 over #4's exact bytes). An EVERY ingest refuses
    #4; a NEWEST ingest takes all five in on the strength of #5 and the hash chain.
    """
    f = Feed(key_of(name))
    raws = f.many(3)
    bad4 = bytes(64) + encode(payload(f.key, seq=4, prev=f.prev, time_ms=f.time_ms + 1))
    f.raws.append(bad4)
    f.seq, f.prev, f.time_ms = 4, blake(bad4), f.time_ms + 1
    raws.append(bad4)
    raws.append(f.next())
    return f, raws


def interleave(*feeds_raws: list[bytes]) -> list[bytes]:
    """Round-robin merge of several feeds' entries, each feed staying in order."""
    out: list[bytes] = []
    longest = max(len(r) for r in feeds_raws)
    for i in range(longest):
        for raws in feeds_raws:
            if i < len(raws):
                out.append(raws[i])
    return out


def snapshot(store: EntryStore) -> dict[str, object]:
    """Everything a store shows through its public methods."""
    frontier = store.frontier()
    return {
        "frontier": frontier,
        "count": store.count(),
        "frozen": store.frozen(),
        "fork_proofs": [p.to_bytes() for p in store.fork_proofs()],
        "heads": {a: store.head(a) for a in frontier},
        "feeds": {a: store.raws_after(a, 0, limit=1_000_000) for a in frontier},
    }


def reopened_snapshot(store: EntryStore) -> dict[str, object]:
    """The snapshot of a fresh EntryStore opened on the same file."""
    with EntryStore(store.path, store.commune, clock=store.clock) as again:
        return snapshot(again)


def assert_unchanged(store: EntryStore, before: dict[str, object]) -> None:
    assert snapshot(store) == before
    assert reopened_snapshot(store) == before


def all_verify(store: EntryStore) -> bool:
    """Whether every stored entry decodes and carries a valid signature by its author."""
    from commune.core.keys import verify

    for author in store.frontier():
        for raw in store.raws_after(author, 0, limit=10_000_000):
            entry = decode_entry(raw)
            if entry.author != author or not verify(author, raw):
                return False
    return True
