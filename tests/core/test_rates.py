"""Rates are exact fractions, parsed from percentages digit by digit, never floats."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.errors import CommuneError
from commune.core.rates import RateError, format_percent, parse_percent, periodic

FAST = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("4.25%", Fraction(17, 400)),
        ("4.25", Fraction(17, 400)),
        (" 4.25 % ", Fraction(17, 400)),
        ("5%", Fraction(1, 20)),
        ("0", Fraction(0)),
        ("100%", Fraction(1)),
        ("0.1", Fraction(1, 1000)),
        ("12.5%", Fraction(1, 8)),
        ("007.50%", Fraction(3, 40)),
    ],
)
def test_parse_percent_worked_examples(text, rate):
    parsed = parse_percent(text)
    assert parsed == rate
    assert isinstance(parsed, Fraction)


def test_parse_percent_never_goes_through_float():
    assert parse_percent("0.1") + parse_percent("0.2") == parse_percent("0.3")
    # thirty decimal places stay exact
    text = "0." + "0" * 29 + "1"
    assert parse_percent(text) == Fraction(1, 10**32)


@FAST
@given(st.text("0123456789", min_size=1, max_size=20), st.text("0123456789", max_size=20))
def test_parse_percent_is_digits_over_a_power_of_ten(whole, frac):
    text = whole + ("." + frac if frac else "")
    assert parse_percent(text) == Fraction(int(whole + frac), 10 ** (len(frac) + 2))
    assert parse_percent(text + "%") == parse_percent(text)


@pytest.mark.parametrize("text", ["", "%", "abc", "-1%", "+1%", "4,25%", "1e2", "4.25%%", ".5", "5.", "nan", "4 25"])
def test_bad_rates_are_refused_with_an_example(text):
    with pytest.raises(RateError) as err:
        parse_percent(text)
    assert "write a percentage like 4.25%" in err.value.message
    assert repr(text) in err.value.message


def test_rate_error_is_a_commune_error():
    with pytest.raises(CommuneError) as err:
        parse_percent("x")
    assert err.value.reason == "bad_rate"


def test_periodic_divides_the_annual_rate():
    assert periodic(Fraction(6, 100), 12) == Fraction(1, 200)  # 6 % a year is 0.5 % a month
    assert periodic(Fraction(17, 400), 4) == Fraction(17, 1600)
    assert periodic(Fraction(1, 10), 1) == Fraction(1, 10)
    assert periodic(0, 12) == 0
    assert isinstance(periodic(Fraction(6, 100), 12), Fraction)


@pytest.mark.parametrize("periods", [0, -1, -12])
def test_periodic_needs_at_least_one_period(periods):
    with pytest.raises(RateError, match="at least one period"):
        periodic(Fraction(6, 100), periods)


def test_periodic_refuses_a_float_annual_rate():
    with pytest.raises(RateError):
        periodic(0.06, 12)


def test_periodic_refuses_a_float_period_count():
    with pytest.raises(RateError):
        periodic(Fraction(6, 100), 12.0)


@pytest.mark.parametrize(
    ("rate", "places", "text"),
    [
        (Fraction(17, 400), 4, "4.2500%"),
        (Fraction(1, 3), 4, "33.3333%"),
        (Fraction(2, 3), 4, "66.6667%"),
        (Fraction(1, 8), 2, "12.50%"),
        (Fraction(1, 8000), 3, "0.013%"),  # 0.0125 %: exactly half, rounds up
        (Fraction(1, 8000), 2, "0.01%"),
        (Fraction(1, 200), 0, "1%"),  # 0.5 %: half rounds up
        (Fraction(49, 10000), 0, "0%"),
        (Fraction(0), 4, "0.0000%"),
        (Fraction(1), 1, "100.0%"),
        (Fraction(-1, 40), 4, "-2.5000%"),
        (Fraction(-1, 3), 2, "-33.33%"),
    ],
)
def test_format_percent_worked_examples(rate, places, text):
    assert format_percent(rate, places) == text


@FAST
@given(
    st.integers(min_value=0, max_value=10**9),
    st.text("0123456789", min_size=1, max_size=4),
)
def test_format_percent_shows_a_parsed_rate_exactly(whole, frac):
    assert format_percent(parse_percent(f"{whole}.{frac}%")) == f"{whole}.{frac.ljust(4, '0')}%"


@FAST
@given(st.fractions(min_value=0, max_value=10, max_denominator=10**6), st.integers(min_value=0, max_value=6))
def test_format_percent_is_within_half_a_unit_of_the_last_place(rate, places):
    text = format_percent(rate, places)
    assert text.endswith("%")
    shown = Fraction(text[:-1])
    assert abs(shown - rate * 100) <= Fraction(1, 2 * 10**places)
