"""The common stock's reports of a default and the arrears paid after it, worked by hand.

The charter's defaults (a reserve of one period's debt service, one period of grace). The
workshop (ben) rents a bread slicer: P = 1,200.00 in 12 bonds of 100.00, T = 12 months on a
lease of 24, R = 110.00, c = 5.00; ana and cy bid 6 bonds each at 6 % a year (0.5 % a month), so
the level payment is 1,200.00 x 0.005 / (1 - 1.005^-12) = 103.2797... -> 103.28.

  period 2: 110.00 paid; costs 5.00, debt service 103.28 (interest 6.00, principal 97.28),
            the surplus 1.72 fills the reserve: 1,102.72 outstanding
  period 3: 50.00 paid, short of the rent: missed (within the grace)
  period 4: nothing paid: missed again; the rental ends owing 2 x 110.00 = 220.00, and the
            50.00 held pays towards it, to the holders as principal: 170.00 owed, 1,052.72
            outstanding, nothing back to the workshop
  period 5: the workshop pays 170.00 of arrears: principal again, 882.72 outstanding
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from commune.log import bodies as b
from commune.state.reports import (
    IncomeStatement,
    StockRegister,
    income_statement,
    render_income_statement,
    render_stock_register,
    stock_register,
)
from rules.communekit import Commune, rented, to_end_of_period


@dataclass(frozen=True)
class Reports:
    #: The income statement of each period 1 to 6 (6 in progress).
    statements: dict[int, IncomeStatement]
    #: The stock register after period 4, the asset being re-let.
    reletting: StockRegister


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reports]:
    c = Commune(tmp_path_factory.mktemp("income_arrears"))
    store = c.world.nodes["ana"].state
    aid = rented(c)  # tests/rules/communekit.py: the slicer above, cleared inside period 1
    to_end_of_period(c, 1)
    c.act("ben", b.PayRent(aid, 110_00))
    to_end_of_period(c, 2)
    c.act("ben", b.PayRent(aid, 50_00))
    to_end_of_period(c, 3)
    to_end_of_period(c, 4)
    asset = c.state.tables["assets"][aid]
    assert (asset.state, asset.arrears, asset.outstanding, asset.reserve) == ("reletting", 170_00, 1_052_72, 1_72)
    reletting = stock_register(store)
    c.act("ben", b.PayRent(aid, 170_00))
    to_end_of_period(c, 5)
    asset = c.state.tables["assets"][aid]
    assert (asset.arrears, asset.outstanding) == (0, 882_72)
    yield Reports({p: income_statement(store, p) for p in range(1, 7)}, reletting)
    c.world.close()


@pytest.fixture(scope="module")
def statements(reports: Reports) -> dict[int, IncomeStatement]:
    return reports.statements


def _adds_up(st: IncomeStatement) -> bool:
    came_in = st.rent_received + st.arrears_received + st.sale_proceeds
    went_out = st.costs + st.debt_service + st.prepayment + st.sale_costs + st.liquidation_to_holders
    return came_in == went_out + st.to_dividend_pool + st.rent_returned + st.kept


def test_each_period_adds_up(statements: dict[int, IncomeStatement]) -> None:
    for st in statements.values():
        assert _adds_up(st), st.period
        for a in st.assets:
            came_in = a.rent_received + a.arrears_received + a.sale_proceeds
            went_out = a.costs + a.debt_service + a.prepayment + a.sale_costs + a.liquidation_to_holders
            assert came_in == went_out + a.to_dividend_pool + a.rent_returned + a.kept, st.period


def test_the_default_and_the_arrears_by_hand(statements: dict[int, IncomeStatement]) -> None:
    two, three, four, five = (statements[p] for p in (2, 3, 4, 5))
    assert (two.rent_received, two.costs, two.debt_service, two.prepayment, two.kept) == (
        110_00,
        5_00,
        103_28,
        0,
        1_72,
    )
    assert (three.rent_received, three.costs, three.debt_service, three.kept) == (50_00, 0, 0, 50_00)
    # The end of the rental: the 50.00 held leaves the asset's account as principal for the holders.
    assert (four.rent_received, four.arrears_received, four.prepayment, four.kept) == (0, 0, 50_00, -50_00)
    assert four.rent_returned == 0
    # The arrears paid: in through the asset's account, out to the holders as principal.
    assert (five.arrears_received, five.prepayment, five.kept, five.arrears_to_pool) == (170_00, 170_00, 0, 0)
    assert sum(st.arrears_received + st.rent_received for st in statements.values()) == 330_00


def test_the_text_names_arrears(statements: dict[int, IncomeStatement]) -> None:
    text = render_income_statement(statements[5])
    assert "Arrears received" in text and "170.00" in text
    assert "Arrears received" not in render_income_statement(statements[2])


def test_the_register_while_the_asset_is_re_let(reports: Reports) -> None:
    """Returned and on offer to members: no renter and no rent, the last renter named, the debt shown."""
    reg = reports.reletting
    (a,) = reg.assets
    assert (a.state, a.renter_name, a.arrears, a.notice, a.outstanding) == (
        "reletting",
        "workshop",
        170_00,
        False,
        1_052_72,
    )
    assert reg.rent_total == 0 and reg.arrears_total == 170_00
    text = render_stock_register(reg)
    assert "none (was workshop)" in text and "arrears owed 170.00" in text
    row = next(line for line in text.splitlines() if "bread slicer" in line)
    assert "110.00" not in row
