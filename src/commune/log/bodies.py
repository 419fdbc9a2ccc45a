"""The kinds of entry and the typed body of each.

This is the vocabulary of the feeds: what a person can say in their own name. Each kind maps
to a msgspec Struct encoded as an array; a body must decode strictly to its Struct and
re-encode to the same bytes. The rules give the kinds their meaning; this module only says
what is well-formed. Adding a kind is a protocol change: document it in docs/protocol.md.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from commune.core.encoding import decoder

Text = Annotated[str, Meta(max_length=4096)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Address = Annotated[str, Meta(min_length=1, max_length=300)]


class Body(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, gc=False):
    """Base of every entry body."""


class Profile(Body):
    """How a participant wants to be shown, and where their node can be reached."""

    name: Name
    addresses: Annotated[tuple[Address, ...], Meta(max_length=16)] = ()


class Note(Body):
    """Free text in the author's own name (an announcement, a minute, a comment)."""

    text: Text


Key = Annotated[bytes, Meta(min_length=32, max_length=32)]
Amount = Annotated[int, Meta(gt=0, le=2**62)]
Reference = Annotated[str, Meta(max_length=200)]


class Attest(Body):
    """A signer of `enterprise` attests that `person` works there (rule 2)."""

    enterprise: Key
    person: Key


class Accept(Body):
    """The person accepts the attestation (`attestation` is its entry id) and asks to join."""

    attestation: Key


class Leave(Body):
    """A member leaves the commune; the share is lost, nothing is paid for it (rule 3)."""


class RegisterInvestor(Body):
    """The author registers as an outside investor: may hold bonds, no vote, no dividend (rule 4)."""

    name: Name


class Transfer(Body):
    """Pay `amount` minor units from the author's own account to a participant or an enterprise."""

    to: Key
    amount: Amount
    memo: Reference = ""


class EnterpriseTransfer(Body):
    """A signer of `enterprise` asks to pay from the enterprise's account; takes effect when
    `k` of its signers stand behind it (this entry and `Approve` entries that name it)."""

    enterprise: Key
    to: Key
    amount: Amount
    memo: Reference = ""


class Approve(Body):
    """A signer stands behind a waiting act of an enterprise (`spend` is that entry's id)."""

    spend: Key


class SetSigners(Body):
    """The enterprise names its signers anew and how many of them must stand behind its acts
    (rule 6: its own internal rule); an act of the enterprise, so k of its current signers agree."""

    enterprise: Key
    signers: Annotated[tuple[Key, ...], Meta(min_length=1, max_length=64)]
    k: Annotated[int, Meta(ge=1, le=64)]


class Deposit(Body):
    """Notice that the author sent `amount` to the commune's bank for `account` (their own or
    an enterprise they sign for); it becomes a credit when a steward confirms it (rule 22)."""

    account: Key
    amount: Amount
    reference: Reference = ""


class ConfirmDeposit(Body):
    """A steward confirms that money arrived in the bank: `deposit` is the notice's entry id."""

    deposit: Key
    amount: Amount


class Withdraw(Body):
    """Ask to be paid `amount` from one's own account to a bank account (`payee` as written)."""

    amount: Amount
    payee: Reference


class ConfirmPayment(Body):
    """A steward confirms that the bank paid the withdrawal `withdrawal` (its entry id)."""

    withdrawal: Key
    reference: Reference = ""


class RegisterEnterpriseMotion(
    msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, tag="register_enterprise"
):
    name: Name
    signers: Annotated[tuple[Key, ...], Meta(min_length=1, max_length=64)]
    k: Annotated[int, Meta(ge=1, le=64)]


class ExpelEnterpriseMotion(
    msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, tag="expel_enterprise"
):
    enterprise: Key


class ChangeCharterMotion(
    msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, tag="change_charter"
):
    parameter: Annotated[str, Meta(min_length=1, max_length=64)]
    value: Annotated[str, Meta(min_length=1, max_length=64)]


class ElectStewardMotion(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, tag="elect_steward"):
    steward: Key


class RecallStewardMotion(
    msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, tag="recall_steward"
):
    steward: Key
    successor: Key


class AppealAdmissionMotion(
    msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, tag="appeal_admission"
):
    attestation: Key


class DissolveMotion(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, tag="dissolve"):
    pass


class MergeMotion(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, tag="merge"):
    other_commune: Key


Motion = (
    RegisterEnterpriseMotion
    | ExpelEnterpriseMotion
    | ChangeCharterMotion
    | ElectStewardMotion
    | RecallStewardMotion
    | AppealAdmissionMotion
    | DissolveMotion
    | MergeMotion
)

#: The topic of each motion, for delegation per topic (rule 21).
MOTION_TOPIC: dict[type, str] = {
    RegisterEnterpriseMotion: "enterprises",
    ExpelEnterpriseMotion: "enterprises",
    ChangeCharterMotion: "charter",
    ElectStewardMotion: "stewards",
    RecallStewardMotion: "stewards",
    AppealAdmissionMotion: "admissions",
    DissolveMotion: "constitution",
    MergeMotion: "constitution",
}
TOPICS = frozenset(MOTION_TOPIC.values()) | {"all"}


class Propose(Body):
    """A member puts a motion to the vote, open until `deadline_ms` (rule 20)."""

    motion: Motion
    deadline_ms: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    text: Text = ""


class Vote(Body):
    """A member's vote on `proposal` (its entry id): "yes", "no" or "abstain". One per member."""

    proposal: Key
    choice: Annotated[str, Meta(pattern="^(yes|no|abstain)\\Z")]


class Delegate(Body):
    """Delegate one's vote on `topic` to `to`; `to` empty revokes it (rule 21)."""

    topic: Annotated[str, Meta(min_length=1, max_length=32)]
    to: Annotated[bytes, Meta(max_length=32)] = b""


Periods = Annotated[int, Meta(ge=1, le=1200)]


class Offer(Body):
    """A rental offer (rule 7): the author, a signer of `renter`, asks the commune to buy an
    asset for `price` and rent it to `renter` at `rent` a period for `lease_periods`, financed by
    `bonds` bonds repaid over `term_periods`, with `costs` a period borne by the commune. The
    auction of its bond series closes at `deadline_ms`. `valuation` is the hash of the evidence
    of value; the vendor is paid through the bank at `vendor_payee` (and, if a participant, is
    named by key in `vendor` so the rules can refuse a vendor who is the requester)."""

    renter: Key
    description: Name
    price: Amount
    rent: Amount
    costs: Annotated[int, Meta(ge=0, le=2**62)]
    lease_periods: Periods
    term_periods: Periods
    bonds: Annotated[int, Meta(ge=1, le=10_000_000)]
    vendor_payee: Reference
    valuation: Key
    deadline_ms: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    vendor: Annotated[bytes, Meta(max_length=32)] = b""


class WithdrawOffer(Body):
    """A signer of the renter takes back its rental offer (`offer`, its entry id) while the
    auction is open, or after it failed; the open bids' escrow goes back to the bidders."""

    offer: Key


class RetryOffer(Body):
    """After its auction failed, a signer of the renter offers the same asset again on new
    terms (rule 10: the requester may improve the offer and try again): the price, vendor and
    valuation stay; rules 7-8 are checked again and the series is on sale until `deadline_ms`."""

    offer: Key
    rent: Amount
    costs: Annotated[int, Meta(ge=0, le=2**62)]
    lease_periods: Periods
    term_periods: Periods
    bonds: Annotated[int, Meta(ge=1, le=10_000_000)]
    deadline_ms: Annotated[int, Meta(ge=0, le=2**63 - 1)]


class Bid(Body):
    """A sealed bid for `quantity` bonds of the series of `offer` (its entry id), at the lowest
    annual rate the bidder accepts (`rate_num`/`rate_den`, e.g. 9/200 for 4.5 %). The bid escrows
    quantity × face value from the bidder's own account when it is taken in (rule 11)."""

    offer: Key
    quantity: Annotated[int, Meta(ge=1, le=10_000_000)]
    rate_num: Annotated[int, Meta(ge=0, le=10**12)]
    rate_den: Annotated[int, Meta(ge=1, le=10**12)]


class WithdrawBid(Body):
    """The bidder takes back their bid (its entry id) before the auction's deadline; the escrow returns."""

    bid: Key


class PayRent(Body):
    """A signer of the renting enterprise pays `amount` of rent for `asset` (its offer's entry
    id) from the enterprise's account; rent paid ahead is kept for the next periods."""

    asset: Key
    amount: Amount


class GiveNotice(Body):
    """A signer of the renting enterprise gives notice: the rental of `asset` ends at the end of
    the current period, whose rent is still due (rule 15)."""

    asset: Key


class ReletBid(Body):
    """A member's sealed bid to rent a returned asset (rule 16) for `renter`, an enterprise the
    author signs for: `rent` a period for `lease_periods` periods."""

    asset: Key
    renter: Key
    rent: Amount
    lease_periods: Periods


class ConfirmSale(Body):
    """A steward confirms that a liquidated asset was sold: `proceeds` reached the bank, and
    `sale_costs` of them were the costs of the sale (rule 17)."""

    asset: Key
    proceeds: Annotated[int, Meta(ge=0, le=2**62)]
    sale_costs: Annotated[int, Meta(ge=0, le=2**62)]
    reference: Reference = ""


KINDS: dict[str, type[Body]] = {
    "profile": Profile,
    "note": Note,
    "attest": Attest,
    "accept": Accept,
    "leave": Leave,
    "register_investor": RegisterInvestor,
    "transfer": Transfer,
    "enterprise_transfer": EnterpriseTransfer,
    "approve": Approve,
    "set_signers": SetSigners,
    "deposit": Deposit,
    "confirm_deposit": ConfirmDeposit,
    "withdraw": Withdraw,
    "confirm_payment": ConfirmPayment,
    "propose": Propose,
    "vote": Vote,
    "delegate": Delegate,
    "offer": Offer,
    "withdraw_offer": WithdrawOffer,
    "retry_offer": RetryOffer,
    "bid": Bid,
    "withdraw_bid": WithdrawBid,
    "pay_rent": PayRent,
    "give_notice": GiveNotice,
    "relet_bid": ReletBid,
    "confirm_sale": ConfirmSale,
}

KIND_OF: dict[type[Body], str] = {cls: kind for kind, cls in KINDS.items()}

BODY_DECODERS: dict[str, msgspec.msgpack.Decoder] = {kind: decoder(cls) for kind, cls in KINDS.items()}
