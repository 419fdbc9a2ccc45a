"""Rent, debt service, surplus and redemption through the chain (rules 13-14), by hand.

A small asset so the figures can be followed: P = 1,200.00 in 12 bonds of 100.00, T = 12 months
on a lease of L = 24, R = 110.00, c = 5.00. ana and cy each win 6 bonds at 6 % a year (0.5 % a month).
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from communekit import Commune, rented, to_end_of_period

from commune.log.bodies import PayRent
from commune.rules import accounts
from commune.rules.charter import Charter


@pytest.fixture
def prepaying(tmp_path) -> Commune:
    """No series reserve, so every surplus prepays principal at once."""
    c = Commune(tmp_path, charter=Charter(name="Test Commune", currency="EUR", reserve_periods=0))
    yield c
    c.world.close()


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
    assert c.state.dividend_index == 0  # nothing reached the dividend pool yet
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
    # What was left of the last period's rent after the final payment went to the dividend
    # pool, and from there to the three founders on the record (the remainder stays in the pool).
    to_members = c.state.claim(accounts.DIVIDEND_POOL) + c.state.claim(accounts.DIVIDENDS)
    assert received + to_members == periods * 105_00
    # A redeemed asset's whole net rent goes to the pool: 105.00 + the carry, shared by 3.
    carry = c.state.claim(accounts.DIVIDEND_POOL)
    index = c.state.dividend_index
    c.act("ben", PayRent(aid, 110_00))
    to_end_of_period(c, period + 1)
    per_member = (105_00 + carry) // 3
    assert c.state.dividend_index == index + per_member
    assert c.state.claim(accounts.DIVIDEND_POOL) == 105_00 + carry - 3 * per_member


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


def test_equal_dividends_by_hand(tmp_path) -> None:
    """With the surplus sent to the dividend pool (charter), each period's 1.72 is shared by the
    members on the record; dee, admitted on probation, joins the record when it ends."""
    from commune.log.bodies import Transfer

    c = Commune(tmp_path, charter=Charter(name="Test Commune", currency="EUR", surplus_policy="dividend"))
    c.admit("dee")  # 90 days of probation: ends inside period 3 (90 days < 3 x 30.4375)
    aid = rented(c)
    to_end_of_period(c, 1)
    dee = c.pub("dee")
    for period, (index, carry) in {
        2: (57, 1),  # 1.72 among ana, ben, cy: 57 each, 1 carried
        3: (57 + 43, 1),  # dee is on the record now: (172 + 1) / 4 = 43, 1 carried
        4: (57 + 43 + 43, 1),  # (172 + 1) / 4 = 43, 1 carried
    }.items():
        c.act("ben", PayRent(aid, 110_00))
        to_end_of_period(c, period)
        assert (c.state.dividend_index, c.state.claim(accounts.DIVIDEND_POOL)) == (index, carry)
    assert c.state.untaken_dividends(c.pub("ana")) == 143
    assert c.state.untaken_dividends(dee) == 86  # from the record date on: 43 + 43
    assert c.state.claim(accounts.DIVIDENDS) == 3 * 143 + 86
    # dee spends her dividends: they are drawn into her account first, then paid.
    c.act("dee", Transfer(c.pub("ana"), 86))
    assert c.refusals(c.settle()) == []
    assert (c.claim("dee"), c.state.untaken_dividends(dee), c.state.claim(accounts.DIVIDENDS)) == (0, 0, 3 * 143)
    # One cent more than she has is an overdraft.
    c.act("dee", Transfer(c.pub("ana"), 1))
    assert c.refusals(c.settle()) == ["overdraft"]
    c.world.close()


def test_a_member_readmitted_keeps_and_can_spend_earlier_dividends(tmp_path) -> None:
    """ben accrues dividends, spends some, leaves, is admitted again: what he did not spend is
    still his to spend (found by the protocol write-up: it was stranded)."""
    from commune.log.bodies import Accept, Attest, Leave, Transfer

    c = Commune(
        tmp_path, charter=Charter(name="Test Commune", currency="EUR", surplus_policy="dividend", probation_days=0)
    )
    aid = rented(c)
    to_end_of_period(c, 1)
    c.act("ben", PayRent(aid, 110_00))
    to_end_of_period(c, 2)  # 1.72 among 3: 57 each
    assert c.state.untaken_dividends(c.pub("ben")) == 57
    c.act("ben", Transfer(c.pub("ana"), 50))
    c.act("ben", Leave())
    c.settle()
    att = c.act("ana", Attest(c.enterprise("bakery"), c.pub("ben")))
    c.settle()
    c.act("ben", Accept(att.id), (att.id,))
    c.settle()
    assert c.state.is_member(c.pub("ben")) and c.state.untaken_dividends(c.pub("ben")) == 7
    c.act("ben", Transfer(c.pub("ana"), 7))
    assert c.refusals(c.settle()) == []
    assert c.state.untaken_dividends(c.pub("ben")) == 0
    c.world.close()
