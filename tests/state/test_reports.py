"""Reports on a small commune built by hand: every figure checked against arithmetic done here.

The commune (all amounts in EUR cents; one block a day from 2026-01-01, the genesis):
  genesis   founders alice and bob; enterprise Bakery, signed by alice; alice is steward
  height 1  alice attests that carol works at Bakery                       (2026-01-02)
  height 2  carol accepts: admitted, on probation 90 days; dave registers as investor
  height 3  deposit notices: alice 500.00, bob 200.00, carol 100.00, dave 1,000.00,
            and alice for Bakery 300.00
  height 4  the steward confirms every notice but carol's
  height 5  alice pays carol 120.50 ("rent share"); bob asks to withdraw 50.00
  height 6  carol asks to withdraw 20.00
  height 7  the steward confirms the bank paid bob's withdrawal; bob leaves  (2026-01-08)
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import msgspec
import pytest

from commune.core.errors import CommuneError
from commune.log import bodies as b
from commune.log.entry import Entry
from commune.rules import accounts
from commune.rules.charter import DAY_MS
from commune.rules.invariants import bank_equation, violations
from commune.sim.world import World
from commune.state import reports
from commune.state.reports import (
    BalanceSheet,
    Ledger,
    MemberStatement,
    NotAParticipant,
    ReportError,
    UnknownAccount,
    balance_sheet,
    ledger,
    member_statement,
    render_balance_sheet,
    render_ledger,
    render_member_statement,
)
from commune.state.store import StateStore

# Every figure below, by hand (cents).
ALICE = 50_000 - 12_050  # deposit 500.00, paid carol 120.50 -> 379.50
BOB = 20_000 - 5_000  # deposit 200.00, withdrew 50.00 -> 150.00
CAROL = 12_050 - 2_000  # from alice 120.50, withdrew 20.00 -> 100.50 (her 100.00 deposit not confirmed)
DAVE = 100_000  # deposit 1,000.00
BAKERY = 30_000  # alice's deposit for Bakery, 300.00
AWAITING = 2_000  # carol's withdrawal, not paid yet (bob's 50.00 was paid)
BANK = 50_000 + 20_000 + 100_000 + 30_000 - 5_000  # confirmed deposits 2,000.00 less bob's paid 50.00 = 1,950.00
MEMBERS = ALICE + CAROL  # present members: 379.50 + 100.50 = 480.00
CLAIMS = MEMBERS + BOB + DAVE + BAKERY + AWAITING  # 480.00 + 150 + 1,000 + 300 + 20 = 1,950.00
OWN_FUNDS = 0  # nothing has been earned or spent by the commune yet


class Commune:
    def __init__(self, world: World) -> None:
        self.world = world
        self.store: StateStore = world.nodes[world.steward].state
        self.sheets: list[BalanceSheet] = [balance_sheet(self.store)]
        self.bakery = world.enterprise_ids["Bakery"]
        self.carol_deposit: Entry | None = None
        self.carol_withdrawal: Entry | None = None

    def pub(self, name: str) -> bytes:
        return self.world.pub(name)

    def block(self) -> None:
        self.world.clock.advance(DAY_MS)
        self.world.block()
        assert violations(self.store.state) == []
        self.sheets.append(balance_sheet(self.store))


@pytest.fixture(scope="module")
def commune(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Commune]:
    world = World(tmp_path_factory.mktemp("reports"), ["alice", "bob"], enterprises={"Bakery": ["alice"]})
    c = Commune(world)
    act = world.act
    attestation = act("alice", b.Attest(c.bakery, c.pub("carol")))
    c.block()  # 1
    act("carol", b.Accept(attestation.id))
    act("dave", b.RegisterInvestor("Dave Investor"))
    c.block()  # 2
    notices = [
        (act("alice", b.Deposit(c.pub("alice"), 50_000, "SEPA 1")), 50_000),
        (act("bob", b.Deposit(c.pub("bob"), 20_000)), 20_000),
        (act("dave", b.Deposit(c.pub("dave"), 100_000)), 100_000),
        (act("alice", b.Deposit(c.bakery, 30_000)), 30_000),
    ]
    c.carol_deposit = act("carol", b.Deposit(c.pub("carol"), 10_000))
    c.block()  # 3
    for notice, amount in notices:
        act("alice", b.ConfirmDeposit(notice.id, amount))
    c.block()  # 4
    act("alice", b.Transfer(c.pub("carol"), 12_050, "rent share"))
    bob_withdrawal = act("bob", b.Withdraw(5_000, "DE02 1203 0000 0000 2020 51"))
    c.block()  # 5
    c.carol_withdrawal = act("carol", b.Withdraw(2_000, "DE02 1203 0000 0000 2020 52"))
    c.block()  # 6
    act("alice", b.ConfirmPayment(bob_withdrawal.id, "bank ref 77"))
    act("bob", b.Leave())
    c.block()  # 7
    yield c
    world.close()


# -- the balance sheet ---------------------------------------------------------------------


def test_balance_sheet_figures(commune: Commune) -> None:
    sheet = balance_sheet(commune.store)
    assert (sheet.commune, sheet.currency, sheet.height, sheet.date) == ("Test Commune", "EUR", 7, "2026-01-08")
    assert sheet.commune_id == commune.world.commune.hex()
    assert sheet.bank == BANK == 195_000
    groups = {g.kind: g for g in sheet.claims}
    assert list(groups) == ["members", "former_members", "investors", "enterprises", "withdrawals", "escrow"]
    assert groups["members"].total == MEMBERS == 48_000
    assert groups["former_members"].total == BOB == 15_000
    assert groups["investors"].total == DAVE == 100_000
    assert groups["enterprises"].total == BAKERY == 30_000
    assert groups["withdrawals"].total == AWAITING == 2_000
    assert groups["escrow"].total == 0
    assert sheet.claims_total == CLAIMS == 195_000
    assert [(f.account, f.amount) for f in sheet.own_funds] == [(a, 0) for a in accounts.OWN_FUNDS]
    assert sheet.own_funds_total == OWN_FUNDS
    # rule 22: bank = claims + own funds; 1,950.00 = 1,950.00 + 0.00
    assert sheet.bank == sheet.claims_total + sheet.own_funds_total
    assert sheet.difference == 0 and sheet.holds
    # the same figures as the invariant the rules keep
    assert bank_equation(commune.store.state) == (sheet.bank, sheet.claims_total, sheet.own_funds_total)


def test_balance_sheet_holders(commune: Commune) -> None:
    groups = {g.kind: g for g in balance_sheet(commune.store).claims}
    carol = commune.pub("carol").hex()[:12]  # not a founder or investor: shown by a short hex
    assert [(h.name, h.amount) for h in groups["members"].holders] == sorted([("alice", ALICE), (carol, CAROL)])
    assert [(h.name, h.amount) for h in groups["former_members"].holders] == [("bob", BOB)]
    assert [(h.name, h.amount) for h in groups["investors"].holders] == [("Dave Investor", DAVE)]
    assert [(h.name, h.amount) for h in groups["enterprises"].holders] == [("Bakery (enterprise)", BAKERY)]
    assert [(h.account, h.amount) for h in groups["withdrawals"].holders] == [
        (accounts.participant_account(commune.pub("carol")), AWAITING)
    ]
    for g in groups.values():
        if g.kind != "withdrawals":
            assert sum(h.amount for h in g.holders) == g.total


def test_balance_sheet_holds_after_every_block(commune: Commune) -> None:
    assert [s.height for s in commune.sheets] == list(range(8))
    for sheet in commune.sheets:
        assert sheet.holds and sheet.bank == sheet.claims_total + sheet.own_funds_total
    # the bank by height: nothing until the confirmations at 4 (2,000.00), less 50.00 paid at 7
    assert [s.bank for s in commune.sheets] == [0, 0, 0, 0, 200_000, 200_000, 200_000, 195_000]
    # withdrawals owed: bob's 50.00 from 5, carol's 20.00 from 6, bob's paid at 7
    owed = [next(g.total for g in s.claims if g.kind == "withdrawals") for s in commune.sheets]
    assert owed == [0, 0, 0, 0, 0, 5_000, 7_000, 2_000]
    # bob is a member until he leaves at 7, then a former member
    former = [next(g.total for g in s.claims if g.kind == "former_members") for s in commune.sheets]
    assert former == [0, 0, 0, 0, 0, 0, 0, BOB]


def test_balance_sheet_text(commune: Commune) -> None:
    text = render_balance_sheet(balance_sheet(commune.store))
    assert "Balance sheet of Test Commune" in text
    assert "at height 7 (2026-01-08); amounts in EUR" in text
    lines = text.splitlines()

    def row(label: str) -> str:
        return next(line for line in lines if line.strip().startswith(label))

    assert row("Bank").endswith("1,950.00")
    assert row("Members").endswith("480.00")
    assert row("Former members").endswith("150.00")
    assert row("Investors").endswith("1,000.00")
    assert row("Enterprises").endswith("300.00")
    assert row("Withdrawals awaiting payment").endswith("20.00")
    assert row("Total claims").endswith("1,950.00")
    assert row("Total own funds").endswith("0.00")
    assert "Check: bank 1,950.00 = claims 1,950.00 + own funds 0.00: holds" in text
    # amounts right-aligned in one column
    amount_lines = [
        line for line in lines if line[:1] in (" ", "B", "C") and line[-1:].isdigit() and "Check" not in line
    ]
    assert len({len(line) for line in amount_lines}) == 1
    detail = render_balance_sheet(balance_sheet(commune.store), detail=True)
    assert any(line.strip().startswith("Dave Investor") and line.endswith("1,000.00") for line in detail.splitlines())
    assert "Dave Investor" not in text


def test_balance_sheet_text_says_when_it_does_not_hold(commune: Commune) -> None:
    sheet = balance_sheet(commune.store)
    off = msgspec.structs.replace(sheet, bank=sheet.bank + 1, difference=1, holds=False)
    assert "DOES NOT HOLD (off by 0.01)" in render_balance_sheet(off)


def test_balance_sheet_at_genesis(tmp_path) -> None:
    world = World(tmp_path, ["alice"])
    try:
        sheet = balance_sheet(world.nodes["alice"].state)
        assert (sheet.height, sheet.date, sheet.bank, sheet.claims_total, sheet.holds) == (0, "2026-01-01", 0, 0, True)
        assert sheet.claims[0].holders == ()  # alice has no money yet: no holding shown
    finally:
        world.close()


# -- member statements ---------------------------------------------------------------------


def test_statement_of_a_founder(commune: Commune) -> None:
    st = member_statement(commune.store, commune.pub("alice"))
    assert (st.name, st.role, st.founder, st.investor) == ("alice", "member", True, False)
    assert (st.enterprise, st.enterprise_id) == ("Bakery", commune.bakery.hex())
    assert (st.admitted_height, st.probation_until, st.on_probation, st.voting) == (0, "2026-01-01", False, True)
    assert st.balance == ALICE == 37_950
    assert st.pending_deposits == () and st.pending_withdrawals == ()
    carol = commune.pub("carol").hex()[:12]
    assert [(m.height, m.date, m.memo, m.counterparty, m.amount_in, m.amount_out, m.balance) for m in st.movements] == [
        (4, "2026-01-05", "deposit: SEPA 1", "bank", 50_000, 0, 50_000),
        (5, "2026-01-06", "rent share", carol, 0, 12_050, 37_950),  # 500.00 - 120.50
    ]
    # her deposit for Bakery went to Bakery's account, not hers
    assert all(m.amount_in != 30_000 for m in st.movements)


def test_statement_of_a_member_on_probation(commune: Commune) -> None:
    st = member_statement(commune.store, commune.pub("carol").hex())  # a key may be given as hex
    assert (st.role, st.founder, st.enterprise, st.admitted_height) == ("member", False, "Bakery", 2)
    # admitted by block 2 on 2026-01-03; + 90 days: 28 to Jan 31, 28 of Feb, 31 of Mar, 3 of Apr
    assert (st.probation_until, st.on_probation, st.voting) == ("2026-04-03", True, False)
    assert st.balance == CAROL == 10_050
    assert [(d.id, d.amount, d.height) for d in st.pending_deposits] == [(commune.carol_deposit.id.hex(), 10_000, 3)]
    assert [(w.id, w.amount, w.height) for w in st.pending_withdrawals] == [
        (commune.carol_withdrawal.id.hex(), 2_000, 6)
    ]
    assert [(m.height, m.counterparty, m.amount_in, m.amount_out, m.balance) for m in st.movements] == [
        (5, "alice", 12_050, 0, 12_050),
        (6, "withdrawals", 0, 2_000, 10_050),  # 120.50 - 20.00
    ]


def test_statement_of_a_former_member_and_an_investor(commune: Commune) -> None:
    bob = member_statement(commune.store, commune.pub("bob"))
    assert (bob.role, bob.founder, bob.enterprise, bob.voting, bob.on_probation) == (
        "former member",
        True,
        None,
        False,
        False,
    )
    assert bob.balance == BOB == 15_000  # leaving keeps the account his
    assert [(m.memo, m.amount_in, m.amount_out, m.balance) for m in bob.movements] == [
        ("deposit", 20_000, 0, 20_000),
        ("withdrawal to DE02 1203 0000 0000 2020 51", 0, 5_000, 15_000),  # paid at 7, but debited when asked, at 5
    ]
    dave = member_statement(commune.store, commune.pub("dave"))
    assert (dave.name, dave.role, dave.investor, dave.admitted_height, dave.probation_until, dave.voting) == (
        "Dave Investor",
        "investor",
        True,
        None,
        None,
        False,
    )
    assert dave.balance == DAVE
    assert [(m.amount_in, m.balance) for m in dave.movements] == [(100_000, 100_000)]


def test_statement_running_balance_ends_at_the_balance(commune: Commune) -> None:
    for name in ("alice", "bob", "carol", "dave"):
        st = member_statement(commune.store, commune.pub(name))
        assert st.movements[-1].balance == st.balance
        assert sum(m.amount_in - m.amount_out for m in st.movements) == st.balance


def test_statement_text(commune: Commune) -> None:
    text = render_member_statement(member_statement(commune.store, commune.pub("carol")))
    carol = commune.pub("carol").hex()
    assert f"Statement for {carol[:12]}" in text
    assert f"Key         {carol}" in text
    assert "Probation   until 2026-04-03" in text
    assert "Votes       not yet: on probation" in text
    assert "Balance     100.50 EUR" in text
    assert "Pending deposits (1)" in text and "Pending withdrawals (1)" in text
    lines = text.splitlines()
    movement = next(line for line in lines if "rent share" in line)
    assert movement.split()[-2:] == ["120.50", "120.50"]  # in, balance
    last = next(line for line in lines if line.strip().startswith("6 ") and "withdrawal" in line)
    assert last.split()[-2:] == ["20.00", "100.50"]  # out, balance
    table = lines[lines.index("Movements (2)") + 1 :]
    assert len({len(line) for line in table}) == 1  # the balance column lines up
    alice = render_member_statement(member_statement(commune.store, commune.pub("alice")))
    assert "Votes       yes" in alice and "Probation   ended 2026-01-01" in alice
    assert "Pending deposits (none)" in alice


def test_statement_of_a_stranger_is_a_clear_error(commune: Commune) -> None:
    stranger = commune.world.pub("zed")
    with pytest.raises(NotAParticipant) as caught:
        member_statement(commune.store, stranger)
    err = caught.value
    assert isinstance(err, CommuneError) and err.reason == "not_a_participant"
    assert stranger.hex()[:12] in err.message
    assert "is not a member, former member or investor of Test Commune" in err.message
    assert "joining" in err.message and "registering as an investor" in err.message
    with pytest.raises(NotAParticipant, match="is the enterprise 'Bakery', not a person"):
        member_statement(commune.store, commune.bakery)
    with pytest.raises(NotAParticipant, match="64 hex digits") as bad:
        member_statement(commune.store, "not hex")
    assert bad.value.reason == "bad_key"
    with pytest.raises(NotAParticipant, match="32 bytes"):
        member_statement(commune.store, stranger[:16])


# -- the ledger ----------------------------------------------------------------------------


def test_ledger_postings(commune: Commune) -> None:
    book = ledger(commune.store)
    p = accounts.participant_account
    alice, bob, carol, dave = (p(commune.pub(n)) for n in ("alice", "bob", "carol", "dave"))
    bakery = accounts.enterprise_account(commune.bakery)
    assert book.postings() == [
        (4, 0, "bank", 50_000, "deposit: SEPA 1"),
        (4, 0, alice, -50_000, "deposit: SEPA 1"),
        (4, 1, "bank", 20_000, "deposit"),
        (4, 1, bob, -20_000, "deposit"),
        (4, 2, "bank", 100_000, "deposit"),
        (4, 2, dave, -100_000, "deposit"),
        (4, 3, "bank", 30_000, "deposit"),
        (4, 3, bakery, -30_000, "deposit"),
        (5, 0, alice, 12_050, "rent share"),
        (5, 0, carol, -12_050, "rent share"),
        (5, 1, bob, 5_000, "withdrawal to DE02 1203 0000 0000 2020 51"),
        (5, 1, "withdrawals", -5_000, "withdrawal to DE02 1203 0000 0000 2020 51"),
        (6, 0, carol, 2_000, "withdrawal to DE02 1203 0000 0000 2020 52"),
        (6, 0, "withdrawals", -2_000, "withdrawal to DE02 1203 0000 0000 2020 52"),
        (7, 0, "withdrawals", 5_000, "withdrawal paid: bank ref 77"),
        (7, 0, "bank", -5_000, "withdrawal paid: bank ref 77"),
    ]
    assert book.balanced and len(book.transactions) == 8
    for t in book.transactions:
        assert sum(line.amount for line in t.lines) == 0
    # summing the ledger by account gives every balance the state holds
    totals: dict[str, int] = {}
    for _h, _t, account, amount, _m in book.postings():
        totals[account] = totals.get(account, 0) + amount
    assert {a: v for a, v in totals.items() if v} == {
        a: v for a, v in commune.store.state.tables["balances"].items() if v
    }
    assert totals["bank"] == BANK
    assert [t.date for t in book.transactions][::4] == ["2026-01-05", "2026-01-06"]


def test_ledger_of_one_account_keeps_whole_transactions(commune: Commune) -> None:
    book = ledger(commune.store, "withdrawals")
    assert [(t.height, t.txn, t.memo) for t in book.transactions] == [
        (5, 1, "withdrawal to DE02 1203 0000 0000 2020 51"),
        (6, 0, "withdrawal to DE02 1203 0000 0000 2020 52"),
        (7, 0, "withdrawal paid: bank ref 77"),
    ]
    assert book.balanced and all(len(t.lines) == 2 for t in book.transactions)
    # what withdrawals owes: 50.00 + 20.00 asked, 50.00 paid -> 20.00 (a claim: negative in the ledger)
    assert sum(line.amount for t in book.transactions for line in t.lines if line.account == "withdrawals") == -AWAITING
    later = ledger(commune.store, "withdrawals", since_height=6)
    assert [t.height for t in later.transactions] == [6, 7] and later.since_height == 6
    carol = ledger(commune.store, accounts.participant_account(commune.pub("carol")))
    assert [t.height for t in carol.transactions] == [5, 6]
    assert carol.account_name == commune.pub("carol").hex()[:12]
    assert ledger(commune.store, since_height=8).transactions == ()


def test_ledger_refuses_an_unknown_account(commune: Commune) -> None:
    with pytest.raises(UnknownAccount, match="'cash' is not an account"):
        ledger(commune.store, "cash")
    with pytest.raises(UnknownAccount):
        ledger(commune.store, "p:zz")
    with pytest.raises(ReportError, match="a height is 0 or more"):
        ledger(commune.store, since_height=-1)


def test_ledger_text(commune: Commune) -> None:
    text = render_ledger(ledger(commune.store))
    assert "Ledger of Test Commune, at height 7" in text
    assert "2026-01-06  height 5 #0  rent share" in text
    lines = text.splitlines()
    dave = lines.index(next(line for line in lines if line.strip().startswith("Dave Investor")))
    assert lines[dave].split()[-1] == "-1,000.00" and lines[dave - 1].split()[-1] == "1,000.00"
    assert lines[-1] == "8 transactions; each sums to zero"
    posting_lines = [line for line in lines if line.startswith("    ")]
    assert len(posting_lines) == 16 and len({len(line) for line in posting_lines}) == 1
    one = render_ledger(ledger(commune.store, accounts.enterprise_account(commune.bakery)))
    assert "Ledger of Test Commune, account Bakery (enterprise), at height 7" in one
    assert "Bakery (enterprise)  -300.00" in one
    assert one.splitlines()[-1] == "1 transaction; each sums to zero"
    assert "no transactions" in render_ledger(ledger(commune.store, since_height=8))


# -- as data -------------------------------------------------------------------------------


def test_reports_round_trip_through_json(commune: Commune) -> None:
    made = [
        balance_sheet(commune.store),
        member_statement(commune.store, commune.pub("carol")),
        ledger(commune.store),
        ledger(commune.store, "bank", since_height=5),
    ]
    for report in made:
        data = msgspec.json.encode(report)
        assert msgspec.json.decode(data, type=type(report)) == report
    st = json.loads(msgspec.json.encode(made[1]))
    assert st["key"] == commune.pub("carol").hex()  # keys as hex, not base64
    assert st["pending_deposits"][0]["id"] == commune.carol_deposit.id.hex()
    assert st["balance"] == CAROL and isinstance(st["balance"], int)
    sheet = json.loads(msgspec.json.encode(made[0]))
    assert sheet["bank"] == BANK and sheet["holds"] is True
    assert sheet["claims"][0]["kind"] == "members"


def test_reports_are_immutable(commune: Commune) -> None:
    made = (balance_sheet(commune.store), member_statement(commune.store, commune.pub("alice")), ledger(commune.store))
    assert [type(r) for r in made] == [BalanceSheet, MemberStatement, Ledger]
    for report in made:
        with pytest.raises(AttributeError):
            report.height = 0  # type: ignore[misc]


def test_reports_read_the_same_after_a_restart(commune: Commune) -> None:
    store = commune.store
    before = (
        balance_sheet(store),
        member_statement(store, commune.pub("carol")),
        member_statement(store, commune.pub("bob")),
        ledger(store),
    )
    with StateStore(store.path) as reopened:  # the views as loaded from SQLite
        after = (
            balance_sheet(reopened),
            member_statement(reopened, commune.pub("carol")),
            member_statement(reopened, commune.pub("bob")),
            ledger(reopened),
        )
    assert after == before


def test_iso_date_is_exact_utc() -> None:
    assert reports.iso_date(0) == "1970-01-01"
    assert reports.iso_date(1_767_225_600_000 - 1) == "2025-12-31"  # one ms before 2026-01-01T00:00Z
    assert reports.iso_date(1_767_225_600_000) == "2026-01-01"
