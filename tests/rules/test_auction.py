"""The sealed-bid uniform-price bond auction (rules 10-11), every figure computed by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.errors import CommuneError
from commune.rules.auction import (
    AuctionError,
    AuctionReason,
    Bid,
    Clearing,
    EscrowRelease,
    clear,
    escrow_for,
    release_after,
)

FAST = settings(max_examples=300, deadline=None)

#: 100.00 in minor units: the face value of a bond in these tests.
F = 100_00


def pct(text: str) -> Fraction:
    """An annual rate written as a percentage: pct("5") is 5 % a year."""
    return Fraction(text) / 100


def bid(name: str, quantity: int, percent: str, order: int) -> Bid:
    return Bid(
        id=name.encode(), bidder=b"bidder-" + name.encode(), quantity=quantity, annual_rate=pct(percent), order=order
    )


def fills(clearing: Clearing) -> dict[str, int]:
    return {k.decode(): v for k, v in clearing.fills.items()}


# --- (a) full fill: bids strictly below the clearing rate fill fully -------------------------


def test_bids_below_the_clearing_rate_fill_fully_and_the_marginal_bid_takes_the_rest() -> None:
    bids = [bid("A", 4, "2", 1), bid("B", 5, "3", 2), bid("C", 6, "4", 3)]
    # N = 10. Sorted by rate: A 2 %, B 3 %, C 4 %; running quantity 4, 9, 15: it first reaches 10 at
    # C, so y* = 4 %. A and B are below y* and fill fully: 4 + 5 = 9. Left for the bids at 4 %:
    # 10 - 9 = 1, and C is the only one, so C gets 1 of its 6 and 5 are released.
    result = clear(bids, 10, pct("6"))
    assert not result.failed
    assert result.rate == Fraction(4, 100)
    assert result.qualifying == 15
    assert fills(result) == {"A": 4, "B": 5, "C": 1}
    assert result.unfilled == {b"A": 0, b"B": 0, b"C": 5}
    assert result.dropped == {}
    assert result.winners == {b"A": 4, b"B": 5, b"C": 1}
    # Escrow: A 4 x 100.00 kept; C keeps 1 x 100.00 and gets 5 x 100.00 back.
    assert release_after(result, F) == {
        b"A": EscrowRelease(kept=40_000, released=0),
        b"B": EscrowRelease(kept=50_000, released=0),
        b"C": EscrowRelease(kept=10_000, released=50_000),
    }


def test_when_the_running_quantity_reaches_n_exactly_a_higher_bid_gets_nothing() -> None:
    bids = [bid("A", 4, "2", 1), bid("B", 6, "3", 2), bid("C", 5, "4", 3)]
    # Running quantity 4, 10: it reaches N = 10 at B, so y* = 3 %. A fills 4; left 10 - 4 = 6 for
    # the bids at 3 %: B alone gets 6. C (4 %) is under the reserve but above y*: it gets nothing,
    # and it is not "dropped" (it took part and lost).
    result = clear(bids, 10, pct("6"))
    assert result.rate == pct("3")
    assert fills(result) == {"A": 4, "B": 6, "C": 0}
    assert result.winners == {b"A": 4, b"B": 6}
    assert result.dropped == {}
    assert release_after(result, F)[b"C"] == EscrowRelease(kept=0, released=50_000)


def test_every_winner_gets_the_clearing_rate_even_a_bid_at_zero() -> None:
    bids = [bid("A", 3, "0", 1), bid("B", 3, "5.5", 2)]
    # Running 3, 6: N = 5 is reached at B, y* = 5.5 %; A fills 3, B gets 5 - 3 = 2. Both are paid 5.5 %.
    result = clear(bids, 5, pct("5.5"))
    assert result.rate == Fraction(55, 1000)
    assert fills(result) == {"A": 3, "B": 2}


# --- (b) pro rata at the margin ------------------------------------------------------------


def test_pro_rata_at_the_margin_the_leftover_goes_to_the_largest_fractional_part() -> None:
    bids = [bid("A", 4, "3", 1), bid("B", 3, "5", 2), bid("C", 3, "5", 3), bid("D", 2, "5", 4)]
    # N = 10. Running 4, 7, 10: it reaches 10 at C, y* = 5 %. A (3 %) fills 4.
    # Left 10 - 4 = 6 for B, C, D at 5 %, who ask 3 + 3 + 2 = 8:
    #   B: 6 x 3/8 = 2.25   C: 6 x 3/8 = 2.25   D: 6 x 2/8 = 1.5
    # Floors 2 + 2 + 1 = 5; 1 bond left over goes to the largest fractional part, D's .5
    # (the .25 tie between B and C does not come into play). Fills B 2, C 2, D 2.
    result = clear(bids, 10, pct("6"))
    assert result.rate == pct("5")
    assert fills(result) == {"A": 4, "B": 2, "C": 2, "D": 2}
    assert sum(result.fills.values()) == 10
    assert result.unfilled == {b"A": 0, b"B": 1, b"C": 1, b"D": 0}


def test_pro_rata_at_the_margin_a_tie_of_fractional_parts_goes_to_the_earlier_bid() -> None:
    bids = [bid("A", 4, "3", 1), bid("B", 3, "5", 2), bid("C", 3, "5", 3), bid("D", 2, "5", 4)]
    # The same bids with N = 11. Running 4, 7, 10, 12: it reaches 11 at D, y* = 5 %. A fills 4.
    # Left 11 - 4 = 7 for the 8 bonds asked at 5 %:
    #   B: 7 x 3/8 = 2.625   C: 7 x 3/8 = 2.625   D: 7 x 2/8 = 1.75
    # Floors 2 + 2 + 1 = 5; 2 bonds left over. The first goes to D (.75, the largest); the second
    # to the larger of B's and C's .625, a tie, so to the earlier bid B. Fills B 3, C 2, D 2.
    result = clear(bids, 11, pct("6"))
    assert result.rate == pct("5")
    assert fills(result) == {"A": 4, "B": 3, "C": 2, "D": 2}
    # The bids passed in any other order clear the same way.
    assert clear(list(reversed(bids)), 11, pct("6")) == result
    # If C had reached the chain before B, C would get the bond instead.
    swapped = [bid("A", 4, "3", 1), bid("B", 3, "5", 3), bid("C", 3, "5", 2), bid("D", 2, "5", 4)]
    assert fills(clear(swapped, 11, pct("6"))) == {"A": 4, "B": 2, "C": 3, "D": 2}


# --- (c) failure releases all escrow -------------------------------------------------------


def test_an_auction_short_of_n_fails_and_releases_every_escrow() -> None:
    bids = [bid("A", 4, "3", 1), bid("B", 5, "6", 2), bid("C", 3, "9", 3)]
    # Reserve 6 %: B at exactly 6 % qualifies, C at 9 % is dropped. Qualifying 4 + 5 = 9 < N = 10:
    # the auction fails. No bonds are sold, no rate is set, every escrow goes back in full:
    # A 4 x 100.00 = 400.00, B 5 x 100.00 = 500.00, C 3 x 100.00 = 300.00.
    result = clear(bids, 10, pct("6"))
    assert result.failed
    assert result.rate is None
    assert result.qualifying == 9
    assert fills(result) == {"A": 0, "B": 0, "C": 0}
    assert result.winners == {}
    assert result.unfilled == {b"A": 4, b"B": 5, b"C": 3}
    assert result.dropped == {b"C": AuctionReason.ABOVE_RESERVE_RATE}
    assert [escrow_for(b.quantity, F) for b in bids] == [40_000, 50_000, 30_000]
    assert release_after(result, F) == {
        b"A": EscrowRelease(kept=0, released=40_000),
        b"B": EscrowRelease(kept=0, released=50_000),
        b"C": EscrowRelease(kept=0, released=30_000),
    }


def test_an_auction_without_bids_fails() -> None:
    result = clear([], 1, pct("5"))
    assert result.failed and result.rate is None and result.fills == {} and result.qualifying == 0


# --- (d) bids above the reserve rate -------------------------------------------------------


def test_a_bid_above_the_reserve_is_dropped_even_though_it_would_have_filled() -> None:
    bids = [bid("A", 5, "4", 1), bid("B", 3, "5", 2), bid("C", 4, "7", 3)]
    # Had the reserve been 7 %: running 5, 8, 12 reaches N = 10 at C, y* = 7 %; A 5, B 3, and C
    # gets the 10 - 8 = 2 left.
    assert fills(clear(bids, 10, pct("7"))) == {"A": 5, "B": 3, "C": 2}
    # With the offer's reserve at 6 %, C asks for more than the rent can pay and is dropped; the
    # rest ask for 5 + 3 = 8 < 10, so the auction fails rather than sell at 7 %.
    result = clear(bids, 10, pct("6"))
    assert result.dropped == {b"C": AuctionReason.ABOVE_RESERVE_RATE}
    assert result.failed
    assert fills(result) == {"A": 0, "B": 0, "C": 0}


def test_a_dropped_bid_is_listed_while_the_rest_clear() -> None:
    bids = [bid("A", 6, "4", 1), bid("B", 6, "5", 2), bid("C", 10, "8", 3)]
    # Reserve 6 %: C (8 %) is dropped. Running 6, 12 reaches N = 10 at B, y* = 5 %: A 6, B 10 - 6 = 4.
    result = clear(bids, 10, pct("6"))
    assert result.rate == pct("5")
    assert fills(result) == {"A": 6, "B": 4, "C": 0}
    assert result.dropped == {b"C": AuctionReason.ABOVE_RESERVE_RATE}
    assert release_after(result, F)[b"C"] == EscrowRelease(kept=0, released=100_000)


# --- (e) ties at the same rate and the same fractional part --------------------------------


def test_equal_fractional_parts_at_the_clearing_rate_go_to_the_earliest_bids() -> None:
    bids = [bid("A", 3, "3", 1), bid("B", 3, "5", 2), bid("C", 3, "5", 3), bid("D", 3, "5", 4)]
    # N = 10. Running 3, 6, 9, 12 reaches 10 at D, y* = 5 %. A fills 3; left 7 for the 9 asked at
    # 5 %: each 7 x 3/9 = 2.333.., floors 2 + 2 + 2 = 6, 1 left over, three equal fractional
    # parts (1/3): it goes to the earliest, B. Fills A 3, B 3, C 2, D 2.
    assert fills(clear(bids, 10, pct("6"))) == {"A": 3, "B": 3, "C": 2, "D": 2}
    # N = 11: left 8, each 8 x 3/9 = 2.666.., floors 6, 2 left over: to B and C, the two earliest.
    assert fills(clear(bids, 11, pct("6"))) == {"A": 3, "B": 3, "C": 3, "D": 2}


def test_earlier_means_the_lowest_order_not_the_first_in_the_list() -> None:
    # The same bids as above, but D reached the chain first among the 5 % bids (order 7, against
    # 40 and 12), and the list is given in another order. The one leftover bond goes to D.
    bids = [bid("B", 3, "5", 40), bid("A", 3, "3", 1), bid("C", 3, "5", 12), bid("D", 3, "5", 7)]
    result = clear(bids, 10, pct("6"))
    assert fills(result) == {"A": 3, "D": 3, "C": 2, "B": 2}
    # The result lists the bids in their order, whatever order they were passed in.
    assert list(result.fills) == [b"A", b"D", b"C", b"B"]


# --- refused inputs ------------------------------------------------------------------------


@pytest.mark.parametrize("bonds", [0, -1, True, 1.0, Fraction(3), "10"])
def test_a_series_has_a_whole_number_of_bonds(bonds: object) -> None:
    with pytest.raises(AuctionError) as caught:
        clear([bid("A", 1, "3", 1)], bonds, pct("5"))  # type: ignore[arg-type]
    assert caught.value.reason == "bad_bond_count"


@pytest.mark.parametrize("reserve", [Fraction(-1, 100), 0.05, True, "5%"])
def test_the_reserve_rate_is_an_exact_rate(reserve: object) -> None:
    with pytest.raises(AuctionError) as caught:
        clear([bid("A", 1, "3", 1)], 1, reserve)  # type: ignore[arg-type]
    assert caught.value.reason == "bad_reserve_rate"


@pytest.mark.parametrize("face_value", [0, -100, 1.5, True])
def test_a_face_value_is_a_positive_whole_number_of_minor_units(face_value: object) -> None:
    with pytest.raises(AuctionError) as caught:
        escrow_for(1, face_value)  # type: ignore[arg-type]
    assert caught.value.reason == "bad_face_value"
    result = clear([bid("A", 1, "3", 1)], 1, pct("5"))
    with pytest.raises(AuctionError) as caught:
        release_after(result, face_value)  # type: ignore[arg-type]
    assert caught.value.reason == "bad_face_value"


def test_two_bids_with_one_id_are_refused() -> None:
    with pytest.raises(AuctionError) as caught:
        clear([bid("A", 1, "3", 1), bid("A", 2, "4", 2)], 2, pct("5"))
    assert caught.value.reason == "duplicate_bid"
    assert isinstance(caught.value, CommuneError)


def test_two_bids_at_one_place_in_the_order_are_refused() -> None:
    with pytest.raises(AuctionError) as caught:
        clear([bid("A", 1, "3", 5), bid("B", 2, "4", 5)], 2, pct("5"))
    assert caught.value.reason == "duplicate_order"


@pytest.mark.parametrize(
    "fields",
    [
        {"quantity": 0},
        {"quantity": -3},
        {"quantity": 2.0},
        {"quantity": True},
        {"annual_rate": 0.05},
        {"annual_rate": Fraction(-1, 100)},
        {"annual_rate": "5%"},
        {"order": -1},
        {"id": b""},
        {"bidder": "someone"},
    ],
)
def test_a_malformed_bid_is_refused(fields: dict[str, object]) -> None:
    good: dict[str, object] = {"id": b"A", "bidder": b"a", "quantity": 1, "annual_rate": pct("3"), "order": 0}
    with pytest.raises(AuctionError) as caught:
        Bid(**(good | fields))  # type: ignore[arg-type]
    assert caught.value.reason == "bad_bid"


def test_only_bids_take_part() -> None:
    with pytest.raises(AuctionError) as caught:
        clear([(b"A", b"a", 1, pct("3"), 0)], 1, pct("5"))  # type: ignore[list-item]
    assert caught.value.reason == "bad_bid"


def test_escrow_is_quantity_times_face_value() -> None:
    assert escrow_for(7, 100_00) == 700_00
    with pytest.raises(AuctionError) as caught:
        escrow_for(0, 100_00)
    assert caught.value.reason == "bad_bid"


# --- properties ----------------------------------------------------------------------------

#: A few rates (0 % to 10 % by 2.5 points) so that ties at the margin are common.
RATES = st.sampled_from([Fraction(k, 400) for k in range(0, 41, 10)])


@st.composite
def auctions(draw: st.DrawFn) -> tuple[list[Bid], int, Fraction]:
    count = draw(st.integers(min_value=0, max_value=12))
    orders = draw(st.lists(st.integers(min_value=0, max_value=10**6), min_size=count, max_size=count, unique=True))
    bids = [
        Bid(
            id=i.to_bytes(4, "big"),
            bidder=draw(st.sampled_from([b"ann", b"bo", b"cy"])),
            quantity=draw(st.integers(min_value=1, max_value=40)),
            annual_rate=draw(RATES),
            order=orders[i],
        )
        for i in range(count)
    ]
    bonds = draw(st.integers(min_value=1, max_value=200))
    return bids, bonds, draw(RATES)


@FAST
@given(auctions(), st.integers(min_value=1, max_value=10**7))
def test_clearing_properties(auction: tuple[list[Bid], int, Fraction], face_value: int) -> None:
    bids, bonds, reserve = auction
    result = clear(bids, bonds, reserve)
    by_id = {b.id: b for b in bids}
    qualifying = [b for b in bids if b.annual_rate <= reserve]
    assert result.qualifying == sum(b.quantity for b in qualifying)
    assert set(result.dropped) == {b.id for b in bids if b.annual_rate > reserve}
    assert set(result.fills) == set(result.unfilled) == set(by_id)
    for bid_id, filled in result.fills.items():
        assert 0 <= filled <= by_id[bid_id].quantity  # no bid gets more than it asked
        assert filled + result.unfilled[bid_id] == by_id[bid_id].quantity
    if result.qualifying < bonds:
        assert result.failed and result.rate is None
        assert all(n == 0 for n in result.fills.values())
    else:
        assert not result.failed and result.rate is not None
        rate = result.rate
        assert sum(result.fills.values()) == bonds  # exactly N, not one bond more or less
        assert rate <= reserve
        # y* is the rate of the bid at which the running quantity first reaches N
        assert sum(b.quantity for b in qualifying if b.annual_rate < rate) < bonds
        assert sum(b.quantity for b in qualifying if b.annual_rate <= rate) >= bonds
        at_rate = [b for b in qualifying if b.annual_rate == rate]
        left = bonds - sum(b.quantity for b in qualifying if b.annual_rate < rate)
        asked_at_rate = sum(b.quantity for b in at_rate)
        for b in bids:
            filled = result.fills[b.id]
            if filled:
                assert b.annual_rate <= rate  # every filled bid's rate is at or under y*
            if b.annual_rate < rate:
                assert filled == b.quantity  # bids strictly below y* fill fully
            if b.annual_rate == rate:
                exact = Fraction(left * b.quantity, asked_at_rate)  # its pro rata share, ± one bond
                assert exact - 1 < filled < exact + 1
    released = release_after(result, face_value)
    assert set(released) == set(by_id)
    for b in bids:
        escrowed = escrow_for(b.quantity, face_value)
        assert released[b.id].kept + released[b.id].released == escrowed
        assert released[b.id].kept == result.fills[b.id] * face_value


@FAST
@given(auctions(), st.randoms(use_true_random=False))
def test_the_clearing_does_not_depend_on_the_order_bids_are_passed_in(
    auction: tuple[list[Bid], int, Fraction], rnd: object
) -> None:
    bids, bonds, reserve = auction
    shuffled = list(bids)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = clear(bids, bonds, reserve), clear(shuffled, bonds, reserve)
    assert first == second
    assert list(first.fills) == list(second.fills) == [b.id for b in sorted(bids, key=lambda b: b.order)]
