"""Rent, debt service, surplus and redemption (rules 13-14), settled period by period.

The renting enterprise's signers pay rent into the asset's account (`accounts.asset_account`),
spent in chain order like any enterprise payment. The commune's periods run from the genesis,
`charter.period_months` long (`MONTH_MS` each month); the first block past a period's end
settles it, after the proposals and auctions that block closes. For each rented asset, from
the first whole period of its rental, settling takes one period's rent from its account and
pays, in order: the commune's costs `c` (to its funds), the series' debt service
(`amortization.next_installment`, split to holders by `split_to_holders`), then the surplus:
first into the series reserve (`charter.reserve_periods` periods of debt service), then as
prepayment of principal (keeping the payment, shortening the term), or, if the charter says
`dividend`, straight to the dividend pool. When the last principal is paid the asset is
redeemed and its reserve goes to the dividend pool; from then on its whole net rent does.
An asset whose account does not hold a period's rent pays nothing that period and counts it
as missed (rule 15's default and return are later work).
"""

from __future__ import annotations

from fractions import Fraction

from commune.log.bodies import PayRent
from commune.log.entry import Entry
from commune.rules import accounts
from commune.rules.amortization import next_installment, remaining_periods, split_to_holders
from commune.rules.charter import MONTH_MS
from commune.rules.effects import Effect, Post, Posting, SettleAsset, SettlePeriod
from commune.rules.lifecycle import State
from commune.rules.membership import require_signer
from commune.rules.model import Asset, CommuneState
from commune.rules.refusal import RuleReason, RuleRefused

#: States in which rent is due.
RENTED_STATES = (State.RENTED.value, State.REDEEMED.value)


def period_ms(state: CommuneState) -> int:
    return state.charter.period_months * MONTH_MS


def period_of(state: CommuneState, time_ms: int) -> int:
    """The commune's period (from 1) that `time_ms` falls in."""
    return (time_ms - state.meta("genesis_ms", 0)) // period_ms(state) + 1


def periodic_coupon(state: CommuneState, asset: Asset) -> Fraction:
    """The series' coupon per period: the annual clearing rate × months per period / 12."""
    return state.charter.per_period(Fraction(asset.coupon_num, asset.coupon_den))


def pay_rent(state: CommuneState, entry: Entry, body: PayRent) -> list[Effect]:
    asset = state.tables["assets"].get(body.asset)
    if asset is None:
        raise RuleRefused(RuleReason.UNKNOWN_OFFER)
    if asset.state not in RENTED_STATES:
        raise RuleRefused(RuleReason.NOT_RENTED, f"it is {asset.state}")
    require_signer(state, asset.renter, entry.author)
    payer = accounts.enterprise_account(asset.renter)
    have = state.claim(payer)
    if have < body.amount:
        raise RuleRefused(RuleReason.OVERDRAFT, f"{body.amount} asked, {max(have, 0)} in the enterprise's account")
    return [Post((Posting(payer, body.amount), Posting(accounts.asset_account(body.asset), -body.amount)), "rent")]


def due(state: CommuneState, time_ms: int) -> list[int]:
    """The periods that ended by `time_ms` and are not settled yet, in order."""
    settled = state.meta("periods_settled", 0)
    return list(range(settled + 1, period_of(state, time_ms)))


def settle_assets(state: CommuneState, period: int) -> list[Effect]:
    """Settle every rented asset for `period`, by asset id (each touches only its own accounts
    and its holders' credits, so one settlement does not change another's figures)."""
    effects: list[Effect] = []
    for aid in sorted(state.tables["assets"]):
        asset = state.tables["assets"][aid]
        if asset.state in RENTED_STATES and asset.first_period <= period:
            effects.extend(settle_asset(state, aid, asset, period))
    return effects


def end_period(period: int) -> list[Effect]:
    return [SettlePeriod(period)]


def _pay(source: str, amount: int, to: str, memo: str) -> Post:
    return Post((Posting(source, amount), Posting(to, -amount)), memo)


def _to_holders(state: CommuneState, aid: bytes, source: str, amount: int, memo: str) -> Post:
    rows = state.tables["holdings"]
    holdings = [(key[1], rows[key]) for key in state.grouped("holdings", aid)]
    shares = split_to_holders(amount, [n for _, n in holdings])
    lines = [Posting(accounts.participant_account(h), -s) for (h, _), s in zip(holdings, shares, strict=True) if s]
    return Post((Posting(source, amount), *lines), memo)


def settle_asset(state: CommuneState, aid: bytes, asset: Asset, period: int) -> list[Effect]:
    """One asset's settlement for `period` (see the module doc for the order of payments)."""
    acct = accounts.asset_account(aid)
    rent, costs = asset.rent, asset.costs
    if state.claim(acct) - asset.reserve < rent:
        return [
            SettleAsset(aid, period, "missed", asset.outstanding, asset.periods_left, asset.reserve, asset.missed + 1)
        ]
    effects: list[Effect] = []
    if costs:
        effects.append(_pay(acct, costs, accounts.FUNDS, "the commune's costs"))
    if asset.state == State.REDEEMED.value:
        effects.append(_pay(acct, rent - costs, accounts.DIVIDEND_POOL, "net rent of a redeemed asset"))
        return [*effects, SettleAsset(aid, period, "rent_to_pool", 0, 0, 0, 0)]
    rate = periodic_coupon(state, asset)
    installment = next_installment(asset.outstanding, rate, asset.payment, asset.periods_left, period=period)
    effects.append(_to_holders(state, aid, acct, installment.payment, "debt service"))
    outstanding = installment.outstanding_after
    periods_left = asset.periods_left - 1
    surplus = rent - costs - installment.payment
    reserve = asset.reserve
    to_pool = 0
    if outstanding and state.charter.surplus_policy == "dividend":
        to_pool = surplus
    elif outstanding:
        added = min(surplus, max(0, state.charter.reserve_periods * asset.payment - reserve))
        reserve += added
        prepay = min(surplus - added, outstanding)
        if prepay:
            effects.append(_to_holders(state, aid, acct, prepay, "prepayment of principal"))
            outstanding -= prepay
            periods_left = remaining_periods(outstanding, rate, asset.payment) if outstanding else 0
        to_pool = surplus - added - prepay
    else:
        to_pool = surplus
    outcome = "paid"
    if not outstanding:  # rule 14: redeemed; the series reserve has done its work
        outcome, periods_left, to_pool, reserve = "redeemed", 0, to_pool + reserve, 0
    if to_pool:
        effects.append(_pay(acct, to_pool, accounts.DIVIDEND_POOL, "surplus to the dividend pool"))
    effects.append(SettleAsset(aid, period, outcome, outstanding, periods_left, reserve, 0))
    return effects
