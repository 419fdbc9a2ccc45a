"""The dividend record and each period's equal dividend on the chain (rules 2, 18), in time
that does not grow with the number of members (DESIGN 7).

Members on the record share each period's dividend pool equally: founders from the genesis,
others from their admission or, if on probation, from the first period settled after their
probation ends (a probationer has no dividend, rule 2); a member who leaves stops accruing.
Settling a period pays `dividends.settle(pool, 0, on_record, index)`: `per_member × members`
moves from the pool to `dividends` (what the commune owes its members together), the
remainder stays in the pool for the next period, and the per-share index grows by
`per_member`. Nobody's account is touched: a member's share is `index now − index when they
went on the record`, drawn into their own account when they spend (`ledger.spend`).
"""

from __future__ import annotations

from commune.rules import accounts
from commune.rules.dividends import settle
from commune.rules.effects import Effect, PayDividend, Post, Posting, PutOnRecord
from commune.rules.model import CommuneState


def due_on_record(state: CommuneState, time_ms: int) -> list[Effect]:
    """Members whose probation ended by `time_ms` go on the record, by (end, key)."""
    ended = sorted(key for key in state.tables["probations"] if key[0] <= time_ms)
    return [PutOnRecord(person) for _, person in ended]


def pay_dividend(state: CommuneState, period: int) -> list[Effect]:
    """Period `period`'s equal dividend to the members on the record now."""
    members = state.meta("on_record", 0)
    result = settle(state.claim(accounts.DIVIDEND_POOL), 0, members, state.dividend_index)
    effects: list[Effect] = []
    if result.paid:
        effects.append(
            Post((Posting(accounts.DIVIDEND_POOL, result.paid), Posting(accounts.DIVIDENDS, -result.paid)), "dividends")
        )
    effects.append(PayDividend(period, result.per_member, members))
    return effects
