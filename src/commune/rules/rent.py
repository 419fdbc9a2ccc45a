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
as missed (rule 15: see `tenancy`). Rent owed by a renter whose rental ended unpaid (arrears)
stays its debt: its later payments for that asset go to the arrears first (`pay`), into the
asset's account like rent, and what they recover goes on from there to the holders as
prepayment while the series owes principal, else to the dividend pool (`recover_arrears`).
"""

from __future__ import annotations

from fractions import Fraction

from commune.rules import accounts
from commune.rules.amortization import next_installment, remaining_periods, split_to_holders
from commune.rules.charter import MONTH_MS
from commune.rules.effects import Effect, PayArrears, Post, Posting, SettleAsset, SettlePeriod
from commune.rules.ledger import amount_text, overdrawn
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


def payer_for(state: CommuneState, aid: bytes, signer: bytes) -> bytes:
    """The enterprise a rent payment for `aid` by `signer` comes from: the renter, if `signer`
    signs for it and the asset is rented; else an enterprise `signer` signs for that owes
    arrears on it (rule 15). Refused when there is none."""
    asset = state.tables["assets"].get(aid)
    if asset is None:
        raise RuleRefused(RuleReason.UNKNOWN_OFFER)
    if asset.state in RENTED_STATES:
        renter = state.enterprise(asset.renter)
        if renter is not None and signer in renter.signers:
            return asset.renter
    for enterprise, owed_on in sorted(state.tables["arrears"]):
        ent = state.enterprise(enterprise)
        if owed_on == aid and ent is not None and signer in ent.signers:
            return enterprise
    if asset.state in RENTED_STATES:
        require_signer(state, asset.renter, signer, expelled_ok=True)
    raise RuleRefused(RuleReason.NOT_RENTED, f"it is {asset.state}")


def pay(state: CommuneState, enterprise: bytes, aid: bytes, amount: int) -> list[Effect]:
    """`enterprise` pays `amount` for `aid`: first what it owes there in arrears, the rest as
    rent into the asset's account (only while it rents the asset)."""
    asset = state.tables["assets"][aid]
    owed = state.tables["arrears"].get((enterprise, aid), 0)
    renting = asset.state in RENTED_STATES and asset.renter == enterprise
    if not renting and not owed:
        raise RuleRefused(RuleReason.NOT_RENTED, f"it is {asset.state}")
    if not renting and amount > owed:
        raise RuleRefused(RuleReason.MORE_THAN_OWED, f"it owes {amount_text(state, owed)} in arrears")
    payer = accounts.enterprise_account(enterprise)
    have = state.claim(payer)
    if have < amount:
        raise RuleRefused(RuleReason.OVERDRAFT, overdrawn(state, amount, have, "in the enterprise's account"))
    to_arrears = min(amount, owed)
    effects: list[Effect] = []
    if to_arrears:  # through the asset's account, where all of an asset's money passes
        acct = accounts.asset_account(aid)
        effects = [_pay(payer, to_arrears, acct, "arrears"), *recover_arrears(state, enterprise, aid, to_arrears, acct)]
    if amount > to_arrears:
        effects.append(_pay(payer, amount - to_arrears, accounts.asset_account(aid), "rent"))
    return effects


def recover_arrears(state: CommuneState, enterprise: bytes, aid: bytes, amount: int, source: str) -> list[Effect]:
    """`amount` of `enterprise`'s arrears on `aid`, paid from the account `source`: the rent the
    holders missed goes to them as prepayment of principal while the series owes any (shortening
    its term, as surplus does), and the rest to the dividend pool."""
    asset = state.tables["assets"][aid]
    outstanding, periods_left = asset.outstanding, asset.periods_left
    prepay = min(amount, outstanding) if asset.state != State.LIQUIDATED.value else 0
    effects: list[Effect] = []
    if prepay:
        effects.append(_to_holders(state, aid, source, prepay, "arrears paid: prepayment of principal"))
        outstanding -= prepay
        rate = periodic_coupon(state, asset)
        periods_left = remaining_periods(outstanding, rate, asset.payment) if outstanding else 0
    if amount > prepay:
        effects.append(_pay(source, amount - prepay, accounts.DIVIDEND_POOL, "arrears paid to the dividend pool"))
    reserve = asset.reserve
    if prepay and not outstanding and reserve:  # rule 14: redeemed; the reserve has done its work
        effects.append(_pay(accounts.asset_account(aid), reserve, accounts.DIVIDEND_POOL, "series reserve released"))
        reserve = 0
    effects.append(PayArrears(aid, enterprise, amount, outstanding, periods_left, reserve))
    return effects


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
    paid = outstanding = 0  # the last principal may have come from arrears since the last period
    if asset.outstanding:
        installment = next_installment(asset.outstanding, rate, asset.payment, asset.periods_left, period=period)
        effects.append(_to_holders(state, aid, acct, installment.payment, "debt service"))
        paid, outstanding = installment.payment, installment.outstanding_after
    periods_left = max(asset.periods_left - 1, 0)
    surplus = rent - costs - paid
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
