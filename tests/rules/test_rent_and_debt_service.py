"""Rent, debt service, surplus and redemption through the chain (rules 13-14), by hand.

A small asset so the figures can be followed: P = 1,200.00 in 12 bonds of 100.00, T = L = 12
months, R = 110.00, c = 5.00. ana and cy each win 6 bonds at 6 % a year (0.5 % a month).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from communekit import Commune

from commune.log.bodies import Bid, Offer, PayRent
from commune.rules import accounts
from commune.rules.charter import DAY_MS, MONTH_MS, Charter

SMALL = dict(
    description="a bread slicer",
    price=1_200_00,
    rent=110_00,
    costs=5_00,
    lease_periods=12,
    term_periods=12,
    bonds=12,
    vendor_payee="Slicer Ltd",
    valuation=bytes(32),
)


@pytest.fixture
def prepaying(tmp_path) -> Commune:
    """No series reserve, so every surplus prepays principal at once."""
    c = Commune(tmp_path, charter=Charter(name="Test Commune", currency="EUR", reserve_periods=0))
    yield c
    c.world.close()


def rented(c: Commune) -> bytes:
    """Fund, offer, bid and clear; return the asset id. The clearing falls in period 1."""
    c.fund("ana", 600_00)
    c.fund("cy", 600_00)
    c.fund("ben", 2_000_00, account=c.enterprise("workshop"))
    o = c.act("ben", Offer(renter=c.enterprise("workshop"), deadline_ms=c.world.clock.now_ms() + DAY_MS, **SMALL))
    c.settle()
    c.act("ana", Bid(o.id, 6, 3, 50))
    c.act("cy", Bid(o.id, 6, 3, 50))
    c.settle()
    c.pass_days(2)
    c.settle()
    asset = c.state.tables["assets"][o.id]
    assert asset.state == "rented" and asset.first_period == 2
    return o.id


def to_end_of_period(c: Commune, period: int) -> None:
    """Move the clock just past the end of `period` and settle."""
    end = c.world.genesis.time_ms + period * MONTH_MS
    c.world.clock.set(max(c.world.clock.now_ms(), end + 1))
    c.settle()


def test_the_first_period_by_hand(prepaying: Commune) -> None:
    c = prepaying
    aid = rented(c)
    # A = P r / (1 - (1+r)^-12) with r = 1/200, rounded up to a cent: 103.28.
    r = Fraction(1, 200)
    exact = 120_000 * r / (1 - (1 + r) ** -12)
    assert 10_327 < exact < 10_328
    assert c.state.tables["assets"][aid].payment == 10_328
    to_end_of_period(c, 1)  # the rental started inside period 1: no rent for it
    assert c.state.tables["assets"][aid].outstanding == 1_200_00
    c.act("ben", PayRent(aid, 110_00))
    to_end_of_period(c, 2)
    # Period 2: costs 5.00 to the commune's funds; interest floor(1,200.00 x 0.5 %) = 6.00,
    # principal 103.28 - 6.00 = 97.28; the surplus 110.00 - 5.00 - 103.28 = 1.72 prepays
    # principal at once (no reserve): outstanding 1,200.00 - 97.28 - 1.72 = 1,101.00.
    asset = c.state.tables["assets"][aid]
    assert (asset.outstanding, asset.reserve, asset.missed) == (1_101_00, 0, 0)
    # Holders get 103.28 + 1.72 = 105.00, half each: 600.00 - 600.00 escrowed + 52.50.
    assert c.claim("ana") == c.claim("cy") == 52_50
    assert c.state.claim(accounts.FUNDS) == 5_00
    assert c.enterprise_claim("workshop") == 2_000_00 - 110_00


def test_a_series_paid_off_early_then_rent_to_the_dividend_pool(prepaying: Commune) -> None:
    c = prepaying
    aid = rented(c)
    period = 1
    while c.state.tables["assets"][aid].state == "rented":
        period += 1
        c.act("ben", PayRent(aid, 110_00))
        to_end_of_period(c, period)
        assert period < 14
    # Every period the holders got R - c = 105.00 in all (debt service plus prepayment), and the
    # principal they were repaid is exactly P: 1,200.00 + interest = what they received.
    received = c.claim("ana") + c.claim("cy")
    periods = period - 1
    asset = c.state.tables["assets"][aid]
    assert asset.outstanding == 0 and asset.state == "redeemed"
    assert periods <= 12  # prepayment shortened the term
    interest = received - 1_200_00
    assert 0 < interest < 12 * 6_00  # less than a year of interest on the whole price
    # The last period's rent left over after the final payment went to the dividend pool.
    pool_before = c.state.claim(accounts.DIVIDEND_POOL)
    assert received + pool_before == periods * 105_00
    # A redeemed asset's whole net rent goes to the pool.
    c.act("ben", PayRent(aid, 110_00))
    to_end_of_period(c, period + 1)
    assert c.state.claim(accounts.DIVIDEND_POOL) == pool_before + 105_00


def test_a_missed_period_pays_the_holders_nothing(commune: Commune) -> None:
    c = commune
    aid = rented(c)
    to_end_of_period(c, 2)  # no rent paid
    asset = c.state.tables["assets"][aid]
    assert (asset.missed, asset.outstanding) == (1, 1_200_00)
    assert c.claim("ana") == c.claim("cy") == 0
    # With the default reserve of one period: the surplus of 1.72 is kept in the series reserve.
    c.act("ben", PayRent(aid, 110_00))
    to_end_of_period(c, 3)
    asset = c.state.tables["assets"][aid]
    assert (asset.missed, asset.reserve, asset.outstanding) == (0, 1_72, 1_200_00 - 97_28)


def test_rent_from_someone_who_does_not_sign_for_the_renter(commune: Commune) -> None:
    c = commune
    aid = rented(c)
    c.act("ana", PayRent(aid, 110_00))
    assert c.refusals(c.settle()) == ["not_a_signer"]
