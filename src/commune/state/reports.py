"""Reports: the balance sheet, a member's statement and the ledger, as data and as plain text.

Each report is an immutable msgspec Struct, so `msgspec.json.encode(report)` is its `--json`
form (keys and ids are hex strings, amounts integer minor units) and the web can use the same
data; each has a `render_*` function giving the plain text a treasurer reads, with aligned
columns and amounts in the commune's currency. Reports only read: the state in memory for
balances and the roster, the `postings` table for movements.

Signs: the ledger shows postings as they are kept, debit-positive (beancount): the bank is
positive, what the commune owes is negative. The balance sheet and the statement show claims
the way their holder reads them (`rules.accounts.claim`): what the commune owes you is positive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from commune.core.errors import CommuneError
from commune.core.hashing import short_hex
from commune.core.money import format_amount
from commune.rules import accounts
from commune.rules.model import CommuneState
from commune.state.store import StateStore

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Longest memo shown in a text column (the data keeps it whole).
_MEMO_WIDTH = 40


class ReportError(CommuneError):
    reason = "report"


class NotAParticipant(ReportError):
    """A statement was asked for a key that has no account in the commune."""

    reason = "not_a_participant"


class UnknownAccount(ReportError):
    reason = "unknown_account"


def iso_date(ms: int) -> str:
    """Milliseconds since the epoch as a UTC calendar date, `2026-01-01` (exact: no float)."""
    return (_EPOCH + timedelta(milliseconds=ms)).date().isoformat()


# -- the data ------------------------------------------------------------------------------


class _Report(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class Holding(_Report):
    """One holder's claim in a group of the balance sheet."""

    account: str
    name: str
    amount: int


class ClaimGroup(_Report):
    """Claims of one kind: `kind` is a stable word, `label` what a person reads."""

    kind: str
    label: str
    total: int
    holders: tuple[Holding, ...]


class FundLine(_Report):
    account: str
    label: str
    amount: int


class BalanceSheet(_Report):
    """Rule 22 at one height: bank = claims + the commune's own funds."""

    commune: str
    commune_id: str
    currency: str
    height: int
    date: str
    bank: int
    claims: tuple[ClaimGroup, ...]
    claims_total: int
    own_funds: tuple[FundLine, ...]
    own_funds_total: int
    #: bank − (claims + own funds): zero when the equation holds.
    difference: int
    holds: bool


class PendingItem(_Report):
    """A deposit notice or a withdrawal waiting for a steward (`id` is its entry id)."""

    id: str
    amount: int
    height: int


class Movement(_Report):
    """One posting to a person's account, as they read it: money in, money out, balance after."""

    height: int
    txn: int
    date: str
    memo: str
    #: Who or what the money came from or went to (the other lines of the transaction).
    counterparty: str
    amount_in: int
    amount_out: int
    balance: int


class MemberStatement(_Report):
    commune: str
    currency: str
    height: int
    date: str
    key: str
    name: str
    #: "member", "former member" or "investor".
    role: str
    #: Registered as an outside investor (a member may be one too).
    investor: bool
    founder: bool
    enterprise: str | None
    enterprise_id: str | None
    admitted_height: int | None
    #: The UTC date probation ends (or ended: a founder's ends at the founding).
    probation_until: str | None
    on_probation: bool
    voting: bool
    #: What the commune owes them now.
    balance: int
    pending_deposits: tuple[PendingItem, ...]
    pending_withdrawals: tuple[PendingItem, ...]
    movements: tuple[Movement, ...]


class Line(_Report):
    """One posting of a transaction: `amount` debit-positive, as the ledger keeps it."""

    account: str
    name: str
    amount: int


class Transaction(_Report):
    height: int
    txn: int
    date: str
    memo: str
    lines: tuple[Line, ...]


class Ledger(_Report):
    """The ledger's transactions from `since_height` on (only those touching `account`, if given)."""

    commune: str
    currency: str
    height: int
    account: str | None
    #: The account's readable name (a person's or enterprise's name), when `account` is given.
    account_name: str | None
    since_height: int
    transactions: tuple[Transaction, ...]
    #: Every transaction's lines sum to zero.
    balanced: bool

    def postings(self) -> list[tuple[int, int, str, int, str]]:
        """The postings as (height, transaction, account, amount, memo)."""
        return [(t.height, t.txn, ln.account, ln.amount, t.memo) for t in self.transactions for ln in t.lines]


# -- names ---------------------------------------------------------------------------------


class _Names:
    """Readable names of keys and accounts: the name of a participant's latest profile, else a
    founder's name from the genesis or an investor's registered name; enterprises by their
    registered name; otherwise a short hex of the key."""

    def __init__(self, store: StateStore) -> None:
        self.state = store.state
        self._founders: dict[bytes, str] | None = None
        self._genesis = store.genesis

    @property
    def founders(self) -> dict[bytes, str]:
        if self._founders is None:
            self._founders = {f.key: f.name for f in self._genesis.founders}
        return self._founders

    def person(self, key: bytes) -> str:
        name = self.state.tables["names"].get(key) or self.founders.get(key)
        if name is not None:
            return name
        inv = self.state.tables["investors"].get(key)
        return inv.name if inv is not None else short_hex(key)

    def enterprise(self, eid: bytes) -> str:
        ent = self.state.enterprise(eid)
        if ent is None:
            return short_hex(eid)
        return ent.name if ent.active else f"{ent.name} (expelled)"

    def account(self, account: str) -> str:
        """A person's name, `Name (enterprise)`, or the commune's own account as it is called."""
        who = accounts.participant_of(account)
        if who is not None:
            return self.person(who)
        eid = accounts.enterprise_of(account)
        if eid is not None:
            return f"{self.enterprise(eid)} (enterprise)"
        return account


def _block_dates(state: CommuneState) -> dict[int, str]:
    return {info.height: iso_date(info.time_ms) for info in state.tables["blocks"].values()}


# -- the balance sheet ---------------------------------------------------------------------

_GROUPS = (
    ("members", "Members"),
    ("former_members", "Former members"),
    ("investors", "Investors"),
    ("enterprises", "Enterprises"),
    ("withdrawals", "Withdrawals awaiting payment"),
    ("escrow", "Escrow (bids' money)"),
    ("other", "Other accounts"),
)
_FUND_LABELS = {
    accounts.FUNDS: "Funds",
    accounts.INCOME: "Income",
    accounts.EXPENSES: "Expenses",
    accounts.DIVIDEND_POOL: "Dividend pool",
}


def _participant_kind(state: CommuneState, key: bytes) -> str:
    member = state.member(key)
    if member is not None:
        return "members" if member.current else "former_members"
    return "investors" if key in state.tables["investors"] else "other"


def balance_sheet(store: StateStore) -> BalanceSheet:
    """The balance sheet at the store's current height."""
    state = store.state
    names = _Names(store)
    balances = state.tables["balances"]
    holders: dict[str, list[Holding]] = {kind: [] for kind, _ in _GROUPS}
    totals: dict[str, int] = dict.fromkeys(holders, 0)
    for account, value in balances.items():
        if not accounts.is_claim(account):
            continue
        amount = accounts.claim(value)
        who = accounts.participant_of(account)
        if who is not None:
            kind = _participant_kind(state, who)
        elif accounts.enterprise_of(account) is not None:
            kind = "enterprises"
        elif account == accounts.WITHDRAWALS:
            kind = "withdrawals"
        elif account == accounts.ESCROW:
            kind = "escrow"
        else:
            kind = "other"
        totals[kind] += amount
        if kind not in ("withdrawals", "escrow") and amount:
            holders[kind].append(Holding(account, names.account(account), amount))
    for pending in state.tables["pending"].values():
        if pending.kind == "withdrawal":
            holders["withdrawals"].append(Holding(pending.account, names.account(pending.account), pending.amount))
    groups = tuple(
        ClaimGroup(kind, label, totals[kind], tuple(sorted(holders[kind], key=lambda h: (h.name, h.account))))
        for kind, label in _GROUPS
        if kind != "other" or totals[kind] or holders[kind]
    )
    funds = tuple(FundLine(a, _FUND_LABELS[a], accounts.claim(balances.get(a, 0))) for a in accounts.OWN_FUNDS)
    bank = balances.get(accounts.BANK, 0)
    claims_total = sum(g.total for g in groups)
    own_total = sum(f.amount for f in funds)
    difference = bank - (claims_total + own_total)
    charter = state.charter
    return BalanceSheet(
        commune=charter.name,
        commune_id=store.commune.hex(),
        currency=charter.currency,
        height=state.height,
        date=iso_date(state.time_ms),
        bank=bank,
        claims=groups,
        claims_total=claims_total,
        own_funds=funds,
        own_funds_total=own_total,
        difference=difference,
        holds=difference == 0,
    )


def render_balance_sheet(sheet: BalanceSheet, *, detail: bool = False) -> str:
    """The balance sheet as text; `detail` lists each holder under their group."""
    cur = sheet.currency

    def money(v: int) -> str:
        return format_amount(v, cur)

    rows: list[tuple[str, str]] = [("Bank", money(sheet.bank)), ("", ""), ("Claims on the commune", "")]
    for g in sheet.claims:
        rows.append((f"  {g.label}", money(g.total)))
        if detail:
            rows.extend((f"      {h.name}", money(h.amount)) for h in g.holders)
    rows += [("  Total claims", money(sheet.claims_total)), ("", ""), ("The commune's own funds", "")]
    rows.extend((f"  {f.label}", money(f.amount)) for f in sheet.own_funds)
    rows += [("  Total own funds", money(sheet.own_funds_total)), ("", "")]
    rows.append(("Claims + own funds", money(sheet.claims_total + sheet.own_funds_total)))
    width = max(len(a) for a, _ in rows)
    amount_width = max(len(b) for _, b in rows)
    lines = [
        f"Balance sheet of {sheet.commune}",
        f"at height {sheet.height} ({sheet.date}); amounts in {cur}",
        "",
    ]
    lines += [f"{a.ljust(width)}  {b.rjust(amount_width)}".rstrip() for a, b in rows]
    lines.append("")
    check = (
        f"Check: bank {money(sheet.bank)} = claims {money(sheet.claims_total)}"
        f" + own funds {money(sheet.own_funds_total)}"
    )
    if sheet.holds:
        lines.append(check + ": holds")
    else:
        lines.append(check + f": DOES NOT HOLD (off by {money(sheet.difference)})")
    return "\n".join(lines) + "\n"


# -- a member's statement ------------------------------------------------------------------


def _key_bytes(key: bytes | str) -> bytes:
    if isinstance(key, str):
        try:
            key = bytes.fromhex(key.strip())
        except ValueError:
            raise NotAParticipant(
                f"{key!r} is not a key: a key is written as 64 hex digits (0-9, a-f)", reason="bad_key"
            ) from None
    if len(key) != 32:
        raise NotAParticipant(
            f"a key is 32 bytes (64 hex digits), this one is {len(key)} bytes; check it was copied whole",
            reason="bad_key",
        )
    return key


def _counterparties(names: _Names, others: str | None) -> str:
    if not others:
        return ""
    return ", ".join(sorted({names.account(a) for a in others.split("\n")}))


def member_statement(store: StateStore, key: bytes | str) -> MemberStatement:
    """The statement of the participant `key` (bytes, or 64 hex digits) at the current height."""
    key = _key_bytes(key)
    state = store.state
    charter = state.charter
    names = _Names(store)
    if not state.is_participant(key):
        ent = state.enterprise(key)
        if ent is not None:
            raise NotAParticipant(
                f"{short_hex(key)} is the enterprise {ent.name!r}, not a person, so it has no member statement;"
                f" its account is on the balance sheet, and its movements are in the ledger"
                f" (account {accounts.enterprise_account(key)})"
            )
        raise NotAParticipant(
            f"{short_hex(key)} is not a member, former member or investor of {charter.name}, so it has no"
            f" account and no statement. Check the key is the whole public key, copied right; a person"
            f" gets an account by joining (an enterprise attests their labour) or by registering as an investor"
        )
    member = state.member(key)
    investor = key in state.tables["investors"]
    if member is None:
        role = "investor"
    else:
        role = "member" if member.current else "former member"
    enterprise = enterprise_id = None
    if member is not None and member.enterprise:
        enterprise, enterprise_id = names.enterprise(member.enterprise), member.enterprise.hex()
    account = accounts.participant_account(key)
    pending = sorted((p.height, pid, p) for pid, p in state.tables["pending"].items() if p.account == account)
    deposits = tuple(PendingItem(pid.hex(), p.amount, h) for h, pid, p in pending if p.kind == "deposit")
    withdrawals = tuple(PendingItem(pid.hex(), p.amount, h) for h, pid, p in pending if p.kind == "withdrawal")
    dates = _block_dates(state)
    rows = store.query(
        """
        SELECT p.height, p.txn, p.amount, p.memo, group_concat(o.account, char(10))
        FROM postings p LEFT JOIN postings o
            ON o.height = p.height AND o.txn = p.txn AND o.account != p.account
        WHERE p.account = ?
        GROUP BY p.height, p.txn, p.line
        ORDER BY p.height, p.txn, p.line
        """,
        (account,),
    )
    movements = []
    running = 0
    for height, txn, amount, memo, others in rows:
        change = accounts.claim(amount)
        running += change
        movements.append(
            Movement(
                height=height,
                txn=txn,
                date=dates.get(height, ""),
                memo=memo,
                counterparty=_counterparties(names, others),
                amount_in=max(change, 0),
                amount_out=max(-change, 0),
                balance=running,
            )
        )
    return MemberStatement(
        commune=charter.name,
        currency=charter.currency,
        height=state.height,
        date=iso_date(state.time_ms),
        key=key.hex(),
        name=names.person(key),
        role=role,
        investor=investor,
        founder=key in names.founders,
        enterprise=enterprise,
        enterprise_id=enterprise_id,
        admitted_height=member.admitted_height if member is not None else None,
        probation_until=iso_date(member.probation_until_ms) if member is not None else None,
        on_probation=member is not None and member.current and member.probation_until_ms > state.time_ms,
        voting=state.is_voting_member(key),
        balance=state.claim(account),
        pending_deposits=deposits,
        pending_withdrawals=withdrawals,
        movements=tuple(movements),
    )


def _clip(text: str, width: int = _MEMO_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[bool], indent: str = "  "
) -> list[str]:
    """Aligned columns: `right[i]` right-aligns column i (amounts)."""
    body = [list(r) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]

    def fmt(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        return (indent + "  ".join(parts)).rstrip()

    return [fmt(headers), *(fmt(r) for r in body)]


def render_member_statement(st: MemberStatement) -> str:
    cur = st.currency

    def money(v: int) -> str:
        return format_amount(v, cur)

    role = st.role + (" and investor" if st.investor and st.role != "investor" else "")
    facts: list[tuple[str, str]] = [("Key", st.key), ("Role", role + (", founder" if st.founder else ""))]
    if st.enterprise is not None:
        facts.append(("Enterprise", st.enterprise))
    if st.admitted_height is not None:
        facts.append(("Admitted", f"at height {st.admitted_height}"))
    if st.probation_until is not None and st.role == "member":
        facts.append(("Probation", f"{'until' if st.on_probation else 'ended'} {st.probation_until}"))
    if st.voting:
        votes = "yes"
    elif st.role == "member":
        votes = "not yet: on probation"
    elif st.role == "former member":
        votes = "no: left the commune"
    else:
        votes = "no: investors do not vote"
    facts.append(("Votes", votes))
    facts.append(("Balance", f"{money(st.balance)} {cur}"))
    width = max(len(k) for k, _ in facts)
    lines = [
        f"Statement for {st.name}",
        f"{st.commune}, at height {st.height} ({st.date}); amounts in {cur}",
        "",
        *(f"{k.ljust(width)}  {v}" for k, v in facts),
    ]
    for title, items in (("Pending deposits", st.pending_deposits), ("Pending withdrawals", st.pending_withdrawals)):
        lines += ["", f"{title} ({'none' if not items else len(items)})"]
        if items:
            lines += _table(
                ("Height", "Id", "Amount"),
                ((str(i.height), short_hex(bytes.fromhex(i.id)), money(i.amount)) for i in items),
                (True, False, True),
            )
    lines += ["", f"Movements ({'none' if not st.movements else len(st.movements)})"]
    if st.movements:
        lines += _table(
            ("Height", "Date", "Memo", "With", "In", "Out", "Balance"),
            (
                (
                    str(m.height),
                    m.date,
                    _clip(m.memo),
                    _clip(m.counterparty, 30),
                    money(m.amount_in) if m.amount_in else "",
                    money(m.amount_out) if m.amount_out else "",
                    money(m.balance),
                )
                for m in st.movements
            ),
            (True, False, False, False, True, True, True),
        )
    return "\n".join(lines) + "\n"


# -- the ledger ----------------------------------------------------------------------------


def _check_account(account: str) -> None:
    if account in accounts.COMMUNE_ACCOUNTS:
        return
    try:
        key = accounts.participant_of(account) or accounts.enterprise_of(account)
    except ValueError:
        key = None
    if key is not None and len(key) == 32:
        return
    known = ", ".join(accounts.COMMUNE_ACCOUNTS)
    raise UnknownAccount(
        f"{account!r} is not an account; the accounts are {known}, p:<a person's key in hex>"
        f" and e:<an enterprise's id in hex>"
    )


def ledger(store: StateStore, account: str | None = None, since_height: int = 0) -> Ledger:
    """The ledger's transactions at heights `since_height` and later, whole (every line), each
    summing to zero; with `account`, only the transactions that touch it."""
    state = store.state
    if account is not None:
        _check_account(account)
    if since_height < 0:
        raise ReportError(f"a height is 0 or more, not {since_height}", reason="bad_height")
    if account is None:
        rows = store.query(
            "SELECT height, txn, account, amount, memo FROM postings WHERE height >= ? ORDER BY height, txn, line",
            (since_height,),
        )
    else:
        rows = store.query(
            """
            SELECT p.height, p.txn, p.account, p.amount, p.memo FROM postings p
            WHERE p.height >= ? AND EXISTS (
                SELECT 1 FROM postings q WHERE q.account = ? AND q.height = p.height AND q.txn = p.txn)
            ORDER BY p.height, p.txn, p.line
            """,
            (since_height, account),
        )
    names = _Names(store)
    dates = _block_dates(state)
    transactions: list[Transaction] = []
    current: tuple[int, int] | None = None
    lines: list[Line] = []
    memo = ""
    for height, txn, acct, amount, line_memo in rows:
        if (height, txn) != current:
            if current is not None:
                transactions.append(Transaction(current[0], current[1], dates.get(current[0], ""), memo, tuple(lines)))
            current, lines, memo = (height, txn), [], line_memo
        lines.append(Line(acct, names.account(acct), amount))
    if current is not None:
        transactions.append(Transaction(current[0], current[1], dates.get(current[0], ""), memo, tuple(lines)))
    charter = state.charter
    return Ledger(
        commune=charter.name,
        currency=charter.currency,
        height=state.height,
        account=account,
        account_name=names.account(account) if account is not None else None,
        since_height=since_height,
        transactions=tuple(transactions),
        balanced=all(sum(ln.amount for ln in t.lines) == 0 for t in transactions),
    )


def render_ledger(book: Ledger) -> str:
    """The ledger as text: each transaction's date, height and memo, then its lines, debit-positive."""
    cur = book.currency
    scope = f", account {book.account_name}" if book.account_name else ""
    since = f" from height {book.since_height}" if book.since_height else ""
    lines = [
        f"Ledger of {book.commune}{scope}{since}, at height {book.height}",
        f"amounts in {cur}, debit-positive: the bank is positive, what the commune owes is negative",
        "",
    ]
    if not book.transactions:
        return "\n".join([*lines, "no transactions"]) + "\n"
    name_width = max(len(ln.name) for t in book.transactions for ln in t.lines)
    amount_width = max(len(format_amount(ln.amount, cur)) for t in book.transactions for ln in t.lines)
    for t in book.transactions:
        lines.append(f"{t.date}  height {t.height} #{t.txn}  {_clip(t.memo, 80)}".rstrip())
        lines += [
            f"    {ln.name.ljust(name_width)}  {format_amount(ln.amount, cur).rjust(amount_width)}" for ln in t.lines
        ]
        lines.append("")
    n = len(book.transactions)
    counted = f"{n} transaction{'s' if n != 1 else ''}"
    lines.append(f"{counted}; " + ("each sums to zero" if book.balanced else "SOME DO NOT SUM TO ZERO"))
    return "\n".join(lines) + "\n"
