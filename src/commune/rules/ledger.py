"""Money moving between accounts: transfers (rule 23) and enterprise spends (rule 6).

A person's spend is decided by their own feed and the chain prefix it names (DESIGN 3.1): what
the blocks up to its `chain_ref` credited them, less what their own earlier entries spent. No
concurrent entry can change that, so every node decides it alike in any order, and an account
is never overdrawn (the chain debits a person only by taking in their own entries, in order).
An enterprise's account is spent by k of its signers (`enterprise_acts`); those spends take
effect in chain order, and one that would overdraw is refused when the block takes it in.
"""

from __future__ import annotations

from commune.core.money import format_amount
from commune.log.bodies import Transfer
from commune.log.entry import Entry
from commune.rules import accounts
from commune.rules.effects import Effect, Post, Posting, TakeDividend
from commune.rules.model import CommuneState
from commune.rules.refusal import RuleReason, RuleRefused


def available(state: CommuneState, participant: bytes, chain_height: int) -> int:
    """What `participant` may spend in an entry naming the block at `chain_height`: what the
    blocks up to it credited them, their dividends accrued by then, less their own spends."""
    return (
        state.credits_through(participant, chain_height)
        + state.dividends_through(participant, chain_height)
        - state.debits(participant)
    )


def amount_text(state: CommuneState, minor: int) -> str:
    """An amount in a refusal's words, as people write it: `1,000.00 EUR`."""
    return f"{format_amount(minor, state.charter.currency)} {state.charter.currency}"


def overdrawn(state: CommuneState, amount: int, have: int, where: str) -> str:
    return f"{amount_text(state, amount)} asked, {amount_text(state, max(have, 0))} {where}"


def spend(state: CommuneState, entry: Entry, amount: int, chain_height: int) -> list[Effect]:
    """Check the author may spend `amount`; the effects that must come first: drawing accrued
    dividends into their own account when it does not hold enough (never more than accrued,
    since what the chain prefix allows is at most what the account and dividends hold now)."""
    if not state.is_participant(entry.author):
        raise RuleRefused(RuleReason.NOT_A_PARTICIPANT)
    have = available(state, entry.author, chain_height)
    if have < amount:
        raise RuleRefused(RuleReason.OVERDRAFT, overdrawn(state, amount, have, "available"))
    short = amount - state.claim(accounts.participant_account(entry.author))
    return [TakeDividend(entry.author, short)] if short > 0 else []


def payee_account(state: CommuneState, to: bytes) -> str:
    if state.is_participant(to):
        return accounts.participant_account(to)
    ent = state.enterprise(to)
    if ent is not None and ent.active:
        return accounts.enterprise_account(to)
    raise RuleRefused(RuleReason.UNKNOWN_PAYEE, to.hex()[:12])


def move(payer: str, payee: str, amount: int, memo: str) -> Post:
    """Pay `amount` from the claim `payer` to the claim `payee`."""
    return Post((Posting(payer, amount), Posting(payee, -amount)), memo)


def transfer(state: CommuneState, entry: Entry, body: Transfer, chain_height: int) -> list[Effect]:
    drawn = spend(state, entry, body.amount, chain_height)
    payee = payee_account(state, body.to)
    payer = accounts.participant_account(entry.author)
    if payee == payer:
        raise RuleRefused(RuleReason.SELF_TRANSFER)
    return [*drawn, move(payer, payee, body.amount, body.memo)]


def pay_from_enterprise(state: CommuneState, enterprise: bytes, to: str, amount: int, memo: str) -> Post:
    payer = accounts.enterprise_account(enterprise)
    have = state.claim(payer)
    if have < amount:
        raise RuleRefused(RuleReason.OVERDRAFT, overdrawn(state, amount, have, "in the enterprise's account"))
    return move(payer, to, amount, memo)
