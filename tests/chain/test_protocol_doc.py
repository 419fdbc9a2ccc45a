"""docs/protocol.md is the specification a second implementation is written from: it must name
every rule refusal, block refusal, entry kind, effect, motion, charter parameter and state table
the code has, with the fields in the order they are encoded, and nothing the code does not have."""

from __future__ import annotations

import re
import typing

import pytest

from commune.chain.block import EntryRef, Header
from commune.chain.genesis import Genesis
from commune.chain.refusal import BlockReason
from commune.log import bodies
from commune.rules import accounts, effects
from commune.rules.charter import Charter
from commune.rules.model import TABLES
from commune.rules.refusal import RuleReason
from docsections import PROTOCOL, code_name, field_names, names_in_column, part, rows, struct_fields

DOC = PROTOCOL


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def tag_of(cls: type) -> str:
    return cls.__struct_config__.tag


def test_rule_refusals_table_matches_the_code(doc: str) -> None:
    documented = names_in_column(part(doc, "Rule refusals"), 0)
    assert len(documented) == len(set(documented)), "a rule refusal is listed twice"
    assert set(documented) == {r.value for r in RuleReason}


def test_block_refusals_table_matches_the_code(doc: str) -> None:
    documented = names_in_column(part(doc, "Block refusals"), 1)
    assert len(documented) == len(set(documented)), "a block refusal is listed twice"
    assert set(documented) == {r.value for r in BlockReason}


def test_every_block_refusal_is_a_check_of_the_block_checking_order(doc: str) -> None:
    checking = part(doc, "Checking a block")
    for reason in BlockReason:
        assert f"`{reason.value}`" in checking, reason.value


def test_every_kind_has_its_body_layout(doc: str) -> None:
    table = {code_name(r[0]): r for r in rows(part(doc, "Entry kinds and bodies")) if code_name(r[0])}
    table.pop("kind", None)
    assert set(table) == set(bodies.KINDS)
    for kind, cls in bodies.KINDS.items():
        assert field_names(table[kind][1]) == struct_fields(cls), kind


def test_every_kind_has_its_rule(doc: str) -> None:
    rules = part(doc, "Entry kinds and their rules")
    for kind in bodies.KINDS:
        assert f"**`{kind}`**" in rules, f"section 14 does not give the rule of {kind!r}"


def test_constants_list_every_kind(doc: str) -> None:
    line = next(r for r in rows(part(doc, "constants")) if r[0] == "Kinds")
    assert re.findall(r"`([a-z_]+)`", line[1]) == list(bodies.KINDS)


def test_effects_table_matches_the_code(doc: str) -> None:
    table = {code_name(r[0]): r for r in rows(part(doc, "The effects")) if code_name(r[0])}
    classes = typing.get_args(effects.Effect)
    assert set(table) == {tag_of(cls) for cls in classes}
    for cls in classes:
        assert field_names(table[tag_of(cls)][1]) == struct_fields(cls), tag_of(cls)
    fill = re.search(r"`Fill = \[(.*?)\]`", part(doc, "The effects"))
    assert fill and re.findall(r"([a-z_]+):", fill.group(1)) == struct_fields(effects.Fill), "the Fill record"


def test_motions_table_matches_the_code(doc: str) -> None:
    decisions = part(doc, "Decisions (rules 20–21, DESIGN §3.3)")
    table = {code_name(r[0]): r for r in rows(decisions) if code_name(r[0])}
    classes = typing.get_args(bodies.Motion)
    assert set(table) == {tag_of(cls) for cls in classes}
    for cls in classes:
        row = table[tag_of(cls)]
        assert field_names(row[1]) == struct_fields(cls), tag_of(cls)
        assert code_name(row[2]) == bodies.MOTION_TOPIC[cls], tag_of(cls)
    for topic in bodies.TOPICS:
        assert f"`{topic}`" in decisions, topic


def test_charter_table_lists_every_field_in_encoding_order(doc: str) -> None:
    numbered = [(r[0], code_name(r[1])) for r in rows(part(doc, "The charter")) if r[0].isdigit()]
    assert numbered == [(str(i), name) for i, name in enumerate(struct_fields(Charter))]


def test_genesis_and_header_tables_list_every_field_in_encoding_order(doc: str) -> None:
    for title, cls in (("The genesis", Genesis), ("The block", Header)):
        numbered = [(r[0], code_name(r[1])) for r in rows(part(doc, title)) if r[0].isdigit()]
        assert numbered == [(str(i), name) for i, name in enumerate(struct_fields(cls))], title
    entry_ref = re.search(r"EntryRef = \[(.*)\]", part(doc, "The block"))
    assert entry_ref and re.findall(r"([a-z_]+):", entry_ref.group(1)) == struct_fields(EntryRef)


def test_state_tables_listed_in_digest_order(doc: str) -> None:
    assert names_in_column(part(doc, "The tables"), 0) == list(TABLES)


def test_commune_accounts_documented(doc: str) -> None:
    documented = names_in_column(part(doc, "Accounts and postings"), 0)
    for account in accounts.COMMUNE_ACCOUNTS:
        assert account in documented, account


def test_worked_example_matches_the_code(doc: str) -> None:
    """Section 18 replayed through the implementation: every id, block and digest it prints."""
    from commune.chain.genesis import make_genesis
    from commune.core.clock import ManualClock
    from commune.core.keys import SecretKey
    from commune.log.feed import FeedWriter
    from commune.log.store import EntryStore
    from commune.state.store import StateStore

    example = part(doc, "Worked example", level=2)
    t0 = 1_767_225_600_000
    ada, bo = SecretKey(bytes(32)), SecretKey(bytes([1]) * 32)
    genesis = make_genesis(
        Charter("Example", "EUR"),
        t0,
        [(ada.public, "Ada"), (bo.public, "Bo")],
        ada.public,
        [("Workshop", [ada.public], 1)],
    )
    workshop = genesis.enterprise_ids()[0]
    clock = ManualClock(t0)
    entries = EntryStore(":memory:", genesis.commune_id, clock=clock)
    state = StateStore(":memory:", genesis)
    expected = {"commune id": genesis.commune_id, "Workshop's id": workshop, "digest at genesis": state.digest()}
    ada_feed, bo_feed = FeedWriter(entries, ada), FeedWriter(entries, bo)
    clock.set(t0 + 10_000)
    deposit = bo_feed.append(bodies.Deposit(bo.public, 100_00, "ref 42"), chain_ref=genesis.commune_id)
    clock.set(t0 + 20_000)
    confirm = ada_feed.append(
        bodies.ConfirmDeposit(deposit.id, 100_00), refs=(deposit.id,), chain_ref=genesis.commune_id
    )
    block1 = state.propose_block(ada, entries, t0 + 60_000)
    expected |= {"Bo #1": deposit.raw, "Ada #1": confirm.id, "block 1": block1.id, "digest 1": state.digest()}
    expected["block 1 signature"] = block1.signatures[0].signature
    clock.set(t0 + 90_000)
    rent = bo_feed.append(bodies.Transfer(workshop, 25_00, "rent"), chain_ref=block1.id)
    clock.set(t0 + 100_000)
    too_much = bo_feed.append(bodies.Transfer(ada.public, 80_00), chain_ref=block1.id)
    block2 = state.propose_block(ada, entries, t0 + 120_000)
    expected |= {"Bo #2": rent.id, "Bo #3": too_much.id, "block 2": block2.id, "block 2 header": block2.header}
    expected |= {"block 2 signature": block2.signatures[0].signature, "digest 2": state.digest()}
    stale = [name for name, value in expected.items() if value.hex() not in example]
    assert not stale, f"section 18 (worked example) is out of date: {', '.join(stale)}"
    header1 = re.sub(r"\s", "", re.search(r"Header \(\d+ bytes\):\n\n```\n(.*?)```", example, re.S).group(1))
    assert header1 == block1.header.hex(), "section 18: block 1's annotated header is out of date"
    entries.close()
    state.close()
