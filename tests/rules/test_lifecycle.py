"""The property life-cycle: every allowed move, every other pair refused by name, whole lives."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.errors import CommuneError
from commune.rules.charter import Charter
from commune.rules.lifecycle import (
    TERMINAL,
    TRANSITIONS,
    Life,
    LifecycleRefused,
    State,
    Transition,
    advance,
    after_return,
    allowed,
    relet_transition,
    step,
)

S, T = State, Transition
RELET_ROUNDS = Charter(name="C", currency="EUR").relet_rounds  # the design's two rounds

ALLOWED_PAIRS = sorted(TRANSITIONS.items())
REFUSED_PAIRS = [(s, t) for s, t in itertools.product(State, Transition) if (s, t) not in TRANSITIONS]


def walk(moves: list[Transition], start: State = S.REQUESTED) -> list[State]:
    states = [start]
    for move in moves:
        states.append(step(states[-1], move))
    return states


def live(moves: list[Transition], life: Life | None = None) -> Life:
    life = life or Life()
    for move in moves:
        life = advance(life, move, relet_rounds=RELET_ROUNDS)
    return life


# --- the table ---------------------------------------------------------------------------------


def test_the_table_is_exactly_the_designs() -> None:
    assert TRANSITIONS == {
        (S.REQUESTED, T.OPEN_AUCTION): S.AUCTION_OPEN,
        (S.REQUESTED, T.WITHDRAW_REQUEST): S.WITHDRAWN,
        (S.AUCTION_OPEN, T.CLEAR): S.CLEARED,
        (S.AUCTION_OPEN, T.FAIL): S.FAILED,
        (S.AUCTION_OPEN, T.WITHDRAW_REQUEST): S.WITHDRAWN,
        (S.FAILED, T.RETRY_WITH_BETTER_OFFER): S.REQUESTED,
        (S.FAILED, T.WITHDRAW_REQUEST): S.WITHDRAWN,
        (S.CLEARED, T.START_RENTAL): S.RENTED,
        (S.RENTED, T.REDEEM): S.REDEEMED,
        (S.RENTED, T.MISS_PAYMENT_PAST_GRACE): S.RETURNED,
        (S.RENTED, T.GIVE_NOTICE): S.RETURNED,
        (S.RENTED, T.END_LEASE): S.RETURNED,
        (S.REDEEMED, T.MISS_PAYMENT_PAST_GRACE): S.RETURNED,
        (S.REDEEMED, T.GIVE_NOTICE): S.RETURNED,
        (S.REDEEMED, T.END_LEASE): S.RETURNED,
        (S.RETURNED, T.OPEN_RELETTING): S.RELETTING,
        (S.RELETTING, T.RELET): S.RENTED,
        (S.RELETTING, T.RELET_REDEEMED): S.REDEEMED,
        (S.RELETTING, T.RELETTING_FAILED): S.RETURNED,
        (S.RETURNED, T.LIQUIDATE): S.LIQUIDATING,
        (S.LIQUIDATING, T.FINISH_LIQUIDATION): S.LIQUIDATED,
    }


def test_the_names_are_stable() -> None:
    assert [s.value for s in State] == [
        "requested",
        "auction_open",
        "cleared",
        "failed",
        "rented",
        "redeemed",
        "returned",
        "reletting",
        "liquidating",
        "liquidated",
        "withdrawn",
    ]
    assert T.MISS_PAYMENT_PAST_GRACE == "miss_payment_past_grace"


@pytest.mark.parametrize(("pair", "target"), ALLOWED_PAIRS, ids=lambda v: "-".join(v) if isinstance(v, tuple) else v)
def test_every_allowed_transition(pair: tuple[State, Transition], target: State) -> None:
    state, transition = pair
    assert step(state, transition) is target
    assert transition in allowed(state)


@pytest.mark.parametrize(("state", "transition"), REFUSED_PAIRS, ids=lambda v: v.value)
def test_every_other_pair_is_refused_by_name(state: State, transition: Transition) -> None:
    with pytest.raises(LifecycleRefused) as caught:
        step(state, transition)
    err = caught.value
    assert isinstance(err, CommuneError)
    assert err.reason == "illegal_transition"
    assert f"is {state.value} cannot {transition.value}" in err.message
    for option in allowed(state):  # the message says what can happen instead
        assert option.value in err.message
    assert transition not in allowed(state)


def test_the_pairs_cover_the_product() -> None:
    assert len(ALLOWED_PAIRS) + len(REFUSED_PAIRS) == len(State) * len(Transition)


def test_allowed_lists_each_states_moves_in_order() -> None:
    assert allowed(S.REQUESTED) == (T.OPEN_AUCTION, T.WITHDRAW_REQUEST)
    assert allowed(S.AUCTION_OPEN) == (T.WITHDRAW_REQUEST, T.CLEAR, T.FAIL)
    assert allowed(S.RETURNED) == (T.OPEN_RELETTING, T.LIQUIDATE)
    assert allowed(S.RELETTING) == (T.RELET, T.RELET_REDEEMED, T.RELETTING_FAILED)
    assert allowed(S.CLEARED) == (T.START_RENTAL,)


def test_terminal_states_allow_nothing() -> None:
    assert {S.LIQUIDATED, S.WITHDRAWN} == TERMINAL
    for state in TERMINAL:
        assert allowed(state) == ()
        with pytest.raises(LifecycleRefused, match="its life is over"):
            step(state, T.OPEN_AUCTION)


def test_every_state_is_reachable_and_every_life_can_end() -> None:
    reachable = {S.REQUESTED}
    frontier = [S.REQUESTED]
    while frontier:
        here = frontier.pop()
        for move in allowed(here):
            nxt = step(here, move)
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(State)
    # from every state some path leads to an end: no trap
    can_end = set(TERMINAL)
    changed = True
    while changed:
        changed = False
        for (state, _move), nxt in TRANSITIONS.items():
            if nxt in can_end and state not in can_end:
                can_end.add(state)
                changed = True
    assert can_end == set(State)


def test_unknown_names_are_refused_plainly() -> None:
    with pytest.raises(LifecycleRefused, match="'sold' is not a life-cycle state"):
        step("sold", T.CLEAR)  # type: ignore[arg-type]
    with pytest.raises(LifecycleRefused, match="not a life-cycle transition") as caught:
        step(S.RENTED, "burn")  # type: ignore[arg-type]
    assert caught.value.reason == "illegal_transition"
    with pytest.raises(LifecycleRefused, match="not a life-cycle state"):
        allowed("sold")  # type: ignore[arg-type]
    # the stored names are accepted as they are read back
    assert step("rented", "redeem") is S.REDEEMED  # type: ignore[arg-type]


# --- whole lives -------------------------------------------------------------------------------


def test_a_whole_life_request_auction_rent_redeem() -> None:
    assert walk([T.OPEN_AUCTION, T.CLEAR, T.START_RENTAL, T.REDEEM]) == [
        S.REQUESTED,
        S.AUCTION_OPEN,
        S.CLEARED,
        S.RENTED,
        S.REDEEMED,
    ]


def test_a_failed_auction_retried_with_a_better_offer() -> None:
    states = walk([T.OPEN_AUCTION, T.FAIL, T.RETRY_WITH_BETTER_OFFER, T.OPEN_AUCTION, T.CLEAR, T.START_RENTAL])
    assert states == [S.REQUESTED, S.AUCTION_OPEN, S.FAILED, S.REQUESTED, S.AUCTION_OPEN, S.CLEARED, S.RENTED]
    # a failed auction buys nothing: no rental can start from it, and the requester may give up
    with pytest.raises(LifecycleRefused):
        step(S.FAILED, T.START_RENTAL)
    assert step(S.FAILED, T.WITHDRAW_REQUEST) is S.WITHDRAWN


def test_a_requester_may_withdraw_until_the_auction_clears_and_not_after() -> None:
    assert walk([T.WITHDRAW_REQUEST])[-1] is S.WITHDRAWN
    assert walk([T.OPEN_AUCTION, T.WITHDRAW_REQUEST])[-1] is S.WITHDRAWN
    with pytest.raises(LifecycleRefused, match="from cleared it can only start_rental"):
        walk([T.OPEN_AUCTION, T.CLEAR, T.WITHDRAW_REQUEST])


def test_default_returned_reletting_rented_again() -> None:
    life = live([T.OPEN_AUCTION, T.CLEAR, T.START_RENTAL])
    life = live([T.MISS_PAYMENT_PAST_GRACE], life)
    assert life == Life(S.RETURNED, 0)
    life = live([T.OPEN_RELETTING], life)
    assert life.state is S.RELETTING
    life = live([relet_transition(outstanding_principal=150_000_00)], life)
    assert life == Life(S.RENTED, 0)


def test_a_redeemed_asset_is_returned_and_relet_as_redeemed() -> None:
    life = live([T.OPEN_AUCTION, T.CLEAR, T.START_RENTAL, T.REDEEM, T.GIVE_NOTICE, T.OPEN_RELETTING])
    assert life.state is S.RELETTING
    assert relet_transition(0) is T.RELET_REDEEMED
    assert live([relet_transition(0)], life).state is S.REDEEMED
    # a lease that runs out returns the asset just as notice does
    assert step(S.REDEEMED, T.END_LEASE) is S.RETURNED


def test_two_failed_reletting_rounds_then_liquidation() -> None:
    life = live([T.OPEN_AUCTION, T.CLEAR, T.START_RENTAL, T.MISS_PAYMENT_PAST_GRACE])
    assert after_return(life, relet_rounds=RELET_ROUNDS) is T.OPEN_RELETTING
    # not liquidated while the charter's rounds are left
    with pytest.raises(LifecycleRefused) as caught:
        live([T.LIQUIDATE], life)
    assert caught.value.reason == "relet_rounds_left"
    life = live([T.OPEN_RELETTING, T.RELETTING_FAILED], life)
    assert life == Life(S.RETURNED, 1)
    assert after_return(life, relet_rounds=RELET_ROUNDS) is T.OPEN_RELETTING
    life = live([T.OPEN_RELETTING, T.RELETTING_FAILED], life)
    assert life == Life(S.RETURNED, 2)
    assert after_return(life, relet_rounds=RELET_ROUNDS) is T.LIQUIDATE
    # and no third round
    with pytest.raises(LifecycleRefused) as caught:
        live([T.OPEN_RELETTING], life)
    assert caught.value.reason == "relet_rounds_exhausted"
    assert "liquidated" in caught.value.message
    life = live([T.LIQUIDATE], life)
    assert life.state is S.LIQUIDATING
    life = live([T.FINISH_LIQUIDATION], life)
    assert life.state is S.LIQUIDATED
    assert allowed(life.state) == ()


def test_a_successful_reletting_resets_the_count() -> None:
    life = Life(S.RETURNED, 1)
    life = live([T.OPEN_RELETTING, T.RELET, T.GIVE_NOTICE], life)
    assert life == Life(S.RETURNED, 0)
    # with the charter at three rounds, two failures do not yet liquidate
    life = Life(S.RETURNED, 2)
    assert advance(life, T.OPEN_RELETTING, relet_rounds=3).state is S.RELETTING
    assert after_return(life, relet_rounds=3) is T.OPEN_RELETTING


def test_after_return_and_relet_transition_refuse_nonsense() -> None:
    with pytest.raises(LifecycleRefused, match="only a returned asset"):
        after_return(Life(S.RENTED), relet_rounds=2)
    with pytest.raises(LifecycleRefused, match="negative"):
        relet_transition(-1)
    with pytest.raises(LifecycleRefused, match="whole minor units"):
        relet_transition(True)
    with pytest.raises(LifecycleRefused, match="at least one"):
        advance(Life(), T.OPEN_AUCTION, relet_rounds=0)


def test_advance_refuses_what_step_refuses() -> None:
    for state, transition in REFUSED_PAIRS:
        with pytest.raises(LifecycleRefused) as caught:
            advance(Life(state), transition, relet_rounds=RELET_ROUNDS)
        assert caught.value.reason == "illegal_transition"


# --- random lives ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(choices=st.lists(st.integers(min_value=0, max_value=10**6), max_size=60), rounds=st.integers(1, 4))
def test_a_random_walk_stays_inside_the_machine(choices: list[int], rounds: int) -> None:
    life = Life()
    for choice in choices:
        assert life.state in State
        options = allowed(life.state)
        if not options:
            assert life.state in TERMINAL
            break
        if life.state is S.RETURNED:  # rule 16 narrows the table to one move
            options = (after_return(life, relet_rounds=rounds),)
        move = options[choice % len(options)]
        before = life
        life = advance(life, move, relet_rounds=rounds)
        assert life.state is TRANSITIONS[(before.state, move)]
        assert 0 <= life.failed_rounds <= rounds
    for state in TERMINAL:
        for move in Transition:
            with pytest.raises(LifecycleRefused):
                step(state, move)
