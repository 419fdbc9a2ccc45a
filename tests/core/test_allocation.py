"""allocate(): exact shares, floors, leftover units by largest remainder, ties to the earlier entry."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.allocation import AllocationError, allocate, floor_to_minor
from commune.core.errors import CommuneError

FAST = settings(max_examples=100, deadline=None)

totals = st.integers(min_value=0, max_value=10**12)
int_weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20).filter(any)
fraction_weights = st.lists(
    st.fractions(min_value=0, max_value=1000, max_denominator=1000), min_size=1, max_size=20
).filter(any)
weight_lists = st.one_of(int_weights, fraction_weights)


# --- worked examples (computed by hand) --------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        # 33.33.. each; the one leftover unit goes to the earliest of three equal remainders
        (100, [1, 1, 1], [34, 33, 33]),
        # 66.67 / 33.33: floors 66, 33; the leftover goes to the larger remainder (2/3)
        (100, [2, 1], [67, 33]),
        (100, [1, 2], [33, 67]),
        # 3.3, 3.3, 4.4: floors 3, 3, 4; largest remainder is the last entry, not the first
        (11, [3, 3, 4], [3, 3, 5]),
        # 16.67 x 6: floors 96, four leftovers to the first four
        (100, [1] * 6, [17, 17, 17, 17, 16, 16]),
        # 142.857.. x 7: floors 994, six leftovers
        (1000, [1] * 7, [143] * 6 + [142]),
        (10, [1, 1, 1], [4, 3, 3]),
        (2, [1, 1, 1], [1, 1, 0]),
        (1, [1, 1, 1], [1, 0, 0]),
        # exact shares: nothing to hand out
        (10, [1, 2, 2], [2, 4, 4]),
        # zero weights get nothing, even when they come first
        (5, [0, 1, 1], [0, 3, 2]),
        (1, [0, 1], [0, 1]),
        (1, [0, 0, 5, 0], [0, 0, 1, 0]),
        (0, [1, 2], [0, 0]),
        (0, [0, 0], [0, 0]),
        (0, [], []),
        # fractions: 7/3 and 14/3 -> floors 2, 4, leftover to the 2/3 remainder
        (7, [Fraction(1, 3), Fraction(2, 3)], [2, 5]),
        # ints and fractions mixed: weights 1/2, 1, 1/2 of 9 -> 2.25, 4.5, 2.25
        (9, [Fraction(1, 2), 1, Fraction(1, 2)], [2, 5, 2]),
        # large totals stay exact (a float would lose the last unit)
        (2**53 + 1, [1, 1], [2**52 + 1, 2**52]),
    ],
)
def test_allocate_worked_examples(total, weights, expected):
    assert allocate(total, weights) == expected


def test_allocate_accepts_any_sequence_and_does_not_modify_it():
    weights = (2, 1)
    assert allocate(100, weights) == [67, 33]
    listed = [2, 1]
    allocate(100, listed)
    assert listed == [2, 1]


def test_floor_to_minor_is_a_true_floor():
    assert floor_to_minor(Fraction(7, 2)) == (3, Fraction(1, 2))
    assert floor_to_minor(Fraction(-7, 2)) == (-4, Fraction(1, 2))
    assert floor_to_minor(Fraction(6, 3)) == (2, Fraction(0))
    assert floor_to_minor(Fraction(1, 3)) == (0, Fraction(1, 3))


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("weights", [[1.0, 1], [1, 0.5], [0.0], [float("nan")], [1, float("inf")]])
def test_float_weights_are_refused(weights):
    with pytest.raises(AllocationError, match="weights must be non-negative integers or fractions"):
        allocate(100, weights)


@pytest.mark.parametrize("weights", [[True, 1], [False], [Decimal("1")], ["1"], [None], [-1, 2], [Fraction(-1, 2)]])
def test_other_bad_weights_are_refused(weights):
    with pytest.raises(AllocationError, match="weights must be non-negative integers or fractions"):
        allocate(100, weights)


@pytest.mark.parametrize("total", [-1, 100.0, 0.5, True, Fraction(1, 2), Decimal("100"), "100", None])
def test_bad_totals_are_refused(total):
    with pytest.raises(AllocationError, match="whole, non-negative number of minor units"):
        allocate(total, [1, 1])


@pytest.mark.parametrize("weights", [[], [0], [0, 0, 0]])
def test_non_zero_total_over_no_weight_is_refused(weights):
    with pytest.raises(AllocationError, match="all zero"):
        allocate(1, weights)


def test_allocation_error_is_a_commune_error():
    with pytest.raises(CommuneError) as err:
        allocate(-1, [1])
    assert err.value.reason == "bad_allocation"


# --- properties -------------------------------------------------------------------------------


def _exact(total: int, weights) -> list[Fraction]:
    s = sum(Fraction(w) for w in weights)
    return [Fraction(total) * Fraction(w) / s for w in weights]


@FAST
@given(totals, weight_lists)
def test_shares_sum_exactly_to_the_total(total, weights):
    shares = allocate(total, weights)
    assert len(shares) == len(weights)
    assert sum(shares) == total
    assert all(type(s) is int for s in shares)


@FAST
@given(totals, weight_lists)
def test_zero_weight_never_gets_a_share(total, weights):
    for w, share in zip(weights, allocate(total, weights), strict=True):
        if w == 0:
            assert share == 0


@FAST
@given(totals, weight_lists)
def test_each_share_is_its_exact_value_floored_or_plus_one(total, weights):
    for share, exact in zip(allocate(total, weights), _exact(total, weights), strict=True):
        assert abs(share - exact) < 1
        floor = exact.numerator // exact.denominator
        assert share in (floor, floor + 1)


@FAST
@given(totals, weight_lists)
def test_leftover_goes_to_largest_remainders_ties_to_earlier(total, weights):
    exact = _exact(total, weights)
    shares = allocate(total, weights)
    rem = [e - (e.numerator // e.denominator) for e in exact]
    bumped = [i for i, (s, e) in enumerate(zip(shares, exact, strict=True)) if s > e]
    plain = [i for i in range(len(weights)) if i not in bumped]
    for i in bumped:
        for j in plain:
            # i was preferred over j: larger remainder, or equal remainder and earlier
            assert (rem[i], -i) > (rem[j], -j)


@FAST
@given(totals, weight_lists)
def test_allocation_is_deterministic(total, weights):
    first = allocate(total, weights)
    assert allocate(total, list(weights)) == first
    assert allocate(total, tuple(weights)) == first


@FAST
@given(totals, int_weights, st.integers(min_value=1, max_value=1000))
def test_only_proportions_matter(total, weights, k):
    scaled = [w * k for w in weights]
    as_fractions = [Fraction(w, k) for w in weights]
    expected = allocate(total, weights)
    assert allocate(total, scaled) == expected
    assert allocate(total, as_fractions) == expected


@FAST
@given(totals, weight_lists)
def test_larger_weight_never_gets_less(total, weights):
    shares = allocate(total, weights)
    for i, wi in enumerate(weights):
        for j, wj in enumerate(weights):
            if wi > wj:
                assert shares[i] >= shares[j]


@FAST
@given(totals, st.integers(min_value=1, max_value=200))
def test_equal_weights_differ_by_at_most_one_earlier_first(total, n):
    shares = allocate(total, [1] * n)
    assert max(shares) - min(shares) <= 1
    assert shares == sorted(shares, reverse=True)
    assert shares.count(total // n + 1) == total % n
