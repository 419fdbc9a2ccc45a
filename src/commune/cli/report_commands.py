"""`commune report`: the commune's accounts as a treasurer reads them (state/reports.py), as text
or, with --json, as the report's data (amounts in minor units, rates exact beside a percentage)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import typer

from commune.cli.common import DirOption, JsonOption, app, console
from commune.cli.node_commands import _node, _person
from commune.cli.stock_commands import _asset
from commune.node.node import NodeError
from commune.state import reports

report_app = typer.Typer(
    help="The commune's accounts: balance sheet, income, common stock, bonds, dividends, statements.",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")


def _show(report: msgspec.Struct, text: str, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(msgspec.to_builtins(report)))
    else:
        console.print(text, end="", highlight=False, markup=False, soft_wrap=True)


@report_app.command("balance-sheet")
def balance_sheet(
    detail: bool = typer.Option(False, "--detail", help="List every holder under their group."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """The balance sheet: the bank = every claim on the commune + its own funds."""
    with _node(data_dir) as node:
        sheet = reports.balance_sheet(node.state)
    _show(sheet, reports.render_balance_sheet(sheet, detail=detail), as_json)


@report_app.command("income")
def income(
    period: int | None = typer.Option(
        None, "--period", help="The period (from 1); default the last settled, or the one in progress if none is."
    ),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """A period's income from the common stock: rent in; costs, debt service, surplus and dividends out."""
    with _node(data_dir) as node:
        if period is None:
            period = max(node.state.state.meta("periods_settled", 0), 1)
        statement = reports.income_statement(node.state, period)
    _show(statement, reports.render_income_statement(statement), as_json)


@report_app.command("stock")
def stock(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The common stock: every asset, its renter and rent, its bond series and what it still owes."""
    with _node(data_dir) as node:
        register = reports.stock_register(node.state)
    _show(register, reports.render_stock_register(register), as_json)


@report_app.command("bonds")
def bonds(
    asset: str = typer.Argument(..., help="The asset: its description, or its id (a prefix will do)."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """An asset's bond series: its holders, the coupon, and the payments still to come."""
    with _node(data_dir) as node:
        aid, _ = _asset(node, asset)
        register = reports.bond_register(node.state, aid)
    _show(register, reports.render_bond_register(register), as_json)


@report_app.command("dividends")
def dividends(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Every settled period's equal dividend: the pool, how many members shared it, each one's part, the carry."""
    with _node(data_dir) as node:
        history = reports.dividend_history(node.state)
    _show(history, reports.render_dividend_history(history), as_json)


@report_app.command("me")
def me(data_dir: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Your statement: balance, movements, dividends, and your net position (your dividend less your rent)."""
    with _node(data_dir) as node:
        if not node.state.state.is_participant(node.key.public):
            raise NodeError(
                "the record your node holds has no account for you yet: once you are admitted (or registered"
                " as an investor), sync or run `commune serve`, and try again",
                reason="not_a_participant",
            )
        statement = reports.member_statement(node.state, node.key.public)
    _show(statement, reports.render_member_statement(statement), as_json)


@report_app.command("member")
def member(
    person: str = typer.Argument(..., help="The member or investor: a name or a public key."),
    data_dir: Path = DirOption,
    as_json: bool = JsonOption,
) -> None:
    """Another participant's statement, as `report me` shows yours (the record is open to every participant)."""
    with _node(data_dir) as node:
        statement = reports.member_statement(node.state, _person(node, person))
    _show(statement, reports.render_member_statement(statement), as_json)
