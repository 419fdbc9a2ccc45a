"""Effects: what a block does to the commune's state, as data.

The rules compute effects; the state applies them. A block carries its effects so that anyone
can read what it did; every node recomputes them and refuses a block whose effects differ.
Each effect is a tagged, array-encoded Struct, so a block's effects have one canonical encoding.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

Key = Annotated[bytes, Meta(min_length=32, max_length=32)]


class _Effect(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True, gc=False):
    pass


class Posting(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One line of a transaction: `amount` minor units, debit-positive (see rules.accounts)."""

    account: str
    amount: int


class Post(_Effect, tag="post"):
    """A balanced transaction: its postings sum to zero."""

    postings: tuple[Posting, ...]
    memo: str


class Refuse(_Effect, tag="refuse"):
    """The entry (author, seq) is taken in and does nothing, for `reason`."""

    author: Key
    seq: int
    reason: str


class Freeze(_Effect, tag="freeze"):
    """A fork or bad-link proof freezes `author`'s feed from `seq` on."""

    author: Key
    seq: int


class RecordAttestation(_Effect, tag="attestation"):
    id: Key
    enterprise: Key
    person: Key
    attester: Key


class Admit(_Effect, tag="admit"):
    """`person` becomes a member through `enterprise`'s attestation (rules 1-2)."""

    person: Key
    enterprise: Key
    probation_until_ms: int


class Depart(_Effect, tag="depart"):
    """A member leaves (rule 3): no share, no vote, no dividend; their account stays theirs."""

    person: Key


class RegisterInvestor(_Effect, tag="investor"):
    person: Key
    name: str


class SetName(_Effect, tag="name"):
    """How a participant wants to be shown (from their latest profile entry)."""

    person: Key
    name: str


class RegisterEnterprise(_Effect, tag="enterprise"):
    enterprise: Key
    name: str
    signers: tuple[Key, ...]
    k: int


class ChangeSigners(_Effect, tag="signers"):
    """An enterprise's signers and its k, as it named them anew."""

    enterprise: Key
    signers: tuple[Key, ...]
    k: int


class ExpelEnterprise(_Effect, tag="expel"):
    enterprise: Key


class OpenPending(_Effect, tag="pending"):
    """A deposit notice or a withdrawal, waiting for the steward to confirm the bank's side."""

    id: Key
    kind: str
    account: str
    amount: int
    #: The bank reference (a deposit) or the payee's bank account (a withdrawal), as written.
    reference: str


class ClosePending(_Effect, tag="pending_closed"):
    id: Key


class OpenSpend(_Effect, tag="spend"):
    """An act of an enterprise waiting for `k` of its signers (`act` says which): a transfer of
    `amount` to the account `to`, a rent payment into the asset `asset`'s account, notice on its
    rental, or an entry whose terms are `body` (its canonical bytes; `act` is its kind: an offer,
    a retried or withdrawn offer, a re-letting bid, new signers)."""

    id: Key
    enterprise: Key
    to: str
    amount: int
    signer: Key
    act: str
    asset: bytes
    memo: str
    body: bytes


class ApproveSpend(_Effect, tag="approve"):
    id: Key
    signer: Key


class CloseSpend(_Effect, tag="spend_closed"):
    id: Key
    outcome: str


class OpenProposal(_Effect, tag="proposal"):
    id: Key
    proposer: Key
    topic: str
    motion: bytes
    deadline_ms: int
    electorate: int
    needed: int


class RecordVote(_Effect, tag="vote"):
    proposal: Key
    voter: Key
    choice: str


class SetDelegation(_Effect, tag="delegation"):
    delegator: Key
    topic: str
    to: bytes


class CloseProposal(_Effect, tag="proposal_closed"):
    """The proposal passed (its yes votes reached `needed`) or expired at its deadline."""

    id: Key
    outcome: str
    yes: int
    no: int


class SetCharter(_Effect, tag="charter"):
    parameter: str
    value: str


class SetStewards(_Effect, tag="stewards"):
    stewards: tuple[Key, ...]


class SetStatus(_Effect, tag="status"):
    status: str
    detail: bytes


class OpenOffer(_Effect, tag="offer"):
    """A rental offer passed rules 7-8: its bond series is on auction until `deadline_ms`, with
    the reserve rate r_max per period as `reserve_num`/`reserve_den`."""

    id: Key
    requester: Key
    renter: Key
    description: str
    price: int
    rent: int
    costs: int
    lease_periods: int
    term_periods: int
    bonds: int
    face_value: int
    vendor_payee: str
    valuation: Key
    deadline_ms: int
    reserve_num: int
    reserve_den: int


class OfferWithdrawn(_Effect, tag="offer_withdrawn"):
    """The requester took back the offer: its asset is `withdrawn` (an end)."""

    id: Key


class OfferRetried(_Effect, tag="offer_retried"):
    """A failed offer is on sale again on new terms, until `deadline_ms`, with the reserve rate
    r_max per period as `reserve_num`/`reserve_den` (rules 7-8 and 10)."""

    id: Key
    rent: int
    costs: int
    lease_periods: int
    term_periods: int
    bonds: int
    face_value: int
    deadline_ms: int
    reserve_num: int
    reserve_den: int


class PlaceBid(_Effect, tag="bid"):
    """A sealed bid, its escrow posted alongside (rule 11)."""

    id: Key
    offer: Key
    bidder: Key
    quantity: int
    rate_num: int
    rate_den: int


class CancelBid(_Effect, tag="bid_withdrawn"):
    id: Key


class Fill(msgspec.Struct, array_like=True, frozen=True, gc=False):
    bid: Key
    bonds: int


class ClearAuction(_Effect, tag="clearing"):
    """The auction of `offer` closed: "cleared" at the annual coupon `rate_num`/`rate_den` with
    `fills` (every bid, in bid order, with the bonds it won), or "failed" (rule 10)."""

    offer: Key
    outcome: str
    rate_num: int
    rate_den: int
    fills: tuple[Fill, ...]
    #: The level debt service per period at that rate, and the first period rent is due for.
    payment: int = 0
    first_period: int = 0


class SettleAsset(_Effect, tag="settlement"):
    """One asset's period settled (rules 13-14): `outcome` is "paid" (rent consumed: costs, debt
    service, surplus, as the postings beside it show), "redeemed" (paid, and the last principal
    with it), "rent_to_pool" (a redeemed asset's net rent) or "missed" (not enough rent held);
    the asset's series figures after it."""

    asset: Key
    period: int
    outcome: str
    outstanding: int
    periods_left: int
    reserve: int
    missed: int


class SettlePeriod(_Effect, tag="period"):
    """The commune's period `period` is settled (every asset first)."""

    period: int


class PutOnRecord(_Effect, tag="on_record"):
    """A member goes on the dividend record (at admission, or when their probation ends)."""

    person: Key


class PayDividend(_Effect, tag="dividend"):
    """Period `period`'s equal dividend (rule 18): `per_member` to each of `members` on record,
    `per_member × members` moved from the pool to `dividends` (the rest carries in the pool)."""

    period: int
    per_member: int
    members: int


class TakeDividend(_Effect, tag="take_dividend"):
    """`amount` of a member's accrued dividends moves into their own account (before a spend)."""

    person: Key
    amount: int


class ReturnAsset(_Effect, tag="return"):
    """The rental ends (rule 15): "default" after the grace period, "notice", or "lease_end";
    `arrears` is the rent owed and unpaid, which stays a debt of the renter."""

    asset: Key
    reason: str
    arrears: int


class OpenReletting(_Effect, tag="reletting"):
    """A members-only re-letting round (rule 16) open until `deadline_ms`."""

    asset: Key
    deadline_ms: int
    round: int


class PlaceReletBid(_Effect, tag="relet_bid"):
    id: Key
    asset: Key
    bidder: Key
    renter: Key
    rent: int
    lease_periods: int


class Relet(_Effect, tag="relet"):
    """The round's winner (highest present value) rents the asset from `first_period`."""

    asset: Key
    bid: Key
    renter: Key
    rent: int
    lease_periods: int
    first_period: int


class ReletFailed(_Effect, tag="relet_failed"):
    """No valid bid: another round opens, or after the charter's rounds the asset is liquidated."""

    asset: Key
    round: int
    liquidate: bool


class NoticeGiven(_Effect, tag="notice"):
    asset: Key


class PayArrears(_Effect, tag="arrears_paid"):
    """`enterprise` paid `amount` of its arrears on `asset` (rule 15's debt); postings beside it
    move the money. `outstanding`, `periods_left` and `reserve` are the series' figures after it:
    arrears that repay the last principal release the series reserve to the dividend pool."""

    asset: Key
    enterprise: Key
    amount: int
    outstanding: int
    periods_left: int
    reserve: int


class FinishLiquidation(_Effect, tag="liquidated"):
    """The sale is done: the waterfall's figures (rule 17); postings beside it move the money."""

    asset: Key
    proceeds: int
    sale_costs_paid: int
    to_holders: int
    shortfall: int
    to_dividend_pool: int


Effect = (
    Post
    | Refuse
    | Freeze
    | RecordAttestation
    | Admit
    | Depart
    | RegisterInvestor
    | SetName
    | RegisterEnterprise
    | ExpelEnterprise
    | OpenPending
    | ClosePending
    | OpenSpend
    | ApproveSpend
    | CloseSpend
    | OpenProposal
    | RecordVote
    | SetDelegation
    | CloseProposal
    | SetCharter
    | SetStewards
    | ChangeSigners
    | SetStatus
    | OpenOffer
    | OfferWithdrawn
    | OfferRetried
    | PlaceBid
    | CancelBid
    | ClearAuction
    | SettleAsset
    | SettlePeriod
    | PutOnRecord
    | PayDividend
    | TakeDividend
    | ReturnAsset
    | OpenReletting
    | PlaceReletBid
    | Relet
    | ReletFailed
    | NoticeGiven
    | PayArrears
    | FinishLiquidation
)
