"""What must hold after every block, whatever happened: checked by tests after each block.

- the ledger balances: all balances (debit-positive) sum to zero;
- the bank holds every claim plus the commune's own funds (rule 22), stated the way a
  treasurer reads it;
- no account is below its limit: nobody's and no enterprise's claim is negative, the bank is
  not overdrawn, and what `withdrawals` owes is exactly the withdrawals awaiting payment;
- what `dividends` owes is exactly the members' accrued dividends not yet drawn (this check
  reads every member: for tests, not for the chain's hot path);
- each asset's arrears are the sum of what the enterprises owe on it (`arrears` table), none
  of it zero or less.
"""

from __future__ import annotations

from commune.rules import accounts
from commune.rules.model import CommuneState


def bank_equation(state: CommuneState) -> tuple[int, int, int]:
    """(bank, claims, own funds) as a treasurer reads them: bank = claims + own funds."""
    balances = state.tables["balances"]
    bank = balances.get(accounts.BANK, 0)
    claims = sum(accounts.claim(v) for a, v in balances.items() if accounts.is_claim(a))
    own = sum(accounts.claim(balances.get(a, 0)) for a in accounts.OWN_FUNDS)
    return bank, claims, own


def violations(state: CommuneState) -> list[str]:
    """Every invariant that does not hold, in words (empty when all hold)."""
    found = []
    balances = state.tables["balances"]
    total = sum(balances.values())
    if total != 0:
        found.append(f"the ledger does not balance: balances sum to {total}")
    bank, claims, own = bank_equation(state)
    if bank != claims + own:
        found.append(f"bank {bank} != claims {claims} + own funds {own}")
    if bank < 0:
        found.append(f"the bank is overdrawn: {bank}")
    for account, value in balances.items():
        if accounts.is_claim(account) and accounts.claim(value) < 0:
            found.append(f"{account} is below zero: {accounts.claim(value)}")
    owed = sum(p.amount for p in state.tables["pending"].values() if p.kind in ("withdrawal", "purchase"))
    if accounts.claim(balances.get(accounts.WITHDRAWALS, 0)) != owed:
        found.append(f"withdrawals owed {accounts.claim(balances.get(accounts.WITHDRAWALS, 0))} != pending {owed}")
    index = state.dividend_index
    untaken = sum(m.untaken(index) for m in state.tables["members"].values())
    if accounts.claim(balances.get(accounts.DIVIDENDS, 0)) != untaken:
        found.append(
            f"dividends owed {accounts.claim(balances.get(accounts.DIVIDENDS, 0))} != members' untaken {untaken}"
        )
    for key, m in state.tables["members"].items():
        if m.untaken(index) < 0:
            found.append(f"{key.hex()[:12]} drew more dividends than accrued")
    owed_on: dict[bytes, int] = {}
    for (enterprise, aid), owed in state.tables["arrears"].items():
        if owed <= 0:
            found.append(f"{enterprise.hex()[:12]} owes {owed} in arrears on {aid.hex()[:12]}")
        owed_on[aid] = owed_on.get(aid, 0) + owed
    for aid, asset in state.tables["assets"].items():
        if asset.arrears != owed_on.get(aid, 0):
            found.append(f"asset {aid.hex()[:12]} has arrears {asset.arrears} != owed on it {owed_on.get(aid, 0)}")
    return found
