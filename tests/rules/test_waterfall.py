"""Liquidation (rule 17): sale costs, then the series' holders pro rata, then the dividend pool."""

from __future__ import annotations

from fractions import Fraction

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.allocation import allocate
from commune.rules.waterfall import Waterfall, WaterfallError, liquidate, net_position

# --- by hand -----------------------------------------------------------------------------------


def test_proceeds_cover_everything_with_a_remainder() -> None:
    # 500.00 sold; 10.00 costs; holders of 3 and 1 bonds owed 300.00 principal + 12.00 interest
    w = liquidate(
        proceeds=500_00, sale_costs=10_00, holdings=[3, 1], outstanding_principal=300_00, accrued_interest=12_00
    )
    assert w == Waterfall(
        proceeds=500_00,
        sale_costs_paid=10_00,
        sale_costs_unpaid=0,
        owed=(234_00, 78_00),  # 312.00 × 3/4, × 1/4
        paid=(234_00, 78_00),
        shortfall=(0, 0),
        interest_paid=12_00,
        principal_paid=300_00,
        to_dividend_pool=178_00,  # 500.00 − 10.00 − 312.00
    )


def test_claims_split_by_largest_remainder() -> None:
    # 100.01 owed over 2 and 1 bonds: 66.67⅓ and 33.33⅔ → floors 66.67, 33.33; the unit to the ⅔
    w = liquidate(200_00, 0, [2, 1], 100_00, 1)
    assert w.owed == w.paid == (66_67, 33_34)
    assert w.to_dividend_pool == 99_99


def test_proceeds_below_the_sale_costs() -> None:
    w = liquidate(proceeds=8_00, sale_costs=10_00, holdings=[2, 2], outstanding_principal=40_00, accrued_interest=1_00)
    assert w.sale_costs_paid == 8_00
    assert w.sale_costs_unpaid == 2_00  # the commune's own expense, not the holders'
    assert w.owed == (20_50, 20_50)
    assert w.paid == (0, 0)
    assert w.shortfall == (20_50, 20_50)
    assert (w.interest_paid, w.principal_paid, w.to_dividend_pool) == (0, 0, 0)


def test_a_shortfall_split_among_three_holders_with_a_tie() -> None:
    # bonds 1, 1, 2; owed 360.00 principal + 40.00 interest = 400.00 → claims 100.00, 100.00, 200.00.
    # 15.02 sold, 5.00 costs → 10.02 for the holders: exactly 2.505, 2.505, 5.01 → floors 2.50, 2.50,
    # 5.01 (10.01); the one unit left goes to one of the two equal remainders (½): the earlier holder.
    w = liquidate(
        proceeds=15_02, sale_costs=5_00, holdings=[1, 1, 2], outstanding_principal=360_00, accrued_interest=40_00
    )
    assert w.owed == (100_00, 100_00, 200_00)
    assert w.paid == (2_51, 2_50, 5_01)
    assert w.shortfall == (97_49, 97_50, 194_99)
    assert sum(w.shortfall) == 400_00 - 10_02
    assert (w.interest_paid, w.principal_paid) == (10_02, 0)  # interest first
    assert w.to_dividend_pool == 0  # the shortfall reaches no one else


def test_interest_first_then_principal() -> None:
    w = liquidate(proceeds=50_00, sale_costs=0, holdings=[1], outstanding_principal=100_00, accrued_interest=20_00)
    assert (w.interest_paid, w.principal_paid) == (20_00, 30_00)
    assert w.shortfall == (70_00,)


def test_no_holder_paid_more_than_owed_where_bonds_alone_would() -> None:
    # Over bonds 8, 8, 1, 4, largest remainder gives 57 units as 22, 22, 2, 11 but 56 units as
    # 21, 21, 3, 11: the third holder would get more from less (the Alabama paradox). Split over
    # the claims, no one gets more than their claim.
    holdings = [8, 8, 1, 4]
    assert allocate(57, holdings) == [22, 22, 2, 11]
    assert allocate(56, holdings) == [21, 21, 3, 11]
    w = liquidate(proceeds=56, sale_costs=0, holdings=holdings, outstanding_principal=57, accrued_interest=0)
    assert w.owed == (22, 22, 2, 11)
    assert w.paid == (22, 21, 2, 11)  # exact 21.61, 21.61, 1.96, 10.81: leftovers to .96, .81, the first .61
    assert w.shortfall == (0, 1, 0, 0)


def test_a_redeemed_asset_owes_no_holder() -> None:
    w = liquidate(proceeds=10_00, sale_costs=1_00, holdings=[], outstanding_principal=0, accrued_interest=0)
    assert (w.owed, w.paid, w.shortfall, w.to_dividend_pool) == ((), (), (), 9_00)


def test_a_holder_of_no_bonds_gets_nothing() -> None:
    w = liquidate(proceeds=10_00, sale_costs=0, holdings=[0, 5], outstanding_principal=20_00, accrued_interest=0)
    assert w.owed == (0, 20_00)
    assert w.paid == (0, 10_00)


def test_a_waterfall_round_trips_canonically() -> None:
    w = liquidate(15_02, 5_00, [1, 1, 2], 360_00, 40_00)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(w), type=Waterfall) == w


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 0, [1], 0, 0), "proceeds cannot be negative"),
        ((0, -1, [1], 0, 0), "sale costs cannot be negative"),
        ((0, 0, [-1], 0, 0), "holding cannot be negative"),
        ((0, 0, [1], -1, 0), "principal cannot be negative"),
        ((0, 0, [1], 0, -1), "interest cannot be negative"),
        ((1.5, 0, [1], 0, 0), "whole number"),
        ((100, 0, [1.0], 10, 0), "whole number"),
        ((100, 0, [], 10, 0), "no holder holds any"),
        ((100, 0, [0, 0], 10, 0), "no holder holds any"),
    ],
)
def test_bad_figures_are_refused(args: tuple, message: str) -> None:
    with pytest.raises(WaterfallError, match=message) as caught:
        liquidate(*args)
    assert caught.value.reason == "bad_liquidation"


def test_net_position() -> None:
    assert net_position(dividend=50_00, rent_share=30_00) == 20_00  # paid the difference
    assert net_position(dividend=30_00, rent_share=50_00) == -20_00  # pays the difference
    assert net_position(dividend=41_67, rent_share=41_67) == 0  # uses their share for free
    with pytest.raises(WaterfallError, match="whole number"):
        net_position(1.0, 0)  # type: ignore[arg-type]
    with pytest.raises(WaterfallError, match="negative"):
        net_position(0, -1)


# --- properties --------------------------------------------------------------------------------

money = st.integers(min_value=0, max_value=10**12)


@settings(max_examples=500, deadline=None)
@given(
    proceeds=money,
    sale_costs=st.integers(min_value=0, max_value=10**9),
    holdings=st.lists(st.integers(min_value=0, max_value=10**4), min_size=1, max_size=12).filter(any),
    principal=money,
    interest=st.integers(min_value=0, max_value=10**10),
)
def test_every_unit_goes_somewhere_and_no_holder_gets_more_than_owed(
    proceeds: int, sale_costs: int, holdings: list[int], principal: int, interest: int
) -> None:
    w = liquidate(proceeds, sale_costs, holdings, principal, interest)
    paid_total = sum(w.paid)
    assert w.sale_costs_paid + paid_total + w.to_dividend_pool == proceeds
    assert w.sale_costs_paid + w.sale_costs_unpaid == sale_costs
    assert sum(w.owed) == principal + interest
    assert w.interest_paid + w.principal_paid == paid_total
    assert w.interest_paid <= interest and w.principal_paid <= principal
    for owed, paid, short in zip(w.owed, w.paid, w.shortfall, strict=True):
        assert 0 <= paid <= owed
        assert paid + short == owed
    # in order: nothing for holders before the costs are paid, nothing for the pool before the holders
    if w.sale_costs_unpaid:
        assert paid_total == 0 and w.to_dividend_pool == 0
    if any(w.shortfall):
        assert w.to_dividend_pool == 0
    # pro rata to bonds held, within rounding (a unit for the claim, a unit for the payment)
    bonds = sum(holdings)
    for h, paid in zip(holdings, w.paid, strict=True):
        assert abs(paid - Fraction(paid_total * h, bonds)) < 2
