"""The reserve rate (rule 8): the largest rate on the 10^-12 grid at which the net rent repays the price."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.errors import CommuneError
from commune.core.rates import format_percent
from commune.rules.amortization import MAX_PERIODS, level_payment
from commune.rules.reserve_rate import (
    RATE_GRID,
    OfferCannotFund,
    OfferError,
    annuity_repays,
    reserve_rate,
)

FAST = settings(max_examples=100, deadline=None)
STEP = Fraction(1, RATE_GRID)


def present_value(payment: int, rate: Fraction, periods: int) -> Fraction:
    """Each payment discounted to today, summed one by one (not the closed form)."""
    discount = 1 / (1 + rate)
    total, factor = Fraction(0), Fraction(1)
    for _ in range(periods):
        factor *= discount
        total += payment * factor
    return total


# --- the design's worked example ---------------------------------------------------------------


def test_worked_example_reserve_rate():
    # P = 240,000.00, T = 120 months, R − c = 2,900.00
    price, net_rent, periods = 24_000_000, 290_000, 120
    r_max = reserve_rate(price, net_rent, periods)
    # On the grid, and bracketed, by the payments discounted one by one: 120 payments of 2,900.00
    # repay 240,000.00 at r_max and do not one grid step above it.
    assert RATE_GRID % r_max.denominator == 0
    assert present_value(net_rent, r_max, periods) >= price
    assert present_value(net_rent, r_max + STEP, periods) < price
    # 0.6588628197 % a month; × 12 = 7.9063538364 % a year, shown as 7.9064 %.
    assert r_max == Fraction(6_588_628_197, RATE_GRID)
    assert format_percent(r_max) == "0.6589%"
    assert format_percent(r_max * 12) == "7.9064%"
    # The exact level payment at r_max is at most the net rent; one step above, more than it.
    assert level_payment(price, r_max, periods) <= net_rent < level_payment(price, r_max + STEP, periods)


# --- hand-worked small cases -------------------------------------------------------------------


def test_rent_that_exactly_repays_the_price_gives_rate_zero():
    assert reserve_rate(1_200, 100, 12) == 0
    assert reserve_rate(24_000_000, 200_000, 120) == 0


def test_one_period():
    # One payment of R repays P when P·(1 + r) ≤ R: r_max = R/P − 1 floored to the grid.
    assert reserve_rate(100, 110, 1) == Fraction(1, 10)
    assert reserve_rate(3, 4, 1) == Fraction(333_333_333_333, RATE_GRID)  # 1/3 floored


def test_two_periods_by_hand():
    # 2 payments of 60 repay 100 at r where 60/(1+r) + 60/(1+r)^2 = 100, i.e. 5x^2 − 3x − 3 = 0
    # with x = 1 + r: x = (3 + √69)/10 = 1.13066238629…, so r = 0.130662386291… a period.
    r = reserve_rate(100, 60, 2)
    assert r == Fraction(130_662_386_291, RATE_GRID)
    assert present_value(60, r, 2) >= 100 > present_value(60, r + STEP, 2)


def test_root_below_one_grid_step_floors_to_zero():
    # R·T exceeds P by one unit on a large price: the exact root is about 2e-14 a period.
    price = 10**12 - 1
    r = reserve_rate(price, 10**10, 100)
    assert r == 0
    assert present_value(10**10, STEP, 100) < price


# --- refusals ----------------------------------------------------------------------------------


def test_offer_whose_rent_cannot_repay_is_refused_by_name():
    with pytest.raises(OfferCannotFund) as err:
        reserve_rate(24_000_000, 199_999, 120)
    assert err.value.reason == "offer_cannot_fund"
    assert isinstance(err.value, CommuneError)
    # says what to change: the net rent it would take, in whole units rounded up
    assert "at least 200000" in err.value.message
    assert "lengthen the bond term" in err.value.message
    with pytest.raises(OfferCannotFund):
        reserve_rate(1_201, 100, 12)


@pytest.mark.parametrize(
    ("price", "net_rent", "periods"),
    [
        (0, 100, 12),
        (-5, 100, 12),
        (100, 0, 12),
        (100, -1, 12),
        (100, 10, 0),
        (100, 10, -3),
        (100, 10, MAX_PERIODS + 1),
        (100.0, 10, 12),
        (100, 10.0, 12),
        (100, 10, 12.0),
        (True, 10, 12),
        (100, True, 12),
        (100, 10, True),
        ("100", 10, 12),
        (Fraction(100), 10, 12),
        (None, 10, 12),
    ],
)
def test_bad_figures_are_refused(price, net_rent, periods):
    with pytest.raises(OfferError) as err:
        reserve_rate(price, net_rent, periods)
    assert err.value.reason == "bad_offer"


def test_annuity_repays_refuses_float_and_negative_rates():
    for rate in (0.01, -Fraction(1, 100), True, "0.01"):
        with pytest.raises(OfferError):
            annuity_repays(100, 10, 12, rate)


# --- properties --------------------------------------------------------------------------------

prices = st.integers(min_value=1, max_value=10**9)
terms = st.integers(min_value=1, max_value=480)


@st.composite
def fundable_offers(draw):
    price, periods = draw(prices), draw(terms)
    least = -(-price // periods)
    net_rent = draw(st.integers(min_value=least, max_value=max(least, 3 * least + price // 20)))
    return price, net_rent, periods


@FAST
@given(fundable_offers())
def test_reserve_rate_is_the_largest_grid_rate_that_repays(offer):
    price, net_rent, periods = offer
    r = reserve_rate(price, net_rent, periods)
    assert r >= 0
    assert RATE_GRID % r.denominator == 0
    # checked by the closed form, a different road from the integer test inside reserve_rate
    assert level_payment(price, r, periods) <= net_rent
    assert level_payment(price, r + STEP, periods) > net_rent
    assert annuity_repays(price, net_rent, periods, r)
    assert not annuity_repays(price, net_rent, periods, r + STEP)
    assert (r == 0) == (net_rent * periods == price or not annuity_repays(price, net_rent, periods, STEP))


@FAST
@given(fundable_offers(), st.integers(min_value=1, max_value=10**6))
def test_more_rent_never_lowers_and_a_higher_price_never_raises_the_rate(offer, more):
    price, net_rent, periods = offer
    r = reserve_rate(price, net_rent, periods)
    assert reserve_rate(price, net_rent + more, periods) >= r
    if (net_rent * periods) >= price + more:
        assert reserve_rate(price + more, net_rent, periods) <= r


@FAST
@given(prices, terms, st.integers(min_value=1, max_value=10**6))
def test_rent_short_of_the_price_is_always_refused(price, periods, short):
    net_rent = (price - short) // periods
    if net_rent <= 0:
        return
    with pytest.raises(OfferCannotFund):
        reserve_rate(price, net_rent, periods)
