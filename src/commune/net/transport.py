"""Transports: how two nodes get an authenticated, private stream of frames.

The sync protocol sees only `Transport` and `Link`: a link knows the peer's verified member key
and carries length-prefixed frames (see `framing`). `TlsTransport` is TCP with TLS 1.3, each
side presenting a self-signed certificate for its member key (`certificate`) and pinning the
other's. A Tor onion-service transport is another `Transport` giving the same links.

Opening a TLS link (docs/protocol.md, "Transport"):

1. over plain TCP the client sends PREFACE, a 2-byte length and its certificate (DER);
2. the server checks that certificate is a self-signed Ed25519 one and answers the same way
   with its own; the client checks that the server's key is the key it expected (pinning) and
   drops the link, logging why, if it is not;
3. both start TLS 1.3, each trusting exactly the certificate the other sent, so the handshake
   proves each holds the private key of the key it claimed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from commune.core.errors import CommuneError
from commune.core.keys import SecretKey
from commune.net.certificate import MAX_CERTIFICATE_BYTES, CertificateError, certificate_for, key_of
from commune.net.framing import Link

log = logging.getLogger("commune.net")

PREFACE = b"COMMUNE\x01"
#: Time allowed for the preface and the TLS handshake together.
HANDSHAKE_TIMEOUT_S = 10.0


class TransportError(CommuneError):
    reason = "transport"


class Transport(Protocol):
    """What the sync protocol needs of a way to reach peers."""

    async def connect(self, address: str, peer: bytes) -> Link:
        """A link to the node with key `peer` at `address`; TransportError if it cannot be had."""
        ...

    async def listen(self, address: str, accept: Callable[[Link], Awaitable[None]]) -> Listener:
        """Accept links at `address`, handing each authenticated one to `accept`."""
        ...


class Listener(Protocol):
    @property
    def address(self) -> str: ...
    def close(self) -> None: ...


def split_address(address: str) -> tuple[str, int]:
    """ "host:port" (or "[v6]:port") -> (host, port); TransportError if it is not one."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise TransportError(f"{address!r} is not an address: write host:port, for example 192.168.1.20:7722")
    return host.strip("[]"), int(port)


class TlsTransport:
    """TCP + TLS 1.3 with pinned Ed25519 identities.

    `directory` holds `tls.pem`, the certificate and private key in the form OpenSSL loads
    (mode 0600, beside the node's secret key file; it is derived from that key and rewritten
    the same each time).
    """

    def __init__(self, key: SecretKey, directory: str | os.PathLike[str]) -> None:
        self.key = key
        self.certificate, pem = certificate_for(key)
        self._pem_path = Path(directory) / "tls.pem"
        fd = os.open(self._pem_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.chmod(self._pem_path, 0o600)

    def _context(self, server: bool, peer_certificate: bytes) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False
        ctx.load_cert_chain(self._pem_path)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=peer_certificate)
        return ctx

    async def connect(self, address: str, peer: bytes) -> Link:
        host, port = split_address(address)
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), HANDSHAKE_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot reach {address}: {exc or 'timed out'}", reason="unreachable") from None
        try:
            return await asyncio.wait_for(self._client(reader, writer, address, peer), HANDSHAKE_TIMEOUT_S)
        except BaseException as exc:
            writer.transport.abort()
            if isinstance(exc, TransportError):
                raise
            if isinstance(exc, (OSError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError)):
                raise TransportError(
                    f"handshake with {address} failed: {exc or 'timed out'}", reason="handshake"
                ) from None
            raise

    async def _client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str, peer: bytes
    ) -> Link:
        writer.write(_preface(self.certificate))
        await writer.drain()
        theirs = await _read_preface(reader)
        try:
            key = key_of(theirs)
        except CertificateError as exc:
            raise TransportError(f"{address} sent a bad certificate: {exc.message}", reason="bad_certificate") from None
        if key != peer:
            log.warning("dropped %s: it presented key %s, expected %s", address, key.hex()[:16], peer.hex()[:16])
            raise TransportError(
                f"{address} is not the node expected: its key is {key.hex()[:16]}…, not {peer.hex()[:16]}…",
                reason="wrong_peer_key",
            )
        await writer.start_tls(self._context(False, theirs))
        return Link(reader, writer, key, address)

    async def listen(self, address: str, accept: Callable[[Link], Awaitable[None]]) -> TcpListener:
        host, port = split_address(address)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peername = writer.get_extra_info("peername")
            where = f"{peername[0]}:{peername[1]}" if peername else "?"
            try:
                link = await asyncio.wait_for(self._server(reader, writer, where), HANDSHAKE_TIMEOUT_S)
            except (TransportError, OSError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
                log.info("refused a link from %s: %s", where, getattr(exc, "message", None) or exc or "timed out")
                writer.transport.abort()
                return
            try:
                await accept(link)
            except asyncio.CancelledError:
                pass  # the node is stopping: the link is dropped below, nothing to report
            finally:
                link.abort()

        server = await asyncio.start_server(handle, host, port, limit=2**16)
        return TcpListener(server)

    async def _server(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str) -> Link:
        theirs = await _read_preface(reader)
        try:
            key = key_of(theirs)
        except CertificateError as exc:
            raise TransportError(f"bad certificate: {exc.message}", reason="bad_certificate") from None
        writer.write(_preface(self.certificate))
        await writer.drain()
        await writer.start_tls(self._context(True, theirs))
        return Link(reader, writer, key, where)


class TcpListener:
    def __init__(self, server: asyncio.Server) -> None:
        self._server = server

    @property
    def address(self) -> str:
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.sockets[0].getsockname()[1])

    def close(self) -> None:
        self._server.close()


def _preface(certificate: bytes) -> bytes:
    return PREFACE + len(certificate).to_bytes(2, "big") + certificate


async def _read_preface(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(len(PREFACE) + 2)
    if head[: len(PREFACE)] != PREFACE:
        raise TransportError("the peer does not speak this protocol", reason="not_commune")
    size = int.from_bytes(head[len(PREFACE) :], "big")
    if not 0 < size <= MAX_CERTIFICATE_BYTES:
        raise TransportError("the peer's certificate is too large", reason="bad_certificate")
    return await reader.readexactly(size)
