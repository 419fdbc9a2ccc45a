"""The commune's derived state, in memory: named tables of rows, changed only by effects.

`CommuneState` is what the rules read and what effects change. Every change goes through
`apply`, which journals the old value, so a block that turns out wrong is rolled back exactly
(`rollback`) and a good one is kept (`commit`); the journal also tells the state layer which
rows to write to SQLite. Rows are msgspec Structs or plain ints/strings/bytes, so the state has
one canonical encoding, and its digest is the same on every node.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from commune.core.encoding import encode
from commune.rules import accounts, lifecycle
from commune.rules.charter import Charter
from commune.rules.effects import (
    Admit,
    ApproveSpend,
    CancelBid,
    ChangeSigners,
    ClearAuction,
    ClosePending,
    CloseProposal,
    CloseSpend,
    Depart,
    Effect,
    ExpelEnterprise,
    FinishLiquidation,
    Freeze,
    NoticeGiven,
    OfferRetried,
    OfferWithdrawn,
    OpenOffer,
    OpenPending,
    OpenProposal,
    OpenReletting,
    OpenSpend,
    PayArrears,
    PayDividend,
    PlaceBid,
    PlaceReletBid,
    Post,
    PutOnRecord,
    RecordAttestation,
    RecordVote,
    Refuse,
    RegisterEnterprise,
    RegisterInvestor,
    Relet,
    ReletFailed,
    ReturnAsset,
    SetCharter,
    SetDelegation,
    SetName,
    SetStatus,
    SetStewards,
    SettleAsset,
    SettlePeriod,
    TakeDividend,
)


class Row(msgspec.Struct, array_like=True, frozen=True, gc=False):
    pass


class Member(Row):
    enterprise: bytes
    admitted_height: int
    #: The state's event counter when admitted/left (orders events within one block).
    admitted_tick: int
    probation_until_ms: int
    left_tick: int = 0
    left_height: int = 0
    #: The dividend index when they went on the record (-1: not on it), and when they left it.
    record_index: int = -1
    record_end: int = -1
    #: Accrued dividends already moved into their own account.
    dividends_taken: int = 0
    #: Dividends accrued in earlier memberships (a member who left and was admitted again).
    earlier_dividends: int = 0

    def accrued(self, index: int) -> int:
        """Dividends accrued by the per-share `index` (rule 18): in earlier memberships, and in
        this one from its record date to leaving."""
        if self.record_index < 0:
            return self.earlier_dividends
        end = index if self.record_end < 0 else min(index, self.record_end)
        return self.earlier_dividends + max(0, end - self.record_index)

    def untaken(self, index: int) -> int:
        return self.accrued(index) - self.dividends_taken

    @property
    def current(self) -> bool:
        return self.left_tick == 0


class Investor(Row):
    name: str
    registered_height: int


class Enterprise(Row):
    name: str
    signers: tuple[bytes, ...]
    k: int
    registered_height: int
    expelled_height: int = 0

    @property
    def active(self) -> bool:
        return self.expelled_height == 0


class Attestation(Row):
    enterprise: bytes
    person: bytes
    attester: bytes
    height: int


class Pending(Row):
    kind: str  # "deposit" | "withdrawal"
    account: str
    amount: int
    height: int
    reference: str = ""


class Spend(Row):
    """An enterprise's act waiting for k signers (`enterprise_acts`): `act` is "transfer" (of
    `amount` to the account `payee`), "rent" (`amount` into `asset`'s account), "notice", or the
    kind of an entry whose encoded body is `body` ("offer", "retry_offer", "withdraw_offer",
    "relet_bid", "set_signers")."""

    enterprise: bytes
    payee: str
    amount: int
    approvers: tuple[bytes, ...]
    height: int
    act: str = "transfer"
    asset: bytes = b""
    memo: str = ""
    body: bytes = b""


class Proposal(Row):
    proposer: bytes
    topic: str
    motion: bytes
    opened_height: int
    opened_tick: int
    opened_ms: int
    deadline_ms: int
    electorate: int
    needed: int
    status: str = "open"  # "open" | "passed" | "expired"
    direct_yes: int = 0
    direct_no: int = 0
    #: The totals, delegated votes included, when it closed.
    yes: int = 0
    no: int = 0
    closed_height: int = 0


class Asset(Row):
    """A property of the common stock: its offer's figures, its life-cycle state, its series."""

    requester: bytes
    renter: bytes
    description: str
    price: int
    rent: int
    costs: int
    lease_periods: int
    term_periods: int
    bonds: int
    face_value: int
    vendor_payee: str
    valuation: bytes
    deadline_ms: int
    reserve_num: int
    reserve_den: int
    opened_height: int
    state: str = "auction_open"
    #: The clearing rate (annual coupon) once cleared.
    coupon_num: int = 0
    coupon_den: int = 1
    #: Principal of the series still owed to its holders.
    outstanding: int = 0
    #: The level debt service per period (rounded up once, at clearing) and periods left.
    payment: int = 0
    periods_left: int = 0
    #: The first period whose settlement charges rent (the first whole period of the rental).
    first_period: int = 0
    #: Of the asset account: the series reserve (rule 13); the rest is rent paid and not settled.
    reserve: int = 0
    #: Periods in a row settled without the rent (rule 15 counts them).
    missed: int = 0
    #: Rent owed by a renter whose rental ended unpaid (rule 15: a debt to the commune).
    arrears: int = 0
    #: Notice given: the rental ends after the current period.
    notice: bool = False
    #: The last period of the current lease.
    lease_end_period: int = 0
    #: Re-letting: the current round's deadline and number, and failed rounds so far.
    relet_deadline_ms: int = 0
    relet_round: int = 0


class PlacedBid(Row):
    offer: bytes
    bidder: bytes
    quantity: int
    rate_num: int
    rate_den: int
    #: The state's event counter when taken in: "earlier bid" in the auction's tie rules.
    received: int
    status: str = "open"  # "open" | "withdrawn" | "filled" | "unfilled" | "failed" (its auction failed)
    filled: int = 0


class PlacedReletBid(Row):
    asset: bytes
    bidder: bytes
    renter: bytes
    rent: int
    lease_periods: int
    received: int
    round: int


class BlockInfo(Row):
    height: int
    time_ms: int


#: Every table of the state: name -> (key kind, row type). Keys are bytes, str or tuples of them.
TABLES: dict[str, type] = {
    "members": Member,
    "investors": Investor,
    "names": str,  # participant -> the name from their latest profile
    "enterprises": Enterprise,
    "balances": int,
    "credits": int,  # (participant, height) -> cumulative credits up to that height; DIVIDEND_SHARE: the index
    "probations": int,  # (probation end ms, member) -> 1: members who go on the dividend record then
    "debits": int,  # participant -> cumulative debits by their own entries
    "included": int,  # author -> last seq taken into the chain
    "frozen": int,  # author -> first frozen seq
    "attestations": Attestation,
    "pending": Pending,
    "spends": Spend,
    "proposals": Proposal,
    "votes": str,  # (proposal, voter) -> choice
    "delegations": bytes,  # (delegator, topic) -> delegate
    "assets": Asset,  # offer id -> the property and its series
    "bids": PlacedBid,  # bid entry id -> the bid
    "holdings": int,  # (asset, holder) -> bonds held
    "relet_bids": PlacedReletBid,  # bid entry id -> a re-letting bid
    "arrears": int,  # (enterprise, asset) -> rent it owes for a rental that ended unpaid (rule 15)
    "blocks": BlockInfo,  # block id -> height, time
    "meta": Any,  # name -> value
}

_MISSING = object()

#: Tables also read by group, indexed in memory: the holders of an asset's bonds, the bids on an
#: offer, the re-letting bids on an asset (settling and clearing read them asset by asset).
GROUPED: dict[str, Any] = {
    "holdings": lambda key, value: key[0],
    "bids": lambda key, value: value.offer,
    "relet_bids": lambda key, value: value.asset,
}

#: The key under which `credits` keeps the dividend index's history (cumulative dividend per
#: member on record, by height): never a participant's key, which is 32 bytes.
DIVIDEND_SHARE = b"dividend/share"


def due_by_deadline(rows: dict[bytes, Any], time_ms: int, deadline_of: Callable[[Any], int | None]) -> list[bytes]:
    """The keys of `rows` whose deadline (None: not open) is before `time_ms`, by (deadline, key):
    the order in which a block closes proposals, auctions and re-letting rounds."""
    found = []
    for key, row in rows.items():
        deadline = deadline_of(row)
        if deadline is not None and deadline < time_ms:
            found.append((deadline, key))
    return [key for _, key in sorted(found)]


class CommuneState:
    """All tables, the journal of changes since the last commit, and the index of credits."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, Any]] = {name: {} for name in TABLES}
        self._journal: list[tuple[str, Any, Any]] = []
        self._credit_heights: dict[bytes, list[int]] = {}
        self._groups: dict[str, dict[Any, set[Any]]] = {table: {} for table in GROUPED}

    # -- meta ------------------------------------------------------------------------------

    def meta(self, name: str, default: Any = None) -> Any:
        return self.tables["meta"].get(name, default)

    @property
    def height(self) -> int:
        return self.meta("height", -1)

    @property
    def time_ms(self) -> int:
        return self.meta("time_ms", 0)

    @property
    def block_id(self) -> bytes:
        return self.meta("block_id", b"")

    @property
    def commune(self) -> bytes:
        return self.meta("commune", b"")

    @property
    def charter(self) -> Charter:
        return msgspec.msgpack.decode(self.meta("charter"), type=Charter)

    @property
    def stewards(self) -> tuple[bytes, ...]:
        return tuple(self.meta("stewards", ()))

    @property
    def status(self) -> str:
        return self.meta("status", "active")

    @property
    def tick(self) -> int:
        return self.meta("tick", 0)

    # -- the journal -----------------------------------------------------------------------

    def _index(self, table: str, key: Any, value: Any) -> None:
        """Keep the in-memory indexes (credit heights, groups) in step with a row added."""
        if table == "credits":
            heights = self._credit_heights.setdefault(key[0], [])
            i = bisect.bisect_left(heights, key[1])
            if i == len(heights) or heights[i] != key[1]:
                heights.insert(i, key[1])
        group_of = GROUPED.get(table)
        if group_of is not None:
            self._groups[table].setdefault(group_of(key, value), set()).add(key)

    def _unindex(self, table: str, key: Any, value: Any) -> None:
        if table == "credits":
            self._credit_heights[key[0]].remove(key[1])
        group_of = GROUPED.get(table)
        if group_of is not None:
            self._groups[table][group_of(key, value)].discard(key)

    def set(self, table: str, key: Any, value: Any) -> None:
        rows = self.tables[table]
        old = rows.get(key, _MISSING)
        self._journal.append((table, key, old))
        if old is not _MISSING:
            self._unindex(table, key, old)
        rows[key] = value
        self._index(table, key, value)

    def delete(self, table: str, key: Any) -> None:
        rows = self.tables[table]
        if key in rows:
            old = rows.pop(key)
            self._journal.append((table, key, old))
            self._unindex(table, key, old)

    def commit_pending(self) -> set[tuple[str, Any]]:
        """The (table, key) pairs changed since the last commit (to write them out)."""
        return {(table, key) for table, key, _ in self._journal}

    def commit(self) -> None:
        """Keep every change since the last commit (written out already: see commit_pending)."""
        self._journal.clear()

    def rollback(self) -> None:
        """Undo every change since the last commit, newest first."""
        while self._journal:
            table, key, old = self._journal.pop()
            rows = self.tables[table]
            current = rows.pop(key, _MISSING)
            if current is not _MISSING:
                self._unindex(table, key, current)
            if old is not _MISSING:
                rows[key] = old
                self._index(table, key, old)

    def grouped(self, table: str, group: Any) -> list[Any]:
        """The keys of `table`'s rows in `group` (see GROUPED), in key order."""
        return sorted(self._groups[table].get(group, ()))

    def load(self, table: str, rows: Iterable[tuple[Any, Any]]) -> None:
        """Fill a table from stored rows (a restart), outside the journal."""
        target = self.tables[table]
        for key, value in rows:
            target[key] = value
            self._index(table, key, value)

    # -- reading ---------------------------------------------------------------------------

    def balance(self, account: str) -> int:
        return self.tables["balances"].get(account, 0)

    def claim(self, account: str) -> int:
        return accounts.claim(self.balance(account))

    def credits_through(self, participant: bytes, height: int) -> int:
        """Everything credited to `participant`'s account by blocks up to `height`."""
        heights = self._credit_heights.get(participant)
        if not heights:
            return 0
        i = bisect.bisect_right(heights, height)
        return self.tables["credits"][(participant, heights[i - 1])] if i else 0

    @property
    def dividend_index(self) -> int:
        return self.meta("dividend_index", 0)

    def dividends_through(self, participant: bytes, height: int) -> int:
        """Dividends a member accrued by the blocks up to `height` (0 for anyone else)."""
        m = self.tables["members"].get(participant)
        return m.accrued(self.credits_through(DIVIDEND_SHARE, height)) if m is not None else 0

    def untaken_dividends(self, participant: bytes) -> int:
        m = self.tables["members"].get(participant)
        return m.untaken(self.dividend_index) if m is not None else 0

    def debits(self, participant: bytes) -> int:
        return self.tables["debits"].get(participant, 0)

    def member(self, key: bytes) -> Member | None:
        return self.tables["members"].get(key)

    def is_member(self, key: bytes) -> bool:
        m = self.tables["members"].get(key)
        return m is not None and m.current

    def is_voting_member(self, key: bytes, at_ms: int | None = None) -> bool:
        m = self.tables["members"].get(key)
        return m is not None and m.current and m.probation_until_ms <= (self.time_ms if at_ms is None else at_ms)

    def is_participant(self, key: bytes) -> bool:
        """Has an account: a member (present or past) or a registered investor."""
        return key in self.tables["members"] or key in self.tables["investors"]

    def enterprise(self, enterprise: bytes) -> Enterprise | None:
        return self.tables["enterprises"].get(enterprise)

    def voting_members(self) -> Iterator[bytes]:
        now = self.time_ms
        for key, m in self.tables["members"].items():
            if m.current and m.probation_until_ms <= now:
                yield key

    # -- applying effects ------------------------------------------------------------------

    def next_tick(self) -> int:
        tick = self.tick + 1
        self.set("meta", "tick", tick)
        return tick

    def apply(self, effect: Effect) -> None:
        """Change the state as `effect` says. Effects come from the rules, which checked them."""
        handler = _HANDLERS[type(effect)]
        handler(self, effect)

    def apply_all(self, effects: Iterable[Effect]) -> None:
        for effect in effects:
            self.apply(effect)


def _post(state: CommuneState, e: Post) -> None:
    if sum(p.amount for p in e.postings) != 0:
        raise ValueError(f"unbalanced transaction: {e}")
    height = state.height
    for p in e.postings:
        state.set("balances", p.account, state.balance(p.account) + p.amount)
        who = accounts.participant_of(p.account)
        if who is None:
            continue
        if p.amount < 0:  # a credit to their claim
            before = state.credits_through(who, height)
            state.set("credits", (who, height), before - p.amount)
        elif p.amount > 0:
            state.set("debits", who, state.debits(who) + p.amount)


def _refuse(state: CommuneState, e: Refuse) -> None:
    pass  # the entry is taken in and does nothing; the block keeps the reason


def _freeze(state: CommuneState, e: Freeze) -> None:
    current = state.tables["frozen"].get(e.author)
    if current is None or e.seq < current:
        state.set("frozen", e.author, e.seq)


def _attestation(state: CommuneState, e: RecordAttestation) -> None:
    state.set("attestations", e.id, Attestation(e.enterprise, e.person, e.attester, state.height))


def _admit(state: CommuneState, e: Admit) -> None:
    member = Member(e.enterprise, state.height, state.next_tick(), e.probation_until_ms)
    old = state.tables["members"].get(e.person)
    if old is not None:  # readmitted: a new stake on the record, what accrued before kept
        member = msgspec.structs.replace(
            member, earlier_dividends=old.accrued(state.dividend_index), dividends_taken=old.dividends_taken
        )
    state.set("members", e.person, member)
    if e.probation_until_ms <= state.time_ms:
        _on_record(state, PutOnRecord(e.person))
    else:
        state.set("probations", (e.probation_until_ms, e.person), 1)


def _on_record(state: CommuneState, e: PutOnRecord) -> None:
    m = state.tables["members"][e.person]
    state.delete("probations", (m.probation_until_ms, e.person))
    if m.current and m.record_index < 0:
        state.set("members", e.person, msgspec.structs.replace(m, record_index=state.dividend_index))
        state.set("meta", "on_record", state.meta("on_record", 0) + 1)


def _depart(state: CommuneState, e: Depart) -> None:
    m = state.tables["members"][e.person]
    m = msgspec.structs.replace(m, left_tick=state.next_tick(), left_height=state.height)
    state.delete("probations", (m.probation_until_ms, e.person))
    if m.record_index >= 0 and m.record_end < 0:
        m = msgspec.structs.replace(m, record_end=state.dividend_index)
        state.set("meta", "on_record", state.meta("on_record", 0) - 1)
    state.set("members", e.person, m)


def _dividend(state: CommuneState, e: PayDividend) -> None:
    """The index moves; the money moved by the Post the rules put before this effect."""
    if e.per_member:
        index = state.dividend_index + e.per_member
        state.set("meta", "dividend_index", index)
        state.set("credits", (DIVIDEND_SHARE, state.height), index)


def _take_dividend(state: CommuneState, e: TakeDividend) -> None:
    """Into the member's own account, outside their credit history: `dividends_through` counts it."""
    account = accounts.participant_account(e.person)
    state.set("balances", accounts.DIVIDENDS, state.balance(accounts.DIVIDENDS) + e.amount)
    state.set("balances", account, state.balance(account) - e.amount)
    m = state.tables["members"][e.person]
    state.set("members", e.person, msgspec.structs.replace(m, dividends_taken=m.dividends_taken + e.amount))


def _investor(state: CommuneState, e: RegisterInvestor) -> None:
    state.set("investors", e.person, Investor(e.name, state.height))


def _name(state: CommuneState, e: SetName) -> None:
    state.set("names", e.person, e.name)


def _enterprise(state: CommuneState, e: RegisterEnterprise) -> None:
    state.set("enterprises", e.enterprise, Enterprise(e.name, e.signers, e.k, state.height))


def _signers(state: CommuneState, e: ChangeSigners) -> None:
    ent = state.tables["enterprises"][e.enterprise]
    state.set("enterprises", e.enterprise, msgspec.structs.replace(ent, signers=e.signers, k=e.k))


def _expel(state: CommuneState, e: ExpelEnterprise) -> None:
    ent = state.tables["enterprises"][e.enterprise]
    state.set("enterprises", e.enterprise, msgspec.structs.replace(ent, expelled_height=state.height))


def _pending(state: CommuneState, e: OpenPending) -> None:
    state.set("pending", e.id, Pending(e.kind, e.account, e.amount, state.height, e.reference))


def _pending_closed(state: CommuneState, e: ClosePending) -> None:
    state.delete("pending", e.id)


def _spend(state: CommuneState, e: OpenSpend) -> None:
    state.set(
        "spends", e.id, Spend(e.enterprise, e.to, e.amount, (e.signer,), state.height, e.act, e.asset, e.memo, e.body)
    )


def _approve(state: CommuneState, e: ApproveSpend) -> None:
    s = state.tables["spends"][e.id]
    state.set("spends", e.id, msgspec.structs.replace(s, approvers=(*s.approvers, e.signer)))


def _spend_closed(state: CommuneState, e: CloseSpend) -> None:
    state.delete("spends", e.id)


def _proposal(state: CommuneState, e: OpenProposal) -> None:
    state.set(
        "proposals",
        e.id,
        Proposal(
            e.proposer,
            e.topic,
            e.motion,
            state.height,
            state.next_tick(),
            state.time_ms,
            e.deadline_ms,
            e.electorate,
            e.needed,
        ),
    )


def _vote(state: CommuneState, e: RecordVote) -> None:
    state.set("votes", (e.proposal, e.voter), e.choice)
    p = state.tables["proposals"][e.proposal]
    state.set(
        "proposals",
        e.proposal,
        msgspec.structs.replace(
            p, direct_yes=p.direct_yes + (e.choice == "yes"), direct_no=p.direct_no + (e.choice == "no")
        ),
    )


def _delegation(state: CommuneState, e: SetDelegation) -> None:
    if e.to:
        state.set("delegations", (e.delegator, e.topic), e.to)
    else:
        state.delete("delegations", (e.delegator, e.topic))


def _proposal_closed(state: CommuneState, e: CloseProposal) -> None:
    p = state.tables["proposals"][e.id]
    state.set(
        "proposals",
        e.id,
        msgspec.structs.replace(p, status=e.outcome, yes=e.yes, no=e.no, closed_height=state.height),
    )


def _charter(state: CommuneState, e: SetCharter) -> None:
    state.set("meta", "charter", encode(state.charter.with_change(e.parameter, e.value)))


def _stewards(state: CommuneState, e: SetStewards) -> None:
    state.set("meta", "stewards", list(e.stewards))


def _status(state: CommuneState, e: SetStatus) -> None:
    state.set("meta", "status", e.status)
    state.set("meta", "status_detail", e.detail)  # a merger: the other commune's id


def _offer(state: CommuneState, e: OpenOffer) -> None:
    state.set(
        "assets",
        e.id,
        Asset(
            e.requester,
            e.renter,
            e.description,
            e.price,
            e.rent,
            e.costs,
            e.lease_periods,
            e.term_periods,
            e.bonds,
            e.face_value,
            e.vendor_payee,
            e.valuation,
            e.deadline_ms,
            e.reserve_num,
            e.reserve_den,
            state.height,
            state=lifecycle.step(lifecycle.State.REQUESTED, lifecycle.Transition.OPEN_AUCTION).value,
        ),
    )


def _offer_withdrawn(state: CommuneState, e: OfferWithdrawn) -> None:
    _asset_step(state, e.id, lifecycle.Transition.WITHDRAW_REQUEST)


def _offer_retried(state: CommuneState, e: OfferRetried) -> None:
    _asset_step(state, e.id, lifecycle.Transition.RETRY_WITH_BETTER_OFFER)
    _asset_step(
        state,
        e.id,
        lifecycle.Transition.OPEN_AUCTION,
        rent=e.rent,
        costs=e.costs,
        lease_periods=e.lease_periods,
        term_periods=e.term_periods,
        bonds=e.bonds,
        face_value=e.face_value,
        deadline_ms=e.deadline_ms,
        reserve_num=e.reserve_num,
        reserve_den=e.reserve_den,
        opened_height=state.height,
    )


def _bid(state: CommuneState, e: PlaceBid) -> None:
    state.set("bids", e.id, PlacedBid(e.offer, e.bidder, e.quantity, e.rate_num, e.rate_den, state.next_tick()))


def _bid_withdrawn(state: CommuneState, e: CancelBid) -> None:
    b = state.tables["bids"][e.id]
    state.set("bids", e.id, msgspec.structs.replace(b, status="withdrawn"))


def _settle_asset(state: CommuneState, e: SettleAsset) -> None:
    asset = state.tables["assets"][e.asset]
    new_state = asset.state
    if e.outcome == "redeemed":
        new_state = lifecycle.step(lifecycle.State(asset.state), lifecycle.Transition.REDEEM).value
    state.set(
        "assets",
        e.asset,
        msgspec.structs.replace(
            asset,
            state=new_state,
            outstanding=e.outstanding,
            periods_left=e.periods_left,
            reserve=e.reserve,
            missed=e.missed,
        ),
    )


def _asset_step(state: CommuneState, aid: bytes, transition: lifecycle.Transition, **changes: object) -> None:
    asset = state.tables["assets"][aid]
    new_state = lifecycle.step(lifecycle.State(asset.state), transition).value
    state.set("assets", aid, msgspec.structs.replace(asset, state=new_state, **changes))


def _return(state: CommuneState, e: ReturnAsset) -> None:
    transition = {
        "default": lifecycle.Transition.MISS_PAYMENT_PAST_GRACE,
        "notice": lifecycle.Transition.GIVE_NOTICE,
        "lease_end": lifecycle.Transition.END_LEASE,
    }[e.reason]
    asset = state.tables["assets"][e.asset]
    if e.arrears:
        key = (asset.renter, e.asset)
        state.set("arrears", key, state.tables["arrears"].get(key, 0) + e.arrears)
    _asset_step(state, e.asset, transition, arrears=asset.arrears + e.arrears, notice=False, missed=0)


def _arrears_paid(state: CommuneState, e: PayArrears) -> None:
    key = (e.enterprise, e.asset)
    owed = state.tables["arrears"][key] - e.amount
    if owed:
        state.set("arrears", key, owed)
    else:
        state.delete("arrears", key)
    asset = state.tables["assets"][e.asset]
    state.set(
        "assets",
        e.asset,
        msgspec.structs.replace(
            asset,
            arrears=asset.arrears - e.amount,
            outstanding=e.outstanding,
            periods_left=e.periods_left,
            reserve=e.reserve,
        ),
    )


def _reletting(state: CommuneState, e: OpenReletting) -> None:
    _asset_step(
        state, e.asset, lifecycle.Transition.OPEN_RELETTING, relet_deadline_ms=e.deadline_ms, relet_round=e.round
    )


def _relet_bid(state: CommuneState, e: PlaceReletBid) -> None:
    round_ = state.tables["assets"][e.asset].relet_round
    state.set(
        "relet_bids",
        e.id,
        PlacedReletBid(e.asset, e.bidder, e.renter, e.rent, e.lease_periods, state.next_tick(), round_),
    )


def _relet(state: CommuneState, e: Relet) -> None:
    asset = state.tables["assets"][e.asset]
    transition = lifecycle.Transition.RELET if asset.outstanding else lifecycle.Transition.RELET_REDEEMED
    _asset_step(
        state,
        e.asset,
        transition,
        renter=e.renter,
        rent=e.rent,
        lease_periods=e.lease_periods,
        first_period=e.first_period,
        lease_end_period=e.first_period + e.lease_periods - 1,
        relet_round=0,
        relet_deadline_ms=0,
        missed=0,
    )


def _relet_failed(state: CommuneState, e: ReletFailed) -> None:
    _asset_step(state, e.asset, lifecycle.Transition.RELETTING_FAILED, relet_deadline_ms=0)
    if e.liquidate:
        _asset_step(state, e.asset, lifecycle.Transition.LIQUIDATE)


def _notice(state: CommuneState, e: NoticeGiven) -> None:
    asset = state.tables["assets"][e.asset]
    state.set("assets", e.asset, msgspec.structs.replace(asset, notice=True))


def _liquidated(state: CommuneState, e: FinishLiquidation) -> None:
    _asset_step(state, e.asset, lifecycle.Transition.FINISH_LIQUIDATION, outstanding=0, periods_left=0, reserve=0)
    for key in state.grouped("holdings", e.asset):
        state.delete("holdings", key)


def _settle_period(state: CommuneState, e: SettlePeriod) -> None:
    state.set("meta", "periods_settled", e.period)


def _clearing(state: CommuneState, e: ClearAuction) -> None:
    asset = state.tables["assets"][e.offer]
    for fill in e.fills:
        b = state.tables["bids"][fill.bid]
        status = "failed" if e.outcome == "failed" else "filled" if fill.bonds else "unfilled"
        state.set("bids", fill.bid, msgspec.structs.replace(b, status=status, filled=fill.bonds))
        if fill.bonds:
            key = (e.offer, b.bidder)
            state.set("holdings", key, state.tables["holdings"].get(key, 0) + fill.bonds)
    if e.outcome == "failed":
        new_state = lifecycle.step(lifecycle.State(asset.state), lifecycle.Transition.FAIL)
        state.set("assets", e.offer, msgspec.structs.replace(asset, state=new_state.value))
        return
    cleared = lifecycle.step(lifecycle.State(asset.state), lifecycle.Transition.CLEAR)
    rented = lifecycle.step(cleared, lifecycle.Transition.START_RENTAL)  # rule 12: the rental starts
    state.set(
        "assets",
        e.offer,
        msgspec.structs.replace(
            asset,
            state=rented.value,
            coupon_num=e.rate_num,
            coupon_den=e.rate_den,
            outstanding=asset.price,
            payment=e.payment,
            periods_left=asset.term_periods,
            first_period=e.first_period,
            lease_end_period=e.first_period + asset.lease_periods - 1,
        ),
    )


_HANDLERS = {
    Post: _post,
    Refuse: _refuse,
    Freeze: _freeze,
    RecordAttestation: _attestation,
    Admit: _admit,
    Depart: _depart,
    RegisterInvestor: _investor,
    SetName: _name,
    RegisterEnterprise: _enterprise,
    ExpelEnterprise: _expel,
    ChangeSigners: _signers,
    OpenPending: _pending,
    ClosePending: _pending_closed,
    OpenSpend: _spend,
    ApproveSpend: _approve,
    CloseSpend: _spend_closed,
    OpenProposal: _proposal,
    RecordVote: _vote,
    SetDelegation: _delegation,
    CloseProposal: _proposal_closed,
    SetCharter: _charter,
    SetStewards: _stewards,
    SetStatus: _status,
    OpenOffer: _offer,
    OfferWithdrawn: _offer_withdrawn,
    OfferRetried: _offer_retried,
    PlaceBid: _bid,
    CancelBid: _bid_withdrawn,
    ClearAuction: _clearing,
    SettleAsset: _settle_asset,
    SettlePeriod: _settle_period,
    PutOnRecord: _on_record,
    PayDividend: _dividend,
    TakeDividend: _take_dividend,
    ReturnAsset: _return,
    OpenReletting: _reletting,
    PlaceReletBid: _relet_bid,
    Relet: _relet,
    ReletFailed: _relet_failed,
    NoticeGiven: _notice,
    PayArrears: _arrears_paid,
    FinishLiquidation: _liquidated,
}
