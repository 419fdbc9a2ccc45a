"""An in-process commune: several nodes, each with its own entry store and state store.

Used by tests, benchmarks and the demo to drive the real log, rules, chain and state without a
network: a person acts on their home node (a signed entry in their feed, naming the chain
block their node has seen), the steward's node builds blocks, and `sync` copies what one node
holds and another lacks, as the network layer will.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from commune.chain.block import Block
from commune.chain.genesis import Genesis, make_genesis
from commune.chain.refusal import BlockPending
from commune.core.clock import Clock, ManualClock
from commune.core.keys import SecretKey
from commune.log.bodies import Body
from commune.log.entry import Entry
from commune.log.feed import FeedWriter
from commune.log.refusal import Reason, Refused
from commune.log.store import EntryStore
from commune.rules.charter import Charter
from commune.state.store import StateStore

#: 2026-01-01T00:00:00Z, where simulated time starts unless told otherwise.
START_MS = 1_767_225_600_000


def key_of(name: str) -> SecretKey:
    """A deterministic key per name, so runs reproduce."""
    return SecretKey(hashlib.blake2b(b"commune sim " + name.encode(), digest_size=32).digest())


@dataclass
class SimNode:
    name: str
    entries: EntryStore
    state: StateStore
    writers: dict[bytes, FeedWriter] = field(default_factory=dict)

    def close(self) -> None:
        self.entries.close()
        self.state.close()


class World:
    """A commune founded by `founders` (names), with `enterprises` (name -> signer names).

    Each node keeps its stores under `directory`/<node name>, or in memory if `directory` is None.
    """

    def __init__(
        self,
        directory: str | Path | None,
        founders: list[str],
        *,
        enterprises: dict[str, list[str]] | None = None,
        steward: str | None = None,
        charter: Charter | None = None,
        clock: Clock | None = None,
        nodes: list[str] | None = None,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.clock = clock or ManualClock(START_MS)
        self.keys: dict[str, SecretKey] = {}
        for name in founders:
            self.key(name)
        charter = charter or Charter(name="Test Commune", currency="EUR")
        ents = enterprises or {}
        self.genesis: Genesis = make_genesis(
            charter,
            self.clock.now_ms(),
            [(self.key(n).public, n) for n in founders],
            self.key(steward or founders[0]).public,
            [(name, [self.key(s).public for s in signers], 1) for name, signers in ents.items()],
        )
        self.commune = self.genesis.commune_id
        self.enterprise_ids = dict(zip(ents, self.genesis.enterprise_ids(), strict=False))
        self.steward = steward or founders[0]
        #: The node that builds blocks, with the key of whoever is steward now.
        self.steward_node = self.steward
        self.nodes: dict[str, SimNode] = {}
        for name in nodes or [self.steward_node]:
            self.add_node(name)
        #: Which node each person acts on (their home node).
        self.home: dict[str, str] = {}

    def key(self, name: str) -> SecretKey:
        if name not in self.keys:
            self.keys[name] = key_of(name)
        return self.keys[name]

    def pub(self, name: str) -> bytes:
        return self.key(name).public

    def add_node(self, name: str) -> SimNode:
        if self.directory is None:  # in memory: for thousands of quick schedules
            entries_path: str | Path = ":memory:"
            state_path: str | Path = ":memory:"
        else:
            path = self.directory / name
            path.mkdir(parents=True, exist_ok=True)
            entries_path, state_path = path / "entries.sqlite", path / "state.sqlite"
        node = SimNode(
            name,
            EntryStore(entries_path, self.commune, clock=self.clock),
            StateStore(state_path, self.genesis),
        )
        self.nodes[name] = node
        return node

    def node_of(self, person: str) -> SimNode:
        default = self.steward_node if self.steward_node in self.nodes else next(iter(self.nodes))
        return self.nodes[self.home.get(person, default)]

    def act(self, person: str, body: Body, refs: tuple[bytes, ...] = (), node: str | None = None) -> Entry:
        """`person` signs `body` into their feed on their home node (or `node`)."""
        sim = self.nodes[node] if node else self.node_of(person)
        key = self.key(person)
        writer = sim.writers.get(key.public)
        if writer is None:
            writer = sim.writers[key.public] = FeedWriter(sim.entries, key)
        return writer.append(body, refs=refs, chain_ref=sim.state.state.block_id)

    def block(self, node: str | None = None) -> Block:
        """The steward's node builds and keeps the next block from what it holds."""
        sim = self.nodes[node or self.steward_node]
        return sim.state.propose_block(self.key(self.steward), sim.entries, self.clock.now_ms())

    def sync(self, source: str, target: str, *, blocks: bool = True) -> int:
        """Copy to `target` the entries (and blocks, unless told not to) `source` holds and it
        lacks; apply the blocks. Returns how many entries were stored."""
        src, dst = self.nodes[source], self.nodes[target]
        moved = 0
        # Feeds refer to each other (a confirmation names a deposit): a feed whose next entry
        # refers to one not yet held waits for the next round.
        progress = True
        while progress:
            progress = False
            have = dst.entries.frontier()
            for author, last in src.entries.frontier().items():
                after = have.get(author, 0)
                while after < last:
                    raws = src.entries.raws_after(author, after, limit=1000)
                    try:
                        stored = len(dst.entries.ingest(raws).stored)
                    except Refused as refused:
                        if refused.reason != Reason.MISSING_REF:
                            raise
                        # Store what comes before the entry that waits; the rest next round.
                        stored = len(dst.entries.ingest(raws[: refused.index]).stored) if refused.index else 0
                        moved += stored
                        progress = progress or stored > 0
                        break
                    moved += stored
                    progress = progress or stored > 0
                    after += len(raws)
        for proof in src.entries.fork_proofs() + src.entries.bad_link_proofs():
            dst.entries.add_proof(proof)
        for raw in src.state.blocks_after(dst.state.height, limit=10_000) if blocks else ():
            try:
                dst.state.apply_block(raw, dst.entries, self.clock.now_ms())
            except BlockPending:
                break
        return moved

    def everyone_synced(self) -> None:
        """Bring every node up to the steward's node and back."""
        names = list(self.nodes)
        for _ in range(2):
            for a in names:
                for b in names:
                    if a != b:
                        self.sync(a, b)

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()
