"""`commune serve`: run a node until it is stopped.

Listens on the addresses given, links to the peers it knows (and finds on the LAN, on the
interfaces given), takes in and passes on what peers send, answers other `commune` commands on
node.sock, and, when this node's person is a steward, builds a block whenever entries wait or
a deadline falls due. Stopping (SIGTERM, SIGINT, or `stop` set) closes everything it opened
and removes node.sock and serving.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Sequence

from commune.core.errors import CommuneError
from commune.net.discovery import Discovery, Peer
from commune.net.hub import Limits
from commune.net.transport import split_address
from commune.node import control
from commune.node.node import SERVING_FILE, SOCKET_FILE, Node, NodeError

log = logging.getLogger("commune.node")


async def serve(
    node: Node,
    *,
    listen: Sequence[str] = ("127.0.0.1:0",),
    peers: Sequence[tuple[bytes, str]] = (),
    discover_on: Sequence[str] = (),
    advertise: Sequence[str] = (),
    limits: Limits | None = None,
    block_interval_s: float = 1.0,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    running = await loop.run_in_executor(None, _serving_already, node)
    if running is not None:
        raise NodeError(
            f"a node already serves {node.root} (process {running}); stop it first, or use another directory",
            reason="already_serving",
        )
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    for key, address in peers:
        node.add_peer(key, address)
    hub = node.make_hub(limits)
    socket_path = node.root / SOCKET_FILE
    serving_path = node.root / SERVING_FILE
    discovery: Discovery | None = None
    control_server = None
    try:
        addresses = []
        for address in listen:
            try:
                addresses.append(await hub.listen(address))
            except OSError as exc:
                raise NodeError(
                    f"cannot listen on {address}: {exc.strerror or exc}; choose another --listen host:port",
                    reason="cannot_listen",
                ) from None
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()  # left by a node that was killed
        with control.socket_address(socket_path) as address:
            control_server = await asyncio.start_unix_server(
                lambda r, w: control.handle(node, r, w), path=address, limit=control.MAX_REQUEST_BYTES
            )
        os.chmod(socket_path, 0o600)
        if discover_on:
            port = split_address(addresses[0])[1]

            def found(peer: Peer) -> None:  # on zeroconf's thread
                for host in peer.addresses:
                    loop.call_soon_threadsafe(node.add_peer, peer.key, f"{host}:{peer.port}")

            discovery = Discovery(node.commune, node.key.public, port, list(discover_on), found)
            await loop.run_in_executor(None, discovery.start)
        tmp = serving_path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "key": node.key.public.hex(),
                    "addresses": addresses,
                    "advertised": list(advertise),
                }
            )
        )
        os.replace(tmp, serving_path)
        if advertise:
            node.advertise(advertise)
        hub.start()
        log.info("serving %s on %s", node.commune.hex()[:12], ", ".join(addresses))
        if ready is not None:
            ready.set()
        while not stop.is_set():
            try:
                node.steward_tick()
            except Exception:  # a duty that fails must not stop the node; it is tried again
                log.exception("the steward's block could not be built")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), block_interval_s)
    finally:
        for path in (serving_path, socket_path) if control_server is not None else ():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if control_server is not None:
            control_server.close()
        if discovery is not None:
            await loop.run_in_executor(None, discovery.close)
        await hub.close()
        node.hub = None


def _serving_already(node: Node) -> int | None:
    """The process id of a live node serving `node`'s directory, if there is one."""
    try:
        answer = control.request(node.root, {"op": "status"}, timeout=5)
    except (OSError, ValueError, CommuneError):
        return None
    if answer is None:
        return None
    try:
        return int(json.loads((node.root / SERVING_FILE).read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return -1
