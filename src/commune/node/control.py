"""How `commune` commands reach the node that serves a data directory: node.sock.

A serving node is the only writer of its stores, so a command that acts (a transfer, a vote)
hands its entry body to the node through a Unix socket in the data directory (mode 0600: only
the directory's owner can use it). One JSON object per line each way. Requests:

    {"op": "append", "kind": K, "body": HEX, "refs": [HEX...]}   sign and store an entry, push it
    {"op": "status"}                                               what the node is doing
    {"op": "sync", "peer": "KEY@host:port"}                        one sync with that peer now
    {"op": "tick"}                                                 the steward's duties now

Answers are {"ok": true, ...} or {"ok": false, "reason": R, "message": M}.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commune.core.errors import CommuneError
from commune.log.bodies import BODY_DECODERS
from commune.node.node import SOCKET_FILE, NodeError, parse_peer

if TYPE_CHECKING:
    from commune.node.node import Node

MAX_REQUEST_BYTES = 1024 * 1024


async def handle(node: Node, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one command's requests until it closes the socket."""
    try:
        while line := await reader.readline():
            try:
                answer = await _answer(node, json.loads(line))
            except CommuneError as exc:
                answer = {"ok": False, "reason": exc.reason, "message": exc.message}
            except (ValueError, KeyError, TypeError) as exc:
                answer = {"ok": False, "reason": "bad_request", "message": f"not a request this node knows: {exc}"}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
    except (ConnectionError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


async def _answer(node: Node, request: dict[str, Any]) -> dict[str, Any]:
    op = request["op"]
    if op == "append":
        kind = request["kind"]
        if kind not in BODY_DECODERS:
            raise NodeError(f"no entry kind {kind!r}", reason="unknown_kind")
        body = BODY_DECODERS[kind].decode(bytes.fromhex(request["body"]))
        entry = node.append(body, tuple(bytes.fromhex(r) for r in request.get("refs", ())))
        return {"ok": True, "seq": entry.seq, "id": entry.id.hex()}
    if op == "status":
        return {"ok": True, **node.status()}
    if op == "sync":
        key, address = parse_peer(request["peer"])
        stats = await node.sync(key, address)
        node.add_peer(key, address)  # remembered once it answered
        return {"ok": True, **stats}
    if op == "tick":
        block = node.steward_tick()
        return {"ok": True, "height": node.state.height, "built": block is not None}
    raise NodeError(f"no request {op!r}", reason="bad_request")


#: The longest path a Unix socket address may have (sun_path, less its terminating NUL).
_SUN_PATH_MAX = 107


@contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """`path` as a Unix socket address. A path too long for one (a deeply nested data
    directory) is reached through a descriptor of its directory: /proc/self/fd/N/node.sock."""
    text = str(path)
    if len(os.fsencode(text)) <= _SUN_PATH_MAX:
        yield text
        return
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def request(root: str | Path, message: dict[str, Any], timeout: float = 600.0) -> dict[str, Any] | None:
    """Send `message` to the node serving `root`; its answer, or None if no node serves it."""
    path = Path(root) / SOCKET_FILE
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        with socket_address(path) as address:
            sock.connect(address)
    except (ConnectionRefusedError, FileNotFoundError):
        sock.close()
        return None  # a node killed without cleaning up left its socket behind
    try:
        sock.sendall(json.dumps(message).encode() + b"\n")
        buffer = b""
        while not buffer.endswith(b"\n"):
            data = sock.recv(65536)
            if not data:
                raise NodeError("the serving node closed the connection without answering", reason="node_gone")
            buffer += data
    finally:
        sock.close()
    answer = json.loads(buffer)
    if not answer.get("ok"):
        raise CommuneError(answer.get("message", "the node refused"), reason=answer.get("reason", "refused"))
    return answer
