"""Default with grace, return, a members-only re-letting won by present value, notice, and a
liquidation whose shortfall reaches only its own series (rules 15-17), worked by hand.

The asset is communekit's SMALL: P = 1,200.00, T = 12, L = 24, R = 110.00, c = 5.00, coupon
6 % a year (0.5 % a month), level payment 103.28; ana and cy hold 6 bonds each.
"""

from __future__ import annotations

from fractions import Fraction

from communekit import SMALL, Commune, rented, substance, to_end_of_period

from commune.log.bodies import Bid, ConfirmSale, GiveNotice, Offer, PayRent, RegisterInvestor, ReletBid
from commune.rules import accounts
from commune.rules.charter import DAY_MS


def returned_for_default(c: Commune) -> bytes:
    """No rent for periods 2 and 3: period 2 is the grace, after period 3 the asset returns."""
    aid = rented(c)
    to_end_of_period(c, 2)
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.missed) == ("rented", 1)  # within the grace of one period
    to_end_of_period(c, 3)
    asset = c.state.tables["assets"][aid]
    # Returned, with two periods of rent owed as a debt; re-let at once, until the end of period 5.
    assert (asset.state, asset.arrears, asset.relet_round) == ("reletting", 220_00, 1)
    assert asset.relet_deadline_ms == c.world.genesis.time_ms + 5 * 2_629_800_000
    return aid


def test_a_default_then_a_reletting_won_by_present_value(commune: Commune) -> None:
    c = commune
    aid = returned_for_default(c)
    c.act("ivy", RegisterInvestor("Ivy"))
    c.settle()
    # The floor is the costs plus the debt service: 5.00 + 103.28 = 108.28 a period.
    short = c.act("ana", ReletBid(aid, c.enterprise("bakery"), 120_00, 6))  # more rent, short lease
    long = c.act("ben", ReletBid(aid, c.enterprise("workshop"), 112_00, 24))  # less rent, long lease
    c.act("ana", ReletBid(aid, c.enterprise("bakery"), 100_00, 48))  # below the floor: cannot win
    c.act("ivy", ReletBid(aid, c.enterprise("bakery"), 200_00, 24))  # an investor: members only
    block = c.settle()
    assert c.refusals(block) == ["not_a_member"]
    to_end_of_period(c, 5)
    # Present values at 0.5 % a month: 120.00 x (1 - 1.005^-6)/0.005 = 707.57...;
    # 112.00 x (1 - 1.005^-24)/0.005 = 2,527.04...: the longer lease wins with the lower rent.
    r = Fraction(1, 200)
    assert 120_00 * (1 - (1 + r) ** -6) / r < 112_00 * (1 - (1 + r) ** -24) / r
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.renter, asset.rent, asset.lease_periods) == (
        "rented",
        c.enterprise("workshop"),
        112_00,
        24,
    )
    assert asset.first_period == 7 and asset.lease_end_period == 30  # from the next whole period
    assert asset.arrears == 220_00  # the old debt stays
    assert c.state.tables["relet_bids"][long.id].rent == 112_00 and short.id in c.state.tables["relet_bids"]
    # The workshop won it back, and still owes its 220.00: its next payment, 332.00, pays the
    # arrears first (to the holders, as principal: 1,200.00 - 220.00 = 980.00 outstanding), and
    # the rest, 112.00, is period 7's rent.
    assert c.state.tables["arrears"] == {(c.enterprise("workshop"), aid): 220_00}
    c.act("ben", PayRent(aid, 332_00))
    c.settle()
    asset = c.state.tables["assets"][aid]
    assert (asset.arrears, asset.outstanding, c.state.tables["arrears"]) == (0, 980_00, {})
    # The same level payment: period 7, interest 0.5 % of 980.00 = 4.90, principal 98.38;
    # the surplus 112.00 - 5.00 - 103.28 = 3.72 starts the reserve.
    to_end_of_period(c, 7)
    asset = c.state.tables["assets"][aid]
    assert (asset.outstanding, asset.reserve) == (980_00 - 98_38, 3_72)


def test_notice_ends_the_rental_after_the_period(commune: Commune) -> None:
    c = commune
    aid = rented(c)
    c.act("ben", PayRent(aid, 110_00))
    c.act("ben", GiveNotice(aid))
    to_end_of_period(c, 2)
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.arrears) == ("reletting", 0)
    assert asset.outstanding == 1_200_00 - 97_28  # period 2 was paid before it ended


def test_liquidation_after_two_failed_rounds_with_a_shortfall_on_that_series_only(commune: Commune) -> None:
    c = commune
    aid = returned_for_default(c)
    # A second asset, whose holder is ivy: it must not feel the first one's loss.
    c.act("ivy", RegisterInvestor("Ivy"))
    c.settle()
    c.fund("ivy", 1_200_00)
    other = c.act("ben", Offer(renter=c.enterprise("workshop"), deadline_ms=c.world.clock.now_ms() + DAY_MS, **SMALL))
    c.settle()
    c.act("ivy", Bid(other.id, 12, 3, 50))
    c.settle()
    to_end_of_period(c, 5)  # round 1 fails: no bids; round 2 runs to the end of period 7
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.relet_round) == ("reletting", 2)
    to_end_of_period(c, 7)  # round 2 fails: the charter's two rounds are done
    assert c.state.tables["assets"][aid].state == "liquidating"
    ana, cy, funds = c.claim("ana"), c.claim("cy"), c.state.claim(accounts.FUNDS)
    c.act("ana", ConfirmSale(aid, 500_00, 50_00, "sold to the Mill"))
    c.settle()
    # Waterfall: sale costs 50.00; the holders are owed 1,200.00 + one period's interest 6.00 =
    # 1,206.00 and get the 450.00 left, 225.00 each; a shortfall of 756.00; nothing for the pool.
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.outstanding) == ("liquidated", 0)
    assert (c.claim("ana") - ana, c.claim("cy") - cy) == (225_00, 225_00)
    assert c.state.claim(accounts.FUNDS) - funds == 50_00
    assert not [k for k in c.state.tables["holdings"] if k[0] == aid]
    # The other series is untouched: ivy still holds all 12 bonds of it, owed in full.
    other_asset = c.state.tables["assets"][other.id]
    assert c.state.tables["holdings"][(other.id, c.pub("ivy"))] == 12
    assert other_asset.outstanding == 1_200_00 and other_asset.state == "rented"


def test_a_sale_confirmed_for_an_asset_that_is_not_being_liquidated(commune: Commune) -> None:
    c = commune
    aid = rented(c)
    c.act("ana", ConfirmSale(aid, 500_00, 0))
    assert c.refusals(c.settle()) == ["not_liquidating"]


def test_rent_paid_ahead_goes_back_to_the_renter_when_the_rental_ends(commune: Commune) -> None:
    c = commune
    aid = rented(c)
    c.act("ben", PayRent(aid, 3 * 110_00))  # three periods ahead
    c.act("ben", GiveNotice(aid))
    to_end_of_period(c, 2)  # period 2 is paid from it; the rental ends with it
    asset = c.state.tables["assets"][aid]
    assert asset.state == "reletting"
    # The two periods paid ahead (220.00) go back: the workshop paid one period, 110.00, of its
    # 2,000.00; only the series reserve (1.72) stays in the asset's account.
    assert c.enterprise_claim("workshop") == 2_000_00 - 110_00
    assert c.state.claim(accounts.asset_account(aid)) == asset.reserve == 1_72


def test_rent_held_short_of_a_period_pays_towards_the_arrears(commune: Commune) -> None:
    """50.00 paid in period 2, nothing more: periods 2 and 3 are missed (50.00 < 110.00) and the
    asset returns owing 220.00. The 50.00 held pays towards that debt, to the holders as
    principal (25.00 each to ana and cy): 170.00 owed, 1,150.00 outstanding, nothing back."""
    c = commune
    aid = rented(c)
    c.act("ben", PayRent(aid, 50_00))
    c.settle()
    ana, cy, workshop = c.claim("ana"), c.claim("cy"), c.enterprise_claim("workshop")
    to_end_of_period(c, 3)
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.arrears, asset.outstanding) == ("reletting", 170_00, 1_150_00)
    assert c.state.tables["arrears"] == {(c.enterprise("workshop"), aid): 170_00}
    assert (c.claim("ana") - ana, c.claim("cy") - cy) == (25_00, 25_00)
    assert c.enterprise_claim("workshop") == workshop and c.state.claim(accounts.asset_account(aid)) == 0

    # Paid off later, though it rents the asset no more: 100.00, then 70.00, each to the holders.
    c.act("ben", PayRent(aid, 100_00))
    c.settle()
    assert c.state.tables["assets"][aid].outstanding == 1_050_00
    before = substance(c.state)
    c.act("ben", PayRent(aid, 100_00))  # 30.00 more than it owes
    assert c.refusals(c.settle()) == ["more_than_owed"]
    assert substance(c.state) == before
    c.act("ben", PayRent(aid, 70_00))
    c.settle()
    asset = c.state.tables["assets"][aid]
    assert (asset.arrears, asset.outstanding, c.state.tables["arrears"]) == (0, 980_00, {})
    assert (c.claim("ana") - ana, c.claim("cy") - cy) == (110_00, 110_00)
    assert c.enterprise_claim("workshop") == workshop - 170_00
    # Someone who owes nothing on it cannot pay rent for an asset that is not rented.
    c.act("ben", PayRent(aid, 10_00))
    assert c.refusals(c.settle()) == ["not_rented"]
