"""Money: integer minor units of one currency; never a float, never two currencies mixed."""

from __future__ import annotations

import dataclasses
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.errors import CommuneError
from commune.core.money import (
    CURRENCY_EXPONENTS,
    Money,
    MoneyError,
    exponent,
    format_amount,
    parse_money,
)

FAST = settings(max_examples=150, deadline=None)

currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))
minors = st.integers(min_value=-(10**22), max_value=10**22)


@st.composite
def moneys(draw, currency: str | None = None) -> Money:
    return Money(draw(minors), currency or draw(currencies))


@st.composite
def same_currency_pair(draw) -> tuple[Money, Money]:
    cur = draw(currencies)
    return Money(draw(minors), cur), Money(draw(minors), cur)


# --- construction ------------------------------------------------------------------------------


def test_money_holds_minor_units_and_currency():
    m = Money(125_000, "EUR")
    assert m.minor == 125_000
    assert m.currency == "EUR"
    assert Money.zero("JPY") == Money(0, "JPY")


def test_money_is_immutable_and_hashable():
    m = Money(5, "EUR")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.minor = 6  # type: ignore[misc]
    assert {Money(5, "EUR"), Money(5, "EUR"), Money(5, "USD")} == {Money(5, "EUR"), Money(5, "USD")}


@pytest.mark.parametrize("amount", [1.5, 1.0, 0.0, float("nan"), float("inf")])
def test_money_refuses_float_amounts(amount):
    with pytest.raises(MoneyError) as err:
        Money(amount, "EUR")
    assert "whole number of minor units" in err.value.message
    assert "float" in err.value.message


@pytest.mark.parametrize("amount", [True, False, Decimal("1"), Fraction(1), "100", None])
def test_money_refuses_other_non_integer_amounts(amount):
    with pytest.raises(MoneyError, match="whole number of minor units"):
        Money(amount, "EUR")


@pytest.mark.parametrize("currency", ["XYZ", "eur", "EURO", "", "€"])
def test_money_refuses_unknown_currency_and_lists_known_ones(currency):
    with pytest.raises(MoneyError) as err:
        Money(1, currency)
    assert "is not a currency commune knows" in err.value.message
    assert "EUR" in err.value.message and "JPY" in err.value.message


def test_money_error_is_a_commune_error_with_reason():
    with pytest.raises(CommuneError) as err:
        Money(1.5, "EUR")
    assert isinstance(err.value, MoneyError)
    assert err.value.reason == "bad_amount"
    assert err.value.message == str(err.value)


@pytest.mark.parametrize(("currency", "exp"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("ISK", 0), ("KWD", 3)])
def test_exponent_of_known_currencies(currency, exp):
    assert exponent(currency) == exp


def test_every_exponent_is_0_2_or_3_and_codes_are_iso_shaped():
    for code, exp in CURRENCY_EXPONENTS.items():
        assert len(code) == 3 and code.isalpha() and code.isupper(), code
        assert exp in (0, 2, 3), code


# --- arithmetic: worked examples ---------------------------------------------------------------


def test_add_sub_neg_mul_worked_examples():
    a, b = Money(250, "EUR"), Money(175, "EUR")
    assert a + b == Money(425, "EUR")
    assert a - b == Money(75, "EUR")
    assert b - a == Money(-75, "EUR")
    assert -a == Money(-250, "EUR")
    assert a * 3 == Money(750, "EUR")
    assert 3 * a == Money(750, "EUR")
    assert a * 0 == Money(0, "EUR")
    assert a * -2 == Money(-500, "EUR")


def test_comparisons_within_one_currency():
    one, two = Money(100, "EUR"), Money(200, "EUR")
    assert one < two and one <= two and two > one and two >= one
    assert one <= Money(100, "EUR") and one >= Money(100, "EUR")
    assert not (one < Money(100, "EUR"))
    assert sorted([two, one, Money(-5, "EUR")]) == [Money(-5, "EUR"), one, two]


def test_truthiness_is_non_zero():
    assert not Money(0, "EUR")
    assert Money(1, "EUR")
    assert Money(-1, "EUR")


def test_equality_needs_same_currency_and_amount():
    assert Money(100, "EUR") != Money(100, "USD")
    assert Money(100, "EUR") != Money(101, "EUR")
    assert Money(100, "EUR") != 100


# --- floats refused, currencies not mixed ------------------------------------------------------


@pytest.mark.parametrize("factor", [1.5, 1.0, 2.0, float("nan")])
def test_multiplying_by_a_float_is_refused_both_ways(factor):
    m = Money(100, "EUR")
    with pytest.raises(MoneyError, match="only by a whole number"):
        m * factor
    with pytest.raises(MoneyError, match="only by a whole number"):
        factor * m


@pytest.mark.parametrize("factor", [True, Decimal("2"), Fraction(1, 2), "2"])
def test_multiplying_by_a_non_integer_is_refused(factor):
    with pytest.raises(MoneyError):
        Money(100, "EUR") * factor


@pytest.mark.parametrize("other", [1, 1.5, 0.0, Decimal("1"), "1", None])
def test_adding_or_comparing_money_with_a_non_money_is_refused(other):
    m = Money(100, "EUR")
    for op in (
        lambda: m + other,
        lambda: m - other,
        lambda: m < other,
        lambda: m <= other,
        lambda: m > other,
        lambda: m >= other,
    ):
        with pytest.raises(MoneyError, match="cannot combine money with"):
            op()


def test_mixed_currencies_are_refused_and_named():
    eur, usd = Money(100, "EUR"), Money(100, "USD")
    for op in (
        lambda: eur + usd,
        lambda: eur - usd,
        lambda: eur < usd,
        lambda: eur <= usd,
        lambda: eur > usd,
        lambda: eur >= usd,
    ):
        with pytest.raises(MoneyError) as err:
            op()
        assert "EUR" in err.value.message and "USD" in err.value.message


# --- arithmetic: properties --------------------------------------------------------------------


@FAST
@given(same_currency_pair())
def test_add_then_subtract_round_trips(pair):
    a, b = pair
    assert (a + b) - b == a
    assert (a - b) + b == a
    assert a - b == a + (-b)
    negated = -a
    assert -negated == a
    assert negated + a == Money.zero(a.currency)


@FAST
@given(same_currency_pair(), minors)
def test_addition_is_commutative_and_associative(pair, c_minor):
    a, b = pair
    c = Money(c_minor, a.currency)
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)
    assert (a + b).minor == a.minor + b.minor
    assert (a + b).currency == a.currency


@FAST
@given(moneys(), st.integers(min_value=-50, max_value=50))
def test_multiplication_is_repeated_addition(m, k):
    total = Money.zero(m.currency)
    for _ in range(abs(k)):
        total = total + m
    if k < 0:
        total = -total
    assert m * k == total
    assert k * m == total


@FAST
@given(same_currency_pair())
def test_order_agrees_with_minor_units(pair):
    a, b = pair
    assert (a < b) == (a.minor < b.minor)
    assert (a <= b) == (a.minor <= b.minor)
    assert (a > b) == (a.minor > b.minor)
    assert (a >= b) == (a.minor >= b.minor)


# --- formatting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (123_456, "EUR", "1,234.56"),
        (0, "EUR", "0.00"),
        (5, "EUR", "0.05"),
        (-5, "EUR", "-0.05"),
        (-100, "EUR", "-1.00"),
        (100_000_000, "USD", "1,000,000.00"),
        (1_234_567, "JPY", "1,234,567"),
        (999, "JPY", "999"),
        (1_234_567, "KWD", "1,234.567"),
        (7, "KWD", "0.007"),
        (-1_000, "KWD", "-1.000"),
    ],
)
def test_format_amount_worked_examples(minor, currency, text):
    assert format_amount(minor, currency) == text
    assert str(Money(minor, currency)) == f"{text} {currency}"


# --- parsing: worked examples ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1,250.00 EUR", None, Money(125_000, "EUR")),
        ("EUR 1250", None, Money(125_000, "EUR")),
        ("1250.5", "EUR", Money(125_050, "EUR")),
        ("-3", "EUR", Money(-300, "EUR")),
        ("-0.05 EUR", None, Money(-5, "EUR")),
        ("1_250.75 EUR", None, Money(125_075, "EUR")),
        ("1 250 EUR", None, Money(125_000, "EUR")),
        ("1,234,567.89", "USD", Money(123_456_789, "USD")),
        ("eur 5", None, Money(500, "EUR")),
        ("  12.3 usd  ", None, Money(1_230, "USD")),
        ("12.3 usd", "USD", Money(1_230, "USD")),
        ("1000 JPY", None, Money(1_000, "JPY")),
        ("1.234 KWD", None, Money(1_234, "KWD")),
        ("1.5 KWD", None, Money(1_500, "KWD")),
        ("0", "EUR", Money(0, "EUR")),
        ("-0", "EUR", Money(0, "EUR")),
        ("007.10", "EUR", Money(710, "EUR")),
    ],
)
def test_parse_money_worked_examples(text, currency, expected):
    assert parse_money(text, currency) == expected


def test_parse_never_goes_through_float():
    # 0.1 + 0.2 == 0.30000000000000004 in binary floating point.
    for cur in ("EUR", "KWD"):
        assert parse_money("0.1", cur) + parse_money("0.2", cur) == parse_money("0.3", cur)
    # 2**53 + 1 minor units: a float would round this to 2**53.
    assert parse_money("90,071,992,547,409.93 EUR").minor == 2**53 + 1
    assert parse_money("123456789012345678901234567.89", "EUR").minor == 12345678901234567890123456789


@st.composite
def decimal_texts(draw) -> tuple[str, str]:
    cur = draw(currencies)
    exp = CURRENCY_EXPONENTS[cur]
    whole = draw(st.text("0123456789", min_size=1, max_size=30))
    frac = draw(st.text("0123456789", min_size=0, max_size=exp)) if exp else ""
    sign = draw(st.sampled_from(["", "-"]))
    return sign + whole + ("." + frac if frac else ""), cur


@FAST
@given(decimal_texts())
def test_parse_agrees_with_exact_decimal_arithmetic(case):
    text, cur = case
    with localcontext() as ctx:
        ctx.prec = 100
        expected = Decimal(text).scaleb(CURRENCY_EXPONENTS[cur])
    assert expected == expected.to_integral_value()
    assert parse_money(text, cur) == Money(int(expected), cur)


@FAST
@given(decimal_texts(), decimal_texts())
def test_sum_of_parsed_amounts_is_exact(a, b):
    (ta, cur), (tb, _) = a, b
    exp = CURRENCY_EXPONENTS[cur]
    # b was drawn for some currency; keep only as many decimals as `cur` allows
    whole_b, _, frac_b = tb.partition(".")
    tb = whole_b + ("." + frac_b[:exp] if exp and frac_b[:exp] else "")
    with localcontext() as ctx:
        ctx.prec = 100
        exact = (Decimal(ta) + Decimal(tb)).scaleb(exp)
    assert (parse_money(ta, cur) + parse_money(tb, cur)).minor == int(exact)


# --- parsing: round trips for every currency exponent ------------------------------------------


@FAST
@given(moneys())
def test_parse_of_str_round_trips(m):
    assert parse_money(str(m)) == m
    assert parse_money(str(m), m.currency) == m


@FAST
@given(moneys())
def test_parse_of_format_amount_round_trips(m):
    assert parse_money(format_amount(m.minor, m.currency), m.currency) == m


@FAST
@given(moneys())
def test_parse_round_trips_every_grouping_and_currency_position(m):
    exp = exponent(m.currency)
    whole, frac = divmod(abs(m.minor), 10**exp)
    sign = "-" if m.minor < 0 else ""
    tail = f".{frac:0{exp}d}" if exp else ""
    for grouped in (str(whole), f"{whole:,}", f"{whole:_}", f"{whole:,}".replace(",", " ")):
        number = sign + grouped + tail
        assert parse_money(number, m.currency) == m, number
        assert parse_money(f"{number} {m.currency}") == m, number
        assert parse_money(f"{m.currency} {number}") == m, number
        assert parse_money(f"{number} {m.currency.lower()}") == m, number


@pytest.mark.parametrize("code", sorted(CURRENCY_EXPONENTS))
def test_every_currency_round_trips_its_smallest_and_a_large_amount(code):
    for minor in (1, -1, 10 ** exponent(code), 123_456_789_012):
        m = Money(minor, code)
        assert parse_money(str(m)) == m


# --- parsing: bad typed amounts say what to write ----------------------------------------------

WRITE_IT_LIKE = "write it like 1,250.00 or 1250 (a point for decimals)"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "12,50",  # decimal comma: must not be read as 1250
        "1,2345",
        "1,25,000",
        "1.2.3",
        "1e3",
        "0x10",
        "+5",
        "- 5",
        ".5",
        "5.",
        "nan",
        "inf",
        "1,250 000",
        "€5",
        "5 EURO",
        "1,250.00EUR",
    ],
)
def test_text_that_is_not_an_amount_is_refused_with_an_example(text):
    with pytest.raises(MoneyError) as err:
        parse_money(text, "EUR")
    assert repr(text) in err.value.message
    assert WRITE_IT_LIKE in err.value.message


@pytest.mark.parametrize(
    ("text", "currency", "decimals", "code", "exp"),
    [("1.005 EUR", None, 3, "EUR", 2), ("100.5 JPY", None, 1, "JPY", 0), ("1.0001", "KWD", 4, "KWD", 3)],
)
def test_too_many_decimals_is_refused_never_rounded(text, currency, decimals, code, exp):
    with pytest.raises(MoneyError) as err:
        parse_money(text, currency)
    msg = err.value.message
    assert f"has {decimals} decimals, but {code} has {exp}" in msg
    assert "never rounded" in msg


def test_a_typed_currency_must_match_the_communes():
    with pytest.raises(MoneyError) as err:
        parse_money("5 USD", "EUR")
    assert "is in USD, but this commune keeps accounts in EUR" in err.value.message


def test_currency_named_twice_is_refused_with_how_to_write_it():
    with pytest.raises(MoneyError) as err:
        parse_money("EUR 5 EUR")
    assert "names a currency twice; write it once, like 1,250.00 EUR" in err.value.message
    with pytest.raises(MoneyError, match="twice"):
        parse_money("EUR 5 USD")


def test_amount_without_any_currency_says_to_add_one():
    with pytest.raises(MoneyError) as err:
        parse_money(" 12.50 ")
    assert "has no currency; add one, like 12.50 EUR" in err.value.message


def test_unknown_typed_currency_is_refused():
    with pytest.raises(MoneyError, match="'XYZ' is not a currency commune knows; use one of"):
        parse_money("5 XYZ")
