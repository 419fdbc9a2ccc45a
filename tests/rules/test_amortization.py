"""Level debt service of a bond series: the exact annuity, the rounded schedule, prepayment, the split."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.errors import CommuneError
from commune.rules.amortization import (
    MAX_PERIODS,
    AmortizationError,
    Installment,
    apply_prepayment,
    interest_to_minor,
    level_payment,
    next_installment,
    payment_to_minor,
    remaining_periods,
    schedule,
    split_to_holders,
)
from commune.rules.reserve_rate import reserve_rate

FAST = settings(max_examples=100, deadline=None)


def ceil(exact: Fraction) -> int:
    return -(-exact.numerator // exact.denominator)


def floor(exact: Fraction) -> int:
    return exact.numerator // exact.denominator


def rows(table: list[Installment]) -> list[tuple[int, int, int, int, int]]:
    return [(i.period, i.payment, i.interest, i.principal_part, i.outstanding_after) for i in table]


# --- the rounding steps ------------------------------------------------------------------------


def test_payment_rounds_up_and_interest_rounds_down():
    assert payment_to_minor(Fraction(8884)) == 8884
    assert payment_to_minor(Fraction(88841, 10)) == 8885
    assert payment_to_minor(Fraction(888499, 100)) == 8885
    assert interest_to_minor(92_115, Fraction(1, 100)) == 921  # 921.15
    assert interest_to_minor(8_791, Fraction(1, 100)) == 87  # 87.91: down, not to nearest
    assert interest_to_minor(0, Fraction(1, 100)) == 0


# --- hand-worked: 1,000.00 at 1 % a month over 12 months --------------------------------------


def test_level_payment_is_the_exact_annuity():
    r = Fraction(1, 100)
    a = level_payment(100_000, r, 12)
    # A·(1 − (1+r)^−12) = P·r, and the 12 payments discounted one by one sum to P
    assert a * (1 - (1 + r) ** -12) == 100_000 * r
    assert sum(a / (1 + r) ** k for k in range(1, 13)) == 100_000
    assert floor(a) == 8_884  # 8,884.8788678…
    assert level_payment(100_000, 0, 12) == Fraction(100_000, 12)
    assert isinstance(level_payment(100_000, 0, 12), Fraction)


def test_hand_worked_schedule():
    principal, r, periods = 100_000, Fraction(1, 100), 12
    # The table worked by hand: A = ⌈8,884.8788…⌉ = 8,885 minor units; each period's interest is
    # 1 % of the balance floored to a minor unit; the last period pays what is left plus interest.
    payment = ceil(principal * r / (1 - 1 / (1 + r) ** periods))
    assert payment == 8_885
    expected, balance = [], principal
    for k in range(1, periods + 1):
        interest = floor(r * balance)
        pay = balance + interest if k == periods else payment
        expected.append((k, pay, interest, pay - interest, balance - (pay - interest)))
        balance -= pay - interest
    assert expected == [
        (1, 8885, 1000, 7885, 92115),
        (2, 8885, 921, 7964, 84151),
        (3, 8885, 841, 8044, 76107),
        (4, 8885, 761, 8124, 67983),
        (5, 8885, 679, 8206, 59777),
        (6, 8885, 597, 8288, 51489),
        (7, 8885, 514, 8371, 43118),
        (8, 8885, 431, 8454, 34664),
        (9, 8885, 346, 8539, 26125),
        (10, 8885, 261, 8624, 17501),
        (11, 8885, 175, 8710, 8791),
        (12, 8878, 87, 8791, 0),
    ]
    assert rows(schedule(principal, r, periods)) == expected


def test_rate_zero_splits_the_principal_with_the_last_payment_closing():
    # 1,000.00 over 3 periods: ⌈333.33…⌉ = 333.34 twice, then the 333.32 left
    assert rows(schedule(100_000, 0, 3)) == [
        (1, 33_334, 0, 33_334, 66_666),
        (2, 33_334, 0, 33_334, 33_332),
        (3, 33_332, 0, 33_332, 0),
    ]
    assert rows(schedule(1_200, Fraction(0), 12)) == [(k, 100, 0, 100, 1_200 - 100 * k) for k in range(1, 13)]


def test_one_period_pays_principal_and_interest_at_once():
    assert rows(schedule(100_000, Fraction(1, 100), 1)) == [(1, 101_000, 1_000, 100_000, 0)]
    assert rows(schedule(100_001, Fraction(1, 100), 1)) == [(1, 101_001, 1_000, 100_001, 0)]  # 1,000.01 floored


def test_small_principal_over_a_long_term_closes_early():
    # 1.00 over 480 periods at 0 %: a whole-unit payment cannot be below 0.01, so it closes after 100
    table = schedule(100, 0, 480)
    assert len(table) == 100
    assert all(i.payment == 1 for i in table)
    assert table[-1].outstanding_after == 0


# --- the design's worked example, at its reserve rate -------------------------------------------


def test_worked_example_series_at_the_reserve_rate():
    price, net_rent, periods = 24_000_000, 290_000, 120
    r = reserve_rate(price, net_rent, periods)
    table = schedule(price, r, periods)
    assert len(table) == 120
    assert [i.period for i in table] == list(range(1, 121))
    # The level payment rounds up to exactly the net rent: debt service never exceeds R − c.
    assert all(i.payment == net_rent for i in table[:-1])
    assert table[-1].payment <= net_rent
    assert table[-1].outstanding_after == 0
    assert sum(i.principal_part for i in table) == price
    total_paid = sum(i.payment for i in table)
    assert sum(i.interest for i in table) == total_paid - price
    # first and last rows by hand: 0.6588628197 % of 240,000.00 = 1,581.27… floored
    assert rows(table[:1]) == [(1, 290_000, 158_127, 131_873, 23_868_127)]
    last_balance = table[-2].outstanding_after
    last_interest = floor(r * last_balance)
    assert rows(table[-1:]) == [(120, last_balance + last_interest, last_interest, last_balance, 0)]
    assert (last_balance, last_interest) == (288_014, 1_897)


# --- period by period, as the chain keeps it ---------------------------------------------------


def test_next_installment_from_outstanding_and_payment_rebuilds_the_schedule():
    r = Fraction(1, 100)
    table = schedule(100_000, r, 12)
    payment, balance = table[0].payment, 100_000
    for k, row in enumerate(table, start=1):
        assert remaining_periods(balance, r, payment) == 13 - k
        got = next_installment(balance, r, payment, 13 - k, period=k)
        assert got == row
        balance = got.outstanding_after
    assert remaining_periods(balance, r, payment) == 0


def test_last_period_of_the_term_closes_whatever_is_left():
    got = next_installment(50_000, Fraction(1, 100), 8_885, 1, period=12)
    assert got == Installment(12, 50_500, 500, 50_000, 0)


def test_a_payment_that_never_repays_is_refused():
    with pytest.raises(AmortizationError) as err:
        next_installment(100_000, Fraction(1, 100), 1_000, 5)
    assert err.value.reason == "payment_below_interest"
    with pytest.raises(AmortizationError) as err:
        remaining_periods(100_000, Fraction(1, 100), 1_000)
    assert err.value.reason == "payment_below_interest"
    with pytest.raises(AmortizationError) as err:  # repays, but only after 100,000 periods
        remaining_periods(100_000, 0, 1)
    assert err.value.reason == "payment_below_interest"


# --- prepayment: keep A, shorten the term (rule 13) --------------------------------------------


def test_prepayment_shortens_the_term_and_keeps_the_payment():
    r = Fraction(1, 100)
    table = schedule(100_000, r, 12)
    # after 4 periods 67,983 is outstanding, 8 periods left; prepay 20,000.00 of it
    balance = table[3].outstanding_after
    assert remaining_periods(balance, r, 8_885) == 8
    balance = apply_prepayment(balance, 20_000)
    assert balance == 47_983
    assert remaining_periods(balance, r, 8_885) == 6
    # by hand: 47,983 → 39,577 → 31,087 → 22,512 → 13,852 → 5,105; then 5,105 + 51 closes
    got, k = [], 5
    while balance:
        row = next_installment(balance, r, 8_885, 13 - k, period=k)
        got.append(row)
        balance, k = row.outstanding_after, k + 1
    assert [i.outstanding_after for i in got] == [39_577, 31_087, 22_512, 13_852, 5_105, 0]
    assert got[-1] == Installment(10, 5_156, 51, 5_105, 0)
    assert apply_prepayment(5_105, 5_105) == 0
    assert remaining_periods(0, r, 8_885) == 0


def test_prepayment_cannot_exceed_the_outstanding_principal():
    with pytest.raises(AmortizationError) as err:
        apply_prepayment(1_000, 1_001)
    assert err.value.reason == "prepayment_exceeds_principal"
    assert apply_prepayment(1_000, 0) == 1_000


# --- split to holders --------------------------------------------------------------------------


def test_split_to_holders_by_largest_remainder_ties_to_the_earlier_holder():
    assert split_to_holders(290_000, [100, 100, 40]) == [120_834, 120_833, 48_333]
    assert split_to_holders(100, [1, 1, 1]) == [34, 33, 33]
    assert split_to_holders(100, [2, 0, 1]) == [67, 0, 33]
    assert split_to_holders(0, [0, 0]) == [0, 0]
    assert split_to_holders(7, [5]) == [7]


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: level_payment(0, Fraction(1, 100), 12),
        lambda: level_payment(100.0, Fraction(1, 100), 12),
        lambda: level_payment(100, 0.01, 12),
        lambda: level_payment(100, Fraction(-1, 100), 12),
        lambda: level_payment(100, True, 12),
        lambda: level_payment(100, Fraction(1, 100), 0),
        lambda: level_payment(100, Fraction(1, 100), MAX_PERIODS + 1),
        lambda: schedule(100, Fraction(1, 100), 12.0),
        lambda: next_installment(0, Fraction(1, 100), 10, 3),
        lambda: next_installment(100, Fraction(1, 100), 0, 3),
        lambda: next_installment(100, Fraction(1, 100), 10, 0),
        lambda: apply_prepayment(100, -1),
        lambda: apply_prepayment(100, 1.5),
        lambda: remaining_periods(-1, Fraction(1, 100), 10),
        lambda: split_to_holders(-1, [1]),
        lambda: split_to_holders(10, [1, -1]),
        lambda: split_to_holders(10, [1, 0.5]),
        lambda: split_to_holders(10, [1, True]),
        lambda: split_to_holders(10, [0, 0]),
        lambda: split_to_holders(10, []),
    ],
)
def test_bad_figures_are_refused(call):
    with pytest.raises(AmortizationError) as err:
        call()
    assert isinstance(err.value, CommuneError)
    assert err.value.message


# --- properties --------------------------------------------------------------------------------

principals = st.integers(min_value=1, max_value=10**9)
terms = st.integers(min_value=1, max_value=480)
rates = st.one_of(
    st.just(Fraction(0)),
    st.fractions(min_value=0, max_value=Fraction(3, 100), max_denominator=10**6),
    st.integers(min_value=0, max_value=3 * 10**10).map(lambda k: Fraction(k, 10**12)),
)


@FAST
@given(principals, rates, terms)
def test_schedule_properties(principal, rate, periods):
    table = schedule(principal, rate, periods)
    payment = payment_to_minor(level_payment(principal, rate, periods))
    assert 1 <= len(table) <= periods
    assert [i.period for i in table] == list(range(1, len(table) + 1))
    # no unit created or lost
    assert sum(i.principal_part for i in table) == principal
    assert table[-1].outstanding_after == 0
    previous = principal
    for i in table:
        assert i.payment == i.interest + i.principal_part
        assert i.interest == floor(rate * previous)
        assert 0 <= i.outstanding_after <= previous
        assert i.outstanding_after == previous - i.principal_part
        previous = i.outstanding_after
    assert all(i.payment == payment for i in table[:-1])
    # the rounded-up payment keeps ahead of the exact schedule: the last is never above the level
    assert table[-1].payment <= payment
    assert sum(i.interest for i in table) == sum(i.payment for i in table) - principal
    # the chain, keeping only outstanding and payment, counts the same periods
    assert remaining_periods(principal, rate, payment) == len(table)


@FAST
@given(principals, rates, terms, st.data())
def test_prepayment_never_lengthens_the_term(principal, rate, periods, data):
    table = schedule(principal, rate, periods)
    payment = payment_to_minor(level_payment(principal, rate, periods))
    k = data.draw(st.integers(min_value=0, max_value=len(table) - 1))
    balance = table[k - 1].outstanding_after if k else principal
    left = remaining_periods(balance, rate, payment)
    assert left == len(table) - k
    amount = data.draw(st.integers(min_value=0, max_value=balance))
    after = apply_prepayment(balance, amount)
    assert after == balance - amount
    assert remaining_periods(after, rate, payment) <= left


@FAST
@given(st.integers(min_value=0, max_value=10**12), st.lists(st.integers(min_value=0, max_value=10**6), min_size=1))
def test_split_to_holders_is_exact_and_within_a_unit(amount, holdings):
    if not any(holdings):
        holdings = [*holdings, 1]
    parts = split_to_holders(amount, holdings)
    assert sum(parts) == amount
    total = sum(holdings)
    for part, held in zip(parts, holdings, strict=True):
        assert abs(part - Fraction(amount * held, total)) < 1
        if held == 0:
            assert part == 0
