"""The sealed-bid, uniform-price bond auction that sets a series' interest rate (rules 10-11).

Each bid asks for a whole number of bonds at the lowest annual rate its bidder accepts, and is
funded when placed: it escrows quantity × face value from the bidder's account (rule 11), so
settlement cannot fail. At the deadline the steward's block lists the bids received before it
and every node runs `clear` on them; a block whose rate or fills differ is refused.

`clear` is the rule, step by step: bids above the reserve rate are dropped; the rest are sorted
by rate, ties by the order in which the chain received them; the clearing rate y* is the rate
of the bid at which the running quantity first reaches the series' N bonds. Bids below y* fill
fully; the bids at y* share what is left pro rata to quantity, in whole bonds, by the commune's
one rounding rule (`core.allocation.allocate`: floors, then leftovers by largest fractional part,
ties to the earlier bid). Every winner gets the coupon y* (uniform price). If the qualifying
bids ask for fewer than N bonds the auction fails: nothing is filled and all escrow is released.

The result depends only on the bids' contents and their `order` field, never on the order they
are passed in: every node recomputes the same figures from the same bids. Rates are exact
fractions a year (0.05 is 5 %); money is whole minor units.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from fractions import Fraction

import msgspec

from commune.core.allocation import allocate
from commune.core.errors import CommuneError


class AuctionReason(StrEnum):
    BAD_BID = "bad_bid"
    DUPLICATE_BID = "duplicate_bid"
    DUPLICATE_ORDER = "duplicate_order"
    BAD_BOND_COUNT = "bad_bond_count"
    BAD_FACE_VALUE = "bad_face_value"
    BAD_RESERVE_RATE = "bad_reserve_rate"
    #: Not an error: why a bid took no part in the clearing.
    ABOVE_RESERVE_RATE = "above_reserve_rate"


EXPLANATIONS: dict[AuctionReason, str] = {
    AuctionReason.BAD_BID: "a bid asks for a whole number of bonds, at least one, at an exact rate of 0 or more",
    AuctionReason.DUPLICATE_BID: "two bids have the same id",
    AuctionReason.DUPLICATE_ORDER: "two bids claim the same place in the order the chain received them",
    AuctionReason.BAD_BOND_COUNT: "a series issues a whole number of bonds, at least one",
    AuctionReason.BAD_FACE_VALUE: "a bond's face value is a whole number of minor units, more than zero",
    AuctionReason.BAD_RESERVE_RATE: "the reserve rate is an exact rate of 0 or more",
    AuctionReason.ABOVE_RESERVE_RATE: "the bid asks for more interest than the rental offer can pay",
}


class AuctionError(CommuneError):
    """Inputs the auction cannot be run on, with the reason."""

    def __init__(self, reason: AuctionReason, detail: str = "") -> None:
        super().__init__(EXPLANATIONS[reason] + (f": {detail}" if detail else ""), reason=reason.value)
        self.auction_reason = reason


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_rate(value: object) -> bool:
    """An exact rate: a Fraction or an int (never a float, a bool or a Decimal), not negative."""
    if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
        return False
    return value >= 0


class Bid(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A sealed bid: `quantity` bonds at no less than `annual_rate` a year.

    `order` is the position in which the chain received the bid; a lower order is an earlier
    bid, and wins ties. `id` is the bid's entry id; `bidder` is the key whose account escrows it.
    """

    id: bytes
    bidder: bytes
    quantity: int
    annual_rate: Fraction
    order: int

    def __post_init__(self) -> None:
        if not isinstance(self.id, bytes) or not self.id:
            raise AuctionError(AuctionReason.BAD_BID, "its id is empty or not bytes")
        if not isinstance(self.bidder, bytes) or not self.bidder:
            raise AuctionError(AuctionReason.BAD_BID, "its bidder is empty or not bytes")
        if not _is_int(self.quantity) or self.quantity < 1:
            raise AuctionError(AuctionReason.BAD_BID, f"quantity {self.quantity!r}")
        if not _is_rate(self.annual_rate):
            raise AuctionError(AuctionReason.BAD_BID, f"rate {self.annual_rate!r}")
        if not _is_int(self.order) or self.order < 0:
            raise AuctionError(AuctionReason.BAD_BID, f"order {self.order!r}")


class Clearing(msgspec.Struct, frozen=True, gc=False):
    """What an auction decided, for every bid, in the bids' order.

    `fills[id] + unfilled[id]` is each bid's quantity: `unfilled` is what its escrow releases.
    `rate` is the coupon y* every winner gets; None when the auction failed.
    """

    bonds: int
    max_annual_rate: Fraction
    failed: bool
    rate: Fraction | None
    #: Bonds asked for by the bids at or under the reserve rate.
    qualifying: int
    fills: dict[bytes, int]
    unfilled: dict[bytes, int]
    #: Bids that took no part in the clearing, and why.
    dropped: dict[bytes, AuctionReason]

    @property
    def winners(self) -> dict[bytes, int]:
        """The bids that bought bonds, and how many each bought."""
        return {bid: n for bid, n in self.fills.items() if n > 0}


class EscrowRelease(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One bid's escrow after clearing: `kept` pays for its bonds, `released` goes back."""

    kept: int
    released: int


def _require_bonds(bonds: int) -> None:
    if not _is_int(bonds) or bonds < 1:
        raise AuctionError(AuctionReason.BAD_BOND_COUNT, repr(bonds))


def _require_face_value(face_value: int) -> None:
    if not _is_int(face_value) or face_value < 1:
        raise AuctionError(AuctionReason.BAD_FACE_VALUE, repr(face_value))


def in_order(bids: Iterable[Bid]) -> list[Bid]:
    """The bids sorted by the order the chain received them; duplicate ids or orders refused."""
    ranked = sorted(bids, key=_order_key)
    seen: set[bytes] = set()
    for i, bid in enumerate(ranked):
        if bid.id in seen:
            raise AuctionError(AuctionReason.DUPLICATE_BID, bid.id.hex()[:12])
        seen.add(bid.id)
        if i and ranked[i - 1].order == bid.order:
            raise AuctionError(AuctionReason.DUPLICATE_ORDER, f"order {bid.order}")
    return ranked


def _order_key(bid: object) -> int:
    if not isinstance(bid, Bid):
        raise AuctionError(AuctionReason.BAD_BID, f"a {type(bid).__name__} is not a bid")
    return bid.order


def clear(bids: Iterable[Bid], bonds: int, max_annual_rate: Fraction) -> Clearing:
    """Clear the auction of a series of `bonds` bonds with reserve rate `max_annual_rate` (a year).

    The reserve rate is the offer's r_max (rule 8) expressed as an annual rate, the unit bids
    are made in. A bid at exactly the reserve rate qualifies; one above it is dropped.
    """
    _require_bonds(bonds)
    if not _is_rate(max_annual_rate):
        raise AuctionError(AuctionReason.BAD_RESERVE_RATE, repr(max_annual_rate))
    reserve = Fraction(max_annual_rate)
    ranked = in_order(bids)
    fills = {bid.id: 0 for bid in ranked}
    dropped = {bid.id: AuctionReason.ABOVE_RESERVE_RATE for bid in ranked if bid.annual_rate > reserve}
    # Sorted by rate; `ranked` is in order, and the sort is stable, so equal rates stay in order.
    qualifying = sorted((bid for bid in ranked if bid.id not in dropped), key=lambda bid: bid.annual_rate)
    asked = sum(bid.quantity for bid in qualifying)
    rate: Fraction | None = None
    if asked >= bonds:
        running = 0
        for bid in qualifying:
            running += bid.quantity
            if running >= bonds:
                rate = Fraction(bid.annual_rate)
                break
        assert rate is not None
        below = [bid for bid in qualifying if bid.annual_rate < rate]
        at_rate = [bid for bid in qualifying if bid.annual_rate == rate]
        for bid in below:
            fills[bid.id] = bid.quantity
        left = bonds - sum(bid.quantity for bid in below)
        for bid, share in zip(at_rate, allocate(left, [bid.quantity for bid in at_rate]), strict=True):
            fills[bid.id] = share
    return Clearing(
        bonds=bonds,
        max_annual_rate=reserve,
        failed=rate is None,
        rate=rate,
        qualifying=asked,
        fills=fills,
        unfilled={bid.id: bid.quantity - fills[bid.id] for bid in ranked},
        dropped=dropped,
    )


def escrow_for(quantity: int, face_value: int) -> int:
    """What a bid for `quantity` bonds of `face_value` minor units escrows when placed (rule 11)."""
    if not _is_int(quantity) or quantity < 1:
        raise AuctionError(AuctionReason.BAD_BID, f"quantity {quantity!r}")
    _require_face_value(face_value)
    return quantity * face_value


def release_after(clearing: Clearing, face_value: int) -> dict[bytes, EscrowRelease]:
    """Each bid's escrow after `clearing`: fill × F kept to buy the asset, the rest released.

    A failed auction keeps nothing. For every bid, kept + released is what it escrowed.
    """
    _require_face_value(face_value)
    return {
        bid: EscrowRelease(kept=filled * face_value, released=clearing.unfilled[bid] * face_value)
        for bid, filled in clearing.fills.items()
    }
