"""Properties of the common stock through the real chain (rules 7-14, 18, 22), by hypothesis.

Each example founds a commune in memory (`World` with no directory) and drives it block by
block, as people would: random rental offers (price as bonds × face value, rents that can or
cannot fund the price, costs, bond terms of 1 to 24 periods), random sealed bids (quantities,
rates below, at and above the reserve rate, bidders with and without money), bid withdrawals,
auctions cleared at their deadline, the vendor paid through the bank, rent paid in full, not at
all, in part or ahead, over a random number of periods (sometimes two settled by one block),
cash withdrawals, and two newcomers admitted on the charter's probation. Rentals end as rules
15-17 say: by default after the grace, by notice, at the lease's end; members bid to re-let the
asset; after the charter's rounds it is liquidated and the steward confirms a sale. The charter's
surplus policy, series reserve, probation, grace, re-letting rounds and period length are drawn
from the charter's choices.

The test keeps its own account of what it did and checks the chain against it after every block:

- every entry it signed is taken in, refused for exactly the reason it expected or not at all;
- `violations(state) == []`: the ledger balances, bank = claims + own funds, no claim below
  zero, dividends owed == the members' undrawn dividends;
- no minor unit is created or lost: the bank holds exactly the deposits the steward confirmed
  less the payments the steward confirmed, as the test counted them;
- escrow holds exactly the open bids' quantity × face value, so zero once every auction closed;
- a clearing has the rate and fills of the test's own uniform-price auction (rule 10), and the
  fills of a cleared auction, like the holdings registered, sum to exactly the bond count;
- each period's settlement of an asset takes the rent exactly when the asset's account holds
  a period's rent beyond its reserve, settles every period of a rental once and in order, and
  the account then holds what was paid less the rents taken (plus the series reserve); the
  rental ends when, and for the reason, the test expects, and rent held unconsumed then, if it
  leaves the account, goes back whole to the renter; a re-letting round goes to the valid bid
  of highest present value; a liquidation pays its account and the sale down the waterfall
  (sale costs, the holders' principal and a period's interest, the pool) and empties the
  account, touching no other asset's;
- a series' outstanding principal never goes below zero nor up, and a series is redeemed, with
  exactly zero outstanding, by the T-th settlement that took its rent (so a series whose rent
  is always paid is redeemed within its term), or ends at zero in liquidation;
- every dividend is equal: members on the record for the same periods have the same undrawn
  dividends (founders who never spend: the whole index; the two newcomers: the same amount),
  each settlement pays the members the test expects to be on the record, and carries less than
  one unit per member;
- at the end a second node that replays the chain reaches the same state digest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commune.log.bodies import (
    Accept,
    Attest,
    Bid,
    ConfirmDeposit,
    ConfirmPayment,
    ConfirmSale,
    Deposit,
    GiveNotice,
    Offer,
    PayRent,
    RegisterInvestor,
    ReletBid,
    RetryOffer,
    Withdraw,
    WithdrawBid,
    WithdrawOffer,
)
from commune.rules import accounts
from commune.rules.charter import DAY_MS, MONTH_MS, SURPLUS_POLICIES, Charter
from commune.rules.effects import (
    ClearAuction,
    Effect,
    FinishLiquidation,
    OpenReletting,
    PayArrears,
    PayDividend,
    Post,
    Refuse,
    Relet,
    ReletFailed,
    ReturnAsset,
    SettleAsset,
)
from commune.rules.invariants import bank_equation, violations
from commune.rules.model import CommuneState
from commune.rules.reserve_rate import OfferCannotFund, reserve_rate
from commune.sim.world import World
from commune.state.reports import income_statement

FOUNDERS = ["ana", "ben", "cy", "m1", "m2", "m3"]
#: Founders who never act: their dividends are never drawn, so their undrawn dividends are
#: the whole dividend index.
IDLE = ("m1", "m2", "m3")
#: Admitted together through the workshop; they never spend either.
NEWCOMERS = ("dee", "eve")
ENTERPRISES = {"bakery": ["ana"], "workshop": ["ben"]}
INVESTORS = ("ivy", "joe")
#: Who bids: ana, cy and ivy are funded (sometimes); ben has only his dividends; joe has nothing.
BIDDERS = ("ana", "cy", "ivy", "ben", "joe")
FUNDED = ("ana", "cy", "ivy")
RENT_KINDS = ("full", "full", "full", "none", "partial", "ahead")

HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]


@dataclass
class BidModel:
    offer: bytes
    bidder: str
    quantity: int
    rate: Fraction
    order: int
    open: bool = True


@dataclass
class AssetModel:
    price: int
    bonds: int
    face: int
    rent: int
    costs: int
    term: int
    lease: int
    renter: str
    signer: str
    deadline_ms: int
    annual_reserve: Fraction = Fraction(0)
    state: str = "auction_open"
    diligent: bool = False
    #: The series, once cleared: the coupon per period, the level payment, principal owed.
    coupon: Fraction = Fraction(0)
    payment: int = 0
    outstanding: int = 0
    #: The current rental: its first period, the period its lease ends, settlements so far.
    first_period: int = 0
    lease_end: int = 0
    rental_settlements: int = 0
    missed_run: int = 0
    notice: bool = False
    #: Rent paid into the asset's account and rent taken from it by settlements.
    paid: int = 0
    taken: int = 0
    #: Settlements that took the rent, over every rental; how many there were at redemption.
    paid_settlements: int = 0
    redeemed_at: int | None = None
    redeemed_by_arrears: bool = False
    relet_round: int = 0
    #: (round, order, rent, lease) of the members' re-letting bids taken in.
    relet_bids: list[tuple[int, int, int, int]] = field(default_factory=list)
    #: Enterprise name -> rent it owes for a rental of this asset that ended unpaid (rule 15).
    owed: dict[str, int] = field(default_factory=dict)
    #: What the steward confirmed of a sale: (proceeds, sale costs, what the account held).
    sale: tuple[int, int, int] | None = None


def expected_clearing(bids: list[BidModel], bonds: int) -> tuple[Fraction | None, dict[int, int]]:
    """Rule 10 as the test reads it: sort by rate then order; y* is the rate of the bid at which
    the running quantity first reaches N; below y* fill fully; at y* pro rata to quantity,
    floors, leftovers by largest fractional part, ties to the earlier bid. (rate, {order: bonds})."""
    ranked = sorted(bids, key=lambda b: (b.rate, b.order))
    fills = {b.order: 0 for b in bids}
    if sum(b.quantity for b in ranked) < bonds:
        return None, fills
    running = 0
    for b in ranked:
        running += b.quantity
        if running >= bonds:
            rate = b.rate
            break
    below = [b for b in ranked if b.rate < rate]
    at = sorted((b for b in ranked if b.rate == rate), key=lambda b: b.order)
    for b in below:
        fills[b.order] = b.quantity
    left = bonds - sum(b.quantity for b in below)
    asked = sum(b.quantity for b in at)
    exact = [Fraction(left * b.quantity, asked) for b in at]
    floors = [int(x) for x in exact]
    leftover = left - sum(floors)
    by_fraction = sorted(range(len(at)), key=lambda i: (-(exact[i] - floors[i]), at[i].order))
    for i in by_fraction[:leftover]:
        floors[i] += 1
    for b, n in zip(at, floors, strict=True):
        fills[b.order] = n
    return rate, fills


class Run:
    """One commune, driven by the test, with the test's own account of what should be."""

    def __init__(self, charter: Charter) -> None:
        self.charter = charter
        self.world = World(None, FOUNDERS, enterprises=ENTERPRISES, steward="ana", charter=charter)
        self.period_ms = charter.period_months * MONTH_MS
        self.genesis_ms = self.world.genesis.time_ms
        #: (author, seq) -> the refusal expected (None: taken in and done), since the last block.
        self.expected: dict[tuple[bytes, int], str | None] = {}
        #: What people and enterprises spent by entries since the last block.
        self.spent: dict[str, int] = {}
        self.deposited = 0
        self.paid_out = 0
        self.order = 0
        self.bids: dict[bytes, BidModel] = {}
        self.assets: dict[bytes, AssetModel] = {}
        #: Member -> probation end (ms) for the newcomers admitted.
        self.newcomers: dict[str, int] = {}
        self.settled = 0
        self.pending_payments: list[tuple[bytes, int]] = []
        self.blocks = 0
        #: Asset -> (reason, arrears) of the return its last settlement calls for.
        self.returns: dict[bytes, tuple[str, int]] = {}
        #: Asset -> the rent its account held, unconsumed, when its rental ended this block.
        self.ended: dict[bytes, int] = {}
        #: (asset, enterprise name, amount) of arrears payments expected in the next block.
        self.arrears_paid: list[tuple[bytes, str, int]] = []
        self.enterprise_names = {eid: name for name, eid in self.world.enterprise_ids.items()}

    # -- acting ----------------------------------------------------------------------------

    @property
    def state(self) -> CommuneState:
        return self.world.nodes["ana"].state.state

    def pub(self, name: str) -> bytes:
        return self.world.pub(name)

    def enterprise(self, name: str) -> bytes:
        return self.world.enterprise_ids[name]

    def act(self, person: str, body, refs: tuple[bytes, ...] = (), expect: str | None = None):
        self.world.clock.advance(1_000)
        entry = self.world.act(person, body, refs)
        self.expected[(entry.author, entry.seq)] = expect
        return entry

    def available(self, person: str) -> int:
        """What `person` may spend in an entry naming the latest block: their account, their
        undrawn dividends, less what their entries since that block spent."""
        key = self.pub(person)
        have = self.state.claim(accounts.participant_account(key)) + self.state.untaken_dividends(key)
        return have - self.spent.get(person, 0)

    def enterprise_has(self, name: str) -> int:
        return self.state.claim(accounts.enterprise_account(self.enterprise(name))) - self.spent.get(name, 0)

    def deposit(self, person: str, amount: int, enterprise: str | None = None) -> None:
        account = self.enterprise(enterprise) if enterprise else self.pub(person)
        dep = self.act(person, Deposit(account, amount))
        self.act("ana", ConfirmDeposit(dep.id, amount), refs=(dep.id,))
        self.deposited += amount

    def now_period(self) -> int:
        return (self.world.clock.now_ms() - self.genesis_ms) // self.period_ms + 1

    # -- a block and everything checked after it -------------------------------------------

    def block(self) -> tuple[Effect, ...]:
        self.world.clock.advance(1_000)
        header = self.world.block().decoded()
        self.blocks += 1
        refused = {(e.author, e.seq): e.reason for e in header.effects if isinstance(e, Refuse)}
        taken = {(ref.author, ref.seq) for ref in header.entries}
        assert taken == set(self.expected), "the block did not take in every entry signed"
        got = {key: refused.get(key) for key in taken}
        assert got == self.expected, [(k[1], got[k], self.expected[k]) for k in taken if got[k] != self.expected[k]]
        self.expected.clear()
        self.spent.clear()
        self.check(header.effects)
        return header.effects

    def check(self, effects: tuple[Effect, ...]) -> None:
        state = self.state
        assert violations(state) == []
        assert bank_equation(state)[0] == self.deposited - self.paid_out
        pool = self._pool_before
        for effect in effects:
            if isinstance(effect, Post):
                if effect.memo.startswith("rent held"):
                    self._rent_returned(effect)
                for p in effect.postings:
                    if p.account == accounts.DIVIDEND_POOL:
                        pool -= p.amount
                    if p.account.startswith("a:") and effect.memo not in ("rent", "arrears", "sale proceeds"):
                        assert p.amount >= 0, f"money paid into an asset's account by {effect.memo!r}"
            elif isinstance(effect, ClearAuction):
                self._clearing(effect)
            elif isinstance(effect, SettleAsset):
                self._settlement(effect)
            elif isinstance(effect, PayDividend):
                self._dividend(effect, pool)
            elif isinstance(effect, ReturnAsset):
                a = self.assets[effect.asset]
                assert (effect.reason, effect.arrears) == self.returns.pop(effect.asset, None)
                a.notice, a.missed_run = False, 0
                # Rent held short of a period pays towards the arrears; the rest goes back.
                netted = min(a.paid - a.taken, effect.arrears)
                if effect.arrears:
                    a.owed[a.renter] = a.owed.get(a.renter, 0) + effect.arrears - netted
                if netted:
                    a.taken += netted
                    self.arrears_paid.append((effect.asset, a.renter, netted))
                self.ended[effect.asset] = a.paid - a.taken
            elif isinstance(effect, PayArrears):
                self._arrears_paid(effect)
            elif isinstance(effect, OpenReletting):
                self.assets[effect.asset].relet_round = effect.round
            elif isinstance(effect, (Relet, ReletFailed)):
                self._relet(effect)
            elif isinstance(effect, FinishLiquidation):
                self._liquidation(effect)
        assert not self.returns, f"rentals that should have ended: {self.returns}"
        assert not self.arrears_paid, f"arrears payments not made: {self.arrears_paid}"
        owed = {(self.enterprise(n), aid): v for aid, a in self.assets.items() for n, v in a.owed.items() if v}
        assert state.tables["arrears"] == owed
        self.ended.clear()
        assert pool == state.claim(accounts.DIVIDEND_POOL) and pool >= 0
        self._pool_before = pool
        escrowed = sum(b.quantity * self.assets[b.offer].face for b in self.bids.values() if b.open)
        assert state.claim(accounts.ESCROW) == escrowed
        holdings = state.tables["holdings"]
        for aid, a in self.assets.items():
            row = state.tables["assets"].get(aid)
            assert row is not None
            held = sum(n for (asset, _h), n in holdings.items() if asset == aid)
            assert held == (a.bonds if a.payment and row.state != "liquidated" else 0)
            assert row.outstanding == a.outstanding and 0 <= row.outstanding <= a.price and row.reserve >= 0
            # The account holds what was paid less the rents taken, besides the series reserve.
            assert state.claim(accounts.asset_account(aid)) - row.reserve == a.paid - a.taken
            if row.state in ("rented", "redeemed"):  # every period of the rental settled once
                assert a.rental_settlements == max(0, self.settled - a.first_period + 1)
                assert (row.rent, row.first_period, row.lease_end_period) == (a.rent, a.first_period, a.lease_end)
        index = state.dividend_index
        for name in IDLE:
            assert state.untaken_dividends(self.pub(name)) == index
        if self.newcomers:
            dee, eve = (state.untaken_dividends(self.pub(n)) for n in NEWCOMERS)
            assert dee == eve <= index

    _pool_before = 0

    def _clearing(self, e: ClearAuction) -> None:
        a = self.assets[e.offer]
        bids = [b for b in self.bids.values() if b.offer == e.offer and b.open]
        ids = {b.order: bid_id for bid_id, b in self.bids.items() if b.offer == e.offer and b.open}
        rate, fills = expected_clearing(bids, a.bonds)
        assert {f.bid: f.bonds for f in e.fills} == {ids[o]: n for o, n in fills.items()}
        for b in bids:
            b.open = False
        if rate is None:
            assert e.outcome == "failed"
            a.state = "failed"
            return
        assert e.outcome == "cleared" and Fraction(e.rate_num, e.rate_den) == rate <= a.annual_reserve
        assert sum(f.bonds for f in e.fills) == a.bonds
        assert e.first_period == (self.state.time_ms - self.genesis_ms) // self.period_ms + 2
        assert 0 < e.payment <= a.rent - a.costs  # at most the net rent, at any rate up to r_max
        a.state, a.first_period, a.payment, a.outstanding = "rented", e.first_period, e.payment, a.price
        a.coupon = rate * self.charter.period_months / 12
        a.lease_end = e.first_period + a.lease - 1

    def _settlement(self, e: SettleAsset) -> None:
        a = self.assets[e.asset]
        assert e.period == a.first_period + a.rental_settlements, "a period settled twice, or skipped"
        held = a.paid - a.taken
        missed = e.outcome == "missed"
        if missed:
            assert held < a.rent
            a.missed_run += 1
        else:
            assert held >= a.rent, f"{e.outcome} with only {held} of {a.rent} held"
            a.taken += a.rent
            a.paid_settlements += 1
            a.missed_run = 0
        assert e.missed == a.missed_run
        a.rental_settlements += 1
        assert 0 <= e.outstanding <= a.outstanding, "outstanding principal went up or below zero"
        a.outstanding = e.outstanding
        if self.charter.surplus_policy == "dividend":
            assert e.reserve == 0
        else:
            assert 0 <= e.reserve <= self.charter.reserve_periods * a.payment
        if e.outcome == "redeemed":
            assert e.outstanding == 0 and (a.redeemed_at is None or a.redeemed_by_arrears)
            if a.redeemed_at is None:
                a.redeemed_at = a.paid_settlements
        elif e.outcome == "rent_to_pool":
            assert a.redeemed_at is not None and e.outstanding == 0
        elif e.outcome == "paid":
            assert e.outstanding > 0 and a.redeemed_at is None
        if a.paid_settlements >= a.term:  # T settlements took the rent: the series is paid off
            assert a.redeemed_at is not None and a.redeemed_at <= a.term, "T rents paid, series not redeemed"
        # Rule 15: the rental ends after the grace, by notice, or at the lease's end.
        if missed and a.missed_run > self.charter.grace_periods:
            self.returns[e.asset] = ("default", a.missed_run * a.rent)
        elif not missed and a.notice:
            self.returns[e.asset] = ("notice", 0)
        elif not missed and e.period >= a.lease_end:
            self.returns[e.asset] = ("lease_end", 0)

    def _arrears_paid(self, e: PayArrears) -> None:
        """Arrears paid go to the holders as principal while the series owes any, else to the pool."""
        a = self.assets[e.asset]
        self.arrears_paid.remove((e.asset, self.enterprise_names[e.enterprise], e.amount))
        assert e.outstanding == a.outstanding - min(e.amount, a.outstanding)
        if a.outstanding and not e.outstanding:  # the arrears repaid the last principal: redeemed
            assert e.reserve == 0 and a.redeemed_at is None
            a.redeemed_at, a.redeemed_by_arrears = a.paid_settlements, True
        a.outstanding = e.outstanding

    def _rent_returned(self, e: Post) -> None:
        """Rent held unconsumed when a rental ends goes back to the renter, all of it."""
        (out, back) = e.postings
        aid = bytes.fromhex(out.account.removeprefix("a:"))
        a = self.assets[aid]
        assert out.amount == self.ended.pop(aid) > 0
        assert back.account == accounts.enterprise_account(self.enterprise(a.renter))
        a.taken += out.amount

    def _relet(self, e: Relet | ReletFailed) -> None:
        """A round decided: the valid bid (rent at least the floor) of highest present value wins,
        ties to the earlier bid; with none, the round failed."""
        a = self.assets[e.asset]
        bids = [b for b in a.relet_bids if b[0] == a.relet_round]
        floor = a.payment + a.costs if a.outstanding else a.costs
        rate = a.coupon if a.outstanding else self.charter.reference_rate.value * self.charter.period_months / 12

        def value(rent: int, lease: int) -> Fraction:
            return Fraction(rent * lease) if rate == 0 else rent * (1 - (1 + rate) ** -lease) / rate

        valid = sorted((-value(rent, lease), order, rent, lease) for _r, order, rent, lease in bids if rent >= floor)
        if isinstance(e, ReletFailed):
            assert not valid and e.round == a.relet_round
            assert e.liquidate == (e.round >= self.charter.relet_rounds)
            return
        assert valid and (e.rent, e.lease_periods) == valid[0][2:]
        a.rent, a.renter = e.rent, self.enterprise_names[e.renter]
        a.signer = ENTERPRISES[a.renter][0]
        assert e.first_period == (self.state.time_ms - self.genesis_ms) // self.period_ms + 2
        a.first_period, a.lease_end = e.first_period, e.first_period + e.lease_periods - 1
        a.rental_settlements = a.missed_run = 0

    def _liquidation(self, e: FinishLiquidation) -> None:
        """Rule 17: sale costs, then the holders (principal and a period's interest), then the pool."""
        a = self.assets[e.asset]
        assert a.sale is not None
        proceeds, sale_costs, account = a.sale
        owed = a.outstanding + math.floor(a.outstanding * a.coupon)
        assert e.proceeds == proceeds + account
        assert e.sale_costs_paid == min(sale_costs, e.proceeds)
        assert e.to_holders == min(owed, e.proceeds - e.sale_costs_paid)
        assert e.to_holders + e.shortfall == owed
        assert e.sale_costs_paid + e.to_holders + e.to_dividend_pool == e.proceeds
        a.paid = a.taken = a.outstanding = 0

    def _dividend(self, e: PayDividend, pool_after: int) -> None:
        end = self.genesis_ms + e.period * self.period_ms
        on_record = len(FOUNDERS) + sum(1 for until in self.newcomers.values() if until <= end)
        assert e.members == on_record
        assert 0 <= pool_after < on_record, "more than a unit a member carried, or the pool overdrawn"
        assert e.period == self.settled + 1
        self.settled = e.period

    # -- what people do --------------------------------------------------------------------

    def register_investors(self) -> None:
        for name in INVESTORS:
            self.act(name, RegisterInvestor(name.title() + " Investments"))
        self.block()

    def admit_newcomers(self) -> None:
        """ben attests that dee and eve work at the workshop; they accept; a block admits both."""
        attestations = {n: self.act("ben", Attest(self.enterprise("workshop"), self.pub(n))) for n in NEWCOMERS}
        self.block()
        for n in NEWCOMERS:
            self.act(n, Accept(attestations[n].id), refs=(attestations[n].id,))
        self.block()
        for n in NEWCOMERS:
            until = self.state.tables["members"][self.pub(n)].probation_until_ms
            assert until == self.state.time_ms + self.charter.probation_ms
            self.newcomers[n] = until

    def offer(self, data: st.DataObject) -> None:
        renter = data.draw(st.sampled_from(sorted(ENTERPRISES)))
        signer = ENTERPRISES[renter][0]
        bonds = data.draw(st.integers(1, 12))
        face = data.draw(st.sampled_from([1, 7, 100, 2_500, 10_000, 99_999]) | st.integers(1, 50_000))
        price = bonds * face
        term = data.draw(st.integers(1, 24))
        lease = term + data.draw(st.integers(0, 6))
        costs = data.draw(st.sampled_from([0, 0, 1, 50, 1_000]))
        least = -(-price // term)  # the smallest net rent that repays the price at 0 %
        kind = data.draw(st.sampled_from(["funds", "funds", "funds", "short", "costly"]))
        if kind == "short" and (price - 1) // term >= 1:
            net = data.draw(st.integers(1, (price - 1) // term))
        else:
            net = least + data.draw(st.integers(0, least) | st.just(0))
        rent = net + costs
        if kind == "costly":
            costs = rent + data.draw(st.integers(0, 3))
        days = data.draw(st.integers(1, 5))
        deadline = self.world.clock.now_ms() + 1_000 + days * DAY_MS
        body = Offer(
            renter=self.enterprise(renter),
            description="a machine",
            price=price,
            rent=rent,
            costs=costs,
            lease_periods=lease,
            term_periods=term,
            bonds=bonds,
            vendor_payee="Machine Works",
            valuation=bytes(32),
            deadline_ms=deadline,
        )
        expect = None
        if costs >= rent:
            expect = "bad_offer"
        else:
            try:
                if reserve_rate(price, rent - costs, term) > 1:
                    expect = "bad_offer"
            except OfferCannotFund:
                expect = "offer_cannot_fund"
        entry = self.act(signer, body, expect=expect)
        if expect is None:
            diligent = data.draw(st.booleans())
            self.assets[entry.id] = AssetModel(
                price, bonds, face, rent, costs, term, lease, renter, signer, deadline, diligent=diligent
            )

    def bid(self, data: st.DataObject, offer: bytes) -> None:
        a = self.assets[offer]
        bidder = data.draw(st.sampled_from(BIDDERS + FUNDED))  # the funded ones more often
        size = data.draw(st.sampled_from(["all", "some", "some", "too many"]))
        quantity = {"all": a.bonds, "some": data.draw(st.integers(1, a.bonds)), "too many": a.bonds + 1}[size]
        reserve = a.annual_reserve
        kind = data.draw(st.sampled_from(["below", "below", "at", "above"]))
        if kind == "at" and reserve.numerator <= 10**12 and reserve.denominator <= 10**12:
            rate = reserve
        elif kind == "above":
            rate = Fraction(int(reserve * 10_000) + data.draw(st.integers(1, 300)), 10_000)
        else:
            rate = Fraction(data.draw(st.integers(0, int(reserve * 10_000))), 10_000)
        expect = None
        if rate > reserve:
            expect = "above_reserve_rate"
        elif quantity > a.bonds:
            expect = "bad_bid"
        elif self.available(bidder) < quantity * a.face:
            expect = "overdraft"
        entry = self.act(bidder, Bid(offer, quantity, rate.numerator, rate.denominator), expect=expect)
        if expect is None:
            self.spent[bidder] = self.spent.get(bidder, 0) + quantity * a.face
            self.order += 1
            self.bids[entry.id] = BidModel(offer, bidder, quantity, rate, self.order)

    def cover(self, data: st.DataObject, offer: bytes) -> None:
        """A funded bidder bids for whatever bonds the open bids do not ask for yet, if they can."""
        a = self.assets[offer]
        missing = a.bonds - sum(b.quantity for b in self.bids.values() if b.offer == offer and b.open)
        able = [n for n in FUNDED if self.available(n) >= missing * a.face]
        if missing <= 0 or not able:
            return
        bidder = data.draw(st.sampled_from(able))
        rate = Fraction(data.draw(st.integers(0, int(a.annual_reserve * 10_000))), 10_000)
        entry = self.act(bidder, Bid(offer, missing, rate.numerator, rate.denominator))
        self.spent[bidder] = self.spent.get(bidder, 0) + missing * a.face
        self.order += 1
        self.bids[entry.id] = BidModel(offer, bidder, missing, rate, self.order)

    def auction_round(self, data: st.DataObject) -> None:
        """Offers; bidders funded; bids; withdrawals; the deadline passes; the vendor is paid."""
        before = set(self.assets)
        for _ in range(data.draw(st.integers(1, 3))):
            self.offer(data)
        self.block()
        opened = [aid for aid in self.assets if aid not in before]
        for aid in opened:
            row = self.state.tables["assets"][aid]
            assert row.state == "auction_open" and row.face_value == self.assets[aid].face
            per_period = Fraction(row.reserve_num, row.reserve_den)
            self.assets[aid].annual_reserve = per_period * 12 / self.charter.period_months
        if not opened:
            return
        asked = sum(self.assets[aid].price for aid in opened)
        for person in FUNDED:
            amount = data.draw(st.sampled_from([2 * asked, asked, asked // 3, 1, 0]))
            if amount:
                self.deposit(person, amount)
        if self.expected:
            self.block()
        for aid in opened:
            for _ in range(data.draw(st.integers(0, 8))):
                self.bid(data, aid)
            if data.draw(st.integers(0, 2)):  # most auctions get the bonds they ask for
                self.cover(data, aid)
        if self.expected:
            self.block()
        for bid_id, b in list(self.bids.items()):
            if b.offer in opened and b.open and data.draw(st.integers(0, 4)) == 0:
                stranger = next(n for n in BIDDERS if n != b.bidder)
                if data.draw(st.booleans()):
                    self.act(stranger, WithdrawBid(bid_id), refs=(bid_id,), expect="not_your_bid")
                self.act(b.bidder, WithdrawBid(bid_id), refs=(bid_id,))
                b.open = False
        for aid in opened:
            if data.draw(st.integers(0, 7)) == 0:
                self.withdraw_offer(data, aid)
        if self.expected:
            self.block()
        self.close_auctions(opened)
        retried = [aid for aid in opened if self.assets[aid].state == "failed" and data.draw(st.integers(0, 2)) == 0]
        for aid in retried:
            self.retry_offer(data, aid)
        if retried:
            self.block()
            retried = [aid for aid in retried if self.assets[aid].state == "auction_open"]
            for aid in retried:
                row = self.state.tables["assets"][aid]
                assert (row.state, row.rent, row.deadline_ms) == (
                    "auction_open",
                    self.assets[aid].rent,
                    self.assets[aid].deadline_ms,
                )
                self.assets[aid].annual_reserve = (
                    Fraction(row.reserve_num, row.reserve_den) * 12 / self.charter.period_months
                )
                if data.draw(st.integers(0, 3)):
                    self.cover(data, aid)
            if self.expected:
                self.block()
            if retried:
                self.close_auctions(retried)
                if any(self.assets[aid].state == "rented" for aid in retried):
                    event("an offer made again cleared")
        for aid in opened:
            a = self.assets[aid]
            if a.state == "rented" and data.draw(st.integers(0, 3)):
                self.act("ana", ConfirmPayment(aid, "paid"), refs=(aid,))
                self.paid_out += a.price
                a.purchase_paid = True
        if self.expected:
            self.block()

    def close_auctions(self, opened: list[bytes]) -> None:
        """The first block past the last deadline clears every auction still open."""
        last = max(self.assets[aid].deadline_ms for aid in opened)
        self.world.clock.set(max(self.world.clock.now_ms(), last + 1))
        self.block()
        assert all(self.assets[aid].state != "auction_open" for aid in opened)

    def withdraw_offer(self, data: st.DataObject, aid: bytes) -> None:
        """The renter takes its offer back before the deadline: every open bid's escrow returns.
        cy, who signs for no enterprise, may try first and is refused."""
        a = self.assets[aid]
        if data.draw(st.booleans()):
            self.act("cy", WithdrawOffer(aid), expect="not_a_signer")
        self.act(a.signer, WithdrawOffer(aid))
        for b in self.bids.values():
            if b.offer == aid:
                b.open = False
        a.state = "withdrawn"
        event("an offer withdrawn")

    def retry_offer(self, data: st.DataObject, aid: bytes) -> None:
        """A failed offer made again at a rent as high or higher, on a new deadline."""
        a = self.assets[aid]
        rent = a.rent + data.draw(st.sampled_from([0, 1, a.rent]))
        deadline = self.world.clock.now_ms() + 1_000 + data.draw(st.integers(1, 5)) * DAY_MS
        body = RetryOffer(aid, rent, a.costs, a.lease, a.term, a.bonds, deadline)
        expect = "bad_offer" if reserve_rate(a.price, rent - a.costs, a.term) > 1 else None
        if data.draw(st.integers(0, 4)) == 0:
            self.act("ana" if a.signer != "ana" else "ben", body, expect="not_a_signer")
        self.act(a.signer, body, expect=expect)
        if expect is None:
            a.rent, a.deadline_ms, a.state = rent, deadline, "auction_open"
            event("a failed offer made again")

    def pay_rents(self, data: st.DataObject, periods: int) -> None:
        """The renters fund their enterprises (usually) and pay rent: in full, none, part, ahead.
        An asset whose renter is diligent gets the rent of the `periods` the next block settles."""
        payments: list[tuple[bytes, AssetModel, int, str]] = []
        for aid, a in self.assets.items():
            row = self.state.tables["assets"][aid]
            if row.state == "failed" and data.draw(st.integers(0, 5)) == 0:
                payments.append((aid, a, a.rent, a.renter))  # rent for an asset never bought: refused
                continue
            for debtor, owed in a.owed.items():  # arrears paid in whole, in part, or too much
                if owed and (debtor != a.renter or row.state not in ("rented", "redeemed")):
                    if data.draw(st.integers(0, 2)) == 0:
                        payments.append((aid, a, data.draw(st.sampled_from([owed, owed // 2 or 1, owed + 1])), debtor))
            if row.state not in ("rented", "redeemed"):
                continue
            kind = "full" if a.diligent else data.draw(st.sampled_from(RENT_KINDS))
            if kind == "none":
                continue
            amount = {
                "full": a.rent * (periods if a.diligent else 1),
                "partial": data.draw(st.integers(1, max(1, a.rent - 1))),
                "ahead": a.rent * data.draw(st.integers(2, 3)),
            }[kind]
            payments.append((aid, a, amount, a.renter))
        for name in ENTERPRISES:
            owed = sum(amount for _, _, amount, payer in payments if payer == name)
            short = owed - self.enterprise_has(name)
            diligent = any(a.diligent for _, a, _, payer in payments if payer == name)
            if short > 0 and (diligent or data.draw(st.integers(0, 5))):
                self.deposit(ENTERPRISES[name][0], short + data.draw(st.sampled_from([0, 0, 1, 1_000])), name)
        if self.expected:
            self.block()
        for aid, a, amount, payer in payments:
            expect = None
            renting = payer == a.renter and self.state.tables["assets"][aid].state in ("rented", "redeemed")
            owed = a.owed.get(payer, 0)
            if not renting and not owed:
                expect = "not_rented"
            elif not renting and amount > owed:
                expect = "more_than_owed"
            elif self.enterprise_has(payer) < amount:
                expect = "overdraft"
            self.act(ENTERPRISES[payer][0], PayRent(aid, amount), expect=expect)
            if expect is None:  # the arrears first, then the rent
                self.spent[payer] = self.spent.get(payer, 0) + amount
                to_arrears = min(owed, amount)
                if to_arrears:
                    a.owed[payer] = owed - to_arrears
                    self.arrears_paid.append((aid, payer, to_arrears))
                a.paid += amount - to_arrears
        self.tenancy(data)
        if self.expected:
            self.block()

    def tenancy(self, data: st.DataObject) -> None:
        """Rules 15-17: a renter gives notice now and then; members bid to re-let returned assets
        (an investor may not); the steward confirms the sale of an asset being liquidated."""
        for aid, a in self.assets.items():
            row = self.state.tables["assets"][aid]
            if row.state in ("rented", "redeemed") and data.draw(st.integers(0, 15)) == 0:
                self.act(a.signer, GiveNotice(aid))
                a.notice = True
            elif row.state == "reletting":
                floor = row.payment + row.costs if row.outstanding else row.costs
                for _ in range(data.draw(st.integers(0, 2))):
                    bidder = data.draw(st.sampled_from(["ana", "ben", "ivy"]))
                    renter = "bakery" if bidder == "ana" else "workshop"
                    rent = max(1, floor + data.draw(st.sampled_from([0, 1, 100, -1])))
                    lease = data.draw(st.integers(1, 24))
                    body = ReletBid(aid, self.enterprise(renter), rent, lease)
                    self.act(bidder, body, expect="not_a_member" if bidder == "ivy" else None)
                    if bidder != "ivy":
                        self.order += 1
                        a.relet_bids.append((row.relet_round, self.order, rent, lease))
            elif row.state == "liquidating" and data.draw(st.booleans()):
                proceeds = data.draw(st.sampled_from([a.price, 0, a.price // 2, 2 * a.price]))
                costs = data.draw(st.sampled_from([0, proceeds // 10, proceeds + 5]))
                self.act("ana", ConfirmSale(aid, proceeds, costs, "sold"))
                a.sale = (proceeds, costs, self.state.claim(accounts.asset_account(aid)))
                self.deposited += proceeds
            elif row.state == "rented" and data.draw(st.integers(0, 30)) == 0:
                self.act("ana", ConfirmSale(aid, 1, 0), expect="not_liquidating")

    def cash_out(self, data: st.DataObject) -> None:
        """A holder withdraws money to the bank (sometimes more than they have); the steward pays
        earlier withdrawals."""
        for wid, amount in self.pending_payments:
            self.act("ana", ConfirmPayment(wid, "paid"), refs=(wid,))
            self.paid_out += amount
        self.pending_payments.clear()
        person = data.draw(st.sampled_from(BIDDERS))
        have = self.available(person)
        amount = data.draw(st.integers(1, max(1, have)) | st.just(have + 1))
        expect = "overdraft" if amount > have else None
        entry = self.act(person, Withdraw(amount, "DE00 a bank account"), expect=expect)
        if expect is None:
            self.spent[person] = self.spent.get(person, 0) + amount
            self.pending_payments.append((entry.id, amount))
        self.block()

    def settle_through(self, period: int) -> None:
        """The first block past the end of `period` settles every period up to it."""
        end = self.genesis_ms + period * self.period_ms
        self.world.clock.set(max(self.world.clock.now_ms(), end + 1))
        self.block()
        assert self.settled == period

    def finish(self) -> None:
        """Every auction has closed: no escrow. A node that replays the chain agrees."""
        assert all(a.state != "auction_open" for a in self.assets.values())
        assert not any(b.open for b in self.bids.values())
        assert self.state.claim(accounts.ESCROW) == 0
        # Every period's income statement adds up, asset by asset, whatever happened in it.
        store = self.world.nodes["ana"].state
        for period in range(1, self.settled + 2):
            st = income_statement(store, period)
            for a in (*st.assets, st):
                came_in = a.rent_received + a.arrears_received + a.sale_proceeds
                went_out = a.costs + a.debt_service + a.prepayment + a.sale_costs + a.liquidation_to_holders
                assert came_in == went_out + a.to_dividend_pool + a.rent_returned + a.kept, period
        self.world.add_node("peer")
        self.world.sync("ana", "peer")
        peer = self.world.nodes["peer"].state
        assert peer.height == self.world.nodes["ana"].state.height
        assert peer.digest() == self.world.nodes["ana"].state.digest()
        assert violations(peer.state) == []


def charters() -> st.SearchStrategy[Charter]:
    return st.builds(
        Charter,
        name=st.just("Property Commune"),
        currency=st.just("EUR"),
        period_months=st.sampled_from([1, 1, 1, 3]),
        probation_days=st.sampled_from([0, 45, 90]),
        surplus_policy=st.sampled_from(SURPLUS_POLICIES),
        reserve_periods=st.sampled_from([0, 1, 1, 2, 12]),
        grace_periods=st.sampled_from([1, 0, 2]),
        relet_rounds=st.sampled_from([2, 1]),
    )


def scenario(data: st.DataObject, charter: Charter, max_periods: int, max_rounds: int) -> Run:
    run = Run(charter)
    try:
        run.register_investors()
        periods = data.draw(st.integers(1, max_periods), label="periods")
        admit_in = data.draw(st.integers(1, periods + 1), label="newcomers admitted in period")
        rounds = 0
        period = 1
        while period <= periods:
            # Usually one period settled by the next block; sometimes two by one block.
            last = period + 1 if period < periods and data.draw(st.integers(0, 5)) == 0 else period
            if period == admit_in:
                run.admit_newcomers()
            if rounds < max_rounds and (period == 1 or data.draw(st.integers(0, 3)) == 0):
                run.auction_round(data)
                rounds += 1
            assert run.now_period() == period  # a round's deadlines are days, a period a month
            run.pay_rents(data, last - period + 1)
            if data.draw(st.integers(0, 3)) == 0:
                run.cash_out(data)
            run.settle_through(last)
            period = last + 1
        run.finish()
    finally:
        run.world.close()
    return run


@settings(max_examples=120, deadline=None, suppress_health_check=HEALTH)
@given(data=st.data(), charter=charters())
def test_the_common_stock_keeps_its_books(data: st.DataObject, charter: Charter) -> None:
    scenario(data, charter, max_periods=26, max_rounds=3)


@pytest.mark.slow
@settings(max_examples=45, deadline=None, suppress_health_check=HEALTH)
@given(data=st.data(), charter=charters())
def test_the_common_stock_keeps_its_books_over_longer_lives(data: st.DataObject, charter: Charter) -> None:
    """Five years: series run to their end, rentals end and are re-let or liquidated, rounds of
    offers come and go."""
    scenario(data, charter, max_periods=60, max_rounds=6)


def test_the_test_clears_an_auction_as_rule_10_says() -> None:
    """The test's own clearing, on the worked example of test_stock_auction.py: 240 bonds,
    ana 120 at 5 %, cy 100 at 6 %, ivy 40 at 6 % -> y* = 6 %, fills 120, 86, 34."""
    bids = [
        BidModel(b"", "ana", 120, Fraction(5, 100), 1),
        BidModel(b"", "cy", 100, Fraction(6, 100), 2),
        BidModel(b"", "ivy", 40, Fraction(6, 100), 3),
    ]
    assert expected_clearing(bids, 240) == (Fraction(6, 100), {1: 120, 2: 86, 3: 34})
    assert expected_clearing(bids[:2], 240) == (None, {1: 0, 2: 0})
    ties = [BidModel(b"", "a", 1, Fraction(0), 1), BidModel(b"", "b", 1, Fraction(0), 2)]
    assert expected_clearing(ties, 1) == (Fraction(0), {1: 1, 2: 0})  # the tie to the earlier bid
