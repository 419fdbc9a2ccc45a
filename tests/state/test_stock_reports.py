"""The common stock's reports on a commune built through the chain, every figure worked by hand.

The commune (amounts in EUR cents; the charter prepays principal from the surplus at once, with
no series reserve, and puts new members on probation for 150 days; a period is a month of
30.4375 days from the genesis, 2026-01-01T00:00Z):

  founders ana (signs for the bakery), ben (signs for the workshop) and cy (no enterprise)
  dee and eve are attested by ben as workshop workers and admitted on probation; 150 days
  ends inside period 5 (4 x 30.4375 = 121.75 < 150 < 152.1875 = 5 x 30.4375), so both go on
  the dividend record when period 5 is settled
  ana deposits 300.00, cy 100.00, ben 1,000.00 for the workshop
  ben offers "a dough mixer" for the workshop: P = 300.00 in 3 bonds of 100.00, T = 3 months,
  L = 12, R = 110.00, c = 6.00; ana bids 2 bonds and cy 1 at 6 % a year; the auction clears at
  6 % (0.5 % a month, r = 1/200) inside period 1, so rent is due from period 2
  ben pays 110.00 in periods 2, 3, 4 and 5, each settled by the first block after its end;
  then 220.00 in one payment, and no block is made until period 7 has ended: one block takes
  the payment in and settles periods 6 and 7
  in period 8 (in progress) dee spends 10.00 she holds only as dividends, and ana pays cy 1.00
  with the memo "rent" (a transfer, not rent)

The level payment: A = 300.00 x r / (1 - (1 + r)^-3) = 101.0017 rounded up to 101.01.

  period 2: interest floor(300.00 x 0.5 %) = 1.50, principal 101.01 - 1.50 = 99.51;
            surplus 110.00 - 6.00 - 101.01 = 2.99 prepays: 300.00 - 99.51 - 2.99 = 197.50 owed
  period 3: interest floor(0.9875) = 0.98, principal 100.03 -> 97.47; prepay 2.99 -> 94.48
            (interest on 94.48 is 0.47, 94.48 + 0.47 = 94.95 < 101.01: one installment left)
  period 4: the last installment, 94.48 + 0.47 = 94.95, closes the series: redeemed; the
            surplus 110.00 - 6.00 - 94.95 = 9.05 goes to the dividend pool:
            9.05 / 3 members = 3.01 each (9.03), 0.02 carried
  period 5: the redeemed asset's net rent 104.00 to the pool: (104.00 + 0.02) / 5 = 20.80 each
            (104.00), 0.02 carried; periods 6 and 7 the same
  the dividend index: 3.01 + 3 x 20.80 = 65.41

Debt service to the holders, 2 : 1 (ana : cy): 101.01 -> 67.34 : 33.67; 2.99 -> 1.99 : 1.00
(exact 1.99333 : 0.99667, the leftover cent to the larger remainder, cy's); 94.95 -> 63.30 : 31.65.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import msgspec
import pytest

from commune.core.rates import format_percent
from commune.log import bodies as b
from commune.rules import accounts
from commune.rules.charter import DAY_MS, MONTH_MS, Charter
from commune.rules.invariants import violations
from commune.sim.world import World
from commune.state import reports
from commune.state.reports import (
    BondRegister,
    DividendHistory,
    IncomeStatement,
    MemberStatement,
    NetPosition,
    ReportError,
    StockRegister,
    UnknownAccount,
    UnknownAsset,
    balance_sheet,
    bond_register,
    dividend_history,
    income_statement,
    ledger,
    member_statement,
    render_bond_register,
    render_dividend_history,
    render_income_statement,
    render_member_statement,
    render_stock_register,
    stock_register,
)
from commune.state.store import StateStore

MIXER = dict(
    description="a dough mixer",
    price=300_00,
    rent=110_00,
    costs=6_00,
    lease_periods=12,
    term_periods=3,
    bonds=3,
    vendor_payee="Mixer Works",
    valuation=bytes(range(32)),
)

PAYMENT = 101_01  # the level debt service
PER_MEMBER = {1: 0, 2: 0, 3: 0, 4: 3_01, 5: 20_80, 6: 20_80, 7: 20_80}
INDEX = 3_01 + 3 * 20_80  # 65.41
DEE_ACCRUED = INDEX - 3_01  # on the record from period 5: 62.40


@dataclass
class Commune:
    world: World
    store: StateStore
    asset: bytes = b""
    #: Reports taken along the way: name -> report.
    seen: dict[str, Any] = field(default_factory=dict)
    #: The height of the block that settled each period, and of other moments.
    settled_at: dict[int, int] = field(default_factory=dict)
    heights: dict[str, int] = field(default_factory=dict)

    def pub(self, name: str) -> bytes:
        return self.world.pub(name)

    def act(self, person: str, body: Any, refs: tuple[bytes, ...] = ()) -> b.Entry:
        self.world.clock.advance(1_000)
        return self.world.act(person, body, refs)

    def block(self) -> int:
        self.world.clock.advance(1_000)
        self.world.block()
        assert violations(self.store.state) == []
        return self.store.height

    def past_end_of(self, period: int) -> int:
        """Move the clock just past the end of `period` and make a block (it settles the period)."""
        self.world.clock.set(self.world.genesis.time_ms + period * MONTH_MS + 1)
        height = self.block()
        assert self.store.state.meta("periods_settled") == period
        self.settled_at[period] = height
        return height


@pytest.fixture(scope="module")
def commune(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Commune]:
    charter = Charter(name="Test Commune", currency="EUR", reserve_periods=0, probation_days=150)
    world = World(
        tmp_path_factory.mktemp("stock_reports"),
        ["ana", "ben", "cy"],
        enterprises={"bakery": ["ana"], "workshop": ["ben"]},
        steward="ana",
        charter=charter,
    )
    c = Commune(world, world.nodes["ana"].state)
    workshop = world.enterprise_ids["workshop"]
    for person in ("dee", "eve"):
        attestation = c.act("ben", b.Attest(workshop, c.pub(person)))
        c.block()
        c.act(person, b.Accept(attestation.id), (attestation.id,))
        c.heights[f"{person} admitted"] = c.block()
        c.act(person, b.Profile(person.capitalize()))
    for person, amount, account in (("ana", 300_00, None), ("cy", 100_00, None), ("ben", 1_000_00, workshop)):
        notice = c.act(person, b.Deposit(account or c.pub(person), amount))
        c.block()
        c.act("ana", b.ConfirmDeposit(notice.id, amount), (notice.id,))
        c.block()
    offer = c.act("ben", b.Offer(renter=workshop, deadline_ms=world.clock.now_ms() + DAY_MS, **MIXER))
    c.block()
    c.asset = offer.id
    c.seen["register_offered"] = stock_register(c.store)
    c.act("ana", b.Bid(offer.id, 2, 3, 50))
    c.act("cy", b.Bid(offer.id, 1, 3, 50))
    c.block()
    world.clock.advance(2 * DAY_MS)
    c.heights["cleared"] = c.block()  # clears the auction
    c.seen["bonds_cleared"] = bond_register(c.store, c.asset)
    c.seen["sheet_cleared"] = balance_sheet(c.store)
    c.past_end_of(1)
    for period in (2, 3, 4, 5):
        c.act("ben", b.PayRent(c.asset, 110_00))
        c.past_end_of(period)
        c.seen[f"bonds_{period}"] = bond_register(c.store, c.asset)
        c.seen[f"dee_{period}"] = member_statement(c.store, c.pub("dee"))
        c.seen[f"ben_{period}"] = member_statement(c.store, c.pub("ben"))
    c.act("ben", b.PayRent(c.asset, 220_00))
    c.world.clock.set(world.genesis.time_ms + 7 * MONTH_MS + 1)  # no block in period 6
    height = c.block()
    c.settled_at[6] = c.settled_at[7] = height
    c.act("dee", b.Transfer(c.pub("ben"), 10_00, "for flour"))
    c.act("ana", b.Transfer(c.pub("cy"), 1_00, "rent"))
    c.heights["end"] = c.block()
    yield c
    world.close()


# -- the common stock register -------------------------------------------------------------


def test_stock_register_at_the_end(commune: Commune) -> None:
    reg = stock_register(commune.store)
    assert (reg.commune, reg.currency, reg.height, reg.periods_settled) == ("Test Commune", "EUR", 20, 7)
    assert reg.height == commune.heights["end"]
    (a,) = reg.assets
    assert (a.asset, a.description, a.state) == (commune.asset.hex(), "a dough mixer", "redeemed")
    assert (a.requester, a.requester_name) == (commune.pub("ben").hex(), "ben")
    assert (a.renter, a.renter_name) == (commune.world.enterprise_ids["workshop"].hex(), "workshop")
    assert (a.price, a.rent, a.costs, a.lease_periods, a.term_periods) == (300_00, 110_00, 6_00, 12, 3)
    assert (a.bonds, a.face_value) == (3, 100_00)  # 3 x 100.00 = 300.00
    assert (a.coupon, a.coupon_num, a.coupon_den) == ("6.0000%", 3, 50)
    assert a.payment == PAYMENT
    # redeemed in period 4: nothing owed, no installments left, the reserve (none) released
    assert (a.outstanding, a.periods_left, a.reserve, a.missed, a.arrears, a.notice) == (0, 0, 0, 0, 0, False)
    # rent from period 2 (the auction cleared inside period 1); a lease of 12: periods 2 to 13
    assert (a.first_period, a.lease_end_period) == (2, 13)
    assert (reg.rent_total, reg.outstanding_total, reg.reserve_total, reg.arrears_total) == (110_00, 0, 0, 0)


def test_stock_register_with_its_auction_open(commune: Commune) -> None:
    reg = commune.seen["register_offered"]
    (a,) = reg.assets
    assert (a.state, a.coupon, a.coupon_num, a.coupon_den, a.payment, a.outstanding) == (
        "auction_open",
        None,
        0,
        1,
        0,
        0,
    )
    assert reg.rent_total == 0  # not rented yet
    # The reserve rate r_max: the monthly rate at which 3 payments of R - c = 104.00 repay
    # 300.00 (rule 8); shown as an annual rate, 12 x r_max.
    r = Fraction(commune.store.state.tables["assets"][commune.asset].reserve_num) / Fraction(
        commune.store.state.tables["assets"][commune.asset].reserve_den
    )
    assert abs(104_00 * (1 - (1 + r) ** -3) / r - 300_00) < Fraction(1, 100)  # to a hundredth of a cent
    assert a.reserve_rate == format_percent(12 * r)
    assert Fraction(23, 100) < 12 * r < Fraction(24, 100)  # about 23.5 % a year


def test_stock_register_text(commune: Commune) -> None:
    text = render_stock_register(stock_register(commune.store))
    assert "Common stock of Test Commune" in text
    assert "at height 20 (2026-08-02), 7 periods settled; amounts in EUR" in text
    row = next(line for line in text.splitlines() if "a dough mixer" in line)
    assert row.split()[:2] == [commune.asset.hex()[:12], "a"]
    for cell in ("redeemed", "workshop", "110.00", "6.00", "3 x 100.00", "6.0000%"):
        assert cell in row
    assert row.split()[-4:] == ["0.00", "0", "0.00", "0"]  # outstanding, left, reserve, missed
    assert "1 asset; rent a period 110.00, principal outstanding 0.00, series reserves 0.00" in text
    offered = render_stock_register(commune.seen["register_offered"])
    reserve = commune.seen["register_offered"].assets[0].reserve_rate
    assert "auction open" in offered and f"(max {reserve})" in offered


# -- the bond register ---------------------------------------------------------------------


def _holders(commune: Commune, reg: BondRegister) -> dict[str, tuple[int, int, int]]:
    assert [h.name for h in reg.holders] == [
        n for _, n in sorted((commune.pub(n), n) for n in ("ana", "cy"))
    ]  # in key order, as the chain splits debt service
    return {h.name: (h.bonds, h.principal, h.next_payment) for h in reg.holders}


def test_bond_register_when_the_auction_cleared(commune: Commune) -> None:
    reg = commune.seen["bonds_cleared"]
    assert (reg.state, reg.bonds, reg.face_value, reg.payment, reg.outstanding, reg.periods_left) == (
        "rented",
        3,
        100_00,
        PAYMENT,
        300_00,
        3,
    )
    assert (reg.coupon, reg.coupon_num, reg.coupon_den) == ("6.0000%", 3, 50)
    assert (reg.periodic_coupon, reg.periodic_num, reg.periodic_den) == ("0.5000%", 1, 200)  # 6 % / 12
    # ana holds 2 bonds, cy 1: principal 200.00 : 100.00; the next payment 101.01 -> 67.34 : 33.67
    assert _holders(commune, reg) == {"ana": (2, 200_00, 67_34), "cy": (1, 100_00, 33_67)}
    # The schedule from period 2 with no prepayment:
    #   2: interest floor(300.00 x 0.5 %) = 1.50, principal 101.01 - 1.50 = 99.51 -> 200.49
    #   3: interest floor(1.00245) = 1.00, principal 100.01 -> 100.48
    #   4: the last: interest floor(0.5024) = 0.50, pays 100.48 + 0.50 = 100.98 -> 0
    assert [(r.period, r.payment, r.interest, r.principal, r.outstanding_after) for r in reg.schedule] == [
        (2, 101_01, 1_50, 99_51, 200_49),
        (3, 101_01, 1_00, 100_01, 100_48),
        (4, 100_98, 50, 100_48, 0),
    ]
    assert reg.schedule_total == 101_01 + 101_01 + 100_98 == 303_00
    assert reg.schedule_interest == 1_50 + 1_00 + 50 == 3_00


def test_bond_register_after_a_prepayment(commune: Commune) -> None:
    reg = commune.seen["bonds_2"]  # after period 2: 2.99 prepaid, 197.50 owed
    assert (reg.outstanding, reg.periods_left) == (197_50, 2)
    # 197.50 split 2 : 1 = 131.666 : 65.833 -> 131.66 + 65.83 = 197.49, the cent left to ana's .666
    assert _holders(commune, reg) == {"ana": (2, 131_67, 67_34), "cy": (1, 65_83, 33_67)}
    #   3: interest floor(0.9875) = 0.98, principal 101.01 - 0.98 = 100.03 -> 97.47
    #   4: the last: interest floor(0.48735) = 0.48, pays 97.47 + 0.48 = 97.95
    assert [(r.period, r.payment, r.interest, r.principal, r.outstanding_after) for r in reg.schedule] == [
        (3, 101_01, 98, 100_03, 97_47),
        (4, 97_95, 48, 97_47, 0),
    ]
    # The schedule is what is due without prepayment: period 3's 2.99 surplus prepaid principal,
    # so the chain owed 97.47 - 2.99 = 94.48 after it, and closed in period 4 with 94.95.
    after_3 = commune.seen["bonds_3"]
    assert (after_3.outstanding, after_3.periods_left) == (94_48, 1)
    assert [(r.period, r.payment, r.interest, r.principal) for r in after_3.schedule] == [(4, 94_95, 47, 94_48)]


def test_bond_register_of_a_redeemed_series(commune: Commune) -> None:
    reg = bond_register(commune.store, commune.asset.hex())  # the id as hex
    assert (reg.state, reg.outstanding, reg.periods_left, reg.schedule) == ("redeemed", 0, 0, ())
    assert _holders(commune, reg) == {"ana": (2, 0, 0), "cy": (1, 0, 0)}  # still holders of record
    assert (reg.schedule_total, reg.schedule_interest) == (0, 0)


def test_bond_register_of_an_unknown_asset(commune: Commune) -> None:
    stranger = bytes(32)
    with pytest.raises(UnknownAsset) as caught:
        bond_register(commune.store, stranger)
    assert caught.value.reason == "unknown_asset"
    assert f"{commune.asset.hex()[:12]} (a dough mixer)" in caught.value.message
    with pytest.raises(UnknownAsset, match="64 hex digits"):
        bond_register(commune.store, "not hex")


def test_bond_register_text(commune: Commune) -> None:
    text = render_bond_register(commune.seen["bonds_cleared"])
    assert "Bond register: a dough mixer" in text
    assert "Series        3 bonds of 100.00 = 300.00" in text
    assert "Coupon        6.0000% a year (0.5000% a period)" in text
    assert "Debt service  101.01 a period" in text
    assert "Outstanding   300.00, 3 installments left" in text
    lines = text.splitlines()
    assert next(line for line in lines if line.strip().startswith("ana")).split() == ["ana", "2", "200.00", "67.34"]
    assert next(line for line in lines if line.strip().startswith("4 ")).split() == [
        "4",
        "100.98",
        "0.50",
        "100.48",
        "0.00",
    ]
    assert "In all 303.00: principal 300.00, interest 3.00" in text
    assert "prepays principal shortens it" in text
    redeemed = render_bond_register(bond_register(commune.store, commune.asset))
    assert "Remaining schedule (none)" in redeemed


# -- the income statement ------------------------------------------------------------------

#: By hand, per period: rent received, costs, debt service, prepayment, surplus to the pool,
#: redeemed net rent, kept, dividends paid (per member x members), drawn.
BY_HAND = {
    1: (0, 0, 0, 0, 0, 0, 0, 0, 0),  # the auction cleared; rent is due from period 2
    2: (110_00, 6_00, 101_01, 2_99, 0, 0, 0, 0, 0),  # 110.00 = 6.00 + 101.01 + 2.99
    3: (110_00, 6_00, 101_01, 2_99, 0, 0, 0, 0, 0),
    4: (110_00, 6_00, 94_95, 0, 9_05, 0, 0, 3 * 3_01, 0),  # 110.00 = 6.00 + 94.95 + 9.05
    5: (110_00, 6_00, 0, 0, 0, 104_00, 0, 5 * 20_80, 0),
    # one payment of 220.00, in the block that settled 6 and 7: 220.00 = 6.00 + 104.00 + 110.00 kept
    6: (220_00, 6_00, 0, 0, 0, 104_00, 110_00, 5 * 20_80, 0),
    7: (0, 6_00, 0, 0, 0, 104_00, -110_00, 5 * 20_80, 0),  # paid from what period 6 kept
    8: (0, 0, 0, 0, 0, 0, 0, 0, 10_00),  # in progress: dee drew 10.00; ana's "rent" transfer is not rent
}


def _figures(st: IncomeStatement) -> tuple[int, ...]:
    return (
        st.rent_received,
        st.costs,
        st.debt_service,
        st.prepayment,
        st.surplus_to_pool,
        st.redeemed_net_rent,
        st.kept,
        st.dividends_paid,
        st.dividends_drawn,
    )


def test_income_statements_by_hand(commune: Commune) -> None:
    for period, figures in BY_HAND.items():
        st = income_statement(commune.store, period)
        assert _figures(st) == figures, period
        assert st.settled == (period <= 7)
        assert st.to_dividend_pool == st.surplus_to_pool + st.redeemed_net_rent + st.liquidation_to_pool
        assert (st.sale_proceeds, st.sale_costs, st.liquidation_to_holders, st.liquidation_to_pool) == (0, 0, 0, 0)
        # what came in = what went out + what stayed in the asset's account
        assert st.rent_received == st.costs + st.debt_service + st.prepayment + st.to_dividend_pool + st.kept
        if period <= 7:
            assert (st.per_member, st.members) == (PER_MEMBER[period], 3 if period <= 4 else 5)
            assert st.dividends_paid == st.per_member * st.members
            assert st.last_height == commune.settled_at[period]
        else:
            assert (st.per_member, st.members, st.last_height) == (None, None, commune.heights["end"])
        assert st.first_height == (commune.settled_at[period - 1] if period > 1 else 0)
        if st.rent_received or st.costs:
            (line,) = st.assets
            assert (line.asset, line.description) == (commune.asset.hex(), "a dough mixer")
            assert (line.rent_received, line.costs, line.debt_service, line.prepayment, line.kept) == (
                st.rent_received,
                st.costs,
                st.debt_service,
                st.prepayment,
                st.kept,
            )
        else:
            assert st.assets == ()


def test_income_statements_add_up_to_the_ledger(commune: Commune) -> None:
    statements = [income_statement(commune.store, p) for p in range(1, 9)]
    # rent: 4 x 110.00 + 220.00 = 660.00, all the workshop paid; costs: 6 periods x 6.00 = 36.00
    assert sum(s.rent_received for s in statements) == 660_00
    assert sum(s.costs for s in statements) == 36_00 == commune.store.state.claim(accounts.FUNDS)
    # holders were paid 101.01 + 2.99 + 101.01 + 2.99 + 94.95 = 302.95: 300.00 + 2.95 interest
    assert sum(s.debt_service + s.prepayment for s in statements) == 302_95
    # into the pool 9.05 + 3 x 104.00 = 321.05; paid out 321.03; 0.02 left in it
    assert sum(s.to_dividend_pool for s in statements) == 321_05
    assert sum(s.dividends_paid for s in statements) == 321_03
    assert commune.store.state.claim(accounts.DIVIDEND_POOL) == 2
    assert sum(s.kept for s in statements) == 0  # the asset's account is empty again
    assert commune.store.state.claim(accounts.asset_account(commune.asset)) == 0


def test_one_block_settling_two_periods(commune: Commune) -> None:
    assert commune.settled_at[6] == commune.settled_at[7]
    six, seven = (income_statement(commune.store, p) for p in (6, 7))
    # one block: its postings up to period 6's end are period 6's, the rest up to 7's are 7's
    assert (six.last_height, seven.first_height, seven.last_height) == (commune.settled_at[6],) * 3
    assert six.rent_received == 220_00 and seven.rent_received == 0
    assert six.dividends_paid == seven.dividends_paid == 104_00
    book = ledger(commune.store, since_height=commune.settled_at[6])
    in_block = [t for t in book.transactions if t.height == commune.settled_at[6]]
    # rent; then for each period costs, net rent, dividends: 1 + 2 x 3 transactions
    assert [t.memo for t in in_block] == ["rent"] + [
        "the commune's costs",
        "net rent of a redeemed asset",
        "dividends",
    ] * 2


def test_income_statement_dates(commune: Commune) -> None:
    # a period is 30.4375 days: period 5 runs from day 121.75 (2026-05-02) to day 152.1875
    # (2026-06-02): day 120 is 1 May (31 + 28 + 31 + 30 days before it)
    five = income_statement(commune.store, 5)
    assert (five.starts, five.ends) == ("2026-05-02", "2026-06-02")
    one = income_statement(commune.store, 1)
    assert (one.starts, one.ends) == ("2026-01-01", "2026-01-31")  # ends on day 30.4375


def test_income_statement_of_a_period_that_is_not_there(commune: Commune) -> None:
    for bad in (0, 9, -1):
        with pytest.raises(ReportError, match="7 are settled, and period 8 is in progress") as caught:
            income_statement(commune.store, bad)
        assert caught.value.reason == "bad_period"
    with pytest.raises(ReportError):
        income_statement(commune.store, "5")  # type: ignore[arg-type]


def test_income_statement_text(commune: Commune) -> None:
    text = render_income_statement(income_statement(commune.store, 4))
    assert "Income statement of Test Commune, period 4 (2026-04-02 to 2026-05-02), settled" in text
    lines = text.splitlines()

    def row(label: str) -> str:
        return next(line for line in lines if line.strip().startswith(label))

    assert row("Rent received").endswith("110.00")
    assert row("The commune's costs").endswith("6.00")
    assert row("Debt service to bondholders").endswith("94.95")
    assert row("To the dividend pool").endswith("9.05")
    assert row("Dividends paid").endswith("9.03")
    assert "3.01 each to 3 members" in text
    amounts = [line for line in lines[3:] if line[-1:].isdigit() and "each to" not in line and "Asset" not in line]
    assert len(amounts) == 11 and len({len(line) for line in amounts[:10]}) == 1  # the amounts line up
    assert "Proceeds of liquidations" not in text  # shown only when there was one
    table = lines[lines.index("By asset") + 1 :]
    assert table[1].split()[-6:] == ["110.00", "6.00", "94.95", "0.00", "9.05", "0.00"]
    progress = render_income_statement(income_statement(commune.store, 8))
    assert "period 8 (2026-08-02 to 2026-09-01), in progress: figures so far" in progress
    assert next(line for line in progress.splitlines() if "drawn" in line).endswith("10.00")
    assert "By asset" not in progress


# -- the dividend history ------------------------------------------------------------------


def test_dividend_history_by_hand(commune: Commune) -> None:
    hist = dividend_history(commune.store)
    assert [
        (p.period, p.height, p.came_in, p.pool, p.members, p.per_member, p.paid, p.carry, p.index) for p in hist.periods
    ] == [
        (1, commune.settled_at[1], 0, 0, 3, 0, 0, 0, 0),
        (2, commune.settled_at[2], 0, 0, 3, 0, 0, 0, 0),  # the surplus prepaid principal
        (3, commune.settled_at[3], 0, 0, 3, 0, 0, 0, 0),
        (4, commune.settled_at[4], 9_05, 9_05, 3, 3_01, 9_03, 2, 3_01),  # 9.05 = 3 x 3.01 + 0.02
        (5, commune.settled_at[5], 104_00, 104_02, 5, 20_80, 104_00, 2, 3_01 + 20_80),  # 104.02 = 5 x 20.80 + 0.02
        (6, commune.settled_at[6], 104_00, 104_02, 5, 20_80, 104_00, 2, 3_01 + 2 * 20_80),
        (7, commune.settled_at[7], 104_00, 104_02, 5, 20_80, 104_00, 2, INDEX),
    ]
    assert hist.paid_total == 9_03 + 3 * 104_00 == 321_03
    assert hist.index == INDEX == commune.store.state.dividend_index
    assert hist.pool == 2
    # the founders accrued 65.41 each, dee and eve 62.40 each, dee drew 10.00
    assert hist.undrawn == 3 * INDEX + 2 * DEE_ACCRUED - 10_00 == 311_03
    assert [p.date for p in hist.periods][3:] == ["2026-05-02", "2026-06-02", "2026-08-02", "2026-08-02"]


def test_dividend_history_text(commune: Commune) -> None:
    text = render_dividend_history(dividend_history(commune.store))
    lines = text.splitlines()
    four = next(line for line in lines if line.strip().startswith("4 "))
    assert four.split()[-6:] == ["9.05", "9.05", "3", "3.01", "9.03", "0.02"]
    seven = next(line for line in lines if line.strip().startswith("7 "))
    assert seven.split()[-6:] == ["104.00", "104.02", "5", "20.80", "104.00", "0.02"]
    table = lines[3:11]
    assert len({len(line) for line in table}) == 1
    assert "Paid in all 321.03; not yet drawn by members 311.03; in the pool now 0.02" in text


# -- the member statement: dividends and net position --------------------------------------


def _dividends(st: MemberStatement) -> tuple:
    return (
        st.dividends_accrued,
        st.dividends_drawn,
        st.dividends_undrawn,
        st.on_record,
        st.record_index,
        st.record_height,
        st.record_date,
        st.first_dividend_period,
    )


def test_dividends_of_founders(commune: Commune) -> None:
    for name in ("ana", "ben", "cy"):
        st = member_statement(commune.store, commune.pub(name))
        # on the record from the genesis: every period's dividend, 3.01 + 3 x 20.80 = 65.41
        assert _dividends(st) == (INDEX, 0, INDEX, True, 0, 0, "2026-01-01", 1)
        assert st.record_end_index is None


def test_dividends_of_members_after_probation(commune: Commune) -> None:
    five = commune.settled_at[5]
    dee = member_statement(commune.store, commune.pub("dee"))
    # on the record when period 5 was settled, at index 3.01: 65.41 - 3.01 = 62.40 accrued;
    # she spent 10.00 with none in her account: 10.00 drawn, 52.40 left
    assert _dividends(dee) == (DEE_ACCRUED, 10_00, DEE_ACCRUED - 10_00, True, 3_01, five, "2026-06-02", 5)
    assert dee.balance == 0  # drawn 10.00, paid 10.00
    eve = member_statement(commune.store, commune.pub("eve"))
    assert _dividends(eve) == (DEE_ACCRUED, 0, DEE_ACCRUED, True, 3_01, five, "2026-06-02", 5)
    # while on probation (after period 4): nothing yet, and she goes on the record at period 5
    before = commune.seen["dee_4"]
    assert _dividends(before) == (0, 0, 0, False, None, None, None, 5)
    assert (before.on_probation, before.voting) == (True, False)


def test_net_positions(commune: Commune) -> None:
    def net(name: str) -> NetPosition:
        pos = member_statement(commune.store, commune.pub(name)).net_position
        assert pos is not None
        return pos

    # The workshop rents the mixer for 110.00 a period and has 3 members (ben, dee, eve):
    # 110.00 / 3 = 36.666..., so 36.66 each and the 2 cents left over to the earliest admitted.
    # The last settled period, 7, paid 20.80 to each member on the record.
    assert net("ben") == NetPosition(7, 20_80, 110_00, 3, 36_67, 20_80 - 36_67)  # -15.87
    assert net("dee") == NetPosition(7, 20_80, 110_00, 3, 36_67, -15_87)
    assert net("eve") == NetPosition(7, 20_80, 110_00, 3, 36_66, 20_80 - 36_66)  # -15.86
    # the bakery rents nothing; cy works in no enterprise: their whole dividend is theirs
    assert net("ana") == NetPosition(7, 20_80, 0, 1, 0, 20_80)
    assert net("cy") == NetPosition(7, 20_80, 0, 0, 0, 20_80)
    # after period 4: ben had 3.01 against 36.67 (-33.66); dee, on probation, no dividend (-36.67)
    assert commune.seen["ben_4"].net_position == NetPosition(4, 3_01, 110_00, 3, 36_67, -33_66)
    assert commune.seen["dee_4"].net_position == NetPosition(4, 0, 110_00, 3, 36_67, -36_67)
    # after period 2 nobody had a dividend yet
    assert commune.seen["ben_2"].net_position == NetPosition(2, 0, 110_00, 3, 36_67, -36_67)


def test_statement_text_with_dividends(commune: Commune) -> None:
    text = render_member_statement(member_statement(commune.store, commune.pub("dee")))
    assert "Statement for Dee" in text
    assert f"since height {commune.settled_at[5]} (2026-06-02), dividend index 301" in text
    lines = text.splitlines()

    def row(label: str) -> str:
        return next(line for line in lines if line.strip().startswith(label))

    assert row("First dividend").endswith("period 5")
    assert row("Accrued").endswith("62.40")
    assert row("Drawn into the account").endswith("10.00")
    assert row("Not yet drawn").endswith("52.40")
    assert row("Dividend (period 7)").endswith("20.80")
    assert "36.67  (workshop's rent 110.00 / 3 members)" in row("Your share of rent")
    assert row("Net position  ").endswith("-15.87  (you pay this much more in rent than your dividend)")
    assert row("Movements (2)") == "Movements (2)"  # still the last section
    ana = render_member_statement(member_statement(commune.store, commune.pub("ana")))
    assert "20.80  (the commune pays you this much more than your share of rent)" in ana
    # asset accounts are named by what the asset is
    assert "a dough mixer (asset)" in ana
    on_probation = render_member_statement(commune.seen["dee_4"])
    assert "not yet: goes on it when period 5 is settled (probation)" in on_probation


# -- the balance sheet with the common stock -----------------------------------------------


def test_balance_sheet_with_the_common_stock(commune: Commune) -> None:
    cleared = commune.seen["sheet_cleared"]
    groups = {g.kind: g for g in cleared.claims}
    # the escrowed 300.00 went to the vendor's pending payment
    assert groups["withdrawals"].total == 300_00
    assert [(h.name, h.amount) for h in groups["withdrawals"].holders] == [("Mixer Works (purchase)", 300_00)]
    assert "dividends" not in groups and "assets" not in groups  # nothing in them yet
    sheet = balance_sheet(commune.store)
    groups = {g.kind: g for g in sheet.claims}
    # deposits 300.00 + 100.00 + 1,000.00; the purchase not paid out yet
    assert sheet.bank == 1_400_00
    assert groups["dividends"].total == 311_03 and groups["dividends"].holders == ()
    assert groups["enterprises"].total == 1_000_00 - 4 * 110_00 - 220_00 == 340_00
    # ana 300.00 - 200.00 + 67.34 + 1.99 + 67.34 + 1.99 + 63.30 - 1.00 = 300.96;
    # cy 100.00 - 100.00 + 33.67 + 1.00 + 33.67 + 1.00 + 31.65 + 1.00 = 101.99; ben 10.00 from dee
    assert groups["members"].total == 300_96 + 101_99 + 10_00
    # own funds: the costs 6 x 6.00 = 36.00 and the pool's 0.02
    assert sheet.own_funds_total == 36_02
    assert sheet.claims_total == 412_95 + 340_00 + 300_00 + 311_03 == 1_363_98
    assert sheet.holds and sheet.bank == sheet.claims_total + sheet.own_funds_total


def test_ledger_of_an_asset_account(commune: Commune) -> None:
    book = ledger(commune.store, accounts.asset_account(commune.asset))
    assert book.account_name == "a dough mixer (asset)"
    held = sum(ln.amount for t in book.transactions for ln in t.lines if ln.account == book.account)
    assert held == 0 and book.balanced
    with pytest.raises(UnknownAccount, match="a:<an asset's id in hex>"):
        ledger(commune.store, "a:zz")


# -- as data -------------------------------------------------------------------------------


def test_reports_round_trip_through_json(commune: Commune) -> None:
    made = [
        stock_register(commune.store),
        commune.seen["register_offered"],
        bond_register(commune.store, commune.asset),
        commune.seen["bonds_cleared"],
        *(income_statement(commune.store, p) for p in range(1, 9)),
        dividend_history(commune.store),
        member_statement(commune.store, commune.pub("dee")),
        commune.seen["dee_4"],
    ]
    for report in made:
        data = msgspec.json.encode(report)
        assert msgspec.json.decode(data, type=type(report)) == report
    reg = json.loads(msgspec.json.encode(made[0]))
    assert reg["assets"][0]["asset"] == commune.asset.hex()
    assert (reg["assets"][0]["coupon"], reg["assets"][0]["coupon_num"], reg["assets"][0]["coupon_den"]) == (
        "6.0000%",
        3,
        50,
    )
    bonds = json.loads(msgspec.json.encode(made[3]))
    assert bonds["schedule"][0] == {
        "period": 2,
        "payment": 101_01,
        "interest": 1_50,
        "principal": 99_51,
        "outstanding_after": 200_49,
    }
    st = json.loads(msgspec.json.encode(made[-2]))
    assert st["net_position"]["net"] == -15_87 and isinstance(st["dividends_accrued"], int)
    hist = json.loads(msgspec.json.encode(made[-3]))
    assert hist["periods"][3]["carry"] == 2


def test_reports_are_immutable(commune: Commune) -> None:
    made = (
        stock_register(commune.store),
        bond_register(commune.store, commune.asset),
        income_statement(commune.store, 4),
        dividend_history(commune.store),
    )
    assert [type(r) for r in made] == [StockRegister, BondRegister, IncomeStatement, DividendHistory]
    for report in made:
        with pytest.raises(AttributeError):
            report.height = 0  # type: ignore[misc]


def test_reports_read_the_same_after_a_restart(commune: Commune) -> None:
    def everything(store: StateStore) -> list[Any]:
        return [
            stock_register(store),
            bond_register(store, commune.asset),
            *(income_statement(store, p) for p in range(1, 9)),
            dividend_history(store),
            *(member_statement(store, commune.pub(n)) for n in ("ana", "dee")),
        ]

    before = everything(commune.store)
    with StateStore(commune.store.path) as reopened:  # the views and the chain as stored
        assert everything(reopened) == before


def test_periods_found_by_their_blocks_when_the_time_misleads(commune: Commune) -> None:
    """Where the time does not point to the block that settled a period (a charter changed the
    period's length, say), the chain is read for it: the effects, not the clock, decide."""
    true = reports._Periods(commune.store)
    misled = reports._Periods(commune.store)
    misled.period_ms *= 2  # every guess now points to the wrong block
    for period in range(1, 8):
        assert misled.end(period) == true.end(period)
        assert (true.end(period).height, true.end(period).dividend.per_member) == (
            commune.settled_at[period],
            PER_MEMBER[period],
        )
    assert misled._scanned and not true._scanned
    with pytest.raises(ValueError):
        true.end(8)  # not settled
