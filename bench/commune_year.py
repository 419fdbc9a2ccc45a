"""Commune-year benchmark: a year of the common stock through the real rules and chain, and
whether settling a period grows with the number of members (DESIGN 7).

A commune is founded with M founder members (the genesis lists them all; entries are signed
directly with `sign_entry` and ingested in batches, as bench/chain.py does). E enterprises
(each one member signing) ask for A assets between them with rental offers (price P in N bonds
of 1,000.00, terms of 6 to 120 months, rent that funds the price at about 8 % a year, costs of
50.00 a month); B members fund their accounts and bid (about K bids an asset, for 30 % of the
bonds each, at 3 % to 7.5 % a year); the enterprises fund the year's rent. In period 1 the
steward's node takes in the offers, the bids and, at the deadline, clears all A auctions; it
confirms the purchases. Then a year of 12 monthly periods (2 to 13; `--periods`): every
asset's rent is paid, a few members spend their dividends, and the first block past the
period's end settles it: debt service of every asset split to its holders, the surplus (charter: to the dividend
pool, by default) and the redeemed assets' net rent into the pool, and the equal dividend to
every member (a per-share index: no member's row is touched). Every block is built by the
steward's node with `StateStore.propose_block` on SQLite files in a temporary directory
(`--memory`: in memory; `--peer`: a second node checks and applies every block, as any
member's node does, and its time to apply the settlement block is printed too).

The settlement block (the one that settles a period) is timed as the steward's node builds and
keeps it: run the rules, sign, write the block, its postings and changed rows in one SQLite
transaction. Three communes with the same assets, bids and rents (the same random seed) and
different numbers of members live side by side in the process: 100 members (the limit, measured
in the same run: settling the same assets with almost no members), 1,000 and M (10,000 by
default). They run period by period in turn, who goes first rotating, so the machine's drift
and the order of work fall on all alike; each figure is the median of the `--periods` rent
periods. The target (issue 4) is M / 1,000 members within 1.5x; the ratio to the limit shows
what members cost at all. One more period is then settled under cProfile at M members and its
top functions printed, with the share of the one that takes the most own time: what dominates.

What dominated when this was written (1,000 assets, 4,127 holdings): `rent._to_holders`
finding each asset's holders by scanning the whole holdings table (rent.py, the generator in
`_to_holders`), about half of the block; so settlement does not grow with members, but grows
with assets × holdings, i.e. with the square of the stock (250 / 500 / 1,000 / 2,000 assets:
about 70 / 230 / 500 / 1,600 ms). The clearing block has the same shape (`stock.clear` scans
every bid for each offer).

Last line: RESULT settle_ms_1k_members=<a> settle_ms_10k_members=<b> year_s=<c>
(b is at M members; year_s is the M-member commune's own time from founding to the end of its
last period, everything included: signing, ingest, blocks; the other communes' turns are not
counted). Scale down with --members (at least 1,000), --assets, --periods, --memory.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from commune.chain.genesis import make_genesis
from commune.core.clock import ManualClock
from commune.core.keys import SecretKey
from commune.log.bodies import Bid, ConfirmDeposit, ConfirmPayment, Deposit, Offer, PayRent, Transfer
from commune.log.entry import ZERO_ID, entry_id_of, sign_entry
from commune.log.store import EntryStore
from commune.rules import accounts
from commune.rules.amortization import level_payment, payment_to_minor
from commune.rules.charter import DAY_MS, MONTH_MS, SURPLUS_POLICIES, Charter
from commune.rules.effects import ClearAuction, PayDividend, Refuse, SettleAsset
from commune.rules.invariants import violations
from commune.state.store import StateStore

START_MS = 1_767_225_600_000
FACE = 1_000_00
COSTS = 50_00
#: The annual rate the rents are set to fund (the reserve rate is a little above it).
RENT_RATE = Fraction(8, 100)
TERMS = (6, 12, 60, 120, 120, 120)
YEAR = 12


@dataclass
class AssetPlan:
    enterprise: int
    bonds: int
    term: int
    rent: int
    #: (bidder index, quantity, annual rate) of each bid.
    bids: list[tuple[int, int, Fraction]] = field(default_factory=list)


def plan(args, seed: int = 11) -> list[AssetPlan]:
    """The assets, their rents and their bids: the same for every commune of the run."""
    rng = random.Random(seed)
    assets = []
    for i in range(args.assets):
        bonds = rng.choice((50, 100, 200))
        term = rng.choice(TERMS)
        net = payment_to_minor(level_payment(bonds * FACE, RENT_RATE / 12, term))
        a = AssetPlan(i % args.enterprises, bonds, term, net + COSTS + rng.randrange(0, 50_00))
        bidders = rng.sample(range(args.bidders), min(args.bids_per_asset, args.bidders))
        for b in bidders:
            a.bids.append((b, max(1, bonds * 3 // 10), Fraction(rng.randrange(12, 31), 400)))  # 3 % .. 7.5 %
        if sum(q for _, q, _ in a.bids) < bonds:  # few bidders: the first asks for what is missing
            b, q, r = a.bids[0]
            a.bids[0] = (b, q + bonds - sum(q for _, q, _ in a.bids), r)
        assets.append(a)
    return assets


class Feeds:
    """Members' keys and the head of each feed, to sign entries directly."""

    def __init__(self, members: int) -> None:
        self.keys = [
            SecretKey(hashlib.blake2b(b"bench year member %d" % i, digest_size=32).digest()) for i in range(members)
        ]
        self.heads: dict[int, tuple[int, bytes]] = {}

    def sign(self, i: int, commune: bytes, time_ms: int, chain_ref: bytes, body, refs=()) -> bytes:
        seq, prev = self.heads.get(i, (0, ZERO_ID))
        raw = sign_entry(
            self.keys[i], commune=commune, seq=seq + 1, prev=prev, time_ms=time_ms, chain_ref=chain_ref,
            refs=refs, body=body,
        )  # fmt: skip
        self.heads[i] = (seq + 1, entry_id_of(raw))
        return raw


class Node:
    def __init__(self, directory: Path | None, genesis, clock: ManualClock) -> None:
        if directory is None:
            entries, state = ":memory:", ":memory:"
        else:
            directory.mkdir(parents=True)
            entries, state = directory / "entries.sqlite", directory / "state.sqlite"
        self.entries = EntryStore(entries, genesis.commune_id, clock=clock)
        self.state = StateStore(state, genesis)

    def close(self) -> None:
        self.entries.close()
        self.state.close()


@dataclass
class Timings:
    members: int
    #: Period -> ms to build and keep its settlement block (steward), and to apply it (peer).
    settle_ms: dict[int, float] = field(default_factory=dict)
    peer_settle_ms: dict[int, float] = field(default_factory=dict)
    clear_ms: float = 0.0
    wall_s: float = 0.0
    blocks: int = 0
    entries: int = 0
    profile: str = ""


class Commune:
    """One commune of the run, with its steward's node (and the peer's, with --peer)."""

    STEWARD = 0

    def __init__(self, args, members: int, assets: list[AssetPlan], workdir: Path | None) -> None:
        if members <= max(args.enterprises, args.bidders):
            raise SystemExit(f"--members must be more than the enterprises and the bidders ({members})")
        self.args = args
        self.assets = assets
        self.feeds = Feeds(members)
        self.clock = ManualClock(START_MS)
        # Enterprise j is signed for by member 1 + j; the bidders are members 1 .. B.
        self.signer = [1 + j for j in range(args.enterprises)]
        self.bidder = [1 + b for b in range(args.bidders)]
        charter = Charter(name="Year Commune", currency="EUR", surplus_policy=args.surplus_policy)
        keys = self.feeds.keys
        self.genesis = make_genesis(
            charter,
            START_MS,
            [(k.public, f"member {i}") for i, k in enumerate(keys)],
            keys[self.STEWARD].public,
            [(f"enterprise {j}", [keys[s].public], 1) for j, s in enumerate(self.signer)],
        )
        self.commune = self.genesis.commune_id
        self.enterprise_ids = self.genesis.enterprise_ids()
        sub = (lambda name: workdir / name) if workdir is not None else (lambda name: None)
        self.steward = Node(sub("steward"), self.genesis, self.clock)
        self.peer = Node(sub("peer"), self.genesis, self.clock) if args.peer else None
        self.tip_id, self.tip_ms = self.commune, START_MS
        self.offer_ids: list[bytes] = []
        self.timings = Timings(members)
        self.rng = random.Random(5)

    def close(self) -> None:
        self.steward.close()
        if self.peer:
            self.peer.close()

    @property
    def state(self):
        return self.steward.state.state

    def period_end(self, period: int) -> int:
        return START_MS + period * MONTH_MS

    def sign(self, i: int, body, refs=()) -> bytes:
        return self.feeds.sign(i, self.commune, self.tip_ms + 1, self.tip_id, body, refs)

    def block(self, batches: list[list[bytes]], at_ms: int | None = None) -> tuple[float, float, object]:
        """Ingest `batches` (in turn: one may refer to the one before), then the steward builds the
        next block of them at `at_ms` (or just after the tip). Returns the ms the steward took to
        build and keep it, the ms the peer took to apply it, and the block's header."""
        self.tip_ms = max(at_ms or 0, self.tip_ms + 1_000)
        self.clock.set(self.tip_ms)
        entries = []
        for raws in batches:
            entries += self.steward.entries.ingest(raws).stored
            if self.peer:
                self.peer.entries.ingest(raws)
        assert len(entries) == sum(map(len, batches))
        start = time.perf_counter()
        made = self.steward.state.propose_block(
            self.feeds.keys[self.STEWARD], self.steward.entries, self.tip_ms, entries
        )
        built_ms = (time.perf_counter() - start) * 1000
        peer_ms = 0.0
        if self.peer:
            raw = made.to_bytes()
            start = time.perf_counter()
            self.peer.state.apply_block(raw, self.peer.entries)
            peer_ms = (time.perf_counter() - start) * 1000
        header = made.decoded()
        refused = [e for e in header.effects if isinstance(e, Refuse)]
        assert not refused, f"the benchmark's entries were refused: {refused[:3]}"
        self.tip_id = made.id
        self.timings.blocks += 1
        self.timings.entries += len(entries)
        return built_ms, peer_ms, header

    # -- the founding month ----------------------------------------------------------------

    def found(self) -> None:
        """Period 1: funding, offers, bids, the clearing of every auction, the purchases paid."""
        args, assets = self.args, self.assets
        escrow = [0] * args.bidders
        for a in assets:
            for b, q, _ in a.bids:
                escrow[b] += q * FACE
        rent = [0] * args.enterprises
        for a in assets:
            rent[a.enterprise] += a.rent * (args.periods + 3)  # a month ahead, the year, the profiled one
        deposits, keys = [], self.feeds.keys
        for b, amount in enumerate(escrow):
            if amount:
                deposits.append(self.sign(self.bidder[b], Deposit(keys[self.bidder[b]].public, amount)))
        for j, amount in enumerate(rent):
            if amount:
                deposits.append(self.sign(self.signer[j], Deposit(self.enterprise_ids[j], amount)))
        confirms = [
            self.sign(self.STEWARD, ConfirmDeposit(entry_id_of(raw), amount), refs=(entry_id_of(raw),))
            for raw, amount in zip(deposits, [x for x in escrow if x] + [x for x in rent if x], strict=True)
        ]
        self.block([deposits, confirms])

        deadline = self.tip_ms + 7 * DAY_MS
        offers = []
        for i, a in enumerate(assets):
            body = Offer(
                renter=self.enterprise_ids[a.enterprise],
                description=f"asset {i}",
                price=a.bonds * FACE,
                rent=a.rent,
                costs=COSTS,
                lease_periods=a.term + args.periods + 2,  # no lease ends within the run
                term_periods=a.term,
                bonds=a.bonds,
                vendor_payee=f"vendor {i}",
                valuation=hashlib.blake2b(b"valuation %d" % i, digest_size=32).digest(),
                deadline_ms=deadline,
            )
            offers.append(self.sign(self.signer[a.enterprise], body))
        self.offer_ids = [entry_id_of(raw) for raw in offers]
        self.block([offers])

        bids = []
        for oid, a in zip(self.offer_ids, assets, strict=True):
            for b, q, rate in a.bids:
                bids.append(self.sign(self.bidder[b], Bid(oid, q, rate.numerator, rate.denominator)))
        for start in range(0, len(bids), 10_000):
            self.block([bids[start : start + 10_000]])

        built, _, header = self.block([], at_ms=deadline + 1)
        self.timings.clear_ms = built
        cleared = [e for e in header.effects if isinstance(e, ClearAuction)]
        assert len(cleared) == len(assets) and all(e.outcome == "cleared" for e in cleared)

        paid = [self.sign(self.STEWARD, ConfirmPayment(oid, "paid"), refs=(oid,)) for oid in self.offer_ids]
        self.block([paid])

    # -- a month ---------------------------------------------------------------------------

    def month(self, period: int, profile: bool = False) -> None:
        """Rent for every asset, a few members spend their dividends, then the settlement block."""
        self.block([[self.sign(self.signer[a.enterprise], PayRent(oid, a.rent)) for oid, a in self._rented()]])
        spends = []
        members = len(self.feeds.keys)
        others = range(1 + max(self.args.enterprises, self.args.bidders), members)
        for i in self.rng.sample(others, min(self.args.spenders, len(others))):
            owed = self.state.untaken_dividends(self.feeds.keys[i].public)
            if owed:
                spends.append(self.sign(i, Transfer(self.enterprise_ids[0], owed, "bread")))
        if spends:
            self.block([spends])
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        built, peer_ms, header = self.block([], at_ms=self.period_end(period) + 1)
        if profiler:
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(10)
            (file, line, name), row = max(stats.stats.items(), key=lambda item: item[1][2])
            lines = [text for text in out.getvalue().splitlines() if text.strip() and "reduced" not in text]
            lines.append(
                f"the most own time: {Path(file).name}:{line}({name}), {row[2] / stats.total_tt:.0%} of the block's "
                f"{stats.total_tt * 1000:.0f} ms under the profiler, in {row[1]:,} calls"
            )
            self.timings.profile = "\n".join(lines)
        settled = [e for e in header.effects if isinstance(e, SettleAsset)]
        dividends = [e for e in header.effects if isinstance(e, PayDividend)]
        assert [d.period for d in dividends] == [period] and dividends[0].members == members
        # The rentals start in period 2: the founding month settles no asset.
        assert len(settled) == (len(self.assets) if period >= 2 else 0)
        assert all(s.outcome != "missed" for s in settled)
        self.timings.settle_ms[period] = built
        self.timings.peer_settle_ms[period] = peer_ms

    def _rented(self):
        assets = self.state.tables["assets"]
        return [(oid, a) for oid, a in zip(self.offer_ids, self.assets, strict=True) if assets[oid].state != "failed"]

    def check(self) -> None:
        """After the run: the invariants hold (they read every member: not timed), the peer agrees."""
        assert violations(self.state) == []
        if self.peer:
            assert self.peer.state.digest() == self.steward.state.digest()


def report(c: Commune) -> None:
    t = c.timings
    index = c.state.dividend_index
    redeemed = sum(1 for a in c.state.tables["assets"].values() if a.state == "redeemed")
    print(
        f"  {t.members:>7,} members: {len(c.assets):,} auctions cleared (clearing block {t.clear_ms:,.0f} ms), "
        f"{len(c.state.tables['holdings']):,} holdings, {len(t.settle_ms) - 1} periods of rent, {t.blocks} blocks, "
        f"{t.entries:,} entries, "
        f"{t.wall_s:.1f} s; dividend index {index / 100:,.2f} EUR a member, "
        f"{c.state.claim(accounts.DIVIDEND_POOL)} cents carried, {redeemed} assets redeemed"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000, help="members of the big commune")
    parser.add_argument("--assets", type=int, default=1_000)
    parser.add_argument("--periods", type=int, default=YEAR, help="periods of rent (a year: 12)")
    parser.add_argument("--enterprises", type=int, default=50, help="enterprises renting the assets")
    parser.add_argument("--bidders", type=int, default=80, help="members who fund themselves and bid")
    parser.add_argument("--bids-per-asset", type=int, default=5)
    parser.add_argument("--spenders", type=int, default=50, help="members who spend their dividends each month")
    parser.add_argument("--surplus-policy", choices=SURPLUS_POLICIES, default="dividend")
    parser.add_argument("--limit-members", type=int, default=100, help="members of the limit commune")
    parser.add_argument("--memory", action="store_true", help="keep the stores in memory, not in files")
    parser.add_argument("--peer", action="store_true", help="a second node checks and applies every block")
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled settlement")
    args = parser.parse_args()
    if args.members < 1_000:
        parser.error("--members must be at least 1,000 (the commune compared with is 1,000 members)")
    if args.limit_members <= max(args.enterprises, args.bidders):
        parser.error("--limit-members must be more than the enterprises and the bidders")
    assets = plan(args)
    print(
        f"{args.assets:,} assets rented by {args.enterprises} enterprises, {sum(len(a.bids) for a in assets):,} bids "
        f"by {args.bidders} members; surplus policy {args.surplus_policy}; stores "
        f"{'in memory' if args.memory else 'in SQLite files'}{'; a peer applies every block' if args.peer else ''}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="commune-year-") as tmp:
        communes: list[Commune] = []
        try:
            for n, members in enumerate((args.limit_members, 1_000, args.members)):
                workdir = None if args.memory else Path(tmp) / f"commune-{n}"
                start = time.perf_counter()
                c = Commune(args, members, assets, workdir)
                communes.append(c)
                c.found()
                c.timings.wall_s += time.perf_counter() - start
                print(f"  founded the commune of {members:,} members in {c.timings.wall_s:.1f} s", flush=True)
            # Period by period, each commune in turn (who goes first rotating), so drift of the
            # machine's speed and the order of work fall on all alike.
            for period in range(1, 2 + args.periods):
                turn = period % len(communes)
                for c in communes[turn:] + communes[:turn]:
                    start = time.perf_counter()
                    c.month(period)  # period 1, the founding month, settles no rent
                    c.timings.wall_s += time.perf_counter() - start
            for c in communes:
                report(c)
            limit, small, big = (c.timings for c in communes)
            if not args.no_profile:
                communes[-1].month(2 + args.periods, profile=True)
            for c in communes:
                c.check()
        finally:
            for c in communes:
                c.close()
    rent_periods = range(2, 2 + args.periods)
    a, b, floor = (median_ms(t, rent_periods) for t in (small, big, limit))
    print()
    print(f"settlement block (the steward's node builds and keeps it: {args.assets:,} assets' debt service and")
    print(f"the dividend), median of the {args.periods} rent periods, the three communes in turn:")
    print(f"  {limit.members:>7,} members: {floor:8.1f} ms   (the limit: the same assets, almost no members)")
    print(f"  {small.members:>7,} members: {a:8.1f} ms   ratio to the limit {a / floor:.2f}")
    print(
        f"  {big.members:>7,} members: {b:8.1f} ms   ratio to the limit {b / floor:.2f}; "
        f"{big.members:,} / 1,000 members: {b / a:.2f} (target <= 1.5)"
    )
    spread = [big.settle_ms[p] for p in rent_periods]
    print(f"  at {big.members:,} members: min {min(spread):.1f} ms, max {max(spread):.1f} ms over the periods")
    if args.peer:
        peer = [median_ms(t, rent_periods, peer=True) for t in (limit, small, big)]
        print(
            f"  a peer checking and applying it: {peer[0]:.1f} / {peer[1]:.1f} / {peer[2]:.1f} ms "
            f"at {limit.members:,} / {small.members:,} / {big.members:,} members"
        )
    if big.profile:
        print()
        print(f"one more settlement block at {big.members:,} members under cProfile, by own time:")
        print(big.profile)
    print()
    print(f"RESULT settle_ms_1k_members={a:.1f} settle_ms_10k_members={b:.1f} year_s={big.wall_s:.1f}")
    return 0


def median_ms(t: Timings, periods: range, peer: bool = False) -> float:
    figures = t.peer_settle_ms if peer else t.settle_ms
    return statistics.median(figures[p] for p in periods)


if __name__ == "__main__":
    sys.exit(main())
