"""Reports: the balance sheet, a member's statement and the ledger; the common stock register,
a series' bond register, the income statement of a period and the dividend history; as data and
as plain text.

Each report is an immutable msgspec Struct, so `msgspec.json.encode(report)` is its `--json`
form (keys and ids are hex strings, amounts integer minor units, rates exact fractions beside a
percentage to read) and the web can use the same data; each has a `render_*` function giving the
plain text a treasurer reads, with aligned columns and amounts in the commune's currency. Reports
only read: the state in memory for balances, the roster and the common stock, the `postings`
table for movements, and the stored blocks where a period's end is needed (`_Periods`).

Signs: the ledger shows postings as they are kept, debit-positive (beancount): the bank is
positive, what the commune owes is negative. The balance sheet and the statement show claims
the way their holder reads them (`rules.accounts.claim`): what the commune owes you is positive.

Periods. The state keeps only how many periods are settled; the chain says where each one ended:
the block that settles period p carries a `period` effect (SettlePeriod p), after the period's
asset settlements and its `dividend` effect. The postings of that block are numbered (`txn`) in
the order of its effects, so a period's end is a position (height, txn): the postings before it
and after the previous period's end are the period's. One block can settle several periods (no
block was made for a whole period); positions keep them apart. Nothing new is stored: `_Periods`
finds the settling block by its time (the first block at or after the period's end, as
`rules.rent.due` decides), reads that one block, and scans the chain only if the block does not
say what the time predicts (say, a charter changed the period's length).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import NamedTuple

import msgspec

from commune.chain.block import Header, decode_block
from commune.core.allocation import allocate
from commune.core.errors import CommuneError
from commune.core.hashing import short_hex
from commune.core.money import format_amount
from commune.core.rates import format_percent
from commune.rules import accounts
from commune.rules import rent as rent_rules
from commune.rules.amortization import next_installment, split_to_holders
from commune.rules.effects import PayDividend, Post, SettlePeriod, TakeDividend
from commune.rules.lifecycle import State
from commune.rules.model import Asset, CommuneState, Member
from commune.rules.stock import annual_reserve
from commune.rules.waterfall import net_position
from commune.state.store import StateStore

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Longest memo shown in a text column (the data keeps it whole).
_MEMO_WIDTH = 40
#: How an asset's account name starts ("a:<the asset's id in hex>").
_ASSET_PREFIX = accounts.asset_account(b"")


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


class NetPosition(_Report):
    """Rule 19 for one member: the dividend of the last settled period minus their share of
    their enterprise's rent for a period. `rent_share` is the rent per period of the assets
    their enterprise rents (rented or redeemed), divided equally among the enterprise's present
    members (whole minor units, leftovers by largest remainder to the earlier admitted)."""

    #: The period whose dividend is counted: the last settled one (None: none settled yet).
    period: int | None
    dividend: int
    enterprise_rent: int
    enterprise_members: int
    rent_share: int
    #: dividend − rent_share: positive, the commune pays them the difference; negative, they pay it.
    net: int


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
    #: Dividends (rule 18) accrued from their record date on, drawn into their own account (when
    #: they spent more than it held), and not yet drawn (`CommuneState.untaken_dividends`).
    dividends_accrued: int = 0
    dividends_drawn: int = 0
    dividends_undrawn: int = 0
    #: On the dividend record now.
    on_record: bool = False
    #: The per-share dividend index when they went on the record (what they accrued is the index
    #: since then) and when they came off it (they left); None if not on it / not off it.
    record_index: int | None = None
    record_end_index: int | None = None
    #: The block that put them on the record (their admission, or the settlement of the period
    #: their probation ended in), its date, and the first period whose dividend they share
    #: (for a member still on probation: the period they will go on the record at).
    record_height: int | None = None
    record_date: str | None = None
    first_dividend_period: int | None = None
    #: Rule 19, for a present member.
    net_position: NetPosition | None = None


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
        """A person's name, `Name (enterprise)`, `description (asset)`, or the commune's own
        account as it is called."""
        who = accounts.participant_of(account)
        if who is not None:
            return self.person(who)
        eid = accounts.enterprise_of(account)
        if eid is not None:
            return f"{self.enterprise(eid)} (enterprise)"
        if account.startswith(_ASSET_PREFIX):
            try:
                asset = self.state.tables["assets"].get(bytes.fromhex(account[len(_ASSET_PREFIX) :]))
            except ValueError:
                asset = None
            if asset is not None:
                return f"{asset.description} (asset)"
        return account


def _block_dates(state: CommuneState) -> dict[int, str]:
    return {info.height: iso_date(info.time_ms) for info in state.tables["blocks"].values()}


# -- periods -------------------------------------------------------------------------------


class _PeriodEnd(NamedTuple):
    """Where a settled period ends in the chain: the postings before (height, txn) and after the
    previous period's end are the period's; `dividend` is its equal dividend (rule 18)."""

    period: int
    height: int
    txn: int
    time_ms: int
    dividend: PayDividend | None


_START = (0, 0)


class _Periods:
    """The settled periods' ends, read from the blocks that settled them (see the module doc)."""

    def __init__(self, store: StateStore) -> None:
        state = store.state
        self.store = store
        self.settled: int = state.meta("periods_settled", 0)
        self.genesis_ms: int = state.meta("genesis_ms", 0)
        self.period_ms = rent_rules.period_ms(state)
        # Every height from the genesis up has one block, and block times never go back
        # (chain.process), so the times by height are sorted.
        self._times = [0] * (state.height + 1)
        for info in state.tables["blocks"].values():
            if 0 <= info.height <= state.height:
                self._times[info.height] = info.time_ms
        self._ends: dict[int, _PeriodEnd] = {}
        self._read: set[int] = set()
        self._scanned = False

    def time_of(self, height: int) -> int | None:
        """The time of the block at `height`, if there is one."""
        return self._times[height] if 0 <= height < len(self._times) else None

    def starts_ms(self, period: int) -> int:
        return self.genesis_ms + (period - 1) * self.period_ms

    def end(self, period: int) -> _PeriodEnd:
        """The end of settled `period` (1 to `settled`)."""
        if not 1 <= period <= self.settled:
            raise ValueError(f"period {period} is not settled")
        if period not in self._ends:
            # The first block at or after the period's end settles it (rules.rent.due).
            height = bisect.bisect_left(self._times, self.starts_ms(period + 1))
            if height < len(self._times) and height not in self._read:
                raw = self.store.block(height)
                if raw is not None:
                    self._take(height, decode_block(raw)[1])
            if period not in self._ends:
                self._scan()
            if period not in self._ends:
                raise ReportError(
                    f"no block of the chain settles period {period}, though {self.settled} are settled;"
                    " the state store may be damaged: rebuild it from the chain",
                    reason="period_not_found",
                )
        return self._ends[period]

    def start(self, period: int) -> tuple[int, int]:
        """The position the period's postings start at: the previous period's end."""
        if period <= 1:
            return _START
        previous = self.end(period - 1)
        return previous.height, previous.txn

    def _take(self, height: int, header: Header) -> None:
        self._read.add(height)
        txn = 0
        dividends: dict[int, PayDividend] = {}
        for effect in header.effects:
            if isinstance(effect, (Post, TakeDividend)):  # each is one transaction of postings (StateStore._keep)
                txn += 1
            elif isinstance(effect, PayDividend):
                dividends[effect.period] = effect
            elif isinstance(effect, SettlePeriod):
                self._ends[effect.period] = _PeriodEnd(
                    effect.period, height, txn, header.time_ms, dividends.get(effect.period)
                )

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        after = 0
        while raws := self.store.blocks_after(after):
            for raw in raws:
                header = decode_block(raw)[1]
                after = header.height
                if header.height not in self._read:
                    self._take(header.height, header)


# -- the balance sheet ---------------------------------------------------------------------

_GROUPS = (
    ("members", "Members"),
    ("former_members", "Former members"),
    ("investors", "Investors"),
    ("enterprises", "Enterprises"),
    ("withdrawals", "Withdrawals awaiting payment"),
    ("escrow", "Escrow (bids' money)"),
    ("dividends", "Dividends not yet drawn"),
    ("assets", "Assets' accounts (rent held, series reserves)"),
    ("other", "Other accounts"),
)
#: Groups shown only when they hold something (older communes have none of these).
_OPTIONAL_GROUPS = ("dividends", "assets", "other")
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
        elif account == accounts.DIVIDENDS:
            kind = "dividends"
        elif account.startswith(_ASSET_PREFIX):
            kind = "assets"
        else:
            kind = "other"
        totals[kind] += amount
        if kind not in ("withdrawals", "escrow", "dividends") and amount:
            holders[kind].append(Holding(account, names.account(account), amount))
    for pending in state.tables["pending"].values():
        if pending.kind == "withdrawal":
            holders["withdrawals"].append(Holding(pending.account, names.account(pending.account), pending.amount))
        elif pending.kind == "purchase":  # an asset's price, to be paid to its vendor (rule 12)
            holders["withdrawals"].append(Holding(pending.account, f"{pending.reference} (purchase)", pending.amount))
    groups = tuple(
        ClaimGroup(kind, label, totals[kind], tuple(sorted(holders[kind], key=lambda h: (h.name, h.account))))
        for kind, label in _GROUPS
        if kind not in _OPTIONAL_GROUPS or totals[kind] or holders[kind]
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
        **(_dividend_facts(store, key, member) if member is not None else {}),
    )


def _enterprise_rent(state: CommuneState, enterprise: bytes) -> int:
    """The rent per period of the assets `enterprise` rents now (rented or redeemed)."""
    return sum(
        a.rent
        for a in state.tables["assets"].values()
        if a.renter == enterprise and a.state in rent_rules.RENTED_STATES
    )


def _rent_share(state: CommuneState, key: bytes, enterprise: bytes) -> tuple[int, int, int]:
    """(enterprise rent, its present members, `key`'s share): the rent split equally among the
    members by `allocate` (leftover units to the earlier admitted, by admission then key)."""
    if not enterprise:
        return 0, 0, 0
    rent = _enterprise_rent(state, enterprise)
    workers = sorted(
        (m.admitted_height, m.admitted_tick, k)
        for k, m in state.tables["members"].items()
        if m.current and m.enterprise == enterprise
    )
    keys = [k for _, _, k in workers]
    if key not in keys:
        return rent, len(keys), 0
    return rent, len(keys), allocate(rent, [1] * len(keys))[keys.index(key)]


def _dividend_facts(store: StateStore, key: bytes, member: Member) -> dict[str, object]:
    """The statement's dividend fields and net position (rules 18-19) for a member, present or past."""
    state = store.state
    index = state.dividend_index
    periods = _Periods(store)
    facts: dict[str, object] = {
        "dividends_accrued": member.accrued(index),
        "dividends_drawn": member.dividends_taken,
        "dividends_undrawn": state.untaken_dividends(key),
        "on_record": member.record_index >= 0 and member.record_end < 0,
        "record_index": member.record_index if member.record_index >= 0 else None,
        "record_end_index": member.record_end if member.record_end >= 0 else None,
    }
    admitted_ms = periods.time_of(member.admitted_height) or 0
    if member.probation_until_ms <= admitted_ms:
        # On the record from the admission: the first period settled after the admission's
        # block (the block takes entries in before it settles periods).
        before = periods.time_of(member.admitted_height - 1)
        facts["first_dividend_period"] = 1 if before is None else rent_rules.period_of(state, before)
        if member.record_index >= 0:
            facts["record_height"] = member.admitted_height
    else:
        # A probation ending at t: on the record at the settlement of the first period ending at
        # or after t (rules.dividend_record.due_on_record).
        after_start = member.probation_until_ms - periods.genesis_ms
        first = max(1, -(-after_start // periods.period_ms))
        facts["first_dividend_period"] = first
        if member.record_index >= 0 and first <= periods.settled:
            facts["record_height"] = periods.end(first).height
    if member.record_index < 0 and not member.current:
        facts["first_dividend_period"] = None  # left before going on the record
    record_height = facts.get("record_height")
    if isinstance(record_height, int):
        facts["record_date"] = iso_date(periods.time_of(record_height) or 0)
    if member.current:
        dividend = 0
        last = periods.settled or None
        if last is not None:
            paid = periods.end(last).dividend
            each = paid.per_member if paid is not None else 0
            # The index moves only by dividends, and none came after the last period's.
            dividend = member.accrued(index) - member.accrued(index - each)
        rent, workers, share = _rent_share(state, key, member.enterprise)
        facts["net_position"] = NetPosition(
            period=last,
            dividend=dividend,
            enterprise_rent=rent,
            enterprise_members=workers,
            rent_share=share,
            net=net_position(dividend, share),
        )
    return facts


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
    if st.role != "investor":
        lines += ["", *_render_dividends(st)]
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


def _render_dividends(st: MemberStatement) -> list[str]:
    """The statement's dividends and net position (rules 18-19), as lines."""
    cur = st.currency

    def money(v: int) -> str:
        return format_amount(v, cur)

    if st.record_height is not None:
        record = f"since height {st.record_height} ({st.record_date}), dividend index {st.record_index}"
        if st.record_end_index is not None:
            record += f"; off it since leaving, at index {st.record_end_index}"
    elif st.first_dividend_period is not None and st.role == "member":
        record = f"not yet: goes on it when period {st.first_dividend_period} is settled (probation)"
    else:
        record = "never on it"
    rows: list[tuple[str, str]] = [
        ("Dividend record", record),
        ("Accrued", money(st.dividends_accrued)),
        ("Drawn into the account", money(st.dividends_drawn)),
        ("Not yet drawn", money(st.dividends_undrawn)),
    ]
    if st.first_dividend_period is not None and st.record_height is not None:
        rows.insert(1, ("First dividend", f"period {st.first_dividend_period}"))
    width = max(len(k) for k, _ in rows)
    lines = ["Dividends", *(f"  {k.ljust(width)}  {v}" for k, v in rows)]
    pos = st.net_position
    if pos is not None:
        period = f"period {pos.period}" if pos.period is not None else "no period settled yet"
        if pos.enterprise_members:
            share = (
                f"{money(pos.rent_share)}  ({st.enterprise}'s rent {money(pos.enterprise_rent)}"
                f" / {pos.enterprise_members} member{'s' if pos.enterprise_members != 1 else ''})"
            )
        else:
            share = f"{money(pos.rent_share)}  (no enterprise)"
        if pos.net > 0:
            verdict = "the commune pays you this much more than your share of rent"
        elif pos.net < 0:
            verdict = "you pay this much more in rent than your dividend"
        else:
            verdict = "you use your share of the common property for free"
        rows = [
            (f"Dividend ({period})", money(pos.dividend)),
            ("Your share of rent", share),
            ("Net position", f"{money(pos.net)}  ({verdict})"),
        ]
        width = max(len(k) for k, _ in rows)
        lines += ["", "Net position (rule 19): your dividend less your share of your enterprise's rent, a period"]
        lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return lines


# -- the ledger ----------------------------------------------------------------------------


def _check_account(account: str) -> None:
    if account in accounts.COMMUNE_ACCOUNTS:
        return
    try:
        key = accounts.participant_of(account) or accounts.enterprise_of(account)
        if key is None and account.startswith(_ASSET_PREFIX):
            key = bytes.fromhex(account[len(_ASSET_PREFIX) :])
    except ValueError:
        key = None
    if key is not None and len(key) == 32:
        return
    known = ", ".join(accounts.COMMUNE_ACCOUNTS)
    raise UnknownAccount(
        f"{account!r} is not an account; the accounts are {known}, p:<a person's key in hex>,"
        f" e:<an enterprise's id in hex> and a:<an asset's id in hex>"
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


# -- the common stock register -------------------------------------------------------------


class UnknownAsset(ReportError):
    reason = "unknown_asset"


class StockAsset(_Report):
    """One asset of the common stock: its offer's figures, where it stands, its bond series."""

    asset: str
    description: str
    #: Its life-cycle state (rules.lifecycle.State): "auction_open", "rented", "redeemed", ...
    state: str
    requester: str
    requester_name: str
    renter: str
    renter_name: str
    price: int
    #: Rent and the commune's costs per period.
    rent: int
    costs: int
    lease_periods: int
    term_periods: int
    #: The series: `bonds` × `face_value` = `price`.
    bonds: int
    face_value: int
    #: The offer's reserve rate r_max, annual (rule 8).
    reserve_rate: str
    #: The annual coupon the auction set (rule 10), to read and exactly; None before it cleared.
    coupon: str | None
    coupon_num: int
    coupon_den: int
    #: The level debt service per period, the principal still owed, installments left.
    payment: int
    outstanding: int
    periods_left: int
    #: The series reserve held in the asset's account (rule 13).
    reserve: int
    #: Periods in a row settled without the rent (rule 15).
    missed: int
    #: Rent left unpaid by a renter whose rental ended (rule 15: their debt to the commune).
    arrears: int
    #: The renter gave notice: the rental ends after this period.
    notice: bool
    #: The first period rent is due for and the last of the lease (0 before the rental starts).
    first_period: int
    lease_end_period: int
    opened_height: int


class StockRegister(_Report):
    commune: str
    currency: str
    height: int
    date: str
    periods_settled: int
    assets: tuple[StockAsset, ...]
    #: Of the assets rented now (rented or redeemed): rent per period; of every series: principal owed.
    rent_total: int
    outstanding_total: int
    reserve_total: int
    arrears_total: int


def _cleared(asset: Asset) -> bool:
    return asset.payment > 0


def _coupon(asset: Asset) -> Fraction:
    return Fraction(asset.coupon_num, asset.coupon_den)


def stock_register(store: StateStore) -> StockRegister:
    """Every asset of the common stock at the store's current height, in the order they were offered."""
    state = store.state
    names = _Names(store)
    rows = []
    for aid, a in sorted(state.tables["assets"].items(), key=lambda item: (item[1].opened_height, item[0])):
        rows.append(
            StockAsset(
                asset=aid.hex(),
                description=a.description,
                state=a.state,
                requester=a.requester.hex(),
                requester_name=names.person(a.requester),
                renter=a.renter.hex(),
                renter_name=names.enterprise(a.renter),
                price=a.price,
                rent=a.rent,
                costs=a.costs,
                lease_periods=a.lease_periods,
                term_periods=a.term_periods,
                bonds=a.bonds,
                face_value=a.face_value,
                reserve_rate=format_percent(annual_reserve(state, a)),
                coupon=format_percent(_coupon(a)) if _cleared(a) else None,
                coupon_num=a.coupon_num,
                coupon_den=a.coupon_den,
                payment=a.payment,
                outstanding=a.outstanding,
                periods_left=a.periods_left,
                reserve=a.reserve,
                missed=a.missed,
                arrears=a.arrears,
                notice=bool(a.notice),  # stored as an integer
                first_period=a.first_period,
                lease_end_period=a.lease_end_period,
                opened_height=a.opened_height,
            )
        )
    charter = state.charter
    return StockRegister(
        commune=charter.name,
        currency=charter.currency,
        height=state.height,
        date=iso_date(state.time_ms),
        periods_settled=state.meta("periods_settled", 0),
        assets=tuple(rows),
        rent_total=sum(r.rent for r in rows if r.state in rent_rules.RENTED_STATES),
        outstanding_total=sum(r.outstanding for r in rows),
        reserve_total=sum(r.reserve for r in rows),
        arrears_total=sum(r.arrears for r in rows),
    )


def _state_label(state: str) -> str:
    return state.replace("_", " ")


#: States in which an asset has no renter: its last one is shown as such, without a rent.
_NOT_RENTED = tuple(s.value for s in (State.RETURNED, State.RELETTING, State.LIQUIDATING, State.LIQUIDATED))


def render_stock_register(reg: StockRegister) -> str:
    cur = reg.currency

    def money(v: int) -> str:
        return format_amount(v, cur)

    lines = [
        f"Common stock of {reg.commune}",
        f"at height {reg.height} ({reg.date}), {reg.periods_settled} periods settled; amounts in {cur}",
        "",
    ]
    if not reg.assets:
        return "\n".join([*lines, "no assets"]) + "\n"
    lines += _table(
        (
            "Asset",
            "Description",
            "State",
            "Renter",
            "Rent",
            "Costs",
            "Series",
            "Coupon",
            "Outstanding",
            "Left",
            "Reserve",
            "Missed",
        ),
        (
            (
                a.asset[:12],
                _clip(a.description, 30),
                _state_label(a.state),
                _clip(f"none (was {a.renter_name})" if a.state in _NOT_RENTED else a.renter_name, 24),
                "-" if a.state in _NOT_RENTED else money(a.rent),
                money(a.costs),
                f"{a.bonds} x {money(a.face_value)}",
                a.coupon or f"(max {a.reserve_rate})",
                money(a.outstanding),
                str(a.periods_left),
                money(a.reserve),
                str(a.missed),
            )
            for a in reg.assets
        ),
        (False, False, False, False, True, True, True, True, True, True, True, True),
    )
    n = len(reg.assets)
    lines += [
        "",
        f"{n} asset{'s' if n != 1 else ''}; rent a period {money(reg.rent_total)},"
        f" principal outstanding {money(reg.outstanding_total)}, series reserves {money(reg.reserve_total)}"
        + (f", arrears owed {money(reg.arrears_total)}" if reg.arrears_total else ""),
    ]
    return "\n".join(lines) + "\n"


# -- a series' bond register ---------------------------------------------------------------


class BondHolder(_Report):
    key: str
    name: str
    bonds: int
    #: Their part of the outstanding principal and of the next installment, split as the chain
    #: splits debt service (pro rata to bonds, largest remainder, holders in key order).
    principal: int
    next_payment: int


class ScheduleRow(_Report):
    """One installment still to come, as `amortization.next_installment` makes it."""

    period: int
    payment: int
    interest: int
    principal: int
    outstanding_after: int


class BondRegister(_Report):
    commune: str
    currency: str
    height: int
    date: str
    asset: str
    description: str
    state: str
    bonds: int
    face_value: int
    #: The annual coupon (None before the auction cleared), and per period, each to read and exactly.
    coupon: str | None
    coupon_num: int
    coupon_den: int
    periodic_coupon: str | None
    periodic_num: int
    periodic_den: int
    payment: int
    outstanding: int
    periods_left: int
    holders: tuple[BondHolder, ...]
    schedule: tuple[ScheduleRow, ...]
    #: What the schedule pays in all, and of it interest (its principal is `outstanding`).
    schedule_total: int
    schedule_interest: int


def _asset_key(asset: bytes | str) -> bytes:
    if isinstance(asset, str):
        try:
            asset = bytes.fromhex(asset.strip())
        except ValueError:
            raise UnknownAsset(f"{asset!r} is not an asset id: an asset is named by 64 hex digits") from None
    return asset


def _schedule(state: CommuneState, asset: Asset) -> list[ScheduleRow]:
    if not (_cleared(asset) and asset.outstanding and asset.periods_left):
        return []
    rate = rent_rules.periodic_coupon(state, asset)
    period = max(asset.first_period, state.meta("periods_settled", 0) + 1)
    balance, left, rows = asset.outstanding, asset.periods_left, []
    while balance and left:
        row = next_installment(balance, rate, asset.payment, left, period=period)
        rows.append(ScheduleRow(row.period, row.payment, row.interest, row.principal_part, row.outstanding_after))
        balance, left, period = row.outstanding_after, left - 1, period + 1
    return rows


def bond_register(store: StateStore, asset: bytes | str) -> BondRegister:
    """The bond series of `asset` (its id, or 64 hex digits): holders, coupon, and the remaining
    schedule from the next unsettled period, made from what the chain keeps (the outstanding
    principal, the coupon per period and the fixed payment) by `amortization.next_installment`.

    The schedule assumes every period's rent is paid and nothing is prepaid: a surplus that
    prepays principal (rule 13) shortens it, keeping the payment; a missed period delays it.
    """
    aid = _asset_key(asset)
    state = store.state
    a = state.tables["assets"].get(aid)
    if a is None:
        known = ", ".join(f"{k.hex()[:12]} ({v.description})" for k, v in sorted(state.tables["assets"].items()))
        raise UnknownAsset(
            f"{short_hex(aid)} is not an asset of the common stock; "
            + (f"the assets are {known}" if known else "the commune has no assets yet")
        )
    names = _Names(store)
    held = sorted((holder, n) for (owner, holder), n in state.tables["holdings"].items() if owner == aid and n)
    schedule = _schedule(state, a)
    counts = [n for _, n in held]
    principal = split_to_holders(a.outstanding, counts) if held else []
    nxt = split_to_holders(schedule[0].payment, counts) if held and schedule else [0] * len(held)
    holders = tuple(
        BondHolder(key.hex(), names.person(key), n, p, q) for (key, n), p, q in zip(held, principal, nxt, strict=True)
    )
    cleared = _cleared(a)
    per_period = rent_rules.periodic_coupon(state, a) if cleared else Fraction(0)
    charter = state.charter
    return BondRegister(
        commune=charter.name,
        currency=charter.currency,
        height=state.height,
        date=iso_date(state.time_ms),
        asset=aid.hex(),
        description=a.description,
        state=a.state,
        bonds=a.bonds,
        face_value=a.face_value,
        coupon=format_percent(_coupon(a)) if cleared else None,
        coupon_num=a.coupon_num,
        coupon_den=a.coupon_den,
        periodic_coupon=format_percent(per_period) if cleared else None,
        periodic_num=per_period.numerator,
        periodic_den=per_period.denominator,
        payment=a.payment,
        outstanding=a.outstanding,
        periods_left=a.periods_left,
        holders=holders,
        schedule=tuple(schedule),
        schedule_total=sum(r.payment for r in schedule),
        schedule_interest=sum(r.interest for r in schedule),
    )


def render_bond_register(reg: BondRegister) -> str:
    cur = reg.currency

    def money(v: int) -> str:
        return format_amount(v, cur)

    facts = [
        ("Asset", f"{reg.asset}"),
        ("State", _state_label(reg.state)),
        ("Series", f"{reg.bonds} bonds of {money(reg.face_value)} = {money(reg.bonds * reg.face_value)}"),
        ("Coupon", f"{reg.coupon} a year ({reg.periodic_coupon} a period)" if reg.coupon else "none yet"),
    ]
    if reg.coupon:
        facts += [
            ("Debt service", f"{money(reg.payment)} a period"),
            ("Outstanding", f"{money(reg.outstanding)}, {reg.periods_left} installments left"),
        ]
    width = max(len(k) for k, _ in facts)
    lines = [
        f"Bond register: {reg.description}",
        f"{reg.commune}, at height {reg.height} ({reg.date}); amounts in {cur}",
        "",
        *(f"{k.ljust(width)}  {v}" for k, v in facts),
        "",
        f"Holders ({len(reg.holders) or 'none'})",
    ]
    if reg.holders:
        lines += _table(
            ("Holder", "Bonds", "Principal", "Next payment"),
            ((h.name, str(h.bonds), money(h.principal), money(h.next_payment)) for h in reg.holders),
            (False, True, True, True),
        )
    lines += ["", f"Remaining schedule ({len(reg.schedule) or 'none'})"]
    if reg.schedule:
        lines += _table(
            ("Period", "Payment", "Interest", "Principal", "Outstanding after"),
            (
                (str(r.period), money(r.payment), money(r.interest), money(r.principal), money(r.outstanding_after))
                for r in reg.schedule
            ),
            (True, True, True, True, True),
        )
        lines += [
            "",
            f"In all {money(reg.schedule_total)}: principal {money(reg.outstanding)},"
            f" interest {money(reg.schedule_interest)}; a surplus that prepays principal shortens it",
        ]
    return "\n".join(lines) + "\n"


# -- the income statement of a period ------------------------------------------------------

#: What an asset's settlement pays out of its account, by the memo of its postings (rules.rent).
_COSTS = "the commune's costs"
_DEBT_SERVICE = "debt service"
_PREPAYMENT = "prepayment of principal"
_SURPLUS = "surplus to the dividend pool"
_REDEEMED = "net rent of a redeemed asset"
#: A liquidation's postings (rules.tenancy.confirm_sale).
_PROCEEDS = "sale proceeds"
_SALE_COSTS = "sale costs"
_LIQUIDATION_HOLDERS = "liquidation: to the series' holders"
_LIQUIDATION_POOL = "liquidation: remainder to the dividend pool"
#: Arrears (rules.rent.recover_arrears), rent held given back (rules.tenancy), a reserve released
#: when arrears repay the last principal.
_ARREARS = "arrears"
_ARREARS_PREPAYMENT = "arrears paid: prepayment of principal"
_ARREARS_POOL = "arrears paid to the dividend pool"
_RESERVE_RELEASED = "series reserve released"
_RENT_RETURNED = "rent held, returned at the end of the rental"
#: Dividends moved from `dividends` into members' own accounts: drawn to spend (state.store
#: writes a TakeDividend so), or paid out when a former member is admitted again (rules.membership).
_DRAWN = ("dividends drawn", "dividends of an earlier membership")


class AssetIncome(_Report):
    """One asset's part of a period: rent, arrears (and a liquidation's proceeds) paid into its
    account, and what its settlement (or liquidation, or the arrears) paid out; `kept` is the
    change of its account over the period: what stayed in it (the series reserve, rent paid
    ahead) or, negative, what left it beyond the period's rent (rent paid ahead and used now, a
    reserve released at redemption, rent held that paid arrears or went back to the renter).

    rent_received + arrears_received + sale_proceeds = costs + debt_service + prepayment
    + sale_costs + liquidation_to_holders + to_dividend_pool + rent_returned + kept, for every
    posting the rules make today."""

    asset: str
    description: str
    rent_received: int
    #: Rent owed from a rental that ended unpaid (rule 15), paid by the enterprise that owes it.
    arrears_received: int
    costs: int
    debt_service: int
    prepayment: int
    #: Everything into the dividend pool: surplus, a redeemed asset's net rent, a liquidation's remainder.
    to_dividend_pool: int
    #: A liquidation (rule 17): the sale's proceeds, its costs, what the series' holders were paid.
    sale_proceeds: int
    sale_costs: int
    liquidation_to_holders: int
    #: Rent held when a rental ended, beyond what it owed, given back to the renter.
    rent_returned: int
    kept: int


class IncomeStatement(_Report):
    """A period's money from the common stock (see the module doc for which postings are a period's).

    rent_received + arrears_received + sale_proceeds = costs + debt_service + prepayment
    + sale_costs + liquidation_to_holders + to_dividend_pool + rent_returned + kept."""

    commune: str
    currency: str
    height: int
    period: int
    #: False for the period in progress: its figures so far.
    settled: bool
    #: The period's calendar span: it starts on `starts` and ends on `ends` (UTC dates).
    starts: str
    ends: str
    #: The blocks its postings are in: from the one that settled the period before (its postings
    #: after that settlement) through the one that settled it (or the chain's tip).
    first_height: int
    last_height: int
    rent_received: int
    arrears_received: int
    costs: int
    debt_service: int
    prepayment: int
    #: Into the dividend pool: surplus (and reserves released at redemption), redeemed assets'
    #: net rent, liquidations' remainders, arrears once the series owes nothing; and their sum.
    surplus_to_pool: int
    redeemed_net_rent: int
    liquidation_to_pool: int
    arrears_to_pool: int
    to_dividend_pool: int
    sale_proceeds: int
    sale_costs: int
    liquidation_to_holders: int
    rent_returned: int
    kept: int
    #: The period's equal dividend (None for the period in progress): each member's, on how many.
    per_member: int | None
    members: int | None
    dividends_paid: int
    #: Members' dividends moved into their own accounts in the period (when they spent more than
    #: their account held, or were admitted again).
    dividends_drawn: int
    assets: tuple[AssetIncome, ...]


def _between(store: StateStore, start: tuple[int, int], end: tuple[int, int] | None, where: str = "") -> list[tuple]:
    """Postings at positions (height, txn) from `start` up to, not including, `end` (None: all)."""
    sql = "SELECT height, txn, line, account, amount, memo FROM postings WHERE (height, txn) >= (?, ?)"
    params: list[object] = [*start]
    if end is not None:
        sql += " AND (height, txn) < (?, ?)"
        params += [*end]
    return store.query(f"{sql} {where} ORDER BY height, txn, line", params)


def income_statement(store: StateStore, period: int) -> IncomeStatement:
    """The income statement of `period`: a settled one (1 to the number settled) or the one in
    progress (the next), from the `postings` table between the period's ends.

    Rent received is what the renters paid into the assets' accounts in the period's span; what
    a settlement paid out is read from the asset account's line of each settlement posting, and
    the dividends from the pool's and the dividends account's lines, so a transfer whose memo
    happens to say "rent" is never counted.
    """
    periods = _Periods(store)
    state = store.state
    if isinstance(period, bool) or not isinstance(period, int) or not 1 <= period <= periods.settled + 1:
        raise ReportError(
            f"there is no period {period!r} to report on: periods are counted from 1, {periods.settled}"
            f" are settled, and period {periods.settled + 1} is in progress",
            reason="bad_period",
        )
    start = periods.start(period)
    settled = period <= periods.settled
    end = periods.end(period) if settled else None
    rows = _between(store, start, (end.height, end.txn) if end else None)
    by_asset: dict[str, dict[str, int]] = {}
    totals = dict.fromkeys((_SURPLUS, _REDEEMED, _LIQUIDATION_POOL, _ARREARS_POOL, "paid", "drawn"), 0)
    into = {"rent": "rent", _ARREARS: "arrears", _PROCEEDS: "proceeds"}
    out = {
        _COSTS: "costs",
        _DEBT_SERVICE: "debt",
        _PREPAYMENT: "prepay",
        _ARREARS_PREPAYMENT: "prepay",
        _SURPLUS: "pool",
        _RESERVE_RELEASED: "pool",
        _REDEEMED: "pool",
        _LIQUIDATION_POOL: "pool",
        _ARREARS_POOL: "pool",
        _SALE_COSTS: "sale_costs",
        _LIQUIDATION_HOLDERS: "holders",
        _RENT_RETURNED: "returned",
    }
    surplus_memos = (_SURPLUS, _RESERVE_RELEASED)
    for _h, _t, _line, account, amount, memo in rows:
        if account.startswith(_ASSET_PREFIX):
            figures = by_asset.setdefault(account, dict.fromkeys((*into.values(), *out.values(), "kept"), 0))
            figures["kept"] -= amount  # the account's change, as a claim
            if memo in into:  # credited to the asset's account: negative, debit-positive
                figures[into[memo]] -= amount
            elif memo in out:
                figures[out[memo]] += amount
                if memo in surplus_memos:
                    totals[_SURPLUS] += amount
                elif memo in totals:
                    totals[memo] += amount
        elif account == accounts.DIVIDEND_POOL and memo == "dividends":
            totals["paid"] += amount
        elif account == accounts.DIVIDENDS and memo in _DRAWN:
            totals["drawn"] += amount
    assets_table = state.tables["assets"]
    lines = []
    for account, f in by_asset.items():
        aid = bytes.fromhex(account[len(_ASSET_PREFIX) :])
        described = assets_table.get(aid)
        lines.append(
            AssetIncome(
                asset=aid.hex(),
                description=described.description if described is not None else "",
                rent_received=f["rent"],
                arrears_received=f["arrears"],
                costs=f["costs"],
                debt_service=f["debt"],
                prepayment=f["prepay"],
                to_dividend_pool=f["pool"],
                sale_proceeds=f["proceeds"],
                sale_costs=f["sale_costs"],
                liquidation_to_holders=f["holders"],
                rent_returned=f["returned"],
                kept=f["kept"],
            )
        )
    lines.sort(key=lambda a: (a.description, a.asset))
    dividend = end.dividend if end is not None else None
    charter = state.charter
    return IncomeStatement(
        commune=charter.name,
        currency=charter.currency,
        height=state.height,
        period=period,
        settled=settled,
        starts=iso_date(periods.starts_ms(period)),
        ends=iso_date(periods.starts_ms(period + 1) - 1),
        first_height=start[0],
        last_height=end.height if end is not None else state.height,
        rent_received=sum(a.rent_received for a in lines),
        arrears_received=sum(a.arrears_received for a in lines),
        costs=sum(a.costs for a in lines),
        debt_service=sum(a.debt_service for a in lines),
        prepayment=sum(a.prepayment for a in lines),
        surplus_to_pool=totals[_SURPLUS],
        redeemed_net_rent=totals[_REDEEMED],
        liquidation_to_pool=totals[_LIQUIDATION_POOL],
        arrears_to_pool=totals[_ARREARS_POOL],
        to_dividend_pool=sum(a.to_dividend_pool for a in lines),
        sale_proceeds=sum(a.sale_proceeds for a in lines),
        sale_costs=sum(a.sale_costs for a in lines),
        liquidation_to_holders=sum(a.liquidation_to_holders for a in lines),
        rent_returned=sum(a.rent_returned for a in lines),
        kept=sum(a.kept for a in lines),
        per_member=dividend.per_member if dividend is not None else None,
        members=dividend.members if dividend is not None else None,
        dividends_paid=totals["paid"],
        dividends_drawn=totals["drawn"],
        assets=tuple(lines),
    )


def render_income_statement(st: IncomeStatement) -> str:
    cur = st.currency

    def money(v: int) -> str:
        return format_amount(v, cur)

    status = "settled" if st.settled else "in progress: figures so far"
    liquidated = st.sale_proceeds or st.sale_costs or st.liquidation_to_holders or st.liquidation_to_pool
    rows: list[tuple[str, str]] = [("Rent received", money(st.rent_received))]
    if st.arrears_received:
        rows.append(("Arrears received", money(st.arrears_received)))
    if liquidated:
        rows.append(("Proceeds of liquidations", money(st.sale_proceeds)))
    rows += [
        ("  The commune's costs", money(st.costs)),
        ("  Debt service to bondholders", money(st.debt_service)),
        ("  Prepayment of principal", money(st.prepayment)),
    ]
    if liquidated:
        rows += [
            ("  Costs of sales", money(st.sale_costs)),
            ("  Liquidations to bondholders", money(st.liquidation_to_holders)),
        ]
    rows += [
        ("  To the dividend pool", money(st.to_dividend_pool)),
        ("    surplus", money(st.surplus_to_pool)),
        ("    net rent of redeemed assets", money(st.redeemed_net_rent)),
    ]
    if liquidated:
        rows.append(("    liquidation remainders", money(st.liquidation_to_pool)))
    if st.arrears_to_pool:
        rows.append(("    arrears", money(st.arrears_to_pool)))
    if st.rent_returned:
        rows.append(("  Rent given back to renters", money(st.rent_returned)))
    rows += [
        ("  Kept in the assets' accounts", money(st.kept)),
        ("", ""),
        ("Dividends paid", money(st.dividends_paid)),
        ("Dividends drawn by members", money(st.dividends_drawn)),
    ]
    width = max(len(a) for a, _ in rows)
    amount_width = max(len(b) for _, b in rows)
    lines = [
        f"Income statement of {st.commune}, period {st.period} ({st.starts} to {st.ends}), {status}",
        f"heights {st.first_height} to {st.last_height}; amounts in {cur}",
        "",
        *(f"{a.ljust(width)}  {b.rjust(amount_width)}".rstrip() for a, b in rows),
    ]
    if st.per_member is not None:
        lines.append(f"  {money(st.per_member)} each to {st.members} member{'s' if st.members != 1 else ''}")
    if st.assets:
        lines += ["", "By asset"]
        lines += _table(
            ("Asset", "Description", "Rent", "Costs", "Debt service", "Prepaid", "To pool", "Kept"),
            (
                (
                    a.asset[:12],
                    _clip(a.description, 30),
                    money(a.rent_received),
                    money(a.costs),
                    money(a.debt_service),
                    money(a.prepayment),
                    money(a.to_dividend_pool),
                    money(a.kept),
                )
                for a in st.assets
            ),
            (False, False, True, True, True, True, True, True),
        )
    return "\n".join(lines) + "\n"


# -- the dividend history ------------------------------------------------------------------


class DividendPeriod(_Report):
    """One settled period's equal dividend (rule 18): `pool` = what came in + the carry before;
    `paid` = `per_member` × `members`; `carry` = `pool` − `paid`, left for the next period."""

    period: int
    height: int
    date: str
    came_in: int
    pool: int
    members: int
    per_member: int
    paid: int
    carry: int
    #: The per-share dividend index after it (a member's dividends are the index since their record date).
    index: int


class DividendHistory(_Report):
    commune: str
    currency: str
    height: int
    periods: tuple[DividendPeriod, ...]
    paid_total: int
    #: The index now, what is in the pool now (the carry, and anything come in since), and the
    #: dividends paid that members have not drawn yet.
    index: int
    pool: int
    undrawn: int


def dividend_history(store: StateStore) -> DividendHistory:
    """Every settled period's dividend, from the `dividend` effects of the blocks that settled
    them; the carry is the dividend pool's balance at each period's end (from its postings)."""
    state = store.state
    periods = _Periods(store)
    ends = [periods.end(p) for p in range(1, periods.settled + 1)]
    pool_rows = store.query(
        "SELECT height, txn, amount FROM postings WHERE account = ? ORDER BY height, txn, line",
        (accounts.DIVIDEND_POOL,),
    )
    positions = [(h, t) for h, t, _ in pool_rows]
    running, cumulative = 0, []
    for _h, _t, amount in pool_rows:
        running += accounts.claim(amount)
        cumulative.append(running)
    rows = []
    index = carry_before = 0
    for end in ends:
        i = bisect.bisect_left(positions, (end.height, end.txn))
        carry = cumulative[i - 1] if i else 0
        d = end.dividend
        per_member, members = (d.per_member, d.members) if d is not None else (0, 0)
        paid = per_member * members
        index += per_member
        rows.append(
            DividendPeriod(
                period=end.period,
                height=end.height,
                date=iso_date(end.time_ms),
                came_in=carry + paid - carry_before,
                pool=carry + paid,
                members=members,
                per_member=per_member,
                paid=paid,
                carry=carry,
                index=index,
            )
        )
        carry_before = carry
    charter = state.charter
    return DividendHistory(
        commune=charter.name,
        currency=charter.currency,
        height=state.height,
        periods=tuple(rows),
        paid_total=sum(r.paid for r in rows),
        index=state.dividend_index,
        pool=state.claim(accounts.DIVIDEND_POOL),
        undrawn=state.claim(accounts.DIVIDENDS),
    )


def render_dividend_history(hist: DividendHistory) -> str:
    cur = hist.currency

    def money(v: int) -> str:
        return format_amount(v, cur)

    lines = [
        f"Dividend history of {hist.commune}, at height {hist.height}; amounts in {cur}",
        "each period's pool divided equally among the members on the record; the remainder carries",
        "",
    ]
    if not hist.periods:
        return "\n".join([*lines, "no period settled yet"]) + "\n"
    lines += _table(
        ("Period", "Height", "Date", "Came in", "Pool", "Members", "Each", "Paid", "Carry"),
        (
            (
                str(r.period),
                str(r.height),
                r.date,
                money(r.came_in),
                money(r.pool),
                str(r.members),
                money(r.per_member),
                money(r.paid),
                money(r.carry),
            )
            for r in hist.periods
        ),
        (True, True, False, True, True, True, True, True, True),
    )
    lines += [
        "",
        f"Paid in all {money(hist.paid_total)}; not yet drawn by members {money(hist.undrawn)};"
        f" in the pool now {money(hist.pool)}",
    ]
    return "\n".join(lines) + "\n"
