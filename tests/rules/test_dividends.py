"""Equal dividends (rule 18) through a cumulative per-member index: figures by hand, no unit lost."""

from __future__ import annotations

import sys
from types import FrameType

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.rules import dividends
from commune.rules.dividends import (
    Credit,
    DividendError,
    Settlement,
    Stake,
    accrued,
    credit,
    due,
    join,
    leave,
    settle,
)

# --- by hand -----------------------------------------------------------------------------------


def test_three_members_then_the_carry_is_spent() -> None:
    # period 1: 100.00 among 3 → 33.33 each, 0.01 carried
    first = settle(pool=100_00, carry=0, members_on_record=3, index=0)
    assert first == Settlement(pool=100_00, carry_in=0, members=3, per_member=33_33, paid=99_99, carry=1, index=33_33)
    # period 2: 50.00 + 0.01 = 50.01 among 3 → 16.67 each, nothing carried
    second = settle(pool=50_00, carry=first.carry, members_on_record=3, index=first.index)
    assert (second.per_member, second.carry, second.index) == (16_67, 0, 50_00)
    # each of the three, on record from the start, has 33.33 + 16.67 = 50.00
    assert due(join(0), second.index) == 50_00


def test_a_member_joining_between_settlements_gets_only_later_dividends() -> None:
    a, b, c = join(0), join(0), join(0)
    first = settle(100_00, 0, 3, 0)
    d = join(first.index)  # comes on record after the first settlement
    assert due(d, first.index) == 0
    second = settle(50_00, first.carry, 4, first.index)  # 50.01 / 4 = 12.50, 0.01 carried
    assert (second.per_member, second.carry) == (12_50, 1)
    assert due(d, second.index) == 12_50
    assert [due(s, second.index) for s in (a, b, c)] == [45_83] * 3  # 33.33 + 12.50
    assert 3 * 45_83 + 12_50 + second.carry == 100_00 + 50_00


def test_a_member_leaving_keeps_what_accrued_and_nothing_more() -> None:
    a, b, c = join(0), join(0), join(0)
    first = settle(100_00, 0, 3, 0)
    c = leave(c, first.index)  # leaves after the first settlement
    assert not c.on_record
    second = settle(50_00, first.carry, 2, first.index)  # 50.01 / 2 = 25.00, 0.01 carried
    assert (second.per_member, second.carry) == (25_00, 1)
    assert due(c, second.index) == 33_33
    assert due(a, second.index) == due(b, second.index) == 58_33
    # credited once, then nothing more, however far the index goes
    got = credit(c, second.index)
    assert got == Credit(33_33, Stake(33_33, 33_33))
    third = settle(10_00, second.carry, 2, second.index)
    assert credit(got.stake, third.index).amount == 0
    assert 2 * due(a, third.index) + 33_33 + third.carry == 160_00


def test_credit_materialises_lazily() -> None:
    s = join(10_00)
    assert accrued(10_00, 25_50) == 15_50
    got = credit(s, 25_50)
    assert got.amount == 15_50
    assert got.stake == Stake(25_50)
    assert credit(got.stake, 25_50).amount == 0  # crediting twice at one index gives nothing
    assert credit(got.stake, 30_00).amount == 4_50


def test_no_members_on_record_carries_everything() -> None:
    s = settle(pool=12_34, carry=5, members_on_record=0, index=7)
    assert (s.per_member, s.paid, s.carry, s.index) == (0, 0, 12_39, 7)


def test_a_settlement_round_trips_canonically() -> None:
    s = settle(100_00, 0, 3, 0)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(s), type=Settlement) == s
    st_ = leave(join(3), 9)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(st_), type=Stake) == st_


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 0, 3, 0), "pool cannot be negative"),
        ((0, -1, 3, 0), "carry cannot be negative"),
        ((0, 0, -3, 0), "members on record cannot be negative"),
        ((0, 0, 3, -1), "index cannot be negative"),
        ((10.5, 0, 3, 0), "whole number of minor units"),
        ((True, 0, 3, 0), "whole number of minor units"),
        ((100, 0, 3.0, 0), "whole number"),
    ],
)
def test_settle_refuses_bad_figures(args: tuple, message: str) -> None:
    with pytest.raises(DividendError, match=message) as caught:
        settle(*args)
    assert caught.value.reason == "bad_dividend"


def test_the_index_never_goes_back() -> None:
    with pytest.raises(DividendError, match="never goes back"):
        accrued(50, 40)
    with pytest.raises(DividendError, match="never goes back"):
        credit(join(50), 40)
    with pytest.raises(DividendError, match="never goes back"):
        leave(join(50), 40)
    with pytest.raises(DividendError, match="never goes back"):
        due(leave(join(10), 50), 40)
    with pytest.raises(DividendError, match="left already"):
        leave(leave(join(0), 5), 6)


# --- cost independent of the number of members ---------------------------------------------------


def lines_run_in_dividends(call) -> int:  # type: ignore[no-untyped-def]
    """How many lines of dividends.py run during `call()` (a count, not a timing)."""
    count = 0

    def tracer(frame: FrameType, event: str, arg: object):  # type: ignore[no-untyped-def]
        nonlocal count
        if frame.f_code.co_filename != dividends.__file__:
            return None
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(previous)
    return count


def test_settle_never_iterates_over_members() -> None:
    billion = settle(pool=10**15 + 7, carry=3, members_on_record=10**9, index=0)
    assert billion.per_member == 10**6
    assert billion.carry == 10
    assert billion.paid + billion.carry == 10**15 + 10
    # the same lines run for three members as for a billion
    few = lines_run_in_dividends(lambda: settle(100_00, 0, 3, 0))
    many = lines_run_in_dividends(lambda: settle(100_00, 0, 10**9, 0))
    assert few == many > 0


# --- properties --------------------------------------------------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("settle"), st.integers(min_value=0, max_value=10**9)),
        st.tuples(st.just("join"), st.just(0)),
        st.tuples(st.just("leave"), st.integers(min_value=0, max_value=50)),
        st.tuples(st.just("credit"), st.integers(min_value=0, max_value=50)),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(ops=ops, founders=st.integers(min_value=0, max_value=5))
def test_no_unit_created_or_lost_and_every_member_on_record_gets_the_same(
    ops: list[tuple[str, int]], founders: int
) -> None:
    index, carry, pools = 0, 0, 0
    stakes: list[Stake] = [join(0) for _ in range(founders)]
    credited = [0] * founders  # what was posted to each account
    expected = [0] * founders  # the same, paid the slow way: to each member on record, every period
    on_record = set(range(founders))
    last_members = 0

    for op, arg in ops:
        if op == "settle":
            s = settle(arg, carry, len(on_record), index)
            before = {m: due(stakes[m], index) for m in on_record}
            index, carry = s.index, s.carry
            pools += arg
            for m in on_record:
                expected[m] += s.per_member
                assert due(stakes[m], index) - before[m] == s.per_member  # equal for everyone
            for m in set(range(len(stakes))) - on_record:  # those who left accrue nothing more
                assert due(stakes[m], index) == due(stakes[m], s.index - s.per_member)
            last_members = s.members
        elif op == "join":
            stakes.append(join(index))
            credited.append(0)
            expected.append(0)
            on_record.add(len(stakes) - 1)
        elif stakes:
            m = arg % len(stakes)
            if op == "leave" and m in on_record:
                stakes[m] = leave(stakes[m], index)
                on_record.discard(m)
            elif op == "credit":
                got = credit(stakes[m], index)
                stakes[m] = got.stake
                credited[m] += got.amount

    for m, stake in enumerate(stakes):  # credit everyone at the end
        got = credit(stake, index)
        credited[m] += got.amount
        assert credit(got.stake, index).amount == 0
    assert credited == expected
    assert sum(credited) + carry == pools
    if last_members:  # the carry is always less than one unit per member
        assert 0 <= carry < last_members
