"""Mistakes people make at the `commune` command, one class per test: each is refused in one
sentence with the exit code of cli/common.py (2: fix what you typed; 4: the rules refuse), no
traceback, and nothing changes: the state digest, the height and the entries held are the same
after as before.

One commune serves every test (module scope): Ana founds it with the Bakery and is its steward,
Ben works at the Bakery; both have served nodes sharing a simulated clock. Ana has 100.00; Ben
announced a deposit of 10.00; the "old oven" auction is past its deadline, the "van" auction
open; Ana proposed a charter change and voted yes (it needs Ben's vote too, so it stays open).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from commune.cli.common import EXIT_REFUSED, EXIT_USER_ERROR
from commune.core.clock import FileClock
from commune.node.node import Node
from commune.rules.charter import DAY_MS
from node import nodekit
from node.nodekit import Served, as_json, commune, free_port, wait_for

pytestmark = pytest.mark.slow  # the shared commune takes a while to set up

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SMALL = (
    *("--price", "1,200.00", "--rent", "110.00", "--costs", "5.00"),
    *("--lease", "24", "--term", "12", "--bonds", "12", "--vendor-payee", "Oven Ltd", "--valuation", "00" * 32),
)


class People:
    def __init__(self, root: Path) -> None:
        self.ana = root / "ana"
        self.ben = root / "ben"


def status(directory: Path) -> dict:
    return as_json("status", "-d", str(directory))


def record(directory: Path) -> tuple[int, bytes, int]:
    """What `commune status` shows of a node's record (height, state digest, entries held), read
    here rather than by a second process for speed: the stores are SQLite, read while served."""
    node = Node(directory)
    try:
        return node.state.height, node.digest(), node.entries.count()
    finally:
        node.close()


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Iterator[People]:
    root = tmp_path_factory.mktemp("mistakes")
    clock = FileClock.create(root / "clock", T0)
    p = People(root)
    served: list[Served] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(nodekit.ENV, "COMMUNE_CLOCK_FILE", str(root / "clock"))
        try:
            commune(
                *("found", "--name", "Test", "--as", "Ana", "--enterprise", "Bakery"),
                *("--charter", "probation_days=0", "-d", str(p.ana)),
            )
            served.append(Served(p.ana, free_port()))
            token = commune("invite", "-d", str(p.ana)).stdout.strip()
            commune("join", token, "--name", "Ben", "-d", str(p.ben))
            served.append(Served(p.ben, free_port(), "--peer", served[0].peer))
            commune("enterprise", "attest", "Ben", "--enterprise", "Bakery", "-d", str(p.ana))
            wait_for(lambda: commune("accept", "-d", str(p.ben), check=False).returncode == 0, what="accept")
            wait_for(lambda: status(p.ben)["member"], what="Ben's admission")

            commune("deposit", "100.00", "-d", str(p.ana))
            wait_for(lambda: len(as_json("pending", "-d", str(p.ana))) == 1, what="the deposit")
            (deposit,) = as_json("pending", "-d", str(p.ana))
            commune("steward", "confirm-deposit", deposit["id"][:12], "-d", str(p.ana))
            wait_for(lambda: status(p.ana)["balance_minor"] == 100_00, what="Ana's credit")
            commune("deposit", "10.00", "--reference", "Ben 1", "-d", str(p.ben))

            for description, days in (("old oven", "1"), ("van", "14")):
                offer = ("offer", "--enterprise", "Bakery", "--description", description, *SMALL, "--days", days)
                commune(*offer, "-d", str(p.ana))
            commune("propose", "change-charter", "probation_days", "30", "-d", str(p.ana))
            wait_for(lambda: len(as_json("proposals", "-d", str(p.ana))) == 1, what="the proposal")
            (proposal,) = as_json("proposals", "-d", str(p.ana))
            commune("vote", proposal["id"][:12], "yes", "-d", str(p.ana))

            # A day on: the old oven's auction is past its deadline (no bids: it fails).
            clock.set(T0 + DAY_MS + 60_000)
            wait_for(
                lambda: (
                    {a["description"]: a["auction"] for a in as_json("auctions", "-d", str(p.ben))}
                    == {"old oven": "failed", "van": "open"}
                ),
                what="the old oven's auction to close",
            )
            wait_for(lambda: as_json("proposals", "-d", str(p.ben))[0]["yes"] == 1, what="Ana's vote")
            wait_for(lambda: len(as_json("pending", "-d", str(p.ana))) == 1, what="Ben's deposit")
            wait_for(lambda: record(p.ana)[:2] == record(p.ben)[:2], what="both nodes to agree")
            yield p
        finally:
            for s in served:
                s.stop()
            clock.close()


def refused(directory: Path, *args: str, code: int, says: str) -> str:
    """Run `commune ARGS -d DIRECTORY`, expecting a refusal; check nothing changed."""
    before = record(directory)
    result = commune(*args, "-d", str(directory), check=False)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    message = " ".join(result.stderr.split())
    assert message.startswith("error: ") and says in message, message
    assert record(directory) == before
    return message


@pytest.mark.parametrize(
    ("amount", "says"),
    [
        ("1,2,5.00", "'1,2,5.00' is not an amount; write it like 1,250.00 or 1250 (a point for decimals)"),
        ("abc", "'abc' is not an amount; write it like 1,250.00 or 1250"),
        ("-5", "the amount must be more than zero"),
        ("0.001", "'0.001' has 3 decimals, but EUR has 2; amounts are never rounded"),
    ],
)
def test_a_malformed_amount(people: People, amount: str, says: str) -> None:
    refused(people.ben, "transfer", "Ana", amount, code=EXIT_USER_ERROR, says=says)


def test_a_malformed_amount_in_a_withdrawal_and_in_rent(people: People) -> None:
    refused(people.ana, "withdraw", "-5", "--payee", "Ana", code=EXIT_USER_ERROR, says="more than zero")
    refused(people.ana, "rent", "pay", "van", "12,,0", code=EXIT_USER_ERROR, says="'12,,0' is not an amount")


def test_an_unknown_member(people: People) -> None:
    refused(
        people.ben,
        *("transfer", "Zed", "1.00"),
        code=EXIT_USER_ERROR,
        says="no one and no enterprise called 'Zed' is known here",
    )
    refused(people.ana, "delegate", "charter", "Zed", code=EXIT_USER_ERROR, says="no one called 'Zed' is known here")
    # A name that looks like the terminal's markup is quoted as typed, not read as markup.
    refused(people.ben, "transfer", "[/b]", "1.00", code=EXIT_USER_ERROR, says="no one and no enterprise called '[/b]'")


def test_a_bid_after_the_deadline(people: People) -> None:
    refused(
        people.ana,
        *("bid", "old oven", "1", "5%"),
        code=EXIT_REFUSED,
        says="refused (auction_closed): the auction is not open (its deadline has passed or it was decided)",
    )


def test_a_malformed_rate_and_a_rate_above_the_reserve(people: People) -> None:
    refused(
        people.ana,
        *("bid", "van", "1", "five"),
        code=EXIT_USER_ERROR,
        says="'five' is not a rate; write a yearly percentage like 4.5% (or 4.5), or a fraction like 9/200",
    )
    refused(people.ana, "bid", "van", "1", "1/0", code=EXIT_USER_ERROR, says="'1/0' divides by zero")
    refused(
        people.ana,
        *("bid", "van", "1", "9.5%"),
        code=EXIT_REFUSED,
        says="refused (above_reserve_rate): the bid asks a higher rate than the offer's rent can pay:"
        " the highest rate this offer allows is 9.1046% a year",
    )
    refused(people.ana, "bid", "lorry", "1", "5%", code=EXIT_USER_ERROR, says="no asset is called 'lorry'")


def test_a_withdrawal_above_the_balance(people: People) -> None:
    refused(
        people.ana,
        *("withdraw", "1,000.00", "--payee", "Ana DE89 3704 0044 0532 0130 00"),
        code=EXIT_REFUSED,
        says="refused (overdraft): the account does not hold enough money for this:"
        " 1,000.00 EUR asked, 100.00 EUR available",
    )


def test_voting_twice_on_one_proposal(people: People) -> None:
    (proposal,) = as_json("proposals", "-d", str(people.ana))
    refused(
        people.ana,
        *("vote", proposal["id"][:12], "no"),
        code=EXIT_REFUSED,
        says="refused (already_voted): this member has voted on this proposal already",
    )


def test_acting_as_a_steward_without_being_one(people: People) -> None:
    (deposit,) = as_json("pending", "-d", str(people.ben))
    refused(
        people.ben,
        *("steward", "confirm-deposit", deposit["id"][:12]),
        code=EXIT_REFUSED,
        says="refused (not_a_steward): only a steward may confirm what the bank did",
    )


def test_a_topic_or_an_enterprise_nobody_has(people: People) -> None:
    refused(
        people.ben,
        *("delegate", "colour", "Ana"),
        code=EXIT_USER_ERROR,
        says="'colour' is not a topic; the topics are admissions, all, charter, constitution, enterprises, stewards",
    )
    refused(
        people.ana,
        *("deposit", "5.00", "--enterprise", "Brewery"),
        code=EXIT_USER_ERROR,
        says="no enterprise 'Brewery'; the registered ones are: Bakery",
    )
    refused(people.ben, "report", "income", "--period", "7", code=EXIT_USER_ERROR, says="there is no period 7")
