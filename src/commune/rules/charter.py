"""The charter: the parameters a commune chooses for itself (the design's *(choice)* rules).

Fixed at founding in the genesis block, changed only by a passed `change_charter` proposal
with the charter's own supermajority. Every parameter is an integer, an exact fraction or a
word from a fixed list: never a float. `with_change` parses a proposed value and refuses one
that is out of range, so a proposal that could not take effect is refused when it is made.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Annotated

import msgspec
from msgspec import Meta

from commune.core.errors import CommuneError
from commune.core.money import exponent

DAY_MS = 86_400_000
#: A month for probation and deadlines: 30.4375 days (a 365.25-day year / 12).
MONTH_MS = 2_629_800_000

MONTHS_PER_YEAR = 12

SURPLUS_POLICIES = ("reserve_then_prepay", "dividend")

#: A ratio as a charter change writes it: ASCII digits, optionally "/" and more digits.
_RATIO = re.compile(r"[0-9]+(/[0-9]+)?\Z")

Count = Annotated[int, Meta(ge=0, le=10_000)]


class CharterError(CommuneError):
    reason = "bad_charter"


class Ratio(msgspec.Struct, array_like=True, frozen=True):
    """An exact fraction as (numerator, denominator), for canonical encoding."""

    num: Annotated[int, Meta(ge=0)]
    den: Annotated[int, Meta(ge=1)]

    def __post_init__(self) -> None:
        if Fraction(self.num, self.den).denominator != self.den:
            raise CharterError(f"{self.num}/{self.den} is not in lowest terms")

    @classmethod
    def of(cls, value: Fraction | int | str) -> Ratio:
        f = Fraction(value)
        return cls(f.numerator, f.denominator)

    @property
    def value(self) -> Fraction:
        return Fraction(self.num, self.den)

    def __str__(self) -> str:
        return f"{self.num}/{self.den}" if self.den != 1 else str(self.num)


class Charter(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    """The commune's parameters. Defaults are the design's."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    currency: Annotated[str, Meta(pattern="^[A-Z]{3}\\Z")]
    #: Months per period (rent, debt service, dividends; rule 18: a month).
    period_months: Annotated[int, Meta(ge=1, le=12)] = 1
    #: Probation of a new member, in whole days; at most six months (rule 2).
    probation_days: Annotated[int, Meta(ge=0, le=183)] = 90
    #: Share of the electorate an ordinary proposal needs (rule 20: a majority).
    majority: Ratio = Ratio(1, 2)
    #: Share of the electorate a charter change, dissolution or merger needs.
    supermajority: Ratio = Ratio(2, 3)
    #: Longest a proposal may stay open, in days.
    max_voting_days: Annotated[int, Meta(ge=1, le=365)] = 30
    #: What the surplus of a bond series does first (rule 13).
    surplus_policy: Annotated[str, Meta(pattern="^(reserve_then_prepay|dividend)\\Z")] = "reserve_then_prepay"
    #: The commune's reference rate a year, for discounting re-letting bids of redeemed assets (rule 16).
    reference_rate: Ratio = Ratio(1, 20)
    #: Periods of grace after a missed rent payment (rule 15).
    grace_periods: Annotated[int, Meta(ge=0, le=12)] = 1
    #: Re-letting rounds without a valid bid before liquidation (rule 16).
    relet_rounds: Annotated[int, Meta(ge=1, le=12)] = 2
    #: Reserve of a series, in periods of debt service, filled before prepayment (rule 13).
    reserve_periods: Annotated[int, Meta(ge=0, le=12)] = 1

    def __post_init__(self) -> None:
        exponent(self.currency)  # refuses a currency that is not ISO 4217
        for name in ("majority", "supermajority"):
            share = getattr(self, name).value
            if not Fraction(1, 2) <= share <= 1:
                raise CharterError(f"{name} must be between 1/2 and 1, not {share}")
        if self.reference_rate.value > 1:
            raise CharterError("the reference rate is a yearly rate of at most 100%")

    @property
    def probation_ms(self) -> int:
        return self.probation_days * DAY_MS

    def per_period(self, annual: Fraction) -> Fraction:
        """A yearly rate as a rate per period: × months per period / 12 (bids and coupons are
        yearly, the schedules run by period)."""
        return Fraction(annual) * self.period_months / MONTHS_PER_YEAR

    def per_year(self, periodic: Fraction) -> Fraction:
        """A rate per period as a yearly rate (the inverse of `per_period`)."""
        return Fraction(periodic) * MONTHS_PER_YEAR / self.period_months

    def with_change(self, parameter: str, value: str) -> Charter:
        """The charter with `parameter` set to `value` (as written in a proposal)."""
        if parameter in ("name", "currency", "period_months"):
            raise CharterError(
                f"the {parameter} of a commune cannot be changed by a vote"
                + (" (its bond series and dividends are counted in periods)" if parameter == "period_months" else "")
            )
        fields = {f.name: f for f in msgspec.structs.fields(Charter)}
        if parameter not in fields:
            known = ", ".join(sorted(set(fields) - {"name", "currency", "period_months"}))
            raise CharterError(f"{parameter!r} is not a charter parameter; the parameters are {known}")
        current = getattr(self, parameter)
        try:
            if isinstance(current, Ratio):
                if not _RATIO.match(value):
                    raise ValueError("write a fraction as digits, like 2/3 or 1")
                parsed: object = Ratio.of(Fraction(value))
            elif isinstance(current, int):
                if not value.isascii() or not value.isdigit():
                    raise ValueError(value)
                parsed = int(value)
            else:
                parsed = value
            return msgspec.convert(msgspec.to_builtins(msgspec.structs.replace(self, **{parameter: parsed})), Charter)
        except (ValueError, ZeroDivisionError, msgspec.ValidationError, CharterError) as exc:
            raise CharterError(f"{value!r} is not a valid value for {parameter}: {exc}") from None


def votes_needed(electorate: int, share: Fraction) -> int:
    """Yes votes a proposal needs: `share` of the electorate rounded up, and never less than a
    strict majority (so 1/2 of 4 needs 3, 2/3 of 3 needs 2, 2/3 of 6 needs 4)."""
    exact = electorate * share
    ceil = -(-exact.numerator // exact.denominator)
    return max(ceil, electorate // 2 + 1)
