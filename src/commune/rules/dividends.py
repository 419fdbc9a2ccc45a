"""Equal dividends (rule 18), settled in time that does not grow with the number of members (DESIGN 7).

Each period the dividend pool plus last period's carry is divided equally among the members on
the record: each gets `floor((pool + carry) / members)` minor units, and what is left carries to
the next period. Paying that into every member's account would cost one posting per member, so
the settlement does not touch accounts at all. It adds the per-member amount to one number, the
cumulative **dividend index**: the total a member who had been on record since the commune began
would have received. Everything a member is owed is then a difference of two index values.

How a member's record-date eligibility works with the index:

- A member's `Stake` holds `since`, the index at which they were last credited. When a member
  comes **on record** (admitted and past probation, rules 2 and 18), `join` sets `since` to the
  current index, the value after the last settlement. So the first dividend they get is the next
  settlement's, and nothing from before their record date.
- When a member **leaves** (rule 3), `leave` freezes the stake at the current index (`until`). They
  keep everything that accrued up to the last settlement, and get nothing from any later one.
- Joining and leaving take effect at the **next settlement**: a settlement pays exactly the members
  on record at the moment it is applied, and the caller passes their number (probationers and
  investors are not on record: rules 2 and 4). Within one block, effects applied before the
  settlement count for it and effects applied after do not. The caller keeps that number as a
  running count, brought up to date by each join, end of probation and leaving, so that it costs
  nothing per member either. A probationer comes on record when the probation ends: `join` is
  called for them then (in the first block after that time), not at admission.
- A member's account is **credited lazily**: `due` is what they have accrued and not yet been
  credited, and `credit` materialises it (the amount to post, and the stake moved up to the index).
  A node credits a member when their account is read or moved, and when they leave; a balance shown
  to a person is the account plus `due`. A person who leaves and is later admitted again is credited
  on their old stake first, then joins with a new one.

Nothing here iterates over members, so `settle` costs the same for three members as for a billion.
No minor unit is created or lost: over any history, the total credited to all members plus the
final carry equals the total of the pools.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, TypeAlias

import msgspec
from msgspec import Meta

from commune.core.allocation import floor_to_minor
from commune.core.errors import CommuneError

#: The cumulative dividend per member on record since the beginning, in minor units.
Index: TypeAlias = int

NonNegative = Annotated[int, Meta(ge=0)]


class DividendError(CommuneError):
    """Figures a dividend settlement cannot be made from (negative amounts, an index going back)."""

    reason = "bad_dividend"


def _whole(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DividendError(f"{name} must be a whole number of minor units, not {value!r}")
    if value < 0:
        raise DividendError(f"{name} cannot be negative ({value})")
    return value


class Settlement(msgspec.Struct, array_like=True, frozen=True):
    """One period's dividend settlement (rule 18). `pool + carry_in == paid + carry`."""

    #: This period's dividend pool.
    pool: NonNegative
    #: The remainder carried from the last period.
    carry_in: NonNegative
    #: Members on record at the settlement.
    members: NonNegative
    #: What each of them gets: floor((pool + carry_in) / members).
    per_member: NonNegative
    #: per_member × members: what leaves the pool for members' accounts.
    paid: NonNegative
    #: The remainder, carried to the next period.
    carry: NonNegative
    #: The dividend index after this settlement (the index before it + per_member).
    index: NonNegative


def settle(pool: int, carry: int, members_on_record: int, index: Index) -> Settlement:
    """Settle one period: divide `pool + carry` equally among `members_on_record`, in constant time.

    Each member gets the floor of the exact share (the one rounding rule, `floor_to_minor`); the
    remainder carries. With no member on record, nothing is paid and everything carries.
    """
    pool = _whole("the dividend pool", pool)
    carry = _whole("the carry", carry)
    members = _whole("the number of members on record", members_on_record)
    index = _whole("the dividend index", index)
    total = pool + carry
    per_member = floor_to_minor(Fraction(total, members))[0] if members else 0
    paid = per_member * members
    return Settlement(pool, carry, members, per_member, paid, total - paid, index + per_member)


class Stake(msgspec.Struct, array_like=True, frozen=True):
    """One member's place on the dividend index.

    `since` is the index at which they were last credited (or came on record). `until` is the index
    at which they left, or None while they are on record; nothing accrues past it.
    """

    since: NonNegative
    until: NonNegative | None = None

    @property
    def on_record(self) -> bool:
        return self.until is None


class Credit(msgspec.Struct, array_like=True, frozen=True):
    """What `credit` gives: the amount to post to the member's account, and their stake after it."""

    amount: NonNegative
    stake: Stake


def join(index: Index) -> Stake:
    """The stake of a member who comes on record now: owed nothing until the next settlement."""
    return Stake(_whole("the dividend index", index))


def accrued(since: Index, current_index: Index) -> int:
    """What a member on record from index `since` to `current_index` has accrued: the difference."""
    since = _whole("the member's index", since)
    current_index = _whole("the dividend index", current_index)
    if current_index < since:
        raise DividendError(
            f"the dividend index {current_index} is behind the member's {since}; the index never goes back"
        )
    return current_index - since


def due(stake: Stake, current_index: Index) -> int:
    """What the member has accrued and not yet been credited: up to now, or up to when they left."""
    end = current_index if stake.until is None else stake.until
    if stake.until is not None:
        accrued(stake.until, current_index)  # the index still may not go back
    return accrued(stake.since, end)


def credit(stake: Stake, current_index: Index) -> Credit:
    """Materialise what the member is due: the amount to post, and the stake moved up to the index.

    Crediting twice at one index gives nothing the second time; a member who left is credited once
    with what accrued before leaving, then nothing more.
    """
    amount = due(stake, current_index)
    return Credit(amount, Stake(stake.since + amount, stake.until))


def leave(stake: Stake, current_index: Index) -> Stake:
    """The stake of a member who leaves now: frozen at the current index, keeping what accrued."""
    if stake.until is not None:
        raise DividendError("this member has left already")
    accrued(stake.since, current_index)
    return Stake(stake.since, current_index)
