"""A whole life worked by hand (issue 4): request, auction, twelve periods of rent, the surplus
filling the series reserve and then prepaying principal, redemption, the first dividends and the
carry of their remainder.

The asset: P = 1,200.00 in 12 bonds of 100.00, T = 12 months on a lease of 24, R = 120.00,
c = 5.00; ana and cy win 6 bonds each at 6 % a year (r = 0.5 % a month). The level payment is
A = 1,200.00 × r / (1 − (1 + r)^−12) = 103.2797… → 103.28 (rounded up once). Each period the
surplus is S = 120.00 − 5.00 − 103.28 = 11.72: it fills the reserve of one period's debt service
(103.28) first, then prepays principal. Interest is floor(r × outstanding) in cents.
"""

from __future__ import annotations

from fractions import Fraction

from communekit import Commune, to_end_of_period

from commune.log.bodies import Bid, Offer, PayRent
from commune.rules import accounts
from commune.rules.charter import DAY_MS

#: Period: (interest, principal in the payment, prepaid, outstanding after, reserve after), by hand.
#: Period 10: the reserve needs 103.28 − 93.76 = 9.52 of the 11.72; the other 2.20 prepays.
#: Period 13: 76.99 + floor(0.3849…) = 77.37 closes the series; the surplus 115.00 − 77.37 = 37.63
#: and the released reserve 103.28 go to the dividend pool: 140.91.
SCHEDULE = {
    2: (6_00, 97_28, 0, 1_102_72, 11_72),
    3: (5_51, 97_77, 0, 1_004_95, 23_44),
    4: (5_02, 98_26, 0, 906_69, 35_16),
    5: (4_53, 98_75, 0, 807_94, 46_88),
    6: (4_03, 99_25, 0, 708_69, 58_60),
    7: (3_54, 99_74, 0, 608_95, 70_32),
    8: (3_04, 100_24, 0, 508_71, 82_04),
    9: (2_54, 100_74, 0, 407_97, 93_76),
    10: (2_03, 101_25, 2_20, 304_52, 103_28),
    11: (1_52, 101_76, 11_72, 191_04, 103_28),
    12: (95, 102_33, 11_72, 76_99, 103_28),
    13: (38, 76_99, 0, 0, 0),
}


def test_a_whole_life_by_hand(tmp_path) -> None:
    c = Commune(tmp_path)
    c.fund("ana", 600_00)
    c.fund("cy", 600_00)
    c.fund("ben", 2_000_00, account=c.enterprise("workshop"))
    offer = c.act(
        "ben",
        Offer(
            renter=c.enterprise("workshop"),
            description="a dough mixer",
            price=1_200_00,
            rent=120_00,
            costs=5_00,
            lease_periods=24,
            term_periods=12,
            bonds=12,
            vendor_payee="Mixers Ltd",
            valuation=bytes(32),
            deadline_ms=c.world.clock.now_ms() + DAY_MS,
        ),
    )
    c.settle()
    aid = offer.id
    c.act("ana", Bid(aid, 6, 3, 50))
    c.act("cy", Bid(aid, 6, 3, 50))
    c.settle()
    c.pass_days(2)
    c.settle()
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.coupon_num, asset.coupon_den, asset.payment) == ("rented", 3, 50, 103_28)
    r = Fraction(1, 200)
    assert 103_27 < 1_200_00 * r / (1 - (1 + r) ** -12) < 103_28
    assert asset.first_period == 2  # cleared inside period 1: rent is due from period 2

    paid_to_holders = 0
    for period, (interest, principal, prepaid, outstanding, reserve) in SCHEDULE.items():
        before = c.claim("ana") + c.claim("cy")
        c.act("ben", PayRent(aid, 120_00))
        to_end_of_period(c, period)
        asset = c.state.tables["assets"][aid]
        assert (asset.outstanding, asset.reserve) == (outstanding, reserve), period
        received = c.claim("ana") + c.claim("cy") - before
        assert received == interest + principal + prepaid, period
        paid_to_holders += received
        assert asset.state == ("redeemed" if period == 13 else "rented")
    # Twelve periods of rent; the holders got their 1,200.00 back and the interest on what they
    # were owed each period: 6.00 + 5.51 + ... + 0.38 = 39.09.
    assert paid_to_holders == 1_200_00 + 39_09
    assert abs(c.claim("ana") - c.claim("cy")) <= 12  # split each time by largest remainder
    assert c.state.claim(accounts.FUNDS) == 12 * 5_00
    assert c.enterprise_claim("workshop") == 2_000_00 - 12 * 120_00

    # The first dividends: 140.91 among the three founders on the record: 46.97 each, nothing carried.
    assert c.state.dividend_index == 46_97
    assert c.state.claim(accounts.DIVIDEND_POOL) == 0
    # Redeemed: the whole net rent, 115.00, to the pool: 38.33 each, 0.01 carried.
    c.act("ben", PayRent(aid, 120_00))
    to_end_of_period(c, 14)
    assert c.state.dividend_index == 46_97 + 38_33
    assert c.state.claim(accounts.DIVIDEND_POOL) == 1
    assert c.state.untaken_dividends(c.pub("ben")) == 46_97 + 38_33
    # The carry joins the next period's pool: (115.00 + 0.01) / 3 = 38.33, 0.02 carried.
    c.act("ben", PayRent(aid, 120_00))
    to_end_of_period(c, 15)
    assert c.state.dividend_index == 46_97 + 2 * 38_33
    assert c.state.claim(accounts.DIVIDEND_POOL) == 2
    c.world.close()
