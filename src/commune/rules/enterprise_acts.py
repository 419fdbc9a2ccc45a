"""What an enterprise does through its signers (rule 6): k of them stand behind each act.

A transfer from the enterprise's account, a rent payment and notice on a rental are acts of
the enterprise, not of the signer who writes the entry. When the enterprise's k is 1 an act
takes effect at once. Otherwise it waits (a `spends` row) until k signers in all have signed
it, the first by writing it and the others by `approve` entries naming it, and it is checked
again then: the money may be gone, the rental over. A rent payment or a notice is checked when
it is written too, so a wrong asset is refused at once. An expelled enterprise can still do
these three (its rentals run on, its debts can be paid, its money must be able to leave), but
nothing that binds it anew: offers, re-letting bids and attestations need an active one.
"""

from __future__ import annotations

from commune.log.bodies import Approve, EnterpriseTransfer, GiveNotice, PayRent
from commune.log.entry import Entry
from commune.rules import accounts, ledger, rent, tenancy
from commune.rules.effects import ApproveSpend, CloseSpend, Effect, OpenSpend
from commune.rules.membership import require_signer
from commune.rules.model import CommuneState, Spend
from commune.rules.refusal import RuleReason, RuleRefused

TRANSFER, RENT, NOTICE = "transfer", "rent", "notice"

#: How an act that took effect closes its `spends` row (a refused one closes with the reason).
DONE = {TRANSFER: "paid", RENT: "paid", NOTICE: "given"}


def perform(state: CommuneState, act: Spend) -> list[Effect]:
    """The effects of an act its signers agreed on, refused if it cannot be done now."""
    if act.act == RENT:
        return rent.pay(state, act.enterprise, act.asset, act.amount)
    if act.act == NOTICE:
        return tenancy.notice(state, act.enterprise, act.asset)
    return [ledger.pay_from_enterprise(state, act.enterprise, act.payee, act.amount, act.memo)]


def _act(state: CommuneState, entry: Entry, act: Spend) -> list[Effect]:
    ent = state.enterprise(act.enterprise)
    assert ent is not None
    if ent.k <= 1:
        return perform(state, act)
    if act.act != TRANSFER:
        perform(state, act)  # refused now if it could not be done now; done when approved
    return [OpenSpend(entry.id, act.enterprise, act.payee, act.amount, entry.author, act.act, act.asset, act.memo)]


def enterprise_transfer(state: CommuneState, entry: Entry, body: EnterpriseTransfer) -> list[Effect]:
    require_signer(state, body.enterprise, entry.author, expelled_ok=True)
    payee = ledger.payee_account(state, body.to)
    if payee == accounts.enterprise_account(body.enterprise):
        raise RuleRefused(RuleReason.SELF_TRANSFER)
    return _act(state, entry, Spend(body.enterprise, payee, body.amount, (), 0, TRANSFER, b"", body.memo))


def pay_rent(state: CommuneState, entry: Entry, body: PayRent) -> list[Effect]:
    enterprise = rent.payer_for(state, body.asset, entry.author)
    return _act(state, entry, Spend(enterprise, "", body.amount, (), 0, RENT, body.asset))


def give_notice(state: CommuneState, entry: Entry, body: GiveNotice) -> list[Effect]:
    enterprise = tenancy.renter_of(state, body.asset, entry.author)
    return _act(state, entry, Spend(enterprise, "", 0, (), 0, NOTICE, body.asset))


def approve(state: CommuneState, entry: Entry, body: Approve) -> list[Effect]:
    act = state.tables["spends"].get(body.spend)
    if act is None:
        raise RuleRefused(RuleReason.UNKNOWN_SPEND)
    require_signer(state, act.enterprise, entry.author, expelled_ok=True)
    if state.status != "active" and act.act != RENT:  # a closed commune takes in only rent
        raise RuleRefused(RuleReason.COMMUNE_CLOSED)
    if entry.author in act.approvers:
        raise RuleRefused(RuleReason.ALREADY_APPROVED)
    effects: list[Effect] = [ApproveSpend(body.spend, entry.author)]
    ent = state.enterprise(act.enterprise)
    assert ent is not None
    if len(act.approvers) + 1 >= ent.k:
        try:
            effects += perform(state, act)
            effects.append(CloseSpend(body.spend, DONE[act.act]))
        except RuleRefused as refused:
            effects.append(CloseSpend(body.spend, refused.reason))
    return effects
