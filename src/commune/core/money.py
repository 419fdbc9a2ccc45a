"""Money: a whole number of minor units (cents) of one ISO 4217 currency.

Money is never a float. Arithmetic refuses floats, and refuses to mix currencies; amounts a
person types are parsed digit by digit, never through a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from commune.core.errors import CommuneError

#: Minor-unit exponents of the ISO 4217 currencies a commune is likely to keep accounts in.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AUD": 2,
    "BGN": 2,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "INR": 2,
    "MXN": 2,
    "NOK": 2,
    "NZD": 2,
    "PLN": 2,
    "RON": 2,
    "SEK": 2,
    "SGD": 2,
    "USD": 2,
    "ZAR": 2,
    "ARS": 2,
    "CLP": 0,
    "ISK": 0,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
    "JOD": 3,
    "KWD": 3,
    "OMR": 3,
    "TND": 3,
}


class MoneyError(CommuneError):
    """An amount that is not valid money, or arithmetic that money does not allow."""

    reason = "bad_amount"


def exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (2 for EUR: 1 EUR = 100 cents)."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        known = ", ".join(sorted(CURRENCY_EXPONENTS))
        raise MoneyError(f"{currency!r} is not a currency commune knows; use one of {known}") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount of `minor` units of `currency` (an ISO 4217 code)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not _is_int(self.minor):
            raise MoneyError(f"money is a whole number of minor units, not {type(self.minor).__name__}")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise MoneyError(f"cannot combine money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if not _is_int(factor):
            raise MoneyError(f"money can be multiplied only by a whole number, not {type(factor).__name__}")
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same(other).minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def __str__(self) -> str:
        return format_amount(self.minor, self.currency) + " " + self.currency


def format_amount(minor: int, currency: str) -> str:
    """`123456` EUR as `1,234.56` (no currency code)."""
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exp)
    text = f"{whole:,}"
    if exp:
        text += "." + str(frac).rjust(exp, "0")
    return sign + text


_AMOUNT = re.compile(
    r"""^\s*
    (?:(?P<cur1>[A-Za-z]{3})\s+)?
    (?P<sign>-)?
    (?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?:[ _][0-9]{3})+|[0-9]+)
    (?:\.(?P<frac>[0-9]+))?
    (?:\s+(?P<cur2>[A-Za-z]{3}))?
    \s*$""",
    re.VERBOSE,
)


def parse_money(text: str, currency: str | None = None) -> Money:
    """Parse an amount as a person writes it: `1,250.00 EUR`, `EUR 1250`, `1250.5`, `-3`.

    `currency` is the commune's currency: a typed code must match it, and it is used when
    none is typed. Thousands may be grouped with commas, spaces or underscores; the decimal
    mark is a point. More decimals than the currency has is an error, never rounded.
    """
    if not isinstance(text, str):
        raise MoneyError(f"an amount is text like 1,250.00, not {type(text).__name__}")
    match = _AMOUNT.match(text)
    if not match:
        raise MoneyError(f"{text!r} is not an amount; write it like 1,250.00 or 1250 (a point for decimals)")
    typed = match["cur1"] or match["cur2"]
    if match["cur1"] and match["cur2"]:
        raise MoneyError(f"{text!r} names a currency twice; write it once, like 1,250.00 EUR")
    if typed:
        typed = typed.upper()
        if currency is not None and typed != currency:
            raise MoneyError(f"{text!r} is in {typed}, but this commune keeps accounts in {currency}")
    code = typed or currency
    if code is None:
        raise MoneyError(f"{text!r} has no currency; add one, like {text.strip()} EUR")
    exp = exponent(code)
    frac = match["frac"] or ""
    if len(frac) > exp:
        raise MoneyError(f"{text!r} has {len(frac)} decimals, but {code} has {exp}; amounts are never rounded")
    whole = int(re.sub(r"[ ,_]", "", match["whole"]))
    minor = whole * 10**exp + (int(frac.ljust(exp, "0")) if exp else 0)
    return Money(-minor if match["sign"] else minor, code)
