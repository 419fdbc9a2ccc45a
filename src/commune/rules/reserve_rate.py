"""The reserve rate of a rental offer (rule 8): the highest rate the net rent can pay.

The exact reserve rate is the unique periodic rate r with `(R − c)·(1 − (1+r)^−T)/r = P`
(DESIGN section 2). It is irrational in general, so the commune uses one exact, rational stand-in
that every node computes to the same bits:

    r_max = the largest multiple of 1/RATE_GRID (10^−12 a period) at which T payments of the
    net rent still repay the price, i.e. at which `(R − c)·(1 − (1+r)^−T)/r ≥ P`.

Equivalently, the exact level payment on P at r_max over T periods is at most `R − c`, so its
rounded-up payment (amortization.payment_to_minor) is too. The present value of the rent falls
strictly as the rate rises, so r_max is well defined and lies less than one grid step below
the exact root. 10^−12 a period is 1.2·10^−11 a year for monthly periods, far below the 10^−6
a person reads (a rate shown to four decimals of a percent), and a step of it changes a
period's interest by less than a minor unit on any principal below 10^12 minor units. The
bisection runs on whole grid steps and every comparison is one between integers, so the
figures never grow beyond the powers `(1+r)^T` themselves and no two machines can disagree.
"""

from __future__ import annotations

from fractions import Fraction

from commune.core.errors import CommuneError
from commune.rules.amortization import MAX_PERIODS

#: Grid steps in a rate of 1 (100 %) a period: the reserve rate is a whole number of 10^−12.
RATE_GRID = 10**12


class OfferError(CommuneError):
    """An offer's figures are not whole, positive amounts and terms."""

    reason = "bad_offer"


class OfferCannotFund(CommuneError):
    """The net rent over the whole term does not repay the price, at any rate (rule 8)."""

    reason = "offer_cannot_fund"


def _positive(name: str, value: object, unit: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise OfferError(f"{name} must be a whole number of {unit}, not {type(value).__name__}")
    if value <= 0:
        raise OfferError(f"{name} must be more than zero {unit}, not {value}")
    return value


def _offer(price: object, net_rent: object, periods: object) -> tuple[int, int, int]:
    p = _positive("the price", price, "minor units")
    rent = _positive("the net rent (rent less the commune's costs)", net_rent, "minor units")
    t = _positive("the bond term", periods, "periods")
    if t > MAX_PERIODS:
        raise OfferError(f"the bond term must be at most {MAX_PERIODS} periods, not {t}")
    return p, rent, t


def _repays(price: int, net_rent: int, periods: int, num: int, den: int) -> bool:
    """Whether `periods` payments of `net_rent` at the rate num/den repay `price`, in integers:
    `R·(1 − (1+r)^−T)/r ≥ P` multiplied out by `r·(1+r)^T·den^(T+1)/den`."""
    if num == 0:
        return net_rent * periods >= price
    grown = (den + num) ** periods
    return net_rent * (grown - den**periods) * den >= price * num * grown


def annuity_repays(price: int, net_rent: int, periods: int, rate: Fraction) -> bool:
    """Whether `periods` payments of `net_rent` at the periodic `rate` repay `price` exactly
    (the present value of the payments is at least the price)."""
    p, rent, t = _offer(price, net_rent, periods)
    if isinstance(rate, bool) or not isinstance(rate, (int, Fraction)) or rate < 0:
        raise OfferError(f"a rate is a non-negative exact fraction per period, not {rate!r}")
    r = Fraction(rate)
    return _repays(p, rent, t, r.numerator, r.denominator)


def reserve_rate(price: int, net_rent: int, periods: int) -> Fraction:
    """r_max of an offer: the largest rate on the 10^−12 grid at which the net rent repays the price.

    0 exactly when `net_rent·periods == price` (and when the exact root is below one grid step).
    Refused with `offer_cannot_fund` when `net_rent·periods < price`: no rate, not even zero,
    lets that rent repay that price.
    """
    p, rent, t = _offer(price, net_rent, periods)
    if rent * t < p:
        needed = -(-p // t)
        raise OfferCannotFund(
            f"{t} periods of net rent at {rent} minor units pay {rent * t} in all, less than the price of {p}, "
            f"so no interest rate can fund this offer; raise the rent or lower the costs to at least {needed} "
            "minor units a period, lower the price, or lengthen the bond term"
        )
    # Invariant: the rent repays at lo grid steps and does not at hi. At r ≥ R/P it cannot, as the
    # present value R·(1 − (1+r)^−T)/r is below R/r ≤ P; so hi starts at ⌈R/P⌉ on the grid.
    lo, hi = 0, -(-rent * RATE_GRID // p)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _repays(p, rent, t, mid, RATE_GRID):
            lo = mid
        else:
            hi = mid
    return Fraction(lo, RATE_GRID)
