"""The requester's two ways out of an auction (rules 7-10): withdraw the offer while its auction
is open or after it failed, or offer the same asset again on better terms after a failure.

The asset is communekit's SMALL: P = 1,200.00 in 12 bonds of 100.00, T = 12 months, R = 110.00,
c = 5.00; its reserve rate is about 9.1 % a year (R - c = 105.00 buys an annuity factor of
1,200 / 105 = 11.43 over 12 months).
"""

from __future__ import annotations

from fractions import Fraction

from communekit import SMALL, Commune, substance

from commune.log.bodies import Bid, Offer, RetryOffer, WithdrawOffer
from commune.rules import accounts
from commune.rules.charter import DAY_MS
from commune.rules.stock import annual_reserve


def offered(c: Commune) -> bytes:
    c.fund("ana", 600_00)
    c.fund("cy", 600_00)
    o = c.act("ben", Offer(renter=c.enterprise("workshop"), deadline_ms=c.world.clock.now_ms() + DAY_MS, **SMALL))
    c.settle()
    return o.id


def failed(c: Commune) -> bytes:
    """Only 6 of the 12 bonds are bid for: the auction fails and ana's escrow comes back."""
    aid = offered(c)
    c.act("ana", Bid(aid, 6, 3, 50))
    c.settle()
    c.pass_days(2)
    c.settle()
    assert c.state.tables["assets"][aid].state == "failed" and c.claim("ana") == 600_00
    return aid


def retry(c: Commune, aid: bytes, **changes: int) -> None:
    terms = dict(rent=110_00, costs=5_00, lease_periods=24, term_periods=12, bonds=12) | changes
    c.act("ben", RetryOffer(aid, deadline_ms=c.world.clock.now_ms() + DAY_MS, **terms))


def test_withdrawing_an_open_offer_returns_every_escrow(commune: Commune) -> None:
    c = commune
    aid = offered(c)
    ana = c.act("ana", Bid(aid, 6, 3, 50))
    cy = c.act("cy", Bid(aid, 6, 1, 20))
    c.settle()
    assert c.claim("ana") == c.claim("cy") == 0 and c.state.claim(accounts.ESCROW) == 1_200_00
    c.act("ben", WithdrawOffer(aid))
    c.settle()
    assert c.state.tables["assets"][aid].state == "withdrawn"
    assert c.claim("ana") == c.claim("cy") == 600_00 and c.state.claim(accounts.ESCROW) == 0
    assert {c.state.tables["bids"][b.id].status for b in (ana, cy)} == {"withdrawn"}
    # Nothing clears at the deadline, and a late bid finds the auction closed.
    c.pass_days(2)
    c.act("cy", Bid(aid, 12, 1, 20))
    assert c.refusals(c.settle()) == ["auction_closed"]
    assert c.state.tables["assets"][aid].state == "withdrawn" and c.claim("cy") == 600_00


def test_only_the_requester_withdraws_and_only_before_the_auction_is_decided(commune: Commune) -> None:
    c = commune
    aid = offered(c)
    c.act("ana", Bid(aid, 6, 3, 50))
    c.act("cy", Bid(aid, 6, 3, 50))
    c.settle()
    before = substance(c.state)
    c.act("ana", WithdrawOffer(aid))  # ana signs for the bakery, not the workshop
    assert c.refusals(c.settle()) == ["not_a_signer"]
    assert substance(c.state) == before
    # Past the deadline the bids are in: the auction is decided by the next block, not withdrawn.
    c.pass_days(2)
    c.act("ben", WithdrawOffer(aid))
    assert c.refusals(c.settle()) == ["offer_decided"]
    assert c.state.tables["assets"][aid].state == "rented"
    c.act("ben", WithdrawOffer(aid))
    assert c.refusals(c.settle()) == ["offer_decided"]


def test_a_failed_offer_can_be_withdrawn(commune: Commune) -> None:
    c = commune
    aid = failed(c)
    c.act("ben", WithdrawOffer(aid))
    c.settle()
    assert c.state.tables["assets"][aid].state == "withdrawn"
    retry(c, aid)
    assert c.refusals(c.settle()) == ["auction_not_failed"]


def test_a_failed_offer_tried_again_at_a_higher_rent_clears(commune: Commune) -> None:
    c = commune
    aid = failed(c)
    before = c.state.tables["assets"][aid]
    assert annual_reserve(c.state, before) < Fraction(12, 100)
    # 12 % is above this reserve rate; the workshop offers 120.00 a month instead (R - c = 115.00).
    c.act("cy", Bid(aid, 6, 3, 25))
    assert c.refusals(c.settle()) == ["auction_closed"]
    retry(c, aid, rent=120_00)
    c.settle()
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.rent, asset.price, asset.face_value) == ("auction_open", 120_00, 1_200_00, 100_00)
    assert annual_reserve(c.state, asset) > Fraction(12, 100)
    c.act("ana", Bid(aid, 6, 1, 20))  # 5 %
    c.act("cy", Bid(aid, 6, 3, 25))  # 12 %: the last bond sold sets the rate
    c.settle()
    c.pass_days(2)
    c.settle()
    asset = c.state.tables["assets"][aid]
    assert asset.state == "rented" and Fraction(asset.coupon_num, asset.coupon_den) == Fraction(12, 100)
    # 1 % a month: 1,200.00 x 0.01 / (1 - 1.01^-12) = 106.6185... -> 106.62 (rounded up).
    assert asset.payment == 106_62
    holdings = c.state.tables["holdings"]
    assert (holdings[(aid, c.pub("ana"))], holdings[(aid, c.pub("cy"))]) == (6, 6)


def test_a_retry_is_checked_like_an_offer_and_only_after_a_failure(commune: Commune) -> None:
    c = commune
    aid = offered(c)
    before = substance(c.state)
    retry(c, aid, rent=120_00)  # its auction is still open
    assert c.refusals(c.settle()) == ["auction_not_failed"]
    assert substance(c.state) == before
    c.pass_days(2)
    c.settle()
    assert c.state.tables["assets"][aid].state == "failed"
    before = substance(c.state)
    retry(c, aid, rent=5_00)  # the rent must be more than the costs
    retry(c, aid, bonds=7)  # 1,200.00 does not divide into 7 bonds
    retry(c, aid, rent=50_00)  # 45.00 a month for 12 months cannot repay 1,200.00 at any rate
    assert c.refusals(c.settle()) == ["bad_offer", "bad_offer", "offer_cannot_fund"]
    assert substance(c.state) == before
