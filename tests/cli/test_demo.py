"""`commune demo` (what `make demo` runs): a year of a small commune on four real node processes
on loopback. Its figures are checked against the rules worked by hand, and its nodes' digests
against each other; it leaves no process and, by default, no file behind."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import stat
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "commune", *args], capture_output=True, text=True, env=env or ENV, timeout=300
    )


def level_payment(price_cents: int, annual: Fraction, periods: int) -> str:
    """Rule 13 by hand: P·r / (1 − (1 + r)^−T) at the monthly rate, rounded up to the cent."""
    r = annual / 12
    exact = price_cents * r / (1 - (1 + r) ** -periods)
    cents = math.ceil(exact)
    return f"{cents // 100:,}.{cents % 100:02d}"


def money(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def cents(text: str) -> int:
    whole, _, frac = text.replace(",", "").partition(".")
    return int(whole) * 100 + int(frac)


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("demo") / "year"
    result = run("demo", "--keep", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return root, result.stdout


@pytest.mark.slow
def test_the_auctions_clear_as_worked_by_hand(kept: tuple[Path, str]) -> None:
    _, out = kept
    # The oven: 120 bonds; Olga 80 at 5 %, Paul 30 at 5.5 %, then Dan's 20 at 6 % meet the 10 left,
    # so 6 % is the marginal rate every winner gets.
    assert "the oven cleared at 6 % for every winner" in out
    assert re.search(r"the oven cleared .*Olga 80\b", out) and re.search(r"the oven cleared .*Dan 10 of 20", out)
    # The lease: 60 bonds; Jon 20 at 5 %, Paul 40 at 6 % fill it; Cleo's 7 % gets nothing.
    assert re.search(r"the lease cleared at 6 % .*Cleo 0 of 10", out)
    # The first van offer can pay at most 2.4524 % a year: Olga's 6 % is refused with that figure;
    # Gus's 20 bonds cannot fill 90, so the auction fails.
    assert "refused (above_reserve_rate)" in out and "the highest rate this offer allows is 2.4524% a year" in out
    assert "the van failed: 20 of its 90 bonds were bid for" in out
    # Retried at a higher rent: Gus 20 at 6 %, Olga 60 at 7 %, Ben's 20 at 8 % meet the 10 left.
    assert re.search(r"the van cleared at 8 % .*Ben 10 of 20", out)
    assert f"{level_payment(12_000_00, Fraction(6, 100), 12)} " in out  # the oven's debt service
    assert f"{level_payment(6_000_00, Fraction(6, 100), 12)} " in out  # the lease's
    assert f"{level_payment(9_000_00, Fraction(8, 100), 12)} a month of debt service" in out  # the van's
    assert "1,032.80" in out and "516.40" in out  # the same, as the rules tests have them
    # February, the first month of all three rentals: rent 1,650.00 + 900.00 + 560.00, costs
    # 50.00 + 60.00 + 20.00, debt service 1,032.80 + 782.90 + 516.40; nothing yet beyond the reserves.
    assert re.search(r"│ February\s+│\s+3,110.00 │\s+130.00 │\s+2,332.10 │\s+0.00 │\s+0.00 │", out)


@pytest.mark.slow
def test_the_year_redeems_the_oven_relets_the_lease_and_pays_equal_dividends(kept: tuple[Path, str]) -> None:
    _, out = kept
    assert "the print shop cannot pay" in out
    # Two months unpaid after the grace: 2 × 560.00 is the print shop's debt.
    assert "two months unpaid (1,120.00, its debt to the commune)" in out
    assert "refused (not_a_member)" in out  # an investor may not bid to rent
    # Present value wins: 540.00 for 24 months beats 600.00 for 6 at the reference rate.
    assert re.search(r"workshop lease\s+│ Bicycle workshop\s+│\s+6,000.00 │\s+540.00", out)
    assert re.search(r"│ (September|October|November) .*│ bread oven redeemed", out)
    assert re.search(r"│ July .*│ workshop lease returned", out)
    # Once the oven is redeemed, its net rent (1,650.00 − 50.00) goes to the pool each month, shared
    # equally among the 12 members; what does not divide carries to the next month.
    months = re.findall(
        r"(\w+): ([\d,.]+) in the dividend pool, ([\d,.]+) to each of (\d+) members, ([\d,.]+) carried", out
    )
    assert len(months) >= 2
    for (_, _, _, _, carry), (_, pool, each, members, carry_next) in itertools.pairwise(months):
        assert cents(pool) == 1_600_00 + cents(carry)
        assert int(members) == 12 and cents(each) == cents(pool) // 12
        assert cents(carry_next) == cents(pool) - 12 * cents(each)
    final = out[out.index("each member's dividends this year") :]
    table = re.findall(r"│ (\w+)\s+│ (Bakery|Bicycle workshop|Print shop)\s+│\s+([\d,.]+) │", final)
    assert len(table) == 12 and len({dividends for *_, dividends in table}) == 1


@pytest.mark.slow
def test_every_node_ends_with_the_same_digest_and_nothing_runs(kept: tuple[Path, str]) -> None:
    root, out = kept
    rows = re.findall(r"│ (\w+)\s+│ (serves|laptop, synced)\s+│ (\d+)\s+│ ([0-9a-f]{16}) │", out)
    assert len(rows) == 14 and len({(h, d) for *_, h, d in rows}) == 1
    assert re.search(r"digests: 14 nodes, all equal: [0-9a-f]{16}", out)
    pids = [int(p) for p in re.findall(r"\(pid (\d+), exit 0\)", out)]
    assert len(pids) == 4
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    seconds = int(re.search(r"the demo took (\d+) s", out).group(1))
    assert seconds < 120
    for name in ("ana", "ben", "cleo", "olga", "dan", "paul"):
        assert stat.S_IMODE((root / name / "secret.key").stat().st_mode) == 0o600
        assert not (root / name / "node.sock").exists()
    # The kept files are a commune one can look into: its members as Ana's node has them.
    members = json.loads(run("members", "-d", str(root / "ana"), "--json").stdout)
    kinds = sorted(m["kind"] for m in members)
    assert kinds == ["investor"] * 2 + ["member"] * 12
    assert {m["name"] for m in members} >= {"Ana", "Dan", "Lea", "Olga", "Paul"}


@pytest.mark.slow
def test_demo_leaves_no_files_behind_by_default(tmp_path: Path) -> None:
    env_tmp = tmp_path / "tmp"
    env_tmp.mkdir()
    result = run("demo", env={**ENV, "TMPDIR": str(env_tmp)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all equal" in result.stdout
    assert list(env_tmp.iterdir()) == []


#: What differs from run to run: keys and ids, digests, process ids, seconds, heights.
_VARIES = re.compile(r"commune id [0-9a-f]{16}|all equal: [0-9a-f]{16}|\(pid \d+|took \d+ s|at height \d+")


@pytest.mark.slow
def test_the_readme_tour_is_what_the_demo_prints(kept: tuple[Path, str]) -> None:
    """The README's excerpts are real output: every line of its tour is in a run of today's demo,
    up to what varies from run to run."""
    _, out = kept
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    tour = readme[readme.index("## A tour") :]
    block = tour[tour.index("```text\n") + 8 : tour.index("\n```", tour.index("```text\n"))]
    printed = {_VARIES.sub("…", line.rstrip()) for line in out.splitlines()}
    lines = [line for line in block.splitlines() if line.strip() and line.strip() != "…"]
    assert len(lines) > 40
    for line in lines:
        assert _VARIES.sub("…", line.rstrip()) in printed, line
