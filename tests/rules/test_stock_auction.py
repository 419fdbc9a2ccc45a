"""Rental offers and bond auctions through the chain (rules 7-12), figures worked by hand.

The workshop (ben signs for it) asks for an oven: P = 240,000.00, T = L = 120 months,
R = 3,000.00 and c = 100.00, so R - c = 2,900.00 (the design's worked example), in 240 bonds
of 1,000.00. Its reserve rate r_max is 0.6588628197 % a month (rules/reserve_rate.py), which is
7.9063538364 % a year.
"""

from __future__ import annotations

from fractions import Fraction

from communekit import Commune, substance

from commune.log.bodies import Bid, ConfirmPayment, Offer, RegisterInvestor, WithdrawBid
from commune.rules import accounts
from commune.rules.charter import DAY_MS
from commune.rules.invariants import bank_equation

OVEN = dict(
    description="a second oven",
    price=240_000_00,
    rent=3_000_00,
    costs=100_00,
    lease_periods=120,
    term_periods=120,
    bonds=240,
    vendor_payee="DE44 5001 0517 5407 3249 31 Oven Works GmbH",
    valuation=bytes(range(32)),
)


def offer(c: Commune, days: int = 7, **changes: object):
    fields = {**OVEN, **changes}
    deadline = c.world.clock.now_ms() + days * DAY_MS
    return c.act("ben", Offer(renter=c.enterprise("workshop"), deadline_ms=deadline, **fields))


def funded(c: Commune) -> None:
    c.act("ivy", RegisterInvestor("Ivy Investments"))
    c.settle()
    c.fund("ana", 150_000_00)
    c.fund("cy", 110_000_00)
    c.fund("ivy", 50_000_00)


def test_an_auction_cleared_by_hand(commune: Commune) -> None:
    c = commune
    funded(c)
    o = offer(c)
    c.settle()
    asset = c.state.tables["assets"][o.id]
    assert asset.state == "auction_open" and asset.face_value == 1_000_00
    assert Fraction(asset.reserve_num, asset.reserve_den) == Fraction(6588628197, 10**12)

    ana = c.act("ana", Bid(o.id, 120, 1, 20))  # 120 bonds at 5 %
    cyb = c.act("cy", Bid(o.id, 100, 3, 50))  # 100 at 6 %
    ivy = c.act("ivy", Bid(o.id, 40, 3, 50))  # 40 at 6 %
    late_withdrawn = c.act("cy", Bid(o.id, 10, 1, 25))  # 10 at 4 %: escrowed, then withdrawn
    c.act("ivy", Bid(o.id, 10, 2, 25))  # 8 % is above 7.9064 %: refused, nothing escrowed
    block = c.settle()
    assert c.refusals(block) == ["above_reserve_rate"]
    # Escrow: 120 + 100 + 40 + 10 bonds of 1,000.00.
    assert c.state.claim(accounts.ESCROW) == 270_000_00
    c.act("cy", WithdrawBid(late_withdrawn.id), (late_withdrawn.id,))
    c.settle()
    assert c.state.claim(accounts.ESCROW) == 260_000_00 and c.claim("cy") == 10_000_00

    c.pass_days(8)
    c.settle()  # the first block past the deadline clears the auction
    # Sorted by rate: ana 120 @5 %, cy 100 @6 %, ivy 40 @6 %; the running total reaches 240 at
    # ivy's bid, so y* = 6 %. ana fills 120; 120 bonds are left for the 140 asked at 6 %:
    # cy 120*100/140 = 85.71, ivy 120*40/140 = 34.29 -> 85 + 34 = 119, the one left over goes to
    # the larger fraction (cy's .71): cy 86, ivy 34.
    asset = c.state.tables["assets"][o.id]
    assert (asset.state, Fraction(asset.coupon_num, asset.coupon_den)) == ("rented", Fraction(6, 100))
    assert asset.outstanding == 240_000_00
    holdings = {h: n for (a, h), n in c.state.tables["holdings"].items() if a == o.id}
    assert holdings == {c.pub("ana"): 120, c.pub("cy"): 86, c.pub("ivy"): 34}
    bids = c.state.tables["bids"]
    assert [bids[b.id].status for b in (ana, cyb, ivy, late_withdrawn)] == ["filled"] * 3 + ["withdrawn"]
    # Unfilled escrow returns: cy 14 bonds = 14,000.00, ivy 6 = 6,000.00.
    assert c.claim("ana") == 150_000_00 - 120_000_00
    assert c.claim("cy") == 110_000_00 - 86_000_00
    assert c.claim("ivy") == 50_000_00 - 34_000_00
    # The escrowed price pays the vendor through the bank: pending until the steward confirms.
    assert c.state.claim(accounts.ESCROW) == 0
    assert c.state.claim(accounts.WITHDRAWALS) == 240_000_00
    assert c.state.tables["pending"][o.id].reference == OVEN["vendor_payee"]
    c.act("ana", ConfirmPayment(o.id, "paid 2026-01-12"), (o.id,))
    c.settle()
    # bank: 310,000.00 deposited - 240,000.00 paid = 70,000.00 = 30,000 + 24,000 + 16,000.
    assert bank_equation(c.state) == (70_000_00, 70_000_00, 0)


def test_a_failed_auction_releases_all_escrow(commune: Commune) -> None:
    c = commune
    funded(c)
    o = offer(c)
    c.settle()
    c.act("ana", Bid(o.id, 100, 1, 20))
    c.act("ivy", Bid(o.id, 50, 1, 20))
    c.settle()
    c.pass_days(8)
    c.settle()
    assert c.state.tables["assets"][o.id].state == "failed"
    assert (c.claim("ana"), c.claim("ivy"), c.state.claim(accounts.ESCROW)) == (150_000_00, 50_000_00, 0)
    assert not c.state.tables["holdings"]


def _refused(c: Commune, person: str, body, refs=()) -> str:
    before = substance(c.state)
    c.act(person, body, refs)
    (reason,) = c.refusals(c.settle())
    assert substance(c.state) == before
    return reason


def test_offers_that_cannot_be_taken_up(commune: Commune) -> None:
    c = commune
    deadline = c.world.clock.now_ms() + DAY_MS
    workshop = c.enterprise("workshop")
    low_rent = Offer(renter=workshop, deadline_ms=deadline, **{**OVEN, "rent": 2_099_99})  # 120 * 1,999.99 < P
    assert _refused(c, "ben", low_rent) == "offer_cannot_fund"
    by_himself = Offer(renter=workshop, deadline_ms=deadline, vendor=c.pub("ben"), **OVEN)
    assert _refused(c, "ben", by_himself) == "vendor_is_requester"
    odd_bonds = Offer(renter=workshop, deadline_ms=deadline, **{**OVEN, "bonds": 7})
    assert _refused(c, "ben", odd_bonds) == "bad_offer"
    absurd = Offer(renter=workshop, deadline_ms=deadline, **{**OVEN, "price": 3, "bonds": 3, "rent": 2**62, "costs": 0})
    assert _refused(c, "ben", absurd) == "bad_offer"  # a rate no effect could encode
    not_his = Offer(renter=c.enterprise("bakery"), deadline_ms=deadline, **OVEN)
    assert _refused(c, "ben", not_his) == "not_a_signer"


def test_bids_that_are_refused(commune: Commune) -> None:
    c = commune
    funded(c)
    o = offer(c, days=1)
    c.settle()
    assert _refused(c, "ben", Bid(o.id, 1, 1, 20)) == "overdraft"  # ben has no money
    assert _refused(c, "ana", Bid(o.id, 151, 1, 20)) == "overdraft"  # 151,000.00 > 150,000.00
    assert _refused(c, "ana", Bid(o.id, 1, 2, 40)) == "bad_bid"  # 2/40 is not in lowest terms
    placed = c.act("ana", Bid(o.id, 1, 1, 20))
    c.settle()
    assert _refused(c, "cy", WithdrawBid(placed.id), (placed.id,)) == "not_your_bid"
    c.pass_days(2)
    c.settle()  # clears the auction (it fails: 1 bond of 240)
    assert _refused(c, "cy", Bid(o.id, 1, 1, 20)) == "auction_closed"
