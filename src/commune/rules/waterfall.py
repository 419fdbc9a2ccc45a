"""Liquidation (rule 17): the order in which a sold asset's proceeds are paid, and net position (rule 19).

The proceeds of a liquidation go down a waterfall, each step paid in full before the next gets
anything:

1. the costs of the sale;
2. the series' bondholders: outstanding principal plus accrued interest. What each holder is owed
   is that total split pro rata to bonds held (`allocate`: whole minor units, leftovers by largest
   remainder, ties to the earlier holder). If the proceeds left cannot pay it all, what there is is
   split pro rata to those claims the same way, and each holder's unpaid claim is their
   **shortfall**. The series is non-recourse (rule 9): its shortfall falls on its holders only and
   never reaches other property, the dividend pool or the commune's funds;
3. the remainder, into the dividend pool.

Choices the design leaves open, made here:

- A shortfall is shared by splitting what *is* paid pro rata to the holders' claims, not to their
  bonds directly. The two agree up to a unit, but largest remainder over bonds can hand a holder one
  unit more out of a smaller total than out of the full claim (the Alabama paradox), which would pay
  them more than they are owed; splitting over the claims cannot.
- What is paid to holders covers accrued interest first, then principal, as each debt-service
  payment does (DESIGN 2).
- Proceeds below the sale costs pay the costs as far as they go; the unpaid costs are recorded
  (`sale_costs_unpaid`) for the commune to bear as its own expense. They are not the holders' to
  bear: the holders already receive nothing.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from commune.core.allocation import allocate
from commune.core.errors import CommuneError

NonNegative = Annotated[int, Meta(ge=0)]


class WaterfallError(CommuneError):
    """Figures a liquidation cannot be computed from."""

    reason = "bad_liquidation"


def _whole(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WaterfallError(f"{name} must be a whole number, not {value!r}")
    if value < 0:
        raise WaterfallError(f"{name} cannot be negative ({value})")
    return value


class Waterfall(msgspec.Struct, array_like=True, frozen=True):
    """Where a liquidation's proceeds went. Per-holder tuples are in the order of `holdings`.

    `sale_costs_paid + sum(paid) + to_dividend_pool == proceeds`, and for each holder
    `paid[i] + shortfall[i] == owed[i]`.
    """

    proceeds: NonNegative
    sale_costs_paid: NonNegative
    #: Sale costs the proceeds did not cover (the commune's own expense).
    sale_costs_unpaid: NonNegative
    #: Each holder's claim: outstanding principal plus accrued interest, pro rata to bonds held.
    owed: tuple[NonNegative, ...]
    #: What each holder is paid.
    paid: tuple[NonNegative, ...]
    #: What each holder is owed and not paid: their loss, borne by no one else.
    shortfall: tuple[NonNegative, ...]
    #: Of the total paid to holders: interest first, then principal.
    interest_paid: NonNegative
    principal_paid: NonNegative
    #: What is left after the holders, for the dividend pool.
    to_dividend_pool: NonNegative


def liquidate(
    proceeds: int,
    sale_costs: int,
    holdings: list[int],
    outstanding_principal: int,
    accrued_interest: int,
) -> Waterfall:
    """Pay a liquidated asset's `proceeds` down the waterfall of rule 17.

    `holdings` are the bonds each holder of the asset's series holds, in the series' order (the
    order ties are broken in). A redeemed asset's series owes nothing: pass no holdings and zeros.
    """
    proceeds = _whole("the proceeds", proceeds)
    sale_costs = _whole("the sale costs", sale_costs)
    principal = _whole("the outstanding principal", outstanding_principal)
    interest = _whole("the accrued interest", accrued_interest)
    bonds = [_whole("a holding", h) for h in holdings]
    owed_total = principal + interest
    if owed_total and not any(bonds):
        raise WaterfallError("the series is owed money but no holder holds any of its bonds")

    costs_paid = min(proceeds, sale_costs)
    left = proceeds - costs_paid
    owed = allocate(owed_total, bonds)
    paid_total = min(left, owed_total)
    paid = allocate(paid_total, owed)
    interest_paid = min(paid_total, interest)
    return Waterfall(
        proceeds=proceeds,
        sale_costs_paid=costs_paid,
        sale_costs_unpaid=sale_costs - costs_paid,
        owed=tuple(owed),
        paid=tuple(paid),
        shortfall=tuple(o - p for o, p in zip(owed, paid, strict=True)),
        interest_paid=interest_paid,
        principal_paid=paid_total - interest_paid,
        to_dividend_pool=left - paid_total,
    )


def net_position(dividend: int, rent_share: int) -> int:
    """A member's net position for a period (rule 19): their dividend minus the rent they carry.

    `rent_share` is the part of the rent paid for common property that falls to the member (the
    rent of their enterprise, as the member's statement apportions it). Positive: the commune pays
    the member that much more than they pay in rent; negative: the member pays that much more rent
    than they receive; zero: they use their share of the common property for free. Signed minor units.
    """
    for name, value in (("the dividend", dividend), ("the rent share", rent_share)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise WaterfallError(f"{name} must be a whole number of minor units, not {value!r}")
        if value < 0:
            raise WaterfallError(f"{name} cannot be negative ({value})")
    return dividend - rent_share
