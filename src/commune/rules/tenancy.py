"""The end of a rental and what follows (rules 15-17): default, notice and the end of the
lease; members-only re-letting rounds; liquidation.

A rented asset whose renter misses more periods than the charter's grace is returned, and
the missed periods' rent stays a debt of the renter (`arrears`, paid as `rent.pay` says); so
is one whose renter gave notice (after the period's rent) or whose lease ran out. Rent held in
the asset's account that no settlement consumed (paid ahead, or short of a period's rent) pays
towards the arrears, and what is left goes back to the renter when the rental ends. A returned
asset opens a re-letting round at once: members bid a rent and a lease for an enterprise they
sign for; the bid with the highest present value wins (`reletting.choose`, discounted at the
series' coupon, or at the charter's reference rate once redeemed), and a bid must cover the
costs and the debt service still due each period. A round runs to the end of the period after
the one it opens in. After the charter's
number of rounds without a valid bid the asset is liquidated: a steward confirms the sale,
and its proceeds, with whatever the asset's account holds, are paid down the waterfall
(`waterfall.liquidate`): sale costs, then the series' holders (principal and one period's
interest, pro rata), then the dividend pool; a shortfall falls on that series' holders alone.
"""

from __future__ import annotations

from fractions import Fraction

from commune.log.bodies import ConfirmSale, ReletBid
from commune.log.entry import Entry
from commune.rules import accounts, reletting
from commune.rules.amortization import interest_to_minor
from commune.rules.bank import require_steward
from commune.rules.effects import (
    Effect,
    FinishLiquidation,
    NoticeGiven,
    OpenReletting,
    PlaceReletBid,
    Post,
    Posting,
    Relet,
    ReletFailed,
    ReturnAsset,
    SettleAsset,
)
from commune.rules.lifecycle import State
from commune.rules.membership import require_signer
from commune.rules.model import Asset, CommuneState, due_by_deadline
from commune.rules.refusal import RuleReason, RuleRefused
from commune.rules.rent import RENTED_STATES, period_ms, period_of, periodic_coupon, recover_arrears
from commune.rules.signed import Signed
from commune.rules.waterfall import liquidate


def _asset(state: CommuneState, aid: bytes) -> Asset:
    asset = state.tables["assets"].get(aid)
    if asset is None:
        raise RuleRefused(RuleReason.UNKNOWN_OFFER)
    return asset


def renter_of(state: CommuneState, aid: bytes, signer: bytes) -> bytes:
    """The enterprise renting `aid`, for which `signer` must sign (expelled or not)."""
    asset = _asset(state, aid)
    if asset.state not in RENTED_STATES:
        raise RuleRefused(RuleReason.NOT_RENTED, f"it is {asset.state}")
    require_signer(state, asset.renter, signer, expelled_ok=True)
    return asset.renter


def notice(state: CommuneState, enterprise: bytes, aid: bytes) -> list[Effect]:
    """`enterprise` gives notice on its rental of `aid` (checked again when k signers agree)."""
    asset = _asset(state, aid)
    if asset.state not in RENTED_STATES or asset.renter != enterprise:
        raise RuleRefused(RuleReason.NOT_RENTED, f"it is {asset.state}")
    return [NoticeGiven(aid)]


def relet_bid(state: CommuneState, entry: Signed, body: ReletBid) -> list[Effect]:
    asset = _asset(state, body.asset)
    if asset.state != State.RELETTING.value or entry.time_ms > asset.relet_deadline_ms:
        raise RuleRefused(RuleReason.NOT_RELETTING, f"it is {asset.state}")
    if not state.is_member(entry.author):
        raise RuleRefused(RuleReason.NOT_A_MEMBER, "re-letting is for members only (rule 16)")
    require_signer(state, body.renter, entry.author)
    return [PlaceReletBid(entry.id, body.asset, entry.author, body.renter, body.rent, body.lease_periods)]


def ends_of_rentals(state: CommuneState, settled: list[Effect]) -> list[Effect]:
    """After a period's settlements (applied): the rentals that end (rule 15), each returned and
    offered again at once. `settled` holds the period's effects; its SettleAsset ones say which
    assets were settled and how."""
    effects: list[Effect] = []
    for s in settled:
        if not isinstance(s, SettleAsset):
            continue
        asset = state.tables["assets"][s.asset]
        arrears = 0
        if s.outcome == "missed" and asset.missed > state.charter.grace_periods:
            arrears = asset.missed * asset.rent
            effects.append(ReturnAsset(s.asset, "default", arrears))
        elif s.outcome != "missed" and asset.notice:
            effects.append(ReturnAsset(s.asset, "notice", 0))
        elif s.outcome != "missed" and asset.lease_end_period and s.period >= asset.lease_end_period:
            effects.append(ReturnAsset(s.asset, "lease_end", 0))
        else:
            continue
        held = state.claim(accounts.asset_account(s.asset)) - asset.reserve
        netted = min(held, arrears)  # rent short of a period pays towards the arrears first
        if netted > 0:
            effects += recover_arrears(state, asset.renter, s.asset, netted, accounts.asset_account(s.asset))
            held -= netted
        if held > 0:  # rent paid and not consumed goes back: the next renter's periods are theirs
            effects.append(
                Post(
                    (
                        Posting(accounts.asset_account(s.asset), held),
                        Posting(accounts.enterprise_account(asset.renter), -held),
                    ),
                    "rent held, returned at the end of the rental",
                )
            )
        effects.append(OpenReletting(s.asset, _round_deadline(state), 1))
    return effects


def _round_deadline(state: CommuneState) -> int:
    """A re-letting round runs to the end of the next period: at least one whole period."""
    return state.meta("genesis_ms", 0) + (period_of(state, state.time_ms) + 1) * period_ms(state)


def due(state: CommuneState, time_ms: int) -> list[bytes]:
    """Assets whose re-letting round closes before `time_ms`, by (deadline, id)."""
    return due_by_deadline(
        state.tables["assets"], time_ms, lambda a: a.relet_deadline_ms if a.state == State.RELETTING.value else None
    )


def close_round(state: CommuneState, aid: bytes) -> list[Effect]:
    """Decide the asset's re-letting round from the bids taken in for it."""
    asset = state.tables["assets"][aid]
    rows = state.tables["relet_bids"]
    placed = sorted(
        (rows[bid_id].received, bid_id, rows[bid_id])
        for bid_id in state.grouped("relet_bids", aid)
        if rows[bid_id].round == asset.relet_round
    )
    if asset.outstanding:
        rate, floor = periodic_coupon(state, asset), asset.payment + asset.costs
    else:
        rate, floor = state.charter.per_period(state.charter.reference_rate.value), asset.costs
    result = reletting.choose(
        [reletting.ReletBid(bid_id, b.bidder, b.rent, b.lease_periods, order) for order, bid_id, b in placed],
        floor,
        Fraction(rate),
    )
    if result.winner is not None:
        won = state.tables["relet_bids"][result.winner]
        first = period_of(state, state.time_ms) + 1
        return [Relet(aid, result.winner, won.renter, won.rent, won.lease_periods, first)]
    give_up = reletting.liquidate_after(asset.relet_round, state.charter.relet_rounds)
    effects: list[Effect] = [ReletFailed(aid, asset.relet_round, give_up)]
    if not give_up:
        effects.append(OpenReletting(aid, _round_deadline(state), asset.relet_round + 1))
    return effects


def confirm_sale(state: CommuneState, entry: Entry, body: ConfirmSale) -> list[Effect]:
    require_steward(state, entry)
    asset = _asset(state, body.asset)
    if asset.state != State.LIQUIDATING.value:
        raise RuleRefused(RuleReason.NOT_LIQUIDATING, f"it is {asset.state}")
    acct = accounts.asset_account(body.asset)
    effects: list[Effect] = []
    if body.proceeds:
        effects.append(Post((Posting(accounts.BANK, body.proceeds), Posting(acct, -body.proceeds)), "sale proceeds"))
    available = state.claim(acct) + body.proceeds
    rows = state.tables["holdings"]
    holdings = [(key[1], rows[key]) for key in state.grouped("holdings", body.asset)]
    interest = interest_to_minor(asset.outstanding, periodic_coupon(state, asset)) if asset.outstanding else 0
    fall = liquidate(available, body.sale_costs, [n for _, n in holdings], asset.outstanding, interest)
    if fall.sale_costs_paid:
        effects.append(
            Post((Posting(acct, fall.sale_costs_paid), Posting(accounts.FUNDS, -fall.sale_costs_paid)), "sale costs")
        )
    to_holders = sum(fall.paid)
    if to_holders:
        lines = [
            Posting(accounts.participant_account(h), -p) for (h, _), p in zip(holdings, fall.paid, strict=True) if p
        ]
        effects.append(Post((Posting(acct, to_holders), *lines), "liquidation: to the series' holders"))
    if fall.to_dividend_pool:
        effects.append(
            Post(
                (Posting(acct, fall.to_dividend_pool), Posting(accounts.DIVIDEND_POOL, -fall.to_dividend_pool)),
                "liquidation: remainder to the dividend pool",
            )
        )
    effects.append(
        FinishLiquidation(
            body.asset, available, fall.sale_costs_paid, to_holders, sum(fall.shortfall), fall.to_dividend_pool
        )
    )
    return effects
