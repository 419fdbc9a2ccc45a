"""The money of a bond series: level debt service, its schedule, prepayment, the split to holders.

DESIGN section 2: `A = P·r / (1 − (1+r)^−T)` (`P/T` when r = 0); interest in a period is
`r·B` on the outstanding principal `B`; principal is `A − interest`; the last payment closes the
balance exactly to zero. Money is whole minor units and rates are exact fractions per period,
so a schedule needs two rounding steps, each one named function here:

- `payment_to_minor` rounds the exact level payment **up**. The rounded payment is then never
  below the exact annuity, so the balance is never behind the exact schedule and the series
  closes within its term, with a last payment no larger than the others. And at the reserve
  rate, where the exact annuity is at most the whole net rent, the rounded payment is too: debt
  service never eats into the renter's rent beyond `R − c` (rule 8).
- `interest_to_minor` rounds interest **down** (core.allocation's `floor_to_minor`). Nothing is
  lost by it: the payment is fixed, so the unit not paid as interest is paid as principal.

Every unit of every payment is interest or principal, and the last installment pays whatever
principal is left plus its interest, so the principal parts sum to `P` exactly.

Prepayment (rule 13, *choice* "keep A, shorten the term") lowers the outstanding principal and
keeps the payment; `remaining_periods` says how many installments are then left. A chain state
needs only the outstanding principal and the fixed payment: `next_installment` makes the
period's installment from them.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated

import msgspec
from msgspec import Meta

from commune.core.allocation import allocate, floor_to_minor
from commune.core.errors import CommuneError

#: The longest term, in periods, a schedule is computed for: a century of monthly periods.
#: Longer terms are refused so that no offer can make a node compute without end.
MAX_PERIODS = 1200


class AmortizationError(CommuneError):
    """Figures a schedule cannot be made from."""

    reason = "bad_schedule"


class Installment(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    """One period's debt service, in minor units: `payment = interest + principal_part`."""

    #: Counted from 1, the first period after the series is sold.
    period: Annotated[int, Meta(ge=1)]
    payment: Annotated[int, Meta(ge=0)]
    interest: Annotated[int, Meta(ge=0)]
    principal_part: Annotated[int, Meta(ge=0)]
    #: The principal still owed once this installment is paid.
    outstanding_after: Annotated[int, Meta(ge=0)]


def _whole(name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise AmortizationError(f"{name} must be a whole number of minor units, not {type(value).__name__}")
    if value < minimum:
        raise AmortizationError(f"{name} must be at least {minimum}, not {value}")
    return value


def _term(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise AmortizationError(f"{name} must be a whole number of periods, not {type(value).__name__}")
    if not 1 <= value <= MAX_PERIODS:
        raise AmortizationError(f"{name} must be between 1 and {MAX_PERIODS} periods, not {value}")
    return value


def _rate(rate: object) -> Fraction:
    if isinstance(rate, bool) or not isinstance(rate, (int, Fraction)):
        raise AmortizationError(f"a rate is an exact fraction per period, not {type(rate).__name__}")
    if rate < 0:
        raise AmortizationError(f"a rate cannot be negative, not {rate}")
    return Fraction(rate)


def payment_to_minor(exact: Fraction) -> int:
    """The named rounding of the level payment: up to the next whole minor unit.

    Up, so the rounded payment never falls short of the exact annuity: the series then closes
    within its term and its last payment is never larger than the level one.
    """
    whole, rest = floor_to_minor(exact)
    return whole + 1 if rest else whole


def interest_to_minor(balance: int, rate: Fraction) -> int:
    """A period's interest on `balance`: `r·B` floored to a minor unit (the one rounding rule).

    The payment is fixed, so a fraction of a unit not paid as interest is paid as principal.
    """
    return floor_to_minor(rate * balance)[0]


def level_payment(principal: int, rate: Fraction, periods: int) -> Fraction:
    """The exact level debt service `A = P·r / (1 − (1+r)^−T)`, or `P/T` when r = 0."""
    _whole("the principal", principal, 1)
    r = _rate(rate)
    t = _term("the term", periods)
    if r == 0:
        return Fraction(principal, t)
    growth = (1 + r) ** t
    return principal * r * growth / (growth - 1)


def next_installment(
    outstanding: int, rate: Fraction, level_payment_minor: int, periods_left: int, *, period: int = 1
) -> Installment:
    """This period's installment from what the chain keeps: the outstanding principal and the
    fixed (rounded) payment.

    Interest is `interest_to_minor(outstanding, rate)`. The installment pays the level payment,
    unless that would pay more than the principal left plus its interest, or this is the last
    period of the term (`periods_left == 1`): then it pays exactly the principal left plus its
    interest, and closes the balance to zero. A schedule made here closes on its own within its
    term; the last-period rule only guarantees that nothing can be left over. `period` is the
    number the installment carries.
    """
    balance = _whole("the outstanding principal", outstanding, 1)
    r = _rate(rate)
    payment = _whole("the level payment", level_payment_minor, 1)
    _whole("the number of periods left", periods_left, 1)
    _whole("the period", period, 1)
    interest = interest_to_minor(balance, r)
    if periods_left == 1 or balance + interest <= payment:
        return Installment(period, balance + interest, interest, balance, 0)
    if payment <= interest:
        raise AmortizationError(
            f"the payment of {payment} does not exceed the interest of {interest} on {balance} outstanding, "
            "so the principal would never be repaid; the payment must be the series' level payment",
            reason="payment_below_interest",
        )
    return Installment(period, payment, interest, payment - interest, balance - (payment - interest))


def schedule(principal: int, rate: Fraction, periods: int) -> list[Installment]:
    """The whole schedule of a series: the rounded level payment each period, the last one closing.

    It has at most `periods` installments; fewer only when whole-unit payments outrun the exact
    annuity (a small principal over a long term), never more.
    """
    payment = payment_to_minor(level_payment(principal, rate, periods))
    rows: list[Installment] = []
    balance = principal
    while balance:
        row = next_installment(balance, rate, payment, periods - len(rows), period=len(rows) + 1)
        rows.append(row)
        balance = row.outstanding_after
    return rows


def apply_prepayment(outstanding: int, amount: int) -> int:
    """The outstanding principal after prepaying `amount` of it (rule 13: the payment is kept, the
    term shortens). At most what is outstanding can be prepaid."""
    balance = _whole("the outstanding principal", outstanding, 0)
    paid = _whole("the prepayment", amount, 0)
    if paid > balance:
        raise AmortizationError(
            f"a prepayment of {paid} is more than the {balance} outstanding; prepay at most the outstanding principal",
            reason="prepayment_exceeds_principal",
        )
    return balance - paid


def remaining_periods(outstanding: int, rate: Fraction, level_payment_minor: int) -> int:
    """How many installments `next_installment` takes to close `outstanding` at this payment.

    0 when nothing is outstanding. Counted by running the installments themselves, so it agrees
    with the schedule to the unit; it never grows when the outstanding principal falls. Refused
    when the payment never repays the principal, or would take more than `MAX_PERIODS`.
    """
    balance = _whole("the outstanding principal", outstanding, 0)
    r = _rate(rate)
    payment = _whole("the level payment", level_payment_minor, 1)
    count = 0
    while balance:
        if count == MAX_PERIODS:
            raise AmortizationError(
                f"a payment of {payment} takes more than {MAX_PERIODS} periods to repay {outstanding}",
                reason="payment_below_interest",
            )
        count += 1
        balance = next_installment(balance, r, payment, MAX_PERIODS + 1, period=count).outstanding_after
    return count


def split_to_holders(amount: int, holdings: list[int]) -> list[int]:
    """A period's debt service split pro rata to the bonds each holder holds, in whole minor units.

    Exact shares floored, the leftover units by largest remainder, ties to the earlier holder
    (core.allocation): the parts sum to `amount` exactly.
    """
    _whole("the amount", amount, 0)
    for held in holdings:
        if not isinstance(held, int) or isinstance(held, bool) or held < 0:
            raise AmortizationError(f"a holding is a whole, non-negative number of bonds, not {held!r}")
    if amount and not any(holdings):
        raise AmortizationError("no bonds are held, so there is no one to pay debt service to", reason="no_holders")
    return allocate(amount, holdings)
