"""Taking entries into the chain: which rule each kind answers to, and what it does.

`take_in` is the one road from an entry to the state: it checks what every entry must satisfy
(its feed not frozen, its `chain_ref` a block of this chain and not after its claimed time,
the commune not closed), asks the rule for the entry's kind for effects, applies them, and
returns them. A rule's refusal becomes a `Refuse` effect: the entry is taken in and does
nothing. Block building and block checking both go through here, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable

from commune.core.encoding import encode
from commune.log import bodies
from commune.log.entry import Entry
from commune.rules import (
    bank,
    dividend_record,
    enterprise_acts,
    governance,
    ledger,
    membership,
    rent,
    stock,
    tenancy,
)
from commune.rules.charter import Charter
from commune.rules.effects import Admit, Effect, Freeze, Refuse, RegisterEnterprise, SetStewards
from commune.rules.model import BlockInfo, CommuneState
from commune.rules.refusal import RuleReason, RuleRefused

Rule = Callable[[CommuneState, Entry, int], list[Effect]]


def _no_effect(state: CommuneState, entry: Entry, height: int) -> list[Effect]:
    return []


RULES: dict[type, Rule] = {
    bodies.Profile: lambda s, e, h: membership.profile(s, e, e.body),
    bodies.Note: _no_effect,
    bodies.Attest: lambda s, e, h: membership.attest(s, e, e.body),
    bodies.Accept: lambda s, e, h: membership.accept(s, e, e.body),
    bodies.Leave: lambda s, e, h: membership.leave(s, e, e.body),
    bodies.RegisterInvestor: lambda s, e, h: membership.register_investor(s, e, e.body),
    bodies.Transfer: lambda s, e, h: ledger.transfer(s, e, e.body, h),
    bodies.EnterpriseTransfer: lambda s, e, h: enterprise_acts.enterprise_transfer(s, e, e.body),
    bodies.Approve: lambda s, e, h: enterprise_acts.approve(s, e, e.body),
    bodies.SetSigners: lambda s, e, h: enterprise_acts.entry_act(s, e, e.body),
    bodies.Deposit: lambda s, e, h: bank.deposit(s, e, e.body),
    bodies.ConfirmDeposit: lambda s, e, h: bank.confirm_deposit(s, e, e.body),
    bodies.Withdraw: lambda s, e, h: bank.withdraw(s, e, e.body, h),
    bodies.ConfirmPayment: lambda s, e, h: bank.confirm_payment(s, e, e.body),
    bodies.Propose: lambda s, e, h: governance.propose(s, e, e.body),
    bodies.Vote: lambda s, e, h: governance.vote(s, e, e.body),
    bodies.Delegate: lambda s, e, h: governance.delegate(s, e, e.body),
    bodies.Offer: lambda s, e, h: enterprise_acts.entry_act(s, e, e.body),
    bodies.WithdrawOffer: lambda s, e, h: enterprise_acts.entry_act(s, e, e.body),
    bodies.RetryOffer: lambda s, e, h: enterprise_acts.entry_act(s, e, e.body),
    bodies.Bid: lambda s, e, h: stock.bid(s, e, e.body, h),
    bodies.WithdrawBid: lambda s, e, h: stock.withdraw_bid(s, e, e.body),
    bodies.PayRent: lambda s, e, h: enterprise_acts.pay_rent(s, e, e.body),
    bodies.GiveNotice: lambda s, e, h: enterprise_acts.give_notice(s, e, e.body),
    bodies.ReletBid: lambda s, e, h: enterprise_acts.entry_act(s, e, e.body),
    bodies.ConfirmSale: lambda s, e, h: tenancy.confirm_sale(s, e, e.body),
}

#: What a closed (dissolved or merged) commune still takes in: money going back to people, and
#: the rent of assets still rented (their periods are still settled and their holders paid).
_AFTER_CLOSING = (
    bodies.PayRent,  # periods are still settled: a renter must be able to pay what falls due
    bodies.Approve,  # ...with k of its signers (enterprise_acts.approve refuses other acts)
    bodies.Withdraw,
    bodies.ConfirmPayment,
    bodies.ConfirmDeposit,
    bodies.ConfirmSale,
    bodies.Profile,
    bodies.Note,
)


def chain_height_of(state: CommuneState, entry: Entry) -> int:
    """The height of the block `entry` names, checking it is in the chain and not after the entry."""
    info = state.tables["blocks"].get(entry.chain_ref)
    if info is None:
        raise RuleRefused(RuleReason.UNKNOWN_CHAIN_REF, entry.chain_ref.hex()[:12])
    if entry.time_ms < info.time_ms:
        raise RuleRefused(RuleReason.TIME_BEFORE_CHAIN_REF)
    return info.height


def take_in(state: CommuneState, entry: Entry) -> list[Effect]:
    """Apply the next entry of its feed to `state`; return the effects applied."""
    state.set("included", entry.author, entry.seq)
    try:
        frozen = state.tables["frozen"].get(entry.author)
        if frozen is not None and entry.seq >= frozen:
            raise RuleRefused(RuleReason.FEED_FROZEN, f"from #{frozen}")
        height = chain_height_of(state, entry)
        if state.status != "active" and not isinstance(entry.body, _AFTER_CLOSING):
            raise RuleRefused(RuleReason.COMMUNE_CLOSED)
        effects = RULES[type(entry.body)](state, entry, height)
    except RuleRefused as refused:
        effects = [Refuse(entry.author, entry.seq, refused.reason)]
    state.apply_all(effects)
    if isinstance(entry.body, bodies.Vote) and not isinstance(effects[0], Refuse):
        more = governance.after_vote(state, entry.body.proposal)
        state.apply_all(more)
        effects = effects + more
    return effects


def freeze(state: CommuneState, author: bytes, seq: int) -> list[Effect]:
    """A verified fork or bad-link proof: freeze `author` from `seq` unless frozen there already."""
    frozen = state.tables["frozen"].get(author)
    if frozen is not None and frozen <= seq:
        return []
    effects: list[Effect] = [Freeze(author, seq)]
    state.apply_all(effects)
    return effects


def _run(state: CommuneState, effects: list[Effect], more: list[Effect]) -> None:
    """Apply `more` before the next step computes from the state (each step reads the last's)."""
    state.apply_all(more)
    effects.extend(more)


def close_due(state: CommuneState, time_ms: int) -> list[Effect]:
    """Close every proposal, then every auction, then every re-letting round, whose deadline is
    before `time_ms` (the block's time), then settle every period that ended by then."""
    effects: list[Effect] = []
    for pid in governance.due(state, time_ms):
        more = governance.close_at_deadline(state, pid)
        state.apply_all(more)
        effects.extend(more)
    for oid in stock.due(state, time_ms):
        more = stock.clear(state, oid)
        state.apply_all(more)
        effects.extend(more)
    for aid in tenancy.due(state, time_ms):
        _run(state, effects, tenancy.close_round(state, aid))
    for period in rent.due(state, time_ms):
        period_end = state.meta("genesis_ms", 0) + period * rent.period_ms(state)
        settled = rent.settle_assets(state, period)
        _run(state, effects, settled)
        _run(state, effects, tenancy.ends_of_rentals(state, settled))
        _run(state, effects, dividend_record.due_on_record(state, period_end))
        _run(state, effects, dividend_record.pay_dividend(state, period))
        _run(state, effects, rent.end_period(period))
    return effects


def anything_due(state: CommuneState, time_ms: int) -> bool:
    """Whether a block at `time_ms` would close a deadline or settle a period (a steward's node
    builds a block then even with no entries to take in)."""
    return bool(
        governance.due(state, time_ms)
        or stock.due(state, time_ms)
        or tenancy.due(state, time_ms)
        or rent.due(state, time_ms)
    )


def begin_block(state: CommuneState, height: int, time_ms: int) -> None:
    state.set("meta", "height", height)
    state.set("meta", "time_ms", time_ms)


def end_block(state: CommuneState, block_id: bytes) -> None:
    state.set("meta", "block_id", block_id)
    state.set("blocks", block_id, BlockInfo(state.height, state.time_ms))


def found(
    state: CommuneState,
    *,
    commune: bytes,
    charter: Charter,
    time_ms: int,
    founders: tuple[bytes, ...],
    enterprises: tuple[tuple[bytes, str, tuple[bytes, ...], int], ...],
    stewards: tuple[bytes, ...],
) -> None:
    """The state of a commune at its genesis: charter, founders (no probation), enterprises, steward."""
    state.set("meta", "commune", commune)
    state.set("meta", "charter", encode(charter))
    state.set("meta", "status", "active")
    state.set("meta", "genesis_ms", time_ms)
    begin_block(state, 0, time_ms)
    for eid, name, signers, k in enterprises:
        state.apply(RegisterEnterprise(eid, name, signers, k))
    for person in founders:
        enterprise = next((eid for eid, _n, signers, _k in enterprises if person in signers), b"")
        state.apply(Admit(person, enterprise, time_ms))
    state.apply(SetStewards(stewards))
    end_block(state, commune)
