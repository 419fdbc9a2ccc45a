"""The members-only re-letting auction of a returned asset (rule 16).

When a renter defaults or gives notice the asset returns, and the commune offers it again to its
members in a sealed auction. A bid is (rent per period, lease length in periods). The winner is
not the highest rent but the highest present value of the rent over the lease, discounted at a
periodic rate: the series' coupon per period while bonds are outstanding, the charter's reference
rate per period once the asset is redeemed. So a modest rent over a long lease can beat a high
rent over a short one, and the commune is not left re-letting again next year.

A bid must cover the floor: the remaining debt service per period (0 once redeemed; the caller
may add the commune-borne costs). A bid under it is invalid, and is named with its reason. A
round with no valid bid has no winner; the caller counts such rounds, and after the charter's
number of them (`liquidate_after`) the asset is liquidated (rule 17).

Present values are exact fractions; ties go to the earlier bid (lower `order`, the position in
which the chain received it). The result depends only on the bids, never on the order they are
passed in, so every node chooses the same winner.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from fractions import Fraction

import msgspec

from commune.core.errors import CommuneError


class ReletReason(StrEnum):
    BAD_BID = "bad_relet_bid"
    DUPLICATE_BID = "duplicate_bid"
    DUPLICATE_ORDER = "duplicate_order"
    BAD_FLOOR = "bad_floor"
    BAD_RATE = "bad_discount_rate"
    BAD_ROUNDS = "bad_rounds"
    #: Not an error: why a bid cannot win.
    BELOW_FLOOR = "below_floor"


EXPLANATIONS: dict[ReletReason, str] = {
    ReletReason.BAD_BID: "a re-letting bid offers a whole rent of at least one minor unit, for at least one period",
    ReletReason.DUPLICATE_BID: "two bids have the same id",
    ReletReason.DUPLICATE_ORDER: "two bids claim the same place in the order the chain received them",
    ReletReason.BAD_FLOOR: "the floor is a whole number of minor units per period, 0 or more",
    ReletReason.BAD_RATE: "the discount rate is an exact rate per period, 0 or more",
    ReletReason.BAD_ROUNDS: "rounds are counted in whole numbers, and a charter allows at least one",
    ReletReason.BELOW_FLOOR: "the rent does not cover the remaining debt service per period",
}


class ReletError(CommuneError):
    """Inputs the re-letting cannot be decided on, with the reason."""

    def __init__(self, reason: ReletReason, detail: str = "") -> None:
        super().__init__(EXPLANATIONS[reason] + (f": {detail}" if detail else ""), reason=reason.value)
        self.relet_reason = reason


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ReletBid(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A member's sealed offer to rent the returned asset: `rent` minor units a period for `periods`."""

    id: bytes
    bidder: bytes
    rent: int
    periods: int
    order: int

    def __post_init__(self) -> None:
        if not isinstance(self.id, bytes) or not self.id:
            raise ReletError(ReletReason.BAD_BID, "its id is empty or not bytes")
        if not isinstance(self.bidder, bytes) or not self.bidder:
            raise ReletError(ReletReason.BAD_BID, "its bidder is empty or not bytes")
        if not _is_int(self.rent) or self.rent < 1:
            raise ReletError(ReletReason.BAD_BID, f"rent {self.rent!r}")
        if not _is_int(self.periods) or self.periods < 1:
            raise ReletError(ReletReason.BAD_BID, f"lease of {self.periods!r} periods")
        if not _is_int(self.order) or self.order < 0:
            raise ReletError(ReletReason.BAD_BID, f"order {self.order!r}")


class Reletting(msgspec.Struct, frozen=True, gc=False):
    """What a re-letting round decided: the winning bid (or none), and every bid's figures."""

    floor_per_period: int
    periodic_rate: Fraction
    #: The winning bid's id; None when no bid was valid (a failed round).
    winner: bytes | None
    #: Every bid's present value, in the bids' order (invalid bids too, for the record).
    present_values: dict[bytes, Fraction]
    #: Bids that could not win, and why.
    invalid: dict[bytes, ReletReason]


def _require_rate(periodic_rate: Fraction) -> Fraction:
    if isinstance(periodic_rate, bool) or not isinstance(periodic_rate, (int, Fraction)) or periodic_rate < 0:
        raise ReletError(ReletReason.BAD_RATE, repr(periodic_rate))
    return Fraction(periodic_rate)


def present_value(rent: int, periods: int, periodic_rate: Fraction) -> Fraction:
    """The exact present value of `rent` paid at the end of each of `periods` periods.

    rent · (1 − (1+r)^−L) / r, or rent · L when r = 0 (the limit of the same formula).
    """
    if not _is_int(rent) or rent < 0:
        raise ReletError(ReletReason.BAD_BID, f"rent {rent!r}")
    if not _is_int(periods) or periods < 1:
        raise ReletError(ReletReason.BAD_BID, f"lease of {periods!r} periods")
    r = _require_rate(periodic_rate)
    if r == 0:
        return Fraction(rent * periods)
    return rent * (1 - (1 + r) ** -periods) / r


def choose(bids: Iterable[ReletBid], floor_per_period: int, periodic_rate: Fraction) -> Reletting:
    """Decide a re-letting round: the valid bid with the highest present value wins.

    `floor_per_period` is the remaining debt service a period (0 once the asset is redeemed);
    `periodic_rate` discounts the rent (the series coupon per period, or the charter's reference
    rate per period once redeemed). Ties of present value go to the earlier bid.
    """
    if not _is_int(floor_per_period) or floor_per_period < 0:
        raise ReletError(ReletReason.BAD_FLOOR, repr(floor_per_period))
    rate = _require_rate(periodic_rate)
    ranked = sorted(bids, key=_order_key)
    seen: set[bytes] = set()
    for i, bid in enumerate(ranked):
        if bid.id in seen:
            raise ReletError(ReletReason.DUPLICATE_BID, bid.id.hex()[:12])
        seen.add(bid.id)
        if i and ranked[i - 1].order == bid.order:
            raise ReletError(ReletReason.DUPLICATE_ORDER, f"order {bid.order}")
    values = {bid.id: present_value(bid.rent, bid.periods, rate) for bid in ranked}
    invalid = {bid.id: ReletReason.BELOW_FLOOR for bid in ranked if bid.rent < floor_per_period}
    winner: ReletBid | None = None
    for bid in ranked:  # in order, so a later bid must be strictly better to take the lead
        if bid.id not in invalid and (winner is None or values[bid.id] > values[winner.id]):
            winner = bid
    return Reletting(
        floor_per_period=floor_per_period,
        periodic_rate=rate,
        winner=None if winner is None else winner.id,
        present_values=values,
        invalid=invalid,
    )


def _order_key(bid: object) -> int:
    if not isinstance(bid, ReletBid):
        raise ReletError(ReletReason.BAD_BID, f"a {type(bid).__name__} is not a re-letting bid")
    return bid.order


def liquidate_after(failed_rounds: int, charter_relet_rounds: int) -> bool:
    """Whether an asset whose re-letting has failed `failed_rounds` times in a row is liquidated.

    The charter's `relet_rounds` (default 2, rule 16) is how many rounds without a valid bid the
    commune tries before it sells the asset.
    """
    if not _is_int(failed_rounds) or failed_rounds < 0:
        raise ReletError(ReletReason.BAD_ROUNDS, f"{failed_rounds!r} failed rounds")
    if not _is_int(charter_relet_rounds) or charter_relet_rounds < 1:
        raise ReletError(ReletReason.BAD_ROUNDS, f"the charter's {charter_relet_rounds!r} rounds")
    return failed_rounds >= charter_relet_rounds
