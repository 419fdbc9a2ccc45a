"""The charter: defaults from the design, changes parsed exactly, thresholds of the electorate."""

from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commune.core.encoding import encode
from commune.rules.charter import Charter, CharterError, Ratio, votes_needed


def test_the_defaults_are_the_designs() -> None:
    c = Charter(name="C", currency="EUR")
    assert c.period_months == 1  # rule 18: a month
    assert c.probation_days <= 183  # rule 2: at most six months
    assert c.majority.value == Fraction(1, 2)
    assert c.grace_periods == 1  # rule 15: one period
    assert c.relet_rounds == 2  # rule 16: two rounds
    assert c.surplus_policy == "reserve_then_prepay"  # rule 13
    assert c.reserve_periods == 1  # rule 13: one period's debt service


def test_a_charter_round_trips_canonically() -> None:
    c = Charter(name="C", currency="JPY", majority=Ratio(3, 5))
    assert msgspec.msgpack.decode(encode(c), type=Charter) == c


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        ("probation_days", "184", "not a valid value"),
        ("probation_days", "3.5", "not a valid value"),
        ("probation_days", "٣", "not a valid value"),  # an Arabic-Indic digit: not ASCII
        ("majority", "1/3", "between 1/2 and 1"),
        ("majority", "1/0", "not a valid value"),
        ("surplus_policy", "spend it", "not a valid value"),
        ("surplus_policy", "dividend\n", "not a valid value"),  # `$` would let a newline through
        ("majority", " 2/3", "not a valid value"),
        ("majority", "6_6/1_00", "not a valid value"),  # Python's Fraction() would take these
        ("majority", "1e0", "not a valid value"),
        ("currency", "USD", "cannot be changed"),
        ("period_months", "3", "cannot be changed"),  # series and dividends are counted in periods
        ("colour", "red", "not a charter parameter"),
    ],
)
def test_bad_changes_are_refused_with_a_plain_message(parameter: str, value: str, message: str) -> None:
    with pytest.raises(CharterError, match=message):
        Charter(name="C", currency="EUR").with_change(parameter, value)


def test_good_changes() -> None:
    c = Charter(name="C", currency="EUR")
    assert c.with_change("supermajority", "3/4").supermajority == Ratio(3, 4)
    assert c.with_change("surplus_policy", "dividend").surplus_policy == "dividend"
    assert c.with_change("probation_days", "0").probation_ms == 0


def test_a_ratio_is_in_lowest_terms() -> None:
    with pytest.raises(CharterError):
        Ratio(2, 4)


@pytest.mark.parametrize(
    ("electorate", "share", "needed"),
    [(1, "1/2", 1), (2, "1/2", 2), (3, "1/2", 2), (4, "1/2", 3), (3, "2/3", 2), (6, "2/3", 4), (7, "2/3", 5)],
)
def test_votes_needed_by_hand(electorate: int, share: str, needed: int) -> None:
    assert votes_needed(electorate, Fraction(share)) == needed


@given(st.integers(1, 10_000), st.fractions(Fraction(1, 2), 1))
def test_votes_needed_is_a_strict_majority_and_reaches_the_share(electorate: int, share: Fraction) -> None:
    needed = votes_needed(electorate, share)
    assert needed * 2 > electorate  # more than half: two proposals cannot both be carried by halves
    assert needed >= electorate * share  # reaches the share
    assert needed <= electorate  # always reachable
    fewer = needed - 1  # one vote fewer would miss the share or the strict majority
    assert fewer < electorate * share or fewer * 2 <= electorate


def test_rules_never_touch_a_database() -> None:
    """The rules are pure functions of data: no module of rules/ imports sqlite3 or the I/O layers."""
    rules = Path(__file__).parents[2] / "src" / "commune" / "rules"
    for path in rules.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("sqlite3", "commune.state", "commune.chain", "socket", "os")), (
                    f"{path.name} imports {name}"
                )
