"""The sync protocol between hubs on real loopback TLS links, in one process (issue 5).

Each node is a `sim.World` node (its own SQLite stores) with a Hub over TlsTransport. What the
tests check is what a node holds afterwards: entries, blocks, proofs and the state digest.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from commune.core.clock import ManualClock
from commune.core.keys import SecretKey
from commune.log.bodies import Note, Transfer
from commune.log.entry import decode_entry, sign_entry
from commune.log.feed import FeedWriter
from commune.log.fork import ForkProof
from commune.net.framing import Link, LinkClosed
from commune.net.hub import Hub, Limits
from commune.net.invitation import InvitationBook
from commune.net.messages import (
    PROTOCOL_VERSION,
    Entries,
    Frontier,
    Hello,
    Refuse,
    Welcome,
    decode_message,
    encode_message,
)
from commune.net.sync import BULK_THRESHOLD
from commune.net.transport import TlsTransport
from commune.sim.world import START_MS, World

pack = msgspec.msgpack.Encoder().encode
DAY = 86_400_000


def make_world(tmp_path: Path, nodes: tuple[str, ...] = ("ana", "ben")) -> World:
    world = World(tmp_path, ["ana", "ben", "cai"], nodes=list(nodes), clock=ManualClock(START_MS))
    for name in nodes:
        world.home[name] = name
    return world


def hub_for(world: World, name: str, tmp_path: Path, **kw) -> Hub:
    node = world.nodes[name]
    directory = tmp_path / f"tls-{name}"
    directory.mkdir(exist_ok=True)
    return Hub(TlsTransport(world.key(name), directory), node.entries, node.state, world.clock, **kw)


def run(coro: Awaitable) -> object:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.02)


def test_one_sync_brings_a_new_node_to_the_same_state(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    for i in range(50):
        world.act("ana", Note(f"minute {i}"))
    world.act("ben", Note("from ben's laptop"))
    world.block("ana")
    ana, ben = world.nodes["ana"], world.nodes["ben"]

    async def main() -> tuple[dict, dict]:
        server, client = hub_for(world, "ana", tmp_path), hub_for(world, "ben", tmp_path)
        address = await server.listen("127.0.0.1:0")
        first = (await client.sync_once(world.pub("ana"), address)).stats
        second = (await client.sync_once(world.pub("ana"), address)).stats  # a replay: nothing moves
        await client.close()
        await server.close()
        return first, second

    first, second = run(main())
    assert first == {"entries_in": 50, "entries_out": 1, "blocks_in": 1, "blocks_out": 0}
    assert second == {"entries_in": 0, "entries_out": 0, "blocks_in": 0, "blocks_out": 0}
    assert ben.entries.count() == ana.entries.count() == 51
    # Ben's own entry reached Ana; the block reached Ben and gives the same state.
    assert ana.entries.frontier()[world.pub("ben")] == 1
    assert ben.state.height == ana.state.height == 1
    assert ben.state.digest() == ana.state.digest()


def test_a_large_catch_up_is_taken_in_bulk_and_checked_afterwards(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    for i in range(BULK_THRESHOLD + 500):
        world.act("ana", Note(f"n{i}"))
    world.block("ana")
    ben = world.nodes["ben"]

    async def main() -> int:
        server, client = hub_for(world, "ana", tmp_path), hub_for(world, "ben", tmp_path)
        address = await server.listen("127.0.0.1:0")
        await client.sync_once(world.pub("ana"), address)
        unchecked = ben.entries.unverified()
        await client.settle()
        await client.close()
        await server.close()
        return unchecked

    unchecked_after_sync = run(main())
    assert unchecked_after_sync > 0  # bulk mode left signatures for later...
    assert ben.entries.unverified() == 0  # ...and settling checked them all
    assert ben.state.height == 1  # the block waited for its entries' signatures, then applied
    assert ben.state.digest() == world.nodes["ana"].state.digest()


def test_new_entries_and_blocks_are_pushed_to_linked_peers(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    ana, ben = world.nodes["ana"], world.nodes["ben"]
    limits = Limits(anti_entropy_s=30.0)  # no anti-entropy in this test: only pushes

    async def main() -> None:
        server, client = hub_for(world, "ana", tmp_path, limits=limits), hub_for(world, "ben", tmp_path, limits=limits)
        address = await server.listen("127.0.0.1:0")
        client.add_peer(world.pub("ana"), address)
        client.start()
        await until(lambda: len(server.sessions) == 1 and len(client.sessions) == 1)
        await until(lambda: True)
        entry = FeedWriter(ana.entries, world.key("ana")).append(Note("pushed"))
        server.publish([entry])
        await until(lambda: ben.entries.frontier().get(world.pub("ana")) == entry.seq)
        block = world.block("ana")
        server.publish_block(block.to_bytes())
        await until(lambda: ben.state.height == ana.state.height)
        # And the other way: Ben's entry reaches Ana at once.
        mine = FeedWriter(ben.entries, world.key("ben")).append(Note("from ben"))
        client.publish([mine])
        await until(lambda: ana.entries.frontier().get(world.pub("ben")) == mine.seq)
        await client.close()
        await server.close()

    run(main())
    assert ana.state.digest() == ben.state.digest()


# -- access ---------------------------------------------------------------------------------


async def raw_link(world: World, tmp_path: Path, key: SecretKey, address: str) -> Link:
    directory = tmp_path / f"tls-raw-{key.public.hex()[:8]}"
    directory.mkdir(exist_ok=True)
    return await TlsTransport(key, directory).connect(address, world.pub("ana"))


async def hello(link: Link, commune: bytes, invitation: bytes = b"") -> object:
    await link.send(encode_message(Hello(PROTOCOL_VERSION, commune, invitation)))
    return decode_message(await link.recv())


def test_only_participants_or_invitees_may_sync(tmp_path: Path) -> None:
    world = make_world(tmp_path, ("ana",))
    clock = world.clock
    book = InvitationBook(tmp_path / "invitations.sqlite", clock)
    carol, dave, erin = SecretKey(b"c" * 32), SecretKey(b"d" * 32), SecretKey(b"e" * 32)

    async def main() -> dict[str, object]:
        server = hub_for(world, "ana", tmp_path, invitations=book)
        address = await server.listen("127.0.0.1:0")
        seen: dict[str, object] = {}
        seen["stranger"] = await hello(await raw_link(world, tmp_path, carol, address), world.commune)
        seen["other commune"] = await hello(await raw_link(world, tmp_path, world.key("ben"), address), b"\x01" * 32)
        invitation = book.issue(world.commune, world.pub("ana"), [address], 7 * DAY)
        seen["invited"] = await hello(await raw_link(world, tmp_path, carol, address), world.commune, invitation.secret)
        seen["again"] = await hello(await raw_link(world, tmp_path, carol, address), world.commune, invitation.secret)
        seen["used"] = await hello(await raw_link(world, tmp_path, dave, address), world.commune, invitation.secret)
        late = book.issue(world.commune, world.pub("ana"), [address], DAY)
        clock.advance(2 * DAY)
        seen["expired"] = await hello(await raw_link(world, tmp_path, erin, address), world.commune, late.secret)
        seen["founder"] = await hello(await raw_link(world, tmp_path, world.key("ben"), address), world.commune)
        await server.close()
        return seen

    seen = run(main())
    book.close()
    assert isinstance(seen["stranger"], Refuse) and seen["stranger"].reason == "not_a_participant"
    assert isinstance(seen["other commune"], Refuse) and seen["other commune"].reason == "wrong_commune"
    assert isinstance(seen["invited"], Welcome) and isinstance(seen["again"], Welcome)  # bound to carol
    assert isinstance(seen["used"], Refuse) and seen["used"].reason == "invitation_used"
    assert isinstance(seen["expired"], Refuse) and seen["expired"].reason == "invitation_expired"
    assert isinstance(seen["founder"], Welcome)  # Ben is a founder: a participant needs no invitation


# -- hostile peers ------------------------------------------------------------------------------


def _hostile_case(tmp_path: Path, attack: Callable[[World, Link], Awaitable[None]]) -> tuple[str, bool, bytes]:
    """Ben's key attacks Ana's hub; then Ben is refused for a while and honest Ana-to-new-peer
    syncs still work. Returns (the reason Ana's hub logged, whether Ben was then backed off,
    Ana's digest before == after)."""
    world = make_world(tmp_path, ("ana", "ben", "cai"))
    before = world.nodes["ana"].state.digest(), world.nodes["ana"].entries.count()

    async def main() -> tuple[str, bool]:
        server = hub_for(world, "ana", tmp_path)
        address = await server.listen("127.0.0.1:0")
        link = await raw_link(world, tmp_path, world.key("ben"), address)
        assert isinstance(await hello(link, world.commune), Welcome)
        assert isinstance(decode_message(await link.recv()), Frontier)
        await attack(world, link)
        try:  # the hub says why and closes the link
            while True:
                await asyncio.wait_for(link.recv(), 5)
        except (LinkClosed, TimeoutError):
            pass
        reason = server.peers[world.pub("ben")].last_reason
        again = await hello(await raw_link(world, tmp_path, world.key("ben"), address), world.commune)
        backed_off = isinstance(again, Refuse) and again.reason == "backed_off"
        # An honest peer is served as before.
        honest = hub_for(world, "cai", tmp_path)
        await honest.sync_once(world.pub("ana"), address)
        await honest.close()
        await server.close()
        return reason, backed_off

    reason, backed_off = run(main())
    after = world.nodes["ana"].state.digest(), world.nodes["ana"].entries.count()
    return reason, backed_off, before == after


def test_garbage_in_a_frame_disconnects_and_backs_off_the_peer(tmp_path: Path) -> None:
    async def attack(world: World, link: Link) -> None:
        await link.send(os.urandom(300))

    assert _hostile_case(tmp_path, attack) == ("bad_message", True, True)


def test_an_entry_with_a_forged_signature_disconnects_the_peer(tmp_path: Path) -> None:
    async def attack(world: World, link: Link) -> None:
        forged = sign_entry(
            SecretKey(b"z" * 32),
            commune=world.commune,
            seq=1,
            prev=b"\x00" * 32,
            time_ms=START_MS,
            chain_ref=world.commune,
            body=Transfer(world.pub("ben"), 100),
        )
        # Claim it is Ana's: put her key where the author is (the signature is then wrong).
        entry = decode_entry(forged)
        raw = forged.replace(entry.author, world.pub("ana"))
        await link.send(encode_message(Entries([pack([raw])])))

    assert _hostile_case(tmp_path, attack) == ("refused_entry", True, True)


def test_a_flood_of_requests_disconnects_the_peer(tmp_path: Path) -> None:
    async def attack(world: World, link: Link) -> None:
        frontier = encode_message(Frontier([], 0, b"", 0))
        for _ in range(200):
            try:
                await link.send(frontier)
            except LinkClosed:
                return

    assert _hostile_case(tmp_path, attack) == ("too_many_requests", True, True)


def test_an_oversized_frame_disconnects_the_peer(tmp_path: Path) -> None:
    async def attack(world: World, link: Link) -> None:
        link._writer.write((64 * 1024 * 1024).to_bytes(4, "big") + b"x" * 1000)
        await link._writer.drain()

    assert _hostile_case(tmp_path, attack) == ("frame_too_large", True, True)


def test_a_replay_of_old_entries_changes_nothing_and_is_not_punished(tmp_path: Path) -> None:
    world = make_world(tmp_path, ("ana", "ben"))
    old = [world.act("ben", Note(f"old {i}"), node="ana").raw for i in range(5)]
    world.block("ana")
    ana = world.nodes["ana"]
    before = ana.state.digest(), ana.entries.count()

    async def main() -> str:
        server = hub_for(world, "ana", tmp_path)
        address = await server.listen("127.0.0.1:0")
        link = await raw_link(world, tmp_path, world.key("ben"), address)
        assert isinstance(await hello(link, world.commune), Welcome)
        for _ in range(3):
            await link.send(encode_message(Entries([pack(old)])))
        await asyncio.sleep(0.3)
        still = isinstance(
            await hello(await raw_link(world, tmp_path, world.key("ben"), address), world.commune), Welcome
        )
        await server.close()
        return "served" if still else "refused"

    assert run(main()) == "served"
    assert (ana.state.digest(), ana.entries.count()) == before


def test_fork_proofs_travel_and_freeze_the_feed_where_they_arrive(tmp_path: Path) -> None:
    world = make_world(tmp_path, ("ana", "ben"))
    ana, ben = world.nodes["ana"], world.nodes["ben"]
    key = world.key("ben")
    one = sign_entry(
        key,
        commune=world.commune,
        seq=1,
        prev=b"\x00" * 32,
        time_ms=START_MS,
        chain_ref=world.commune,
        body=Note("one"),
    )
    two = sign_entry(
        key,
        commune=world.commune,
        seq=1,
        prev=b"\x00" * 32,
        time_ms=START_MS,
        chain_ref=world.commune,
        body=Note("two"),
    )
    ana.entries.ingest([one])
    ana.entries.ingest([two])  # a fork: Ana's store proves it
    assert len(ana.entries.fork_proofs()) == 1
    assert ben.entries.fork_proofs() == []

    async def main() -> None:
        server, client = hub_for(world, "ana", tmp_path), hub_for(world, "ben", tmp_path)
        address = await server.listen("127.0.0.1:0")
        await client.sync_once(world.pub("ana"), address)
        await client.close()
        await server.close()

    run(main())
    assert [p.to_bytes() for p in ben.entries.fork_proofs()] == [p.to_bytes() for p in ana.entries.fork_proofs()]
    assert isinstance(ben.entries.fork_proofs()[0], ForkProof)
    assert ben.entries.frozen() == {world.pub("ben"): 1}


@pytest.mark.parametrize("version", [0, 2])
def test_another_protocol_version_is_refused_by_name(tmp_path: Path, version: int) -> None:
    world = make_world(tmp_path, ("ana",))

    async def main() -> object:
        server = hub_for(world, "ana", tmp_path)
        address = await server.listen("127.0.0.1:0")
        link = await raw_link(world, tmp_path, world.key("ben"), address)
        await link.send(encode_message(Hello(version, world.commune)))
        reply = decode_message(await link.recv())
        await server.close()
        return reply

    reply = run(main())
    assert isinstance(reply, Refuse) and reply.reason == "unsupported_version"


def test_a_node_never_dials_a_key_that_is_not_a_participant(tmp_path: Path) -> None:
    """Keys met on the LAN or named in a profile get nothing unless the state shows them as
    participants: the dialing side checks too."""
    world = make_world(tmp_path, ("ana", "ben"))
    stranger = SecretKey(b"s" * 32)

    async def main() -> str:
        client = hub_for(world, "ben", tmp_path)
        try:
            await client.connect(stranger.public, "127.0.0.1:9")
        except Exception as exc:
            return getattr(exc, "reason", repr(exc))
        finally:
            await client.close()
        return "dialled"

    assert run(main()) == "not_a_participant"
