"""The bank bridge (rule 22): the software is the ledger, the bank holds the money.

A deposit notice waits until a steward confirms the money arrived; the confirmation credits
the account against the bank. A withdrawal debits the account at once into `withdrawals` (a
claim still owed) and is closed when a steward confirms the bank paid it. So at every block
the bank equals every claim plus the commune's own funds.
"""

from __future__ import annotations

from commune.log.bodies import ConfirmDeposit, ConfirmPayment, Deposit, Withdraw
from commune.log.entry import Entry
from commune.rules import accounts
from commune.rules.effects import ClosePending, Effect, OpenPending, Post, Posting
from commune.rules.ledger import spend
from commune.rules.model import CommuneState
from commune.rules.refusal import RuleReason, RuleRefused


def _memo(what: str, reference: str) -> str:
    """A ledger memo a treasurer can match against the bank statement."""
    return f"{what}: {reference}" if reference else what


def require_steward(state: CommuneState, entry: Entry) -> None:
    if entry.author not in state.stewards:
        raise RuleRefused(RuleReason.NOT_A_STEWARD)


def deposit(state: CommuneState, entry: Entry, body: Deposit) -> list[Effect]:
    if body.account == entry.author:
        if not state.is_participant(entry.author):
            raise RuleRefused(RuleReason.NOT_A_PARTICIPANT)
        account = accounts.participant_account(entry.author)
    else:
        ent = state.enterprise(body.account)
        if ent is None or not ent.active:
            raise RuleRefused(RuleReason.NOT_YOUR_ACCOUNT, "deposit to your own account or an enterprise you sign for")
        if entry.author not in ent.signers:
            raise RuleRefused(RuleReason.NOT_A_SIGNER)
        account = accounts.enterprise_account(body.account)
    return [OpenPending(entry.id, "deposit", account, body.amount, body.reference)]


def confirm_deposit(state: CommuneState, entry: Entry, body: ConfirmDeposit) -> list[Effect]:
    require_steward(state, entry)
    pending = state.tables["pending"].get(body.deposit)
    if pending is None or pending.kind != "deposit":
        raise RuleRefused(RuleReason.UNKNOWN_DEPOSIT)
    return [
        Post(
            (Posting(accounts.BANK, body.amount), Posting(pending.account, -body.amount)),
            _memo("deposit", pending.reference),
        ),
        ClosePending(body.deposit),
    ]


def withdraw(state: CommuneState, entry: Entry, body: Withdraw, chain_height: int) -> list[Effect]:
    drawn = spend(state, entry, body.amount, chain_height)
    account = accounts.participant_account(entry.author)
    return [
        *drawn,
        Post(
            (Posting(account, body.amount), Posting(accounts.WITHDRAWALS, -body.amount)),
            f"withdrawal to {body.payee}",
        ),
        OpenPending(entry.id, "withdrawal", account, body.amount, body.payee),
    ]


def confirm_payment(state: CommuneState, entry: Entry, body: ConfirmPayment) -> list[Effect]:
    require_steward(state, entry)
    pending = state.tables["pending"].get(body.withdrawal)
    if pending is None or pending.kind not in ("withdrawal", "purchase"):
        raise RuleRefused(RuleReason.UNKNOWN_WITHDRAWAL)
    return [
        Post(
            (Posting(accounts.WITHDRAWALS, pending.amount), Posting(accounts.BANK, -pending.amount)),
            _memo("withdrawal paid", body.reference),
        ),
        ClosePending(body.withdrawal),
    ]
