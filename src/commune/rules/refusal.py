"""Why the rules refuse an entry taken into a block: one stable name per reason.

A refused entry stays in its author's feed and in the chain (the block records the refusal as
an effect, so every node agrees it did nothing); it changes no balance and no roster.
"""

from __future__ import annotations

from enum import StrEnum

from commune.core.errors import CommuneError


class RuleReason(StrEnum):
    NOT_A_MEMBER = "not_a_member"
    NOT_A_PARTICIPANT = "not_a_participant"
    ON_PROBATION = "on_probation"
    ALREADY_A_MEMBER = "already_a_member"
    ALREADY_REGISTERED = "already_registered"
    UNKNOWN_ENTERPRISE = "unknown_enterprise"
    NOT_A_SIGNER = "not_a_signer"
    UNKNOWN_ATTESTATION = "unknown_attestation"
    NOT_YOUR_ATTESTATION = "not_your_attestation"
    OVERDRAFT = "overdraft"
    UNKNOWN_PAYEE = "unknown_payee"
    SELF_TRANSFER = "self_transfer"
    UNKNOWN_SPEND = "unknown_spend"
    ALREADY_APPROVED = "already_approved"
    NOT_A_STEWARD = "not_a_steward"
    UNKNOWN_DEPOSIT = "unknown_deposit"
    UNKNOWN_WITHDRAWAL = "unknown_withdrawal"
    NOT_YOUR_ACCOUNT = "not_your_account"
    UNKNOWN_PROPOSAL = "unknown_proposal"
    PROPOSAL_CLOSED = "proposal_closed"
    ALREADY_VOTED = "already_voted"
    NOT_IN_ELECTORATE = "not_in_electorate"
    BAD_DEADLINE = "bad_deadline"
    BAD_MOTION = "bad_motion"
    BAD_DELEGATION = "bad_delegation"
    FEED_FROZEN = "feed_frozen"
    UNKNOWN_CHAIN_REF = "unknown_chain_ref"
    TIME_BEFORE_CHAIN_REF = "time_before_chain_ref"
    COMMUNE_CLOSED = "commune_closed"
    BAD_OFFER = "bad_offer"
    OFFER_CANNOT_FUND = "offer_cannot_fund"
    VENDOR_IS_REQUESTER = "vendor_is_requester"
    UNKNOWN_OFFER = "unknown_offer"
    AUCTION_CLOSED = "auction_closed"
    BAD_BID = "bad_bid"
    ABOVE_RESERVE_RATE = "above_reserve_rate"
    UNKNOWN_BID = "unknown_bid"
    NOT_YOUR_BID = "not_your_bid"
    NOT_RENTED = "not_rented"
    NOT_RELETTING = "not_reletting"
    NOT_LIQUIDATING = "not_liquidating"
    OFFER_DECIDED = "offer_decided"
    AUCTION_NOT_FAILED = "auction_not_failed"
    MORE_THAN_OWED = "more_than_owed"
    BAD_SIGNERS = "bad_signers"


EXPLANATIONS: dict[RuleReason, str] = {
    RuleReason.NOT_A_MEMBER: "only a member of the commune may do this",
    RuleReason.NOT_A_PARTICIPANT: "only a member or a registered investor has an account",
    RuleReason.ON_PROBATION: "a member on probation has no vote yet",
    RuleReason.ALREADY_A_MEMBER: "this person is already a member",
    RuleReason.ALREADY_REGISTERED: "this is registered already",
    RuleReason.UNKNOWN_ENTERPRISE: "no registered enterprise has this id",
    RuleReason.NOT_A_SIGNER: "the author is not a signer of that enterprise",
    RuleReason.UNKNOWN_ATTESTATION: "no attestation of labour has this id",
    RuleReason.NOT_YOUR_ATTESTATION: "the attestation names someone else",
    RuleReason.OVERDRAFT: "the account does not hold enough money for this",
    RuleReason.UNKNOWN_PAYEE: "the payee is neither a participant nor an enterprise of the commune",
    RuleReason.SELF_TRANSFER: "an account cannot pay itself",
    RuleReason.UNKNOWN_SPEND: "no enterprise act awaiting approval has this id",
    RuleReason.ALREADY_APPROVED: "this signer has already approved this act",
    RuleReason.NOT_A_STEWARD: "only a steward may confirm what the bank did",
    RuleReason.UNKNOWN_DEPOSIT: "no deposit notice awaiting confirmation has this id",
    RuleReason.UNKNOWN_WITHDRAWAL: "no withdrawal awaiting payment has this id",
    RuleReason.NOT_YOUR_ACCOUNT: "the author may not act for that account",
    RuleReason.UNKNOWN_PROPOSAL: "no proposal has this id",
    RuleReason.PROPOSAL_CLOSED: "the proposal is closed",
    RuleReason.ALREADY_VOTED: "this member has voted on this proposal already",
    RuleReason.NOT_IN_ELECTORATE: "the voter was not a voting member when the proposal was made",
    RuleReason.BAD_DEADLINE: "the deadline is in the past or further away than the charter allows",
    RuleReason.BAD_MOTION: "the motion could not take effect",
    RuleReason.BAD_DELEGATION: "a vote can be delegated only to another member, on a known topic",
    RuleReason.FEED_FROZEN: "the author's feed is frozen by a fork proof from this position",
    RuleReason.UNKNOWN_CHAIN_REF: "the entry names a chain block that is not in the chain",
    RuleReason.TIME_BEFORE_CHAIN_REF: "the entry claims a time before the chain block it names",
    RuleReason.COMMUNE_CLOSED: "the commune has been dissolved or merged",
    RuleReason.BAD_OFFER: "the rental offer is not one the commune can take up",
    RuleReason.OFFER_CANNOT_FUND: "the net rent over the bond term is less than the price, so no rate can fund it",
    RuleReason.VENDOR_IS_REQUESTER: "the vendor may not be the requester or a signer of the renting enterprise",
    RuleReason.UNKNOWN_OFFER: "no rental offer has this id",
    RuleReason.AUCTION_CLOSED: "the auction is not open (its deadline has passed or it was decided)",
    RuleReason.BAD_BID: "the bid is not well-formed (a rate must be a fraction in lowest terms)",
    RuleReason.ABOVE_RESERVE_RATE: "the bid asks a higher rate than the offer's rent can pay",
    RuleReason.UNKNOWN_BID: "no open bid has this id",
    RuleReason.NOT_YOUR_BID: "only the bidder may withdraw a bid",
    RuleReason.NOT_RENTED: "the asset is not rented out, so no rent is due for it",
    RuleReason.NOT_RELETTING: "the asset is not being re-let",
    RuleReason.NOT_LIQUIDATING: "the asset is not being liquidated",
    RuleReason.OFFER_DECIDED: "only an offer whose auction is still open or has failed can be withdrawn",
    RuleReason.AUCTION_NOT_FAILED: "only an offer whose auction failed can be offered again",
    RuleReason.MORE_THAN_OWED: "the payment is more than the enterprise owes for this asset",
    RuleReason.BAD_SIGNERS: "an enterprise's signers must be distinct participants, and k at most their number",
}


class RuleRefused(CommuneError):
    """An entry the rules refuse, with its reason."""

    def __init__(self, reason: RuleReason, detail: str = "") -> None:
        text = EXPLANATIONS[reason] + (f": {detail}" if detail else "")
        super().__init__(text, reason=reason.value)
        self.rule_reason = reason
