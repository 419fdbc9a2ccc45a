"""The accounts of the double-entry ledger, and their names.

Balances are kept debit-positive, as in beancount: every transaction's postings sum to zero.
Assets (the bank) carry positive balances; what the commune owes (the accounts of people and
enterprises, pending withdrawals, escrow) carries negative ones, and `claim` shows them the
way a person reads them. So "bank = claims + the commune's own funds" (rule 22) is the same
statement as "all balances sum to zero", which every block keeps.
"""

from __future__ import annotations

BANK = "bank"
#: Withdrawals debited from an account and not yet paid by the bank.
WITHDRAWALS = "withdrawals"
#: Bids' money held until their auction clears (rules 11-12).
ESCROW = "escrow"
#: The commune's own funds: equity, what it earns, what it spends.
FUNDS = "funds"
INCOME = "income"
EXPENSES = "expenses"
DIVIDEND_POOL = "dividend_pool"
#: Dividends paid out and not yet drawn by their members: owed to them all together, credited
#: to each member lazily by the per-share index (rule 18 in constant time, DESIGN 7).
DIVIDENDS = "dividends"

COMMUNE_ACCOUNTS = (BANK, WITHDRAWALS, ESCROW, FUNDS, INCOME, EXPENSES, DIVIDEND_POOL, DIVIDENDS)
#: The commune's own funds (rule 22): what is left when every claim is paid.
OWN_FUNDS = (FUNDS, INCOME, EXPENSES, DIVIDEND_POOL)
#: What the commune owes that is not a person's or an enterprise's account.
OTHER_CLAIMS = (WITHDRAWALS, ESCROW, DIVIDENDS)

_ASSET = "a:"
_PARTICIPANT = "p:"
_ENTERPRISE = "e:"


def participant_account(key: bytes) -> str:
    """The account of a member or investor, named by their key."""
    return _PARTICIPANT + key.hex()


def enterprise_account(enterprise: bytes) -> str:
    return _ENTERPRISE + enterprise.hex()


def asset_account(asset: bytes) -> str:
    """Rent paid for an asset and not yet settled, with its series' reserve: owed to its holders
    and the commune, held apart because the series is non-recourse (rule 9)."""
    return _ASSET + asset.hex()


def is_claim(account: str) -> bool:
    """Accounts that are a claim of someone on the commune."""
    return account.startswith((_PARTICIPANT, _ENTERPRISE, _ASSET)) or account in OTHER_CLAIMS


def participant_of(account: str) -> bytes | None:
    return bytes.fromhex(account[len(_PARTICIPANT) :]) if account.startswith(_PARTICIPANT) else None


def enterprise_of(account: str) -> bytes | None:
    return bytes.fromhex(account[len(_ENTERPRISE) :]) if account.startswith(_ENTERPRISE) else None


def claim(balance: int) -> int:
    """A claim account's balance as its holder reads it (what the commune owes them)."""
    return -balance
