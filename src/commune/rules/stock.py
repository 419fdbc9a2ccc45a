"""The common stock, rules 7-12: rental offers, their bond auctions, and buying the asset.

An offer is taken in when its figures can fund the asset (`reserve_rate`); its bond series is
then on sale until the offer's deadline. Its requester may withdraw it while the auction is
open or after it failed (the open bids' escrow returns), and after a failure may offer the
same asset again on new terms (`retry_offer`: rules 7-8 again, a new deadline). A bid escrows
its money from the bidder's own account when it is taken in (the spend rule of DESIGN 3.1),
and can be withdrawn before the deadline. The first block past the deadline clears the
auction (`auction.clear`) from the bids taken in before it: unfilled escrow returns to the
bidders; on success the escrowed price pays the vendor through the bank bridge (a pending
payment the steward confirms), the holdings are registered, and the rental starts. Rent,
debt service and what follows are later rules.
"""

from __future__ import annotations

from fractions import Fraction

from commune.core.rates import format_percent
from commune.log.bodies import Bid, Offer, RetryOffer, WithdrawBid, WithdrawOffer
from commune.log.entry import Entry
from commune.rules import accounts, auction, lifecycle
from commune.rules.amortization import level_payment, payment_to_minor
from commune.rules.charter import DAY_MS
from commune.rules.effects import (
    CancelBid,
    ClearAuction,
    Effect,
    Fill,
    OfferRetried,
    OfferWithdrawn,
    OpenOffer,
    OpenPending,
    PlaceBid,
    Post,
    Posting,
)
from commune.rules.ledger import spend
from commune.rules.membership import require_signer
from commune.rules.model import Asset, CommuneState, PlacedBid, due_by_deadline
from commune.rules.refusal import RuleReason, RuleRefused
from commune.rules.rent import period_of
from commune.rules.reserve_rate import OfferCannotFund, OfferError, reserve_rate
from commune.rules.signed import Signed


def annual_reserve(state: CommuneState, asset: Asset) -> Fraction:
    """An offer's r_max as an annual rate (bids are annual rates)."""
    return state.charter.per_year(Fraction(asset.reserve_num, asset.reserve_den))


def _terms(state: CommuneState, entry: Signed, price: int, terms: Offer | RetryOffer) -> Fraction:
    """Check an offer's terms (those an offer made again may change, and the price) against
    rules 7-8 and the charter; its reserve rate per period."""
    bonds, rent, costs, term = terms.bonds, terms.rent, terms.costs, terms.term_periods
    deadline = terms.deadline_ms
    if term > terms.lease_periods:
        raise RuleRefused(RuleReason.BAD_OFFER, "the bond term cannot be longer than the lease")
    if price % bonds:
        raise RuleRefused(RuleReason.BAD_OFFER, f"the price must divide into {bonds} bonds of a whole face value")
    if costs >= rent:
        raise RuleRefused(RuleReason.BAD_OFFER, "the rent must be more than the commune's costs")
    limit = entry.time_ms + state.charter.max_voting_days * DAY_MS
    if not entry.time_ms < deadline <= limit:
        raise RuleRefused(RuleReason.BAD_DEADLINE, f"at most {state.charter.max_voting_days} days after the offer")
    try:
        r_max = reserve_rate(price, rent - costs, term)
    except OfferCannotFund as exc:
        raise RuleRefused(RuleReason.OFFER_CANNOT_FUND, exc.message) from None
    except OfferError as exc:
        raise RuleRefused(RuleReason.BAD_OFFER, exc.message) from None
    if r_max > 1:  # also keeps the rate's figures within what an effect can encode
        raise RuleRefused(RuleReason.BAD_OFFER, "the rent would pay more than 100 % interest a period")
    return r_max


def offer(state: CommuneState, entry: Signed, body: Offer) -> list[Effect]:
    require_signer(state, body.renter, entry.author)
    ent = state.enterprise(body.renter)
    assert ent is not None
    if body.vendor and (body.vendor == entry.author or body.vendor in ent.signers):
        raise RuleRefused(RuleReason.VENDOR_IS_REQUESTER)
    r_max = _terms(state, entry, body.price, body)
    return [
        OpenOffer(
            entry.id,
            entry.author,
            body.renter,
            body.description,
            body.price,
            body.rent,
            body.costs,
            body.lease_periods,
            body.term_periods,
            body.bonds,
            body.price // body.bonds,
            body.vendor_payee,
            body.valuation,
            body.deadline_ms,
            r_max.numerator,
            r_max.denominator,
        )
    ]


def _requested_asset(state: CommuneState, offer_id: bytes, entry: Signed) -> Asset:
    """The asset of `offer_id`, which the author signs for as its renter."""
    asset = state.tables["assets"].get(offer_id)
    if asset is None:
        raise RuleRefused(RuleReason.UNKNOWN_OFFER)
    require_signer(state, asset.renter, entry.author)
    return asset


def _cancel(bid_id: bytes, bid: PlacedBid, face_value: int, memo: str) -> list[Effect]:
    """Cancel an open bid and give the bidder its escrow back."""
    escrow = bid.quantity * face_value
    bidder = accounts.participant_account(bid.bidder)
    return [CancelBid(bid_id), Post((Posting(accounts.ESCROW, escrow), Posting(bidder, -escrow)), memo)]


def _release_open_bids(state: CommuneState, offer_id: bytes, memo: str) -> list[Effect]:
    """Cancel the open bids of `offer_id` and give each bidder their escrow back."""
    face_value = state.tables["assets"][offer_id].face_value
    rows = state.tables["bids"]
    effects: list[Effect] = []
    for bid_id in state.grouped("bids", offer_id):
        if rows[bid_id].status == "open":
            effects += _cancel(bid_id, rows[bid_id], face_value, memo)
    return effects


def withdraw_offer(state: CommuneState, entry: Signed, body: WithdrawOffer) -> list[Effect]:
    """The requester gives up: before the deadline of an open auction, or after a failed one."""
    asset = _requested_asset(state, body.offer, entry)
    open_now = asset.state == lifecycle.State.AUCTION_OPEN and entry.time_ms <= asset.deadline_ms
    if not open_now and asset.state != lifecycle.State.FAILED:
        detail = "its auction has closed" if asset.state == lifecycle.State.AUCTION_OPEN else f"it is {asset.state}"
        raise RuleRefused(RuleReason.OFFER_DECIDED, detail)
    return [*_release_open_bids(state, body.offer, "offer withdrawn: escrow returned"), OfferWithdrawn(body.offer)]


def retry_offer(state: CommuneState, entry: Signed, body: RetryOffer) -> list[Effect]:
    """A failed offer on sale again on new terms (the same asset, price and vendor)."""
    asset = _requested_asset(state, body.offer, entry)
    if asset.state != lifecycle.State.FAILED:
        raise RuleRefused(RuleReason.AUCTION_NOT_FAILED, f"it is {asset.state}")
    r_max = _terms(state, entry, asset.price, body)
    return [
        OfferRetried(
            body.offer,
            body.rent,
            body.costs,
            body.lease_periods,
            body.term_periods,
            body.bonds,
            asset.price // body.bonds,
            body.deadline_ms,
            r_max.numerator,
            r_max.denominator,
        )
    ]


def _open_asset(state: CommuneState, offer_id: bytes, entry: Entry) -> Asset:
    asset = state.tables["assets"].get(offer_id)
    if asset is None:
        raise RuleRefused(RuleReason.UNKNOWN_OFFER)
    if asset.state != lifecycle.State.AUCTION_OPEN or entry.time_ms > asset.deadline_ms:
        raise RuleRefused(RuleReason.AUCTION_CLOSED)
    return asset


def bid(state: CommuneState, entry: Entry, body: Bid, chain_height: int) -> list[Effect]:
    asset = _open_asset(state, body.offer, entry)
    rate = Fraction(body.rate_num, body.rate_den)
    if (rate.numerator, rate.denominator) != (body.rate_num, body.rate_den):
        raise RuleRefused(RuleReason.BAD_BID, "write the rate in lowest terms")
    reserve = annual_reserve(state, asset)
    if rate > reserve:
        raise RuleRefused(
            RuleReason.ABOVE_RESERVE_RATE, f"the highest rate this offer allows is {format_percent(reserve)} a year"
        )
    if body.quantity > asset.bonds:
        raise RuleRefused(RuleReason.BAD_BID, f"the series has {asset.bonds} bonds")
    escrow = auction.escrow_for(body.quantity, asset.face_value)
    drawn = spend(state, entry, escrow, chain_height)
    bidder = accounts.participant_account(entry.author)
    return [
        *drawn,
        PlaceBid(entry.id, body.offer, entry.author, body.quantity, body.rate_num, body.rate_den),
        Post((Posting(bidder, escrow), Posting(accounts.ESCROW, -escrow)), "bid escrow"),
    ]


def withdraw_bid(state: CommuneState, entry: Entry, body: WithdrawBid) -> list[Effect]:
    placed = state.tables["bids"].get(body.bid)
    if placed is None or placed.status != "open":
        raise RuleRefused(RuleReason.UNKNOWN_BID)
    if placed.bidder != entry.author:
        raise RuleRefused(RuleReason.NOT_YOUR_BID)
    asset = _open_asset(state, placed.offer, entry)
    return _cancel(body.bid, placed, asset.face_value, "bid withdrawn")


def due(state: CommuneState, time_ms: int) -> list[bytes]:
    """Offers whose auction is open and whose deadline is before `time_ms`, by (deadline, id)."""
    return due_by_deadline(
        state.tables["assets"], time_ms, lambda a: a.deadline_ms if a.state == lifecycle.State.AUCTION_OPEN else None
    )


def clear(state: CommuneState, offer_id: bytes) -> list[Effect]:
    """Close the auction of `offer_id` from the open bids taken in before this block's time."""
    asset = state.tables["assets"][offer_id]
    rows = state.tables["bids"]
    open_bids = sorted(
        (rows[bid_id].received, bid_id, rows[bid_id])
        for bid_id in state.grouped("bids", offer_id)
        if rows[bid_id].status == "open"
    )
    bids = [
        auction.Bid(bid_id, b.bidder, b.quantity, Fraction(b.rate_num, b.rate_den), order)
        for order, bid_id, b in open_bids
    ]
    result = auction.clear(bids, asset.bonds, annual_reserve(state, asset))
    releases = auction.release_after(result, asset.face_value)
    effects: list[Effect] = []
    if result.failed:
        effects.append(ClearAuction(offer_id, "failed", 0, 1, tuple(Fill(b.id, 0) for b in bids)))
    else:
        assert result.rate is not None
        per_period = state.charter.per_period(result.rate)
        payment = payment_to_minor(level_payment(asset.price, per_period, asset.term_periods))
        effects.append(
            ClearAuction(
                offer_id,
                "cleared",
                result.rate.numerator,
                result.rate.denominator,
                tuple(Fill(b.id, result.fills[b.id]) for b in bids),
                payment,
                period_of(state, state.time_ms) + 1,  # the first whole period of the rental
            )
        )
    for b in bids:
        released = releases[b.id].released
        if released:
            bidder = accounts.participant_account(b.bidder)
            effects.append(Post((Posting(accounts.ESCROW, released), Posting(bidder, -released)), "escrow released"))
    if not result.failed:
        effects.append(
            Post(
                (Posting(accounts.ESCROW, asset.price), Posting(accounts.WITHDRAWALS, -asset.price)),
                f"purchase: {asset.description}",
            )
        )
        effects.append(OpenPending(offer_id, "purchase", accounts.WITHDRAWALS, asset.price, asset.vendor_payee))
    return effects
