"""Blocks every node checks for itself: a block is refused by name, whatever its signatures,
when its header, certificate, entries or effects are not what the rules say; the state is then
exactly as before (same digest)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest

from commune.chain.block import Block, Header, ProofRef, StewardSignature, make_block
from commune.chain.process import build_block, order_entries
from commune.chain.refusal import BlockPending, BlockRefused
from commune.chain.stewardfork import StewardForkError, StewardForkProof
from commune.core.encoding import encode
from commune.log.bodies import ConfirmDeposit, Deposit, Note, Transfer
from commune.rules.effects import Post, Posting
from commune.sim.world import World, key_of


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path, ["ana", "ben", "cy"], steward="ana", nodes=["ana", "peer"])
    yield w
    w.close()


def _next_block(w: World) -> tuple[Block, Header]:
    """ben is credited 10.00 and pays cy 4.00: the steward builds the block that takes his
    transfer in; the peer holds the entries but not yet the block."""
    dep = w.act("ben", Deposit(w.pub("ben"), 10_00))
    w.clock.advance(1000)
    w.block()
    w.act("ana", ConfirmDeposit(dep.id, 10_00), refs=(dep.id,))
    w.clock.advance(1000)
    w.block()
    w.clock.advance(1000)
    w.act("ben", Transfer(w.pub("cy"), 4_00))
    w.clock.advance(1000)
    w.sync("ana", "peer")
    block = w.block()
    w.sync("ana", "peer", blocks=False)  # entries only: the new block is applied below, tampered or not
    return block, block.decoded()


def _refused_on_peer(w: World, data: bytes | Block, reason: str) -> None:
    peer = w.nodes["peer"].state
    before = (peer.digest(), peer.height)
    with pytest.raises(BlockRefused) as refused:
        peer.apply_block(data, w.nodes["peer"].entries, w.clock.now_ms())
    assert refused.value.reason == reason
    assert (peer.digest(), peer.height) == before


def _resigned(header: Header, **changes: object) -> Block:
    return make_block(msgspec.structs.replace(header, **changes), key_of("ana"))


@pytest.fixture
def pending(world: World) -> tuple[Block, Header]:
    """The peer is one block behind; this is the good next block."""
    peer = world.nodes["peer"].state
    block, header = _next_block(world)
    peer_height = peer.height
    assert peer_height == header.height - 1
    return block, header


def test_the_good_block_applies(world: World, pending: tuple[Block, Header]) -> None:
    block, _ = pending
    world.nodes["peer"].state.apply_block(block.to_bytes(), world.nodes["peer"].entries)
    assert world.nodes["peer"].state.digest() == world.nodes["ana"].state.digest()


def test_a_block_with_a_wrong_effect(world: World, pending: tuple[Block, Header]) -> None:
    _, header = pending
    (post,) = header.effects
    assert isinstance(post, Post)
    stolen = Post((Posting(post.postings[0].account, 4_00), Posting(post.postings[1].account, -4_01)), post.memo)
    _refused_on_peer(world, _resigned(header, effects=(stolen,)), "wrong_effects")
    fair_but_bigger = Post(
        (Posting(post.postings[0].account, 5_00), Posting(post.postings[1].account, -5_00)), post.memo
    )
    _refused_on_peer(world, _resigned(header, effects=(fair_but_bigger,)), "wrong_effects")
    _refused_on_peer(world, _resigned(header, effects=()), "wrong_effects")


def test_a_block_signed_by_someone_who_is_not_a_steward(world: World, pending: tuple[Block, Header]) -> None:
    _, header = pending
    forged = make_block(header, key_of("ben"))
    _refused_on_peer(world, forged, "not_steward")


def test_a_block_with_a_bad_signature(world: World, pending: tuple[Block, Header]) -> None:
    block, _ = pending
    sig = block.signatures[0]
    broken = Block(block.header, (StewardSignature(sig.steward, bytes(64)),))
    _refused_on_peer(world, broken, "bad_block_signature")


def test_an_unsigned_block(world: World, pending: tuple[Block, Header]) -> None:
    block, _ = pending
    _refused_on_peer(world, Block(block.header, ()), "too_few_signatures")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h, parent_ms: {"height": h.height + 1}, "wrong_height"),
        (lambda h, parent_ms: {"parent": bytes(32)}, "wrong_parent"),
        (lambda h, parent_ms: {"commune": bytes(32)}, "wrong_commune"),
        (lambda h, parent_ms: {"time_ms": 0}, "block_time_backwards"),
        (lambda h, parent_ms: {"time_ms": h.time_ms + 5 * 60_000 + 1}, "block_future_time"),
        (lambda h, parent_ms: {"time_ms": parent_ms}, "entry_after_block"),
        (lambda h, parent_ms: {"entries": (*h.entries, h.entries[-1])}, "entry_out_of_order"),
        (lambda h, parent_ms: {"proofs": (ProofRef("fork", b"\x92\xc4\x00\xc4\x00"),)}, "bad_proof"),
    ],
)
def test_a_block_with_a_bad_header(
    world: World, pending: tuple[Block, Header], change: Callable[[Header], dict], reason: str
) -> None:
    _, header = pending
    parent_ms = world.nodes["peer"].state.state.time_ms  # before ben's transfer was signed
    _refused_on_peer(world, _resigned(header, **change(header, parent_ms)), reason)


def test_a_block_naming_another_entry_at_a_held_position(world: World, pending: tuple[Block, Header]) -> None:
    _, header = pending
    ref = header.entries[0]
    other = msgspec.structs.replace(ref, id=bytes(32))
    _refused_on_peer(world, _resigned(header, entries=(other,)), "entry_mismatch")


def test_a_block_naming_entries_not_held_yet_waits(world: World) -> None:
    world.act("ben", Note("hello"))
    world.clock.advance(1000)
    block = world.block()  # the peer has not got ben's note
    peer = world.nodes["peer"].state
    with pytest.raises(BlockPending) as pending:
        peer.apply_block(block.to_bytes(), world.nodes["peer"].entries)
    assert pending.value.missing == [(world.pub("ben"), 1)]
    assert peer.height == 0
    world.sync("ana", "peer")
    assert peer.height == 1 and peer.digest() == world.nodes["ana"].state.digest()


def test_garbage_is_a_malformed_block(world: World) -> None:
    peer = world.nodes["peer"].state
    for junk in (b"", b"\x00", b"\x92\xc4\x00\x90", encode([1, 2, 3])):
        with pytest.raises(Exception) as refused:
            peer.apply_block(junk, world.nodes["peer"].entries)
        assert getattr(refused.value, "reason", None) == "malformed_block"
    assert peer.height == 0


def test_a_steward_signing_two_blocks_at_one_height_is_proven(world: World) -> None:
    w = world
    state = w.nodes["ana"].state
    w.act("ben", Note("one"))
    w.clock.advance(1000)
    entries = order_entries([w.nodes["ana"].entries.get(w.pub("ben"), 1)])
    first = build_block(state.state, w.key("ana"), w.clock.now_ms(), entries)
    state.state.rollback()
    second = build_block(state.state, w.key("ana"), w.clock.now_ms(), [])
    state.state.rollback()
    proof = StewardForkProof.of(w.pub("ana"), first, second)
    assert proof.check(w.commune) == (w.pub("ana"), 1)
    with pytest.raises(StewardForkError):
        StewardForkProof.of(w.pub("ben"), first, second).check()
    with pytest.raises(StewardForkError):
        StewardForkProof(w.pub("ana"), first.to_bytes(), first.to_bytes()).check()


def test_a_node_holding_a_fork_proof_the_steward_lacks_still_follows_the_chain(world: World) -> None:
    """The chain decides from where a feed is frozen: a node whose own store froze ben's feed
    (it saw his fork first) accepts the steward's block that takes in ben's entry there, and the
    proof reaches the chain in a later block."""
    w = world
    w.add_node("ben")
    w.home["ben"] = "ben"
    w.act("ben", Note("one"), node="ana")  # ben's #1, signed on the steward's node...
    w.sync("ana", "peer")
    twin = w.act("ben", Note("another one"), node="ben")  # ...and a different #1 on his own
    assert w.nodes["peer"].entries.ingest([twin.raw]).forks  # the peer sees the fork first
    assert w.nodes["peer"].entries.valid_through(w.pub("ben")) == 0
    w.clock.advance(1000)
    w.block()  # the steward, unaware, takes in ben's #1
    w.sync("ana", "peer")
    assert w.nodes["peer"].state.height == w.nodes["ana"].state.height == 1
    w.sync("peer", "ana")  # the proof travels to the steward
    w.clock.advance(1000)
    w.block()
    w.sync("ana", "peer")
    for name in ("ana", "peer"):
        assert w.nodes[name].state.state.tables["frozen"] == {w.pub("ben"): 1}
    assert w.nodes["peer"].state.digest() == w.nodes["ana"].state.digest()
