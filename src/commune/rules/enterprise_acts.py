"""What an enterprise does through its signers (rule 6): k of them stand behind each act.

A transfer from the enterprise's account, a rent payment, notice on a rental, a rental offer
(made, made again after a failed auction, or withdrawn), a bid to re-let an asset and naming its
signers anew are acts of the enterprise, not of the signer who writes the entry. When the enterprise's k is 1 an act
takes effect at once. Otherwise it waits (a `spends` row) until k signers in all have signed
it, the first by writing it and the others by `approve` entries naming it, and it is checked
again then: the money may be gone, the rental over, the deadline past. Every act but a
transfer is checked when it is written too, so a mistake is refused at once. An act that waited
is done under the id of the entry that opened it, in the name of its writer, at the time of the
last approval (`signed.Act`); only approvals of its signers at that time count. An expelled
enterprise can still pay, pay rent, give notice and change its signers (its rentals run on, its
debts can be paid, its money must be able to leave), but nothing that binds it anew: offers,
re-letting bids and attestations need an active one.
"""

from __future__ import annotations

from collections.abc import Callable

from commune.core.encoding import decoder, encode
from commune.log.bodies import (
    Approve,
    Body,
    EnterpriseTransfer,
    GiveNotice,
    Offer,
    PayRent,
    ReletBid,
    RetryOffer,
    SetSigners,
    WithdrawOffer,
)
from commune.log.entry import Entry
from commune.rules import accounts, ledger, rent, stock, tenancy
from commune.rules.effects import ApproveSpend, ChangeSigners, CloseSpend, Effect, OpenSpend
from commune.rules.membership import require_signer
from commune.rules.model import CommuneState, Spend
from commune.rules.refusal import RuleReason, RuleRefused
from commune.rules.signed import Act, Signed

TRANSFER, RENT, NOTICE = "transfer", "rent", "notice"

EntryRule = Callable[[CommuneState, Signed, Body], list[Effect]]


def set_signers(state: CommuneState, entry: Signed, body: SetSigners) -> list[Effect]:
    """The enterprise's signers and k, named anew: distinct participants, k at most their number."""
    require_signer(state, body.enterprise, entry.author, expelled_ok=True)
    if len(set(body.signers)) != len(body.signers) or body.k > len(body.signers):
        raise RuleRefused(RuleReason.BAD_SIGNERS, "signers must be distinct and k at most their number")
    strangers = [s for s in body.signers if not state.is_participant(s)]
    if strangers:
        raise RuleRefused(RuleReason.BAD_SIGNERS, f"{strangers[0].hex()[:12]} is not a participant of the commune")
    return [ChangeSigners(body.enterprise, body.signers, body.k)]


#: Acts whose terms are a whole entry body, kept encoded while they wait: kind -> (body type,
#: the rule that does it, how a waiting act that was done closes).
ENTRY_ACTS: dict[str, tuple[type[Body], EntryRule, str]] = {
    "offer": (Offer, stock.offer, "offered"),
    "retry_offer": (RetryOffer, stock.retry_offer, "offered"),
    "withdraw_offer": (WithdrawOffer, stock.withdraw_offer, "withdrawn"),
    "relet_bid": (ReletBid, tenancy.relet_bid, "placed"),
    "set_signers": (SetSigners, set_signers, "changed"),
}
_KIND_OF = {body_type: kind for kind, (body_type, _, _) in ENTRY_ACTS.items()}
_DECODERS = {kind: decoder(body_type) for kind, (body_type, _, _) in ENTRY_ACTS.items()}

#: How an act that took effect closes its `spends` row (a refused one closes with the reason).
DONE = {TRANSFER: "paid", RENT: "paid", NOTICE: "given"} | {kind: done for kind, (_, _, done) in ENTRY_ACTS.items()}


def body_of(act: Spend) -> Body:
    """The entry body a waiting act of an entry's kind (`ENTRY_ACTS`) keeps encoded."""
    return _DECODERS[act.act].decode(act.body)


def perform(state: CommuneState, act: Spend, signed: Signed) -> list[Effect]:
    """The effects of an act its signers agreed on, refused if it cannot be done now."""
    if act.act == RENT:
        return rent.pay(state, act.enterprise, act.asset, act.amount)
    if act.act == NOTICE:
        return tenancy.notice(state, act.enterprise, act.asset)
    if act.act in ENTRY_ACTS:
        _, rule, _ = ENTRY_ACTS[act.act]
        return rule(state, signed, body_of(act))
    return [ledger.pay_from_enterprise(state, act.enterprise, act.payee, act.amount, act.memo)]


def _act(state: CommuneState, entry: Entry, act: Spend) -> list[Effect]:
    ent = state.enterprise(act.enterprise)
    assert ent is not None
    if ent.k <= 1:
        return perform(state, act, entry)
    if act.act != TRANSFER:
        perform(state, act, entry)  # refused now if it could not be done now; done when approved
    return [
        OpenSpend(entry.id, act.enterprise, act.payee, act.amount, entry.author, act.act, act.asset, act.memo, act.body)
    ]


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


def _acting_enterprise(state: CommuneState, body: Body) -> bytes:
    """The enterprise an offer, a change to an offer, a re-letting bid or new signers bind."""
    if isinstance(body, (Offer, ReletBid)):
        return body.renter
    if isinstance(body, SetSigners):
        return body.enterprise
    assert isinstance(body, (RetryOffer, WithdrawOffer))
    asset = state.tables["assets"].get(body.offer)
    if asset is None:
        raise RuleRefused(RuleReason.UNKNOWN_OFFER)
    return asset.renter


def entry_act(state: CommuneState, entry: Entry, body: Body) -> list[Effect]:
    """An offer, a retried or withdrawn offer, a re-letting bid or new signers: checked by its own
    rule now, done now if the enterprise's k is 1, else waiting for the other signers."""
    kind = _KIND_OF[type(body)]
    _, rule, _ = ENTRY_ACTS[kind]
    effects = rule(state, entry, body)  # refused here if it cannot be done now
    enterprise = _acting_enterprise(state, body)
    ent = state.enterprise(enterprise)
    assert ent is not None  # the rule required an enterprise the author signs for
    if ent.k <= 1:
        return effects
    return [OpenSpend(entry.id, enterprise, "", 0, entry.author, kind, b"", "", encode(body))]


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
    if sum(1 for a in act.approvers if a in ent.signers) + 1 >= ent.k:  # signers now, not then
        try:
            effects += perform(state, act, Act(body.spend, act.approvers[0], entry.time_ms))
            effects.append(CloseSpend(body.spend, DONE[act.act]))
        except RuleRefused as refused:
            effects.append(CloseSpend(body.spend, refused.reason))
    return effects
