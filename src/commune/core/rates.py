"""Interest rates as exact fractions: never floats.

A rate is a `Fraction` per period (0.05 is 5 %). People type rates as percentages with a
decimal point ("4.25%", "4.25"); they are parsed digit by digit.
"""

from __future__ import annotations

import re
from fractions import Fraction

from commune.core.errors import CommuneError

Rate = Fraction


class RateError(CommuneError):
    reason = "bad_rate"


_PERCENT = re.compile(r"^\s*(?P<num>[0-9]+(?:\.[0-9]+)?)\s*%?\s*$")


def parse_percent(text: str) -> Rate:
    """`"4.25%"` or `"4.25"` as the exact rate 17/400."""
    match = _PERCENT.match(text) if isinstance(text, str) else None
    if not match:
        raise RateError(f"{text!r} is not a rate; write a percentage like 4.25%")
    return Fraction(match["num"]) / 100


def periodic(annual: Rate, periods_per_year: int) -> Rate:
    """The simple periodic rate of an annual rate: 6 % a year is 0.5 % a month."""
    if not isinstance(annual, (int, Fraction)) or isinstance(annual, bool):
        raise RateError(f"a rate is an exact fraction, not {type(annual).__name__}")
    if type(periods_per_year) is not int or periods_per_year <= 0:
        raise RateError("a year has a whole number of periods, and at least one period")
    return Fraction(annual) / periods_per_year


def format_percent(rate: Rate, places: int = 4) -> str:
    """A rate as a percentage rounded half-up to `places` decimals, for people to read."""
    scaled = Fraction(rate) * 100 * 10**places
    sign = "-" if scaled < 0 else ""
    units = (abs(scaled.numerator) * 2 + scaled.denominator) // (2 * scaled.denominator)
    whole, frac = divmod(units, 10**places)
    if units == 0:
        sign = ""
    text = f"{whole}.{str(frac).rjust(places, '0')}" if places else str(whole)
    return f"{sign}{text}%"
