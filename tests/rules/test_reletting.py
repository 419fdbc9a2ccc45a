"""The members-only re-letting of a returned asset (rule 16): won by present value, not by rent."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.rules.reletting import (
    ReletBid,
    ReletError,
    ReletReason,
    choose,
    liquidate_after,
    present_value,
)

FAST = settings(max_examples=300, deadline=None)

TEN_PERCENT = Fraction(1, 10)


def offer(name: str, rent: int, periods: int, order: int) -> ReletBid:
    return ReletBid(id=name.encode(), bidder=b"member-" + name.encode(), rent=rent, periods=periods, order=order)


# --- present value, by hand ----------------------------------------------------------------


def test_present_value_by_hand() -> None:
    # 1,331 a period for 3 periods at 10 %: 1331/1.1 + 1331/1.21 + 1331/1.331 = 1210 + 1100 + 1000
    # = 3310; the formula: 1331 x (1 - (10/11)^3) / (1/10) = 1331 x (331/1331) x 10 = 3310.
    assert present_value(1331, 3, TEN_PERCENT) == 3310
    # 600 for 2 periods: 600 x (1 - 100/121) x 10 = 600 x 21/121 x 10 = 126000/121 (about 1041.32).
    assert present_value(600, 2, TEN_PERCENT) == Fraction(126_000, 121)
    # At r = 0 nothing is discounted: rent x lease.
    assert present_value(600, 2, Fraction(0)) == 1200
    assert present_value(600, 2, 0) == 1200


# --- the winner ----------------------------------------------------------------------------


def test_a_lower_rent_over_a_longer_lease_beats_a_higher_rent_over_a_short_one() -> None:
    bids = [offer("A", 1100, 1, 1), offer("B", 600, 2, 2), offer("C", 1000, 1, 3)]
    # Discounted at 10 % a period:
    #   A: 1100 x (1 - 10/11) x 10   = 1100 x 1/11 x 10   = 1000
    #   B:  600 x (1 - 100/121) x 10 =  600 x 21/121 x 10 = 126000/121 = 1041.32..
    #   C: 1000 x 1/11 x 10          = 10000/11           =  909.09..
    # B offers the lowest rent and wins; A, the highest rent, does not.
    result = choose(bids, 500, TEN_PERCENT)
    assert result.winner == b"B"
    assert result.present_values == {b"A": 1000, b"B": Fraction(126_000, 121), b"C": Fraction(10_000, 11)}
    assert result.invalid == {}


def test_a_bid_under_the_debt_service_floor_is_refused_even_with_the_best_present_value() -> None:
    bids = [offer("A", 1100, 1, 1), offer("B", 600, 2, 2), offer("C", 700, 1, 3)]
    # Remaining debt service 700 a period. B (600) does not cover it: invalid, though its present
    # value 1041.32.. is the highest. C at exactly 700 covers it (PV 7000/11 = 636.36..).
    # A (PV 1000) wins.
    result = choose(bids, 700, TEN_PERCENT)
    assert result.invalid == {b"B": ReletReason.BELOW_FLOOR}
    assert result.winner == b"A"
    assert result.present_values[b"C"] == Fraction(7000, 11)


def test_no_valid_bid_means_no_winner_and_the_rounds_count_towards_liquidation() -> None:
    bids = [offer("A", 1100, 1, 1), offer("B", 600, 2, 2)]
    # Floor 1,200 a period: neither covers it.
    result = choose(bids, 1200, TEN_PERCENT)
    assert result.winner is None
    assert result.invalid == {b"A": ReletReason.BELOW_FLOOR, b"B": ReletReason.BELOW_FLOOR}
    assert choose([], 0, TEN_PERCENT).winner is None
    # The charter's default: two rounds without a valid bid, then the asset is liquidated.
    assert [liquidate_after(n, 2) for n in range(4)] == [False, False, True, True]
    assert liquidate_after(1, 1)
    assert not liquidate_after(0, 1)


def test_once_redeemed_the_floor_is_zero_and_any_rent_is_valid() -> None:
    result = choose([offer("A", 1, 1, 1)], 0, Fraction(5, 100) / 12)
    assert result.winner == b"A"
    assert result.invalid == {}


def test_at_a_zero_rate_the_present_value_is_rent_times_lease_and_ties_go_to_the_earlier_bid() -> None:
    bids = [offer("A", 300, 4, 1), offer("B", 400, 3, 2), offer("C", 500, 2, 3)]
    # r = 0: A 300 x 4 = 1200, B 400 x 3 = 1200, C 500 x 2 = 1000. A and B tie; A came first.
    result = choose(bids, 0, Fraction(0))
    assert result.present_values == {b"A": 1200, b"B": 1200, b"C": 1000}
    assert result.winner == b"A"
    assert choose(list(reversed(bids)), 0, Fraction(0)) == result
    # Had B reached the chain first, B would win.
    earlier_b = [offer("A", 300, 4, 2), offer("B", 400, 3, 1), offer("C", 500, 2, 3)]
    assert choose(earlier_b, 0, Fraction(0)).winner == b"B"


def test_equal_present_values_at_a_positive_rate_go_to_the_earlier_bid() -> None:
    # At 10 %: 21 for 1 period is 21 x 10/11 = 210/11; 11 for 2 periods is 11 x 21/121 x 10 = 210/11.
    bids = [offer("A", 11, 2, 8), offer("B", 21, 1, 3)]
    result = choose(bids, 0, TEN_PERCENT)
    assert result.present_values == {b"B": Fraction(210, 11), b"A": Fraction(210, 11)}
    assert result.winner == b"B"  # order 3 is earlier than order 8
    assert list(result.present_values) == [b"B", b"A"]


# --- refused inputs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"rent": 0},
        {"rent": 10.0},
        {"rent": True},
        {"periods": 0},
        {"periods": 1.5},
        {"order": -1},
        {"id": b""},
        {"bidder": None},
    ],
)
def test_a_malformed_bid_is_refused(fields: dict[str, object]) -> None:
    good: dict[str, object] = {"id": b"A", "bidder": b"a", "rent": 100, "periods": 12, "order": 0}
    with pytest.raises(ReletError) as caught:
        ReletBid(**(good | fields))  # type: ignore[arg-type]
    assert caught.value.reason == "bad_relet_bid"


@pytest.mark.parametrize("rate", [-TEN_PERCENT, 0.1, True, "10%"])
def test_the_discount_rate_is_an_exact_rate(rate: object) -> None:
    with pytest.raises(ReletError) as caught:
        choose([offer("A", 100, 1, 1)], 0, rate)  # type: ignore[arg-type]
    assert caught.value.reason == "bad_discount_rate"


@pytest.mark.parametrize("floor", [-1, 1.5, True, Fraction(1, 2)])
def test_the_floor_is_whole_minor_units(floor: object) -> None:
    with pytest.raises(ReletError) as caught:
        choose([offer("A", 100, 1, 1)], floor, TEN_PERCENT)  # type: ignore[arg-type]
    assert caught.value.reason == "bad_floor"


def test_duplicate_ids_and_orders_are_refused() -> None:
    with pytest.raises(ReletError) as caught:
        choose([offer("A", 100, 1, 1), offer("A", 200, 1, 2)], 0, TEN_PERCENT)
    assert caught.value.reason == "duplicate_bid"
    with pytest.raises(ReletError) as caught:
        choose([offer("A", 100, 1, 1), offer("B", 200, 1, 1)], 0, TEN_PERCENT)
    assert caught.value.reason == "duplicate_order"


@pytest.mark.parametrize(("failed", "rounds"), [(-1, 2), (1, 0), (1.0, 2), (True, 2)])
def test_rounds_are_whole_numbers(failed: object, rounds: object) -> None:
    with pytest.raises(ReletError) as caught:
        liquidate_after(failed, rounds)  # type: ignore[arg-type]
    assert caught.value.reason == "bad_rounds"


# --- properties ----------------------------------------------------------------------------

DISCOUNT_RATES = st.sampled_from([Fraction(0), Fraction(1, 240), Fraction(1, 100), Fraction(1, 10)])


@st.composite
def rounds(draw: st.DrawFn) -> tuple[list[ReletBid], int, Fraction]:
    count = draw(st.integers(min_value=0, max_value=10))
    orders = draw(st.lists(st.integers(min_value=0, max_value=10**6), min_size=count, max_size=count, unique=True))
    bids = [
        ReletBid(
            id=i.to_bytes(4, "big"),
            bidder=b"member",
            rent=draw(st.integers(min_value=1, max_value=5_000_00)),
            periods=draw(st.integers(min_value=1, max_value=240)),
            order=orders[i],
        )
        for i in range(count)
    ]
    floor = draw(st.integers(min_value=0, max_value=5_000_00))
    return bids, floor, draw(DISCOUNT_RATES)


@FAST
@given(rounds(), st.randoms(use_true_random=False))
def test_the_winner_has_the_highest_present_value_of_the_valid_bids(
    round_: tuple[list[ReletBid], int, Fraction], rnd: object
) -> None:
    bids, floor, rate = round_
    result = choose(bids, floor, rate)
    valid = [b for b in bids if b.rent >= floor]
    assert set(result.invalid) == {b.id for b in bids if b.rent < floor}
    for b in bids:
        pv = result.present_values[b.id]
        # discounting takes value off every period's rent, unless the rate is 0
        assert 0 < pv < b.rent * b.periods if rate else pv == b.rent * b.periods
    if not valid:
        assert result.winner is None
    else:
        assert result.winner in {b.id for b in valid}
        best = result.present_values[result.winner]
        assert all(best >= result.present_values[b.id] for b in valid)
        # among equal present values, the earliest bid
        tied = [b for b in valid if result.present_values[b.id] == best]
        assert result.winner == min(tied, key=lambda b: b.order).id
    shuffled = list(bids)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert choose(shuffled, floor, rate) == result
