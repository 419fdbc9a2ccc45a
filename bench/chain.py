"""Chain benchmark: transfers applied per second by a node that checks the steward's blocks.

Founds a commune whose genesis lists M founders (default 10,000), funds every member (their
Deposit, the steward's ConfirmDeposit naming it), then signs T transfers between random members,
each naming the chain's tip when it was signed. The steward's node builds blocks of B entries;
the other node (the peer) holds every entry beforehand (ingested and verified, not timed) and
applies the blocks with `StateStore.apply_block(raw_block, entry_store)`: decode and check the
block, fetch its entries from the entry store, run the rules, compare the effects with the
block's, and commit the block, its postings and the changed rows to SQLite. Both nodes keep
their stores in files on disk (a temporary directory, removed afterwards).

The limit, measured in the same run, block by block in turn with the real thing (this machine's
speed drifts): a floor that does only what any node applying these transfers must do, with the
same entries and the same durability. For each block: decode each entry from its raw bytes
(`decode_entry`, as the peer's store would hand it over), refuse an overdraft, move the amount
between two balances in a dict, then in one SQLite transaction (WAL, synchronous=NORMAL, as the
state store; a checkpoint every WAL_CHECKPOINT_PAGES, as the entry store) insert the block's
postings into the state store's own postings table and index, and upsert the changed balances.
No block checks, no journal, no per-height credits, no entry store. `ratio` is applied / floor:
how much of the floor the chain keeps; the rest is what the design adds (and what could go).

The digest (the state hash nodes compare) is timed after the transfers, every table hashed,
median of 5, and set beside a one-pass floor: the same tables sorted, each encoded in one
msgspec call and hashed once.

Last line: RESULT applied_entries_per_s=<transfers/s> digest_ms_at_10k_members=<ms>.
Target (issue): applied_entries_per_s >= 5,000 on one core.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from commune.chain.genesis import make_genesis
from commune.core.clock import ManualClock
from commune.core.encoding import encode
from commune.core.keys import SecretKey
from commune.log.bodies import ConfirmDeposit, Deposit, Transfer
from commune.log.entry import ZERO_ID, decode_entry, entry_id_of, sign_entry
from commune.log.store import WAL_CHECKPOINT_PAGES, EntryStore
from commune.rules.charter import Charter
from commune.rules.effects import Refuse
from commune.rules.model import TABLES
from commune.state.digest import state_digest
from commune.state.store import StateStore

START_MS = 1_767_225_600_000
#: Claimed time between two blocks.
BLOCK_MS = 10_000
#: What each member deposits, in minor units: far more than their transfers spend.
FUNDS = 1_000_000
MAX_AMOUNT = 100


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


class Feeds:
    """Members' keys and the head (seq, id, time) of each feed, to sign entries directly."""

    def __init__(self, members: int) -> None:
        self.keys = [
            SecretKey(hashlib.blake2b(b"bench chain member %d" % i, digest_size=32).digest()) for i in range(members)
        ]
        self.heads: list[tuple[int, bytes]] = [(0, ZERO_ID)] * members

    def sign(self, i: int, commune: bytes, time_ms: int, chain_ref: bytes, body, refs=()) -> bytes:
        seq, prev = self.heads[i]
        raw = sign_entry(
            self.keys[i],
            commune=commune,
            seq=seq + 1,
            prev=prev,
            time_ms=time_ms,
            chain_ref=chain_ref,
            refs=refs,
            body=body,
        )
        self.heads[i] = (seq + 1, entry_id_of(raw))
        return raw


class Node:
    def __init__(self, directory: Path, genesis, clock: ManualClock) -> None:
        directory.mkdir()
        self.entries = EntryStore(directory / "entries.sqlite", genesis.commune_id, clock=clock)
        self.state = StateStore(directory / "state.sqlite", genesis)

    def close(self) -> None:
        self.entries.close()
        self.state.close()


def build(args, workdir: Path):
    """Both nodes, the funding blocks and the transfer blocks (raw, entries' raws), all held by the peer."""
    rng = random.Random(7)
    feeds = Feeds(args.members)
    steward = 0
    clock = ManualClock(START_MS)
    genesis = make_genesis(
        Charter(name="Bench Commune", currency="EUR"),
        START_MS,
        [(k.public, f"member {i}") for i, k in enumerate(feeds.keys)],
        feeds.keys[steward].public,
    )
    commune = genesis.commune_id
    stew, peer = Node(workdir / "steward", genesis, clock), Node(workdir / "peer", genesis, clock)
    tip_id, tip_ms = commune, START_MS

    def block(batches: list[list[bytes]]) -> tuple[bytes, list[bytes]]:
        """Ingest `batches` on both nodes (in turn: a batch may refer to the one before), then
        the steward builds the next block of them."""
        nonlocal tip_id, tip_ms
        tip_ms += BLOCK_MS
        clock.set(tip_ms)
        entries = []
        for raws in batches:
            entries += stew.entries.ingest(raws).stored
            assert len(peer.entries.ingest(raws).stored) == len(raws)
        assert len(entries) == sum(map(len, batches))
        made = stew.state.propose_block(feeds.keys[steward], stew.entries, tip_ms, entries=entries)
        refused = [e for e in made.decoded().effects if isinstance(e, Refuse)]
        assert not refused, f"the fixture has refused entries: {refused[:3]}"
        tip_id = made.id
        return made.to_bytes(), [raw for raws in batches for raw in raws]

    funding: list[tuple[bytes, list[bytes]]] = []
    half = max(1, args.block // 2)
    for start in range(0, args.members, half):
        t = tip_ms + 1
        deposits = [
            feeds.sign(i, commune, t, tip_id, Deposit(feeds.keys[i].public, FUNDS))
            for i in range(start, min(start + half, args.members))
        ]
        confirms = [
            feeds.sign(steward, commune, t, tip_id, ConfirmDeposit(entry_id_of(raw), FUNDS), refs=(entry_id_of(raw),))
            for raw in deposits
        ]
        funding.append(block([deposits, confirms]))

    transfers: list[tuple[bytes, list[bytes]]] = []
    for start in range(0, args.transfers, args.block):
        t = tip_ms + 1
        raws = []
        for _ in range(min(args.block, args.transfers - start)):
            payer = rng.randrange(args.members)
            payee = rng.randrange(args.members - 1)
            payee += payee >= payer
            body = Transfer(feeds.keys[payee].public, rng.randint(1, MAX_AMOUNT), "bench")
            raws.append(feeds.sign(payer, commune, t, tip_id, body))
        transfers.append(block([raws]))
    return stew, peer, funding, transfers


class Floor:
    """The floor (see the module doc): decode, a dict ledger, one SQLite transaction per block."""

    def __init__(self, path: Path, members: list[bytes]) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        self.db.executescript(
            "CREATE TABLE postings (height INTEGER NOT NULL, txn INTEGER NOT NULL, line INTEGER NOT NULL,"
            " account TEXT NOT NULL, amount INTEGER NOT NULL, memo TEXT NOT NULL,"
            " PRIMARY KEY (height, txn, line)) WITHOUT ROWID;"
            "CREATE INDEX postings_by_account ON postings (account, height);"
            "CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL) WITHOUT ROWID;"
        )
        self.balances = {"p:" + m.hex(): -FUNDS for m in members}
        self.height = 0

    def apply(self, raws: list[bytes]) -> None:
        self.height += 1
        balances = self.balances
        lines = []
        changed = set()
        for txn, raw in enumerate(raws):
            entry = decode_entry(raw)
            body = entry.body
            payer, payee, amount = "p:" + entry.payload.author.hex(), "p:" + body.to.hex(), body.amount
            if -balances[payer] < amount:
                raise ValueError(f"overdraft: {payer}")
            balances[payer] += amount
            balances[payee] -= amount
            lines.append((self.height, txn, 0, payer, amount, body.memo))
            lines.append((self.height, txn, 1, payee, -amount, body.memo))
            changed.add(payer)
            changed.add(payee)
        db = self.db
        db.execute("BEGIN")
        db.executemany("INSERT INTO postings VALUES (?, ?, ?, ?, ?, ?)", lines)
        db.executemany("INSERT OR REPLACE INTO balances VALUES (?, ?)", [(a, balances[a]) for a in changed])
        db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


def digest_floor(state) -> bytes:
    h = hashlib.blake2b(digest_size=32)
    for name in TABLES:
        h.update(hashlib.blake2b(encode(sorted(state.tables[name].items())), digest_size=32).digest())
    return h.digest()


def median_ms(fn, times: int = 5) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--transfers", type=int, default=50_000)
    parser.add_argument("--block", type=int, default=1_000, help="entries per block (at most 10,000)")
    parser.add_argument("--profile", action="store_true", help="also profile the block application (slows it)")
    args = parser.parse_args()
    pin_one_core()

    with tempfile.TemporaryDirectory(prefix="commune-bench-") as tmp:
        workdir = Path(tmp)
        t = time.perf_counter()
        stew, peer, funding, transfers = build(args, workdir)
        print(
            f"built {args.members:,} members, {len(funding)} funding blocks and {len(transfers)} blocks of "
            f"{args.block:,} transfers ({args.transfers:,}) on the steward's node in {time.perf_counter() - t:.1f} s"
        )
        t = time.perf_counter()
        for raw, _ in funding:
            peer.state.apply_block(raw, peer.entries)
        print(f"peer applied the funding blocks ({2 * args.members:,} entries) in {time.perf_counter() - t:.1f} s")

        floor = Floor(workdir / "floor.sqlite", [k for k in peer.state.state.tables["members"]])
        profiler = cProfile.Profile() if args.profile else None
        t_apply = t_floor = 0.0
        after_block_ms: list[float] = []
        for raw, raws in transfers:
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            peer.state.apply_block(raw, peer.entries)
            if profiler:
                profiler.disable()
            t_apply += time.perf_counter() - start
            start = time.perf_counter()
            peer.state.digest()  # what a node does after each block to compare with its peers
            after_block_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            floor.apply(raws)
            t_floor += time.perf_counter() - start
        floor.close()
        assert peer.state.height == stew.state.height
        assert peer.state.digest() == stew.state.digest(), "the peer's state differs from the steward's"
        applied, floor_rate = args.transfers / t_apply, args.transfers / t_floor

        state = peer.state.state
        rows = sum(len(rows) for rows in state.tables.values())
        members = len(state.tables["members"])
        digest_ms = median_ms(lambda: state_digest(state))  # every table hashed, nothing cached
        digest_floor_ms = median_ms(lambda: digest_floor(state))
        stew.close()
        peer.close()

    print(f"floor: decode + dict ledger + SQLite commit: {floor_rate:>9,.0f} transfers/s   (the limit)")
    print(
        f"peer apply_block:                            {applied:>9,.0f} transfers/s   ratio {applied / floor_rate:.3f}"
        f"   ({1e6 / applied:.0f} us/entry; target >= 5,000/s)"
    )
    print(
        f"state digest at {members:,} members ({rows:,} rows): {digest_ms:8.1f} ms   "
        f"one-pass floor {digest_floor_ms:.1f} ms   ratio {digest_floor_ms / digest_ms:.3f}"
    )
    print(
        f"state digest after each block (tables the block did not change are not rehashed): "
        f"median {statistics.median(after_block_ms[1:]):.1f} ms"
    )
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    print(f"RESULT applied_entries_per_s={applied:.0f} digest_ms_at_10k_members={digest_ms:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
