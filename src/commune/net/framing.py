"""Frames on an authenticated stream: a 4-byte big-endian length, then that many bytes.

A frame longer than MAX_FRAME_BYTES is never read: the link is a protocol violation and is
dropped. Every transport hands the sync protocol a `Link`, whatever carries its bytes.
"""

from __future__ import annotations

import asyncio

from commune.core.errors import CommuneError

#: The largest frame either side may send (docs/protocol.md, "Limits").
MAX_FRAME_BYTES = 8 * 1024 * 1024


class LinkClosed(CommuneError):
    reason = "link_closed"


class FrameTooLarge(CommuneError):
    reason = "frame_too_large"


class Link:
    """One authenticated link to the peer whose member key is `peer`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: bytes, address: str) -> None:
        self._reader = reader
        self._writer = writer
        self.peer = peer
        self.address = address
        self.bytes_in = 0
        self.bytes_out = 0

    async def send(self, frame: bytes) -> None:
        if len(frame) > MAX_FRAME_BYTES:
            raise FrameTooLarge(f"a frame of {len(frame)} bytes is over the limit of {MAX_FRAME_BYTES}")
        try:
            self._writer.write(len(frame).to_bytes(4, "big") + frame)
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:  # RuntimeError: writing to a closed TLS transport
            raise LinkClosed(f"the link to {self.address} closed: {exc}") from None
        self.bytes_out += 4 + len(frame)

    async def recv(self) -> bytes:
        try:
            head = await self._reader.readexactly(4)
            size = int.from_bytes(head, "big")
            if size > MAX_FRAME_BYTES:
                raise FrameTooLarge(f"the peer announced a frame of {size} bytes, over the limit of {MAX_FRAME_BYTES}")
            frame = await self._reader.readexactly(size)
        except (asyncio.IncompleteReadError, OSError) as exc:
            raise LinkClosed(f"the link to {self.address} closed: {exc}") from None
        self.bytes_in += 4 + size
        return frame

    async def close(self) -> None:
        if self._writer.is_closing():
            return
        self._writer.close()
        try:
            await asyncio.wait_for(self._writer.wait_closed(), 2.0)
        except (OSError, TimeoutError):
            self.abort()

    def abort(self) -> None:
        transport = self._writer.transport
        if transport is not None and not transport.is_closing():
            transport.abort()
