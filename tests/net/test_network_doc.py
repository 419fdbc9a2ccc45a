"""docs/protocol.md section 19 is the network a second implementation is written from: it must list
every message with its tag and fields in the order they are encoded, every reason a link is refused
or dropped for, which entry and block refusals are hostile, and the network constants with the
values the code has."""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from pathlib import Path

import pytest

import docsections
from commune.chain.refusal import BlockReason
from commune.log import store
from commune.log.refusal import Reason
from commune.net import certificate, discovery, framing, hub, invitation, messages, sync, transport
from docsections import field_names, part, rows, struct_fields

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
NET = Path(messages.__file__).resolve().parent


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def network(doc: str) -> str:
    return part(doc, "The network", level=2)


#: Names in the network's tables: reasons (lower case) and constants (upper case, dotted).
NAME = r"[A-Za-z_][A-Za-z0-9_.]*"


def code_name(cell: str) -> str | None:
    return docsections.code_name(cell, NAME)


def names_in_column(text: str, column: int) -> list[str]:
    return docsections.names_in_column(text, column, NAME)


def classes(text: str) -> dict[str, str]:
    """name -> the second cell, for every table row of `text` whose first cell is a `name`."""
    return {name: r[1] for r in rows(text) if len(r) > 1 and (name := code_name(r[0])) is not None}


# -- (a) the messages -----------------------------------------------------------------------------------


def message_classes() -> list[type]:
    found = [cls for cls in typing.get_args(messages.AnyMessage) if issubclass(cls, messages.Message)]
    assert len(found) == len(typing.get_args(messages.AnyMessage)), "AnyMessage holds something not a Message"
    return found


def test_messages_table_lists_every_message_with_its_tag_and_fields(network: str) -> None:
    table = [r for r in rows(part(network, "The messages")) if r[0].isdigit()]
    documented = {code_name(r[1]): r for r in table}
    assert len(documented) == len(table), "a message is listed twice"
    code = {cls.__name__: cls for cls in message_classes()}
    assert set(documented) == set(code), "section 19.5 lists other messages than commune.net.messages.AnyMessage"
    for name, cls in code.items():
        row = documented[name]
        assert int(row[0]) == cls.__struct_config__.tag, f"{name}: the tag differs"
        assert field_names(row[2]) == struct_fields(cls), f"{name}: the fields or their order differ"


def test_message_examples_match_the_code(network: str) -> None:
    text = part(network, "The messages")
    assert "`91 09`" in text and messages.encode_message(messages.Bye()).hex() == "9109"
    assert "`92 08 03`" in text and messages.encode_message(messages.Synced(3)).hex() == "920803"
    refuse = messages.encode_message(messages.Refuse("busy")).hex()
    assert "`93 03 a4 62757379 a0`" in text and refuse == "9303a462757379a0"
    assert "`93 06 90 90`" in text and messages.encode_message(messages.Proofs()).hex() == "93069090"


# -- (b) the reasons -----------------------------------------------------------------------------------


def _source(module: object) -> str:
    return Path(module.__file__).read_text(encoding="utf-8")  # type: ignore[attr-defined]


def reasons_used() -> set[str]:
    """Every reason the network code gives a Refuse, a misbehaviour or a failed link or invitation."""
    found: set[str] = set()
    for module in (sync, hub, transport):
        text = _source(module)
        found |= set(re.findall(r'\breason="([a-z_]+)"', text))
        # refusal_for's (reason, sentence) tuples, and take_proofs' and take_blocks' strikes
        found |= set(re.findall(r'^\s*return "([a-z_]+)",', text, re.M))
    text = _source(invitation)
    found |= set(re.findall(r'\breason\s*=\s*"([a-z_]+)"', text))
    found |= set(re.findall(r'_refused\(\s*"([a-z_]+)"', text))
    return found


def reasons_anywhere() -> set[str]:
    """Every reason-like string anywhere in src/commune/net (class defaults included)."""
    found: set[str] = set()
    for path in NET.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'\breason\s*=\s*"([a-z_]+)"', text))
        found |= set(re.findall(r'^\s*return "([a-z_]+)",', text, re.M))
        found |= set(re.findall(r'_refused\(\s*"([a-z_]+)"', text))
        found |= set(re.findall(r'misbehaved\([^,]+, "([a-z_]+)"', text))
    return found


def test_the_source_scan_finds_the_reasons() -> None:
    """Guard the scan itself: if these go missing the scan broke, not the document."""
    used = reasons_used()
    for reason in ("unsupported_version", "not_a_participant", "busy", "refused_entry", "refused_block"):
        assert reason in used, reason
    for reason in ("bad_proof", "wrong_peer_key", "invitation_used", "malformed_invitation", "timeout"):
        assert reason in used, reason


def test_reasons_table_lists_every_reason_the_code_uses(network: str) -> None:
    documented = names_in_column(part(network, "Network reasons"), 0)
    assert len(documented) == len(set(documented)), "a reason is listed twice"
    missing = reasons_used() - set(documented)
    assert not missing, f"section 19.13 does not list {sorted(missing)}"
    unknown = set(documented) - reasons_anywhere()
    assert not unknown, f"section 19.13 lists reasons the code does not have: {sorted(unknown)}"


def test_access_refusals_are_the_reasons_of_refusal_for(network: str) -> None:
    table = classes(part(network, "Network reasons"))
    refusal_for = re.search(r"def refusal_for.*?(?=\n    def |\n    # --)", _source(hub), re.S)
    assert refusal_for
    literal = set(re.findall(r'return "([a-z_]+)",', refusal_for.group(0)))
    assert literal, "refusal_for returns no literal reasons any more"
    for reason in literal | {"unknown_invitation", "invitation_revoked", "invitation_expired", "invitation_used"}:
        assert table.get(reason) == "access", f"{reason} is not an access reason in 19.13"


# -- which refusals are hostile ------------------------------------------------------------------------


def test_entry_refusals_classed_as_the_code_does(network: str) -> None:
    table = classes(part(network, "Taking in entries"))
    assert set(table) >= {r.value for r in Reason}, "19.8 does not class every entry refusal"
    benign = {name for name, cls in table.items() if cls.startswith("benign")}
    assert benign == {r.value for r in sync.BENIGN}
    held = {name for name, cls in table.items() if cls == "benign, held back"}
    assert held == {"seq_gap", "missing_ref"}
    for name, cls in table.items():
        assert cls.startswith(("benign", "hostile")), f"{name}: {cls!r}"


def test_block_refusals_classed_as_the_code_does(network: str) -> None:
    table = classes(part(network, "Taking in proofs and blocks"))
    assert set(table) >= {r.value for r in BlockReason}, "19.9 does not class every block refusal"
    hostile = {name for name, cls in table.items() if cls == "hostile"}
    assert hostile == {r.value for r in hub._HOSTILE_BLOCK}
    parked = {name for name, cls in table.items() if cls == "parked"}
    assert parked == {"block_pending", BlockReason.ENTRY_UNVERIFIED.value, BlockReason.BLOCK_FUTURE_TIME.value}


# -- (c) the constants ---------------------------------------------------------------------------------

#: Appendix name -> (value in the code, how the appendix writes it).
CONSTANTS: dict[str, tuple[object, str]] = {
    "PROTOCOL_VERSION": (messages.PROTOCOL_VERSION, "number"),
    "PREFACE": (transport.PREFACE, "hex"),
    "MAX_CERTIFICATE_BYTES": (certificate.MAX_CERTIFICATE_BYTES, "number"),
    "HANDSHAKE_TIMEOUT_S": (transport.HANDSHAKE_TIMEOUT_S, "number"),
    "HELLO_TIMEOUT_S": (sync.HELLO_TIMEOUT_S, "number"),
    "MAX_FRAME_BYTES": (framing.MAX_FRAME_BYTES, "number"),
    "MAX_FEEDS": (messages.MAX_FEEDS, "number"),
    "MAX_CHUNKS": (messages.MAX_CHUNKS, "number"),
    "MAX_BATCH_ENTRIES": (sync.MAX_BATCH_ENTRIES, "number"),
    "MAX_PROOFS": (messages.MAX_PROOFS, "number"),
    "MAX_BLOCKS": (messages.MAX_BLOCKS, "number"),
    "BULK_THRESHOLD": (sync.BULK_THRESHOLD, "number"),
    "SMALL_BATCH": (sync.SMALL_BATCH, "number"),
    "BATCH_BYTES": (sync.BATCH_BYTES, "number"),
    "BULK_BATCH_BYTES": (sync.BULK_BATCH_BYTES, "number"),
    "CHUNK_ENTRIES": (store.CHUNK_ENTRIES, "number"),
    "LIVENESS_INTERVALS": (sync.LIVENESS_INTERVALS, "number"),
    "MAX_CARRY": (sync.MAX_CARRY, "number"),
    "MAX_PARKED": (hub.MAX_PARKED, "number"),
    **{f"Limits.{f.name}": (f.default, "number") for f in dataclasses.fields(hub.Limits)},
    "PREFIX": (invitation.PREFIX, "text"),
    "CHECKSUM_BYTES": (invitation.CHECKSUM_BYTES, "number"),
    "MAX_ADDRESSES": (invitation.MAX_ADDRESSES, "number"),
    "MAX_ADDRESS_CHARS": (invitation.MAX_ADDRESS_CHARS, "number"),
    "SECRET_BYTES": (invitation.SECRET_BYTES, "number"),
    "SERVICE_TYPE": (discovery.SERVICE_TYPE, "text"),
    "discovery.PROTOCOL_VERSION": (discovery.PROTOCOL_VERSION.decode("ascii"), "text"),
}


def written_value(cell: str, how: str) -> object:
    if how == "number":
        m = re.search(r"\d[\d,]*(?:\.\d+)?", cell)
        assert m, f"no number in {cell!r}"
        return float(m.group(0).replace(",", ""))
    m = re.search(r"`([^`]+)`", cell)
    assert m, f"nothing in backticks in {cell!r}"
    return bytes.fromhex(m.group(1)) if how == "hex" else m.group(1)


def test_appendix_lists_the_network_constants_with_the_code_values(doc: str) -> None:
    appendix = {code_name(r[0]): r[1] for r in rows(part(doc, "constants")) if len(r) > 1 and code_name(r[0])}
    missing = set(CONSTANTS) - set(appendix)
    assert not missing, f"the appendix does not list {sorted(missing)}"
    wrong = []
    for name, (value, how) in CONSTANTS.items():
        written = written_value(appendix[name], how)
        if written != (float(value) if how == "number" else value):  # type: ignore[arg-type]
            wrong.append(f"{name}: the appendix says {written!r}, the code {value!r}")
    assert not wrong, "; ".join(wrong)


def test_the_limits_table_agrees_with_the_code(network: str) -> None:
    limits = hub.Limits()
    table = {r[0]: r[1] for r in rows(part(network, "Limits"))}
    assert table["Frame"] == f"{framing.MAX_FRAME_BYTES:,} bytes"
    assert table["Frames received on a link"] == (
        f"{limits.frames_per_s:,.0f} a second, bursts of {limits.frames_burst:,.0f}"
    )
    assert table["`Frontier`s received on a link"] == (
        f"{limits.frontiers_per_s:,.0f} a second, bursts of {limits.frontiers_burst:,.0f}"
    )
    assert table["`Frontier` feeds"] == f"{messages.MAX_FEEDS:,}"
    assert table["`Entries` chunks"] == f"{messages.MAX_CHUNKS:,}"
    assert table["Entries in one `Entries` message"] == f"{sync.MAX_BATCH_ENTRIES:,}"
    assert table["`Blocks`"] == f"{messages.MAX_BLOCKS:,}"
    assert table["Sessions"] == f"{limits.max_sessions:,}"
    assert table["Entries held back per session"] == f"{sync.MAX_CARRY:,}"
    assert table["Parked blocks"] == f"{hub.MAX_PARKED:,} heights"
    silence = sync.LIVENESS_INTERVALS * limits.anti_entropy_s + sync.HELLO_TIMEOUT_S
    assert table["Silence on a running link, both ways (19.10)"].startswith(f"{silence:,.0f} s ")


def test_the_size_budget_of_blocks_proofs_and_pushes_is_the_code_default(network: str) -> None:
    budget = inspect.signature(sync.by_size).parameters["budget"].default
    assert budget == framing.MAX_FRAME_BYTES - 65_536
    assert f"{budget:,} bytes (`MAX_FRAME_BYTES` − 65,536)" in network


# -- the examples of 19.16 ------------------------------------------------------------------------------


def test_examples_match_the_code(network: str) -> None:
    from commune.core.encoding import encode
    from commune.core.keys import SecretKey

    examples = re.sub(r"\s", "", part(network, "Examples"))
    t0 = 1_767_225_600_000
    ada, bo = SecretKey(bytes(32)).public, SecretKey(bytes([1]) * 32).public
    commune = bytes.fromhex("82ef0aa1d3f8a2b73ae2aee6d83bd984c39a7781b6b82ac69dfe89694bea9f5f")
    block3 = bytes.fromhex("c9d882a3a056daab6da3af408bc7288d3b34eb241439e7cdae6ccfe78cd90070")
    token = invitation.Invitation(commune, ada, ("192.0.2.1:7722",), bytes([0x22]) * 32, t0 + 7 * 86_400_000)
    payload = encode(token)
    expected = {
        "invitation payload": payload.hex(),
        "checksum": invitation._checksum(payload).hex(),
        "token": token.to_text(),
        "secret hash": invitation.secret_hash(token.secret).hex(),
        "Hello": messages.encode_message(messages.Hello(1, commune, token.secret, True)).hex(),
        "Frontier": messages.encode_message(messages.Frontier([(ada, 1), (bo, 3)], 3, block3, 0)).hex(),
    }
    stale = [name for name, value in expected.items() if value not in examples]
    assert not stale, f"section 19.16 (examples) is out of date: {', '.join(stale)}"
    assert invitation.Invitation.from_text(token.to_text().lower()) == token
