"""The life of one piece of common property (rules 7-17), as an explicit state machine.

A property enters the life-cycle when a member or enterprise asks for it with a rental offer
that passes rules 7-8 (an offer refused there never becomes a property). From then on it is
always in exactly one `State`, and it changes state only by a named `Transition` listed in
`TRANSITIONS`; `step` refuses every other pair by name (`illegal_transition`), so a block that
tries to rent out an asset whose auction failed, or to liquidate one that is rented, is refused
the same way on every node. As in magic-wormhole's machines, the table is the whole truth about
which moves exist: no move is implied by a flag somewhere else, and the checks on data below only
ever narrow it.

    requested ─ open_auction ─▶ auction_open ─ clear ─▶ cleared ─ start_rental ─▶ rented
    auction_open ─ fail ─▶ failed ─ retry_with_better_offer ─▶ requested
    requested | auction_open | failed ─ withdraw_request ─▶ withdrawn
    rented ─ redeem ─▶ redeemed
    rented | redeemed ─ miss_payment_past_grace | give_notice | end_lease ─▶ returned
    returned ─ open_reletting ─▶ reletting ─ relet ─▶ rented              (principal outstanding)
                                           ─ relet_redeemed ─▶ redeemed  (the series is repaid)
                                           ─ reletting_failed ─▶ returned
    returned ─ liquidate ─▶ liquidating ─ finish_liquidation ─▶ liquidated

What the table cannot see is data: how many re-letting rounds have failed (rule 16 and the
charter's `relet_rounds`) and whether the series still owes principal. `Life` carries the round
count and `advance` applies the charter's limit on top of `step`; `relet_transition` picks
`relet` or `relet_redeemed` from the outstanding principal. A series whose last principal is
paid while its asset stands empty (out of the reserve) stays returned or re-letting; it comes
back as redeemed when it is re-let. `liquidated` and `withdrawn` are the ends: nothing leaves them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from commune.core.errors import CommuneError


class State(StrEnum):
    """Where a property stands in its life. The values are stable names (stored, shown)."""

    #: A rental offer passed rules 7-8; no auction yet.
    REQUESTED = "requested"
    #: Its bond series is on sale at a sealed-bid auction (rule 10); bids escrow money (rule 11).
    AUCTION_OPEN = "auction_open"
    #: The auction cleared: holdings are set, the escrow buys the asset (rule 12).
    CLEARED = "cleared"
    #: Qualifying bids did not reach N: nothing was bought, escrow released (rule 10).
    FAILED = "failed"
    #: Rented out while its bonds are outstanding: rent pays costs, debt service, surplus (rule 13).
    RENTED = "rented"
    #: Rented out and owned outright: all its net rent goes to the dividend pool (rule 14).
    REDEEMED = "redeemed"
    #: The rental ended (default past grace, notice, end of lease); the asset stands empty (rule 15).
    RETURNED = "returned"
    #: A members-only sealed re-letting auction is open (rule 16).
    RELETTING = "reletting"
    #: Being sold after the charter's re-letting rounds found no valid bid (rules 16-17).
    LIQUIDATING = "liquidating"
    #: Sold; the proceeds went down the waterfall (rule 17). An end.
    LIQUIDATED = "liquidated"
    #: The requester withdrew before the auction cleared. An end.
    WITHDRAWN = "withdrawn"


class Transition(StrEnum):
    """What can happen to a property. The values are stable names (in entries and blocks)."""

    OPEN_AUCTION = "open_auction"
    WITHDRAW_REQUEST = "withdraw_request"
    CLEAR = "clear"
    FAIL = "fail"
    RETRY_WITH_BETTER_OFFER = "retry_with_better_offer"
    START_RENTAL = "start_rental"
    REDEEM = "redeem"
    MISS_PAYMENT_PAST_GRACE = "miss_payment_past_grace"
    GIVE_NOTICE = "give_notice"
    END_LEASE = "end_lease"
    OPEN_RELETTING = "open_reletting"
    RELET = "relet"
    RELET_REDEEMED = "relet_redeemed"
    RELETTING_FAILED = "reletting_failed"
    LIQUIDATE = "liquidate"
    FINISH_LIQUIDATION = "finish_liquidation"


S, T = State, Transition

#: The whole life-cycle: (state, transition) → next state. A pair not listed is refused.
TRANSITIONS: dict[tuple[State, Transition], State] = {
    # rule 10: the auction opens on a request; the requester may withdraw until it clears
    (S.REQUESTED, T.OPEN_AUCTION): S.AUCTION_OPEN,
    (S.REQUESTED, T.WITHDRAW_REQUEST): S.WITHDRAWN,
    (S.AUCTION_OPEN, T.CLEAR): S.CLEARED,
    (S.AUCTION_OPEN, T.FAIL): S.FAILED,
    (S.AUCTION_OPEN, T.WITHDRAW_REQUEST): S.WITHDRAWN,
    # rule 10: after a failure the requester may improve the offer (checked again by rules 7-8,
    # then a new auction opens) or give up
    (S.FAILED, T.RETRY_WITH_BETTER_OFFER): S.REQUESTED,
    (S.FAILED, T.WITHDRAW_REQUEST): S.WITHDRAWN,
    # rule 12: the escrow buys the asset and the rental agreement starts
    (S.CLEARED, T.START_RENTAL): S.RENTED,
    # rule 14: the last principal repaid
    (S.RENTED, T.REDEEM): S.REDEEMED,
    # rule 15: a rental ends by default past the grace period, by notice, or at the end of its lease;
    # a redeemed asset can be returned just the same
    (S.RENTED, T.MISS_PAYMENT_PAST_GRACE): S.RETURNED,
    (S.RENTED, T.GIVE_NOTICE): S.RETURNED,
    (S.RENTED, T.END_LEASE): S.RETURNED,
    (S.REDEEMED, T.MISS_PAYMENT_PAST_GRACE): S.RETURNED,
    (S.REDEEMED, T.GIVE_NOTICE): S.RETURNED,
    (S.REDEEMED, T.END_LEASE): S.RETURNED,
    # rule 16: members-only re-letting rounds; a round without a valid bid returns the asset,
    # and after the charter's number of such rounds it is liquidated (see `advance`)
    (S.RETURNED, T.OPEN_RELETTING): S.RELETTING,
    (S.RELETTING, T.RELET): S.RENTED,
    (S.RELETTING, T.RELET_REDEEMED): S.REDEEMED,
    (S.RELETTING, T.RELETTING_FAILED): S.RETURNED,
    # rule 17
    (S.RETURNED, T.LIQUIDATE): S.LIQUIDATING,
    (S.LIQUIDATING, T.FINISH_LIQUIDATION): S.LIQUIDATED,
}
del S, T

_ALLOWED: dict[State, tuple[Transition, ...]] = {
    state: tuple(t for t in Transition if (state, t) in TRANSITIONS) for state in State
}

#: States nothing leaves.
TERMINAL: frozenset[State] = frozenset(state for state, ts in _ALLOWED.items() if not ts)


class LifecycleRefused(CommuneError):
    """A life-cycle step the rules do not allow. `reason` names the rule:

    - `illegal_transition`: the pair (state, transition) is not in `TRANSITIONS`;
    - `relet_rounds_left`: liquidation asked for before the charter's re-letting rounds have failed;
    - `relet_rounds_exhausted`: another re-letting round asked for after they have all failed.
    """

    reason = "illegal_transition"


def allowed(state: State) -> tuple[Transition, ...]:
    """The transitions that may happen to a property in `state`, in the order `Transition` lists them."""
    try:
        return _ALLOWED[State(state)]
    except ValueError:
        raise LifecycleRefused(f"{state!r} is not a life-cycle state") from None


def step(state: State, transition: Transition) -> State:
    """The state a property in `state` moves to by `transition`; any pair not in the table is refused."""
    try:
        here = State(state)
    except ValueError:
        raise LifecycleRefused(f"{state!r} is not a life-cycle state") from None
    try:
        move = Transition(transition)
    except ValueError:
        move = None
    nxt = TRANSITIONS.get((here, move)) if move is not None else None
    if nxt is not None:
        return nxt
    what = move.value if move is not None else f"{transition!r} (not a life-cycle transition)"
    options = _ALLOWED[here]
    if not options:
        raise LifecycleRefused(f"a property that is {here.value} cannot {what}: its life is over, nothing can follow")
    raise LifecycleRefused(
        f"a property that is {here.value} cannot {what}; from {here.value} it can only "
        + ", ".join(t.value for t in options)
    )


class Life(msgspec.Struct, array_like=True, frozen=True):
    """A property's place in its life-cycle, with what the table cannot count.

    `failed_rounds` is how many re-letting rounds in a row have ended without a valid bid since
    the asset was last returned; a successful re-letting sets it back to zero.
    """

    state: State = State.REQUESTED
    failed_rounds: Annotated[int, Meta(ge=0)] = 0


def advance(life: Life, transition: Transition, *, relet_rounds: int) -> Life:
    """`step`, plus rule 16's count: pass the charter's `relet_rounds`.

    From `returned`, a further re-letting round is refused once `relet_rounds` rounds have failed
    (`relet_rounds_exhausted`), and liquidation is refused until they have (`relet_rounds_left`).
    """
    if relet_rounds < 1:
        raise LifecycleRefused(f"the charter allows at least one re-letting round, not {relet_rounds}")
    nxt = step(life.state, transition)
    move = Transition(transition)
    if life.state == State.RETURNED:
        if move is Transition.OPEN_RELETTING and life.failed_rounds >= relet_rounds:
            raise LifecycleRefused(
                f"{life.failed_rounds} re-letting rounds have ended without a valid bid and the charter "
                f"allows {relet_rounds}: the asset is to be liquidated",
                reason="relet_rounds_exhausted",
            )
        if move is Transition.LIQUIDATE and life.failed_rounds < relet_rounds:
            raise LifecycleRefused(
                f"only {life.failed_rounds} of the charter's {relet_rounds} re-letting rounds have ended "
                "without a valid bid: open another re-letting round first",
                reason="relet_rounds_left",
            )
    rounds = life.failed_rounds
    if move is Transition.RELETTING_FAILED:
        rounds += 1
    elif move in (Transition.RELET, Transition.RELET_REDEEMED):
        rounds = 0
    return Life(nxt, rounds)


def after_return(life: Life, *, relet_rounds: int) -> Transition:
    """What happens next to a returned asset: another re-letting round while the charter allows
    one, else liquidation (rule 16, after `relet_rounds` rounds without a valid bid)."""
    if life.state != State.RETURNED:
        raise LifecycleRefused(
            f"only a returned asset is re-let or liquidated, and this one is {State(life.state).value}"
        )
    return Transition.LIQUIDATE if life.failed_rounds >= relet_rounds else Transition.OPEN_RELETTING


def relet_transition(outstanding_principal: int) -> Transition:
    """How a re-letting that found a tenant ends: `relet` (back to rented under bonds) while the
    series still owes principal, `relet_redeemed` once it owes none."""
    if not isinstance(outstanding_principal, int) or isinstance(outstanding_principal, bool):
        raise LifecycleRefused(f"outstanding principal is whole minor units, not {outstanding_principal!r}")
    if outstanding_principal < 0:
        raise LifecycleRefused(f"outstanding principal cannot be negative ({outstanding_principal})")
    return Transition.RELET if outstanding_principal > 0 else Transition.RELET_REDEEMED
