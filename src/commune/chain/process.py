"""Building blocks (what a steward's node proposes) and checking them (what every node does).

Both go through `_take_in_all`, which runs the rules (`rules.engine`) over the block's proofs,
entries and deadlines on the state at the block's parent. A builder writes down the effects it
got; a checker compares them with the block's, byte for byte, and refuses the block by name
if they differ, whatever its signatures. Either way the state is left with the block applied
but not committed: the caller persists and commits it, or rolls it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from commune.chain.block import (
    BLOCK_VERSION,
    MAX_BLOCK_ENTRIES,
    Block,
    EntryRef,
    Header,
    ProofRef,
    decode_block,
    make_block,
    signatures_needed,
)
from commune.chain.refusal import BlockPending, BlockReason, BlockRefused
from commune.core.encoding import encode
from commune.core.keys import SecretKey
from commune.log.badlink import BadLinkProof, decode_bad_link_proof
from commune.log.entry import Entry, decode_entry
from commune.log.fork import ForkProof, decode_fork_proof
from commune.log.refusal import Refused
from commune.log.verify import MAX_FUTURE_MS
from commune.rules import engine
from commune.rules.effects import Effect
from commune.rules.model import CommuneState


class EntrySource(Protocol):
    """What block processing needs of an entry store (log.store.EntryStore is one)."""

    def get(self, author: bytes, seq: int) -> Entry | None: ...
    def cached(self, author: bytes, seq: int) -> Entry | None: ...
    def raws_after(self, author: bytes, after_seq: int, limit: int = 1000) -> list[bytes]: ...
    def valid_through(self, author: bytes) -> int: ...
    def verified_through(self, author: bytes) -> int: ...
    def frontier(self) -> dict[bytes, int]: ...
    def fork_proofs(self) -> list[ForkProof]: ...
    def bad_link_proofs(self) -> list[BadLinkProof]: ...


def proof_position(proof: ProofRef, commune: bytes) -> tuple[bytes, int]:
    """(author, seq) a carried proof freezes from; refuses a proof that does not hold."""
    try:
        if proof.kind == "fork":
            return decode_fork_proof(proof.data).check(commune)
        return decode_bad_link_proof(proof.data).check(commune)
    except Refused as exc:
        raise BlockRefused(BlockReason.BAD_PROOF, exc.message) from None


def _take_in_all(
    state: CommuneState, height: int, time_ms: int, entries: Sequence[Entry], proofs: Sequence[ProofRef]
) -> list[Effect]:
    engine.begin_block(state, height, time_ms)
    effects: list[Effect] = []
    for proof in proofs:
        author, seq = proof_position(proof, state.commune)
        effects.extend(engine.freeze(state, author, seq))
    included = state.tables["included"]
    for entry in entries:
        if entry.seq != included.get(entry.author, 0) + 1:
            raise BlockRefused(BlockReason.ENTRY_OUT_OF_ORDER, f"{entry.author.hex()[:12]}#{entry.seq}")
        if entry.time_ms > time_ms:
            raise BlockRefused(BlockReason.ENTRY_AFTER_BLOCK, f"{entry.author.hex()[:12]}#{entry.seq}")
        effects.extend(engine.take_in(state, entry))
    effects.extend(engine.close_due(state, time_ms))
    return effects


def check_block(
    state: CommuneState, data: bytes | Block, source: EntrySource, now_ms: int | None = None
) -> tuple[Block, Header]:
    """Check the block that would extend `state`'s chain and apply it (uncommitted).

    `now_ms` is the checking node's clock: a block claiming a time more than MAX_FUTURE_MS
    ahead of it is refused (its deadlines would close early). Replaying stored blocks omits it.
    Raises BlockRefused (state unchanged) or BlockPending (entries to fetch first).
    """
    if isinstance(data, Block):
        block, header = data, data.decoded()
    else:
        block, header = decode_block(data)
    if header.commune != state.commune:
        raise BlockRefused(BlockReason.WRONG_COMMUNE)
    if header.height != state.height + 1:
        raise BlockRefused(BlockReason.WRONG_HEIGHT, f"{header.height}, the chain is at {state.height}")
    if header.parent != state.block_id:
        raise BlockRefused(BlockReason.WRONG_PARENT)
    if header.time_ms < state.time_ms:
        raise BlockRefused(BlockReason.BLOCK_TIME_BACKWARDS)
    if now_ms is not None and header.time_ms > now_ms + MAX_FUTURE_MS:
        raise BlockRefused(BlockReason.BLOCK_FUTURE_TIME)
    stewards = state.stewards
    for sig in block.signatures:
        if sig.steward not in stewards:
            raise BlockRefused(BlockReason.NOT_STEWARD, sig.steward.hex()[:12])
    valid = block.signed_by()
    if len(valid) != len(block.signatures):
        raise BlockRefused(BlockReason.BAD_BLOCK_SIGNATURE)
    if len(valid) < signatures_needed(len(stewards)):
        raise BlockRefused(BlockReason.TOO_FEW_SIGNATURES, f"{len(valid)} of {signatures_needed(len(stewards))}")
    held = _fetch(source, header.entries)
    entries: list[Entry] = []
    missing: list[tuple[bytes, int]] = []
    for ref in header.entries:
        entry = held.get((ref.author, ref.seq))
        if entry is None:
            missing.append((ref.author, ref.seq))
            continue
        if entry.id != ref.id:
            raise BlockRefused(BlockReason.ENTRY_MISMATCH, f"{ref.author.hex()[:12]}#{ref.seq}")
        if ref.seq > source.verified_through(ref.author):
            raise BlockRefused(BlockReason.ENTRY_UNVERIFIED, f"{ref.author.hex()[:12]}#{ref.seq}")
        entries.append(entry)
    if missing:
        raise BlockPending(missing)
    try:
        effects = _take_in_all(state, header.height, header.time_ms, entries, header.proofs)
        if encode(tuple(effects)) != encode(header.effects):
            raise BlockRefused(BlockReason.WRONG_EFFECTS, _first_difference(effects, header.effects))
        engine.end_block(state, block.id)
    except BaseException:
        state.rollback()
        raise
    return block, header


def _fetch(source: EntrySource, refs: Sequence[EntryRef]) -> dict[tuple[bytes, int], Entry]:
    """The entries `refs` name that `source` holds: from its memory of what it stored last when
    it can, else one read per feed, not one per entry."""
    held: dict[tuple[bytes, int], Entry] = {}
    spans: dict[bytes, tuple[int, int]] = {}
    cached = source.cached
    for ref in refs:
        entry = cached(ref.author, ref.seq)
        if entry is not None:
            held[(ref.author, ref.seq)] = entry
            continue
        low, high = spans.get(ref.author, (ref.seq, ref.seq))
        spans[ref.author] = (min(low, ref.seq), max(high, ref.seq))
    for author, (low, high) in spans.items():
        for offset, raw in enumerate(source.raws_after(author, low - 1, limit=high - low + 1)):
            held[(author, low + offset)] = decode_entry(raw)
    return held


def _first_difference(computed: Sequence[Effect], claimed: Sequence[Effect]) -> str:
    for i, (a, b) in enumerate(zip(computed, claimed, strict=False)):
        if a != b:
            return f"effect {i}: the rules give {a!r}, the block says {b!r}"
    return f"the rules give {len(computed)} effects, the block lists {len(claimed)}"


def build_block(
    state: CommuneState,
    key: SecretKey,
    time_ms: int,
    entries: Sequence[Entry],
    proofs: Sequence[ProofRef] = (),
) -> Block:
    """The next block, signed by `key`, taking in `entries` (in an order `order_entries` gives)
    and `proofs`; `state` is left with it applied, uncommitted."""
    time_ms = max(time_ms, state.time_ms)
    try:
        effects = _take_in_all(state, state.height + 1, time_ms, entries, proofs)
        header = Header(
            BLOCK_VERSION,
            state.commune,
            state.height,
            state.block_id,
            time_ms,
            tuple(EntryRef(e.author, e.seq, e.id) for e in entries),
            tuple(proofs),
            tuple(effects),
        )
        block = make_block(header, key)
        engine.end_block(state, block.id)
    except BaseException:
        state.rollback()
        raise
    return block


def pending_proofs(state: CommuneState, source: EntrySource) -> list[ProofRef]:
    """Proofs held that freeze a feed from earlier than the chain has it frozen."""
    frozen = state.tables["frozen"]
    found: list[ProofRef] = []
    positions: set[tuple[bytes, int]] = set()
    for kind, proofs in (("fork", source.fork_proofs()), ("bad_link", source.bad_link_proofs())):
        for proof in proofs:
            position = proof.check(state.commune)
            author, seq = position
            if frozen.get(author, seq + 1) > seq and position not in positions:
                positions.add(position)
                found.append(ProofRef(kind, proof.to_bytes()))
    return found


def pending_entries(
    state: CommuneState, source: EntrySource, time_ms: int, limit: int = MAX_BLOCK_ENTRIES
) -> list[Entry]:
    """The entries a steward's block would take in at `time_ms`: each feed's next verified
    entries up to that time, ordered by claimed time, then author and seq, each after the
    entries it refers to."""
    included = state.tables["included"]
    found: list[Entry] = []
    for author in sorted(source.frontier()):
        seq = included.get(author, 0) + 1
        last = source.valid_through(author)
        while seq <= last and len(found) < limit * 4:
            entry = source.get(author, seq)
            if entry is None or entry.time_ms > time_ms:
                break
            found.append(entry)
            seq += 1
    return order_entries(found)[:limit]


def order_entries(entries: Iterable[Entry]) -> list[Entry]:
    """Claimed-time order, ties by author and seq, with every entry after those it refers to
    (among `entries`) and after the entries before it in its own feed."""
    pending = sorted(entries, key=lambda e: (e.time_ms, e.author, e.seq))
    ids = {e.id for e in pending}
    done: set[bytes] = set()
    out: list[Entry] = []
    while pending:
        waiting: list[Entry] = []
        blocked: set[bytes] = set()  # authors with an earlier entry still waiting
        for e in pending:
            if e.author not in blocked and all(r in done or r not in ids for r in e.refs):
                out.append(e)
                done.add(e.id)
            else:
                waiting.append(e)
                blocked.add(e.author)
        if len(waiting) == len(pending):  # refs that cannot all be met: keep what order there is
            out.extend(waiting)
            break
        pending = waiting
    return out
