"""TLS 1.3 links with pinned member keys, on real loopback sockets."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

import pytest

from commune.core.keys import SecretKey
from commune.net.certificate import CertificateError, certificate_for, key_of
from commune.net.framing import MAX_FRAME_BYTES, FrameTooLarge, Link, LinkClosed
from commune.net.transport import PREFACE, TlsTransport, TransportError, split_address

ALICE = SecretKey(b"a" * 32)
BOB = SecretKey(b"b" * 32)
MALLORY = SecretKey(b"m" * 32)


def test_certificate_carries_the_member_key_and_is_self_signed() -> None:
    der, pem = certificate_for(ALICE)
    assert key_of(der) == ALICE.public
    assert b"PRIVATE KEY" in pem
    # A certificate signed by another key than its own is refused.
    other, _ = certificate_for(BOB)
    tampered = bytearray(der)
    tampered[-10] ^= 1  # in the signature
    with pytest.raises(CertificateError):
        key_of(bytes(tampered))
    for junk in (b"", b"\x30\x03abc", b"x" * 5000, other[:100]):
        with pytest.raises(CertificateError):
            key_of(junk)


def test_addresses_are_parsed_or_refused_plainly() -> None:
    assert split_address("127.0.0.1:7722") == ("127.0.0.1", 7722)
    assert split_address("[::1]:80") == ("::1", 80)
    for bad in ("localhost", ":80", "host:", "host:99999", "host:x"):
        with pytest.raises(TransportError, match="host:port"):
            split_address(bad)


async def _echo_server(tmp_path: Path, key: SecretKey, seen: list[bytes]) -> tuple[TlsTransport, object]:
    transport = TlsTransport(key, _dir(tmp_path, key))

    async def accept(link: Link) -> None:
        seen.append(link.peer)
        while True:
            try:
                frame = await link.recv()
            except (LinkClosed, FrameTooLarge):
                return
            await link.send(frame[::-1])

    listener = await transport.listen("127.0.0.1:0", accept)
    return transport, listener


def _dir(tmp_path: Path, key: SecretKey) -> Path:
    path = tmp_path / key.public.hex()[:8]
    path.mkdir(exist_ok=True)
    return path


def test_both_sides_learn_each_others_key_over_tls13(tmp_path: Path) -> None:
    async def main() -> None:
        seen: list[bytes] = []
        _, listener = await _echo_server(tmp_path, ALICE, seen)
        client = TlsTransport(BOB, _dir(tmp_path, BOB))
        link = await client.connect(listener.address, ALICE.public)
        assert link.peer == ALICE.public
        ssl_object = link._writer.get_extra_info("ssl_object")
        assert ssl_object.version() == "TLSv1.3"
        await link.send(b"hello")
        assert await link.recv() == b"olleh"
        assert seen == [BOB.public]
        await link.close()
        listener.close()

    asyncio.run(main())
    mode = (tmp_path / ALICE.public.hex()[:8] / "tls.pem").stat().st_mode & 0o777
    assert mode == 0o600


def test_a_peer_with_another_key_is_dropped_with_a_logged_reason(tmp_path: Path, caplog) -> None:
    async def main() -> None:
        _, listener = await _echo_server(tmp_path, MALLORY, [])
        client = TlsTransport(BOB, _dir(tmp_path, BOB))
        with caplog.at_level(logging.WARNING, logger="commune.net"):
            with pytest.raises(TransportError) as err:
                await client.connect(listener.address, ALICE.public)  # expected Alice, Mallory answers
        assert err.value.reason == "wrong_peer_key"
        listener.close()

    asyncio.run(main())
    assert any("expected" in r.getMessage() and "dropped" in r.getMessage() for r in caplog.records)


def test_a_server_that_shows_one_certificate_and_holds_another_key_fails_the_handshake(tmp_path: Path) -> None:
    """Pinning is enforced by TLS: showing Alice's certificate in the preface is not enough,
    the handshake proves possession of the key."""

    async def main() -> None:
        alice_der, _ = certificate_for(ALICE)
        mallory = TlsTransport(MALLORY, _dir(tmp_path, MALLORY))

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readexactly(len(PREFACE) + 2)
            await reader.readexactly(int.from_bytes(head[-2:], "big"))
            writer.write(PREFACE + len(alice_der).to_bytes(2, "big") + alice_der)  # claims to be Alice
            await writer.drain()
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(mallory._pem_path)  # but holds only Mallory's key
            try:
                await writer.start_tls(ctx)
            except (ssl.SSLError, OSError):
                pass
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = TlsTransport(BOB, _dir(tmp_path, BOB))
        with pytest.raises(TransportError) as err:
            await client.connect(f"127.0.0.1:{port}", ALICE.public)
        assert err.value.reason == "handshake"
        server.close()

    asyncio.run(main())


def test_garbage_and_silence_are_refused_and_the_server_keeps_serving(tmp_path: Path) -> None:
    async def main() -> None:
        seen: list[bytes] = []
        _, listener = await _echo_server(tmp_path, ALICE, seen)
        host, port = split_address(listener.address)
        # Not this protocol at all.
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed on us
        writer.close()
        # The right preface with a certificate that is not one.
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(PREFACE + (100).to_bytes(2, "big") + b"\x00" * 100)
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        # An honest client still gets through.
        link = await TlsTransport(BOB, _dir(tmp_path, BOB)).connect(listener.address, ALICE.public)
        await link.send(b"ok")
        assert await link.recv() == b"ko"
        assert seen == [BOB.public]
        listener.close()

    asyncio.run(main())


def test_an_oversized_frame_is_never_read(tmp_path: Path) -> None:
    async def main() -> None:
        _, listener = await _echo_server(tmp_path, ALICE, [])
        link = await TlsTransport(BOB, _dir(tmp_path, BOB)).connect(listener.address, ALICE.public)
        with pytest.raises(FrameTooLarge):
            await link.send(b"x" * (MAX_FRAME_BYTES + 1))
        # Announce a huge frame by hand: the server drops the link without reading it.
        link._writer.write((MAX_FRAME_BYTES + 1).to_bytes(4, "big"))
        await link._writer.drain()
        with pytest.raises(LinkClosed):
            await asyncio.wait_for(link.recv(), 5)
        listener.close()

    asyncio.run(main())


def test_an_unreachable_address_is_a_plain_error(tmp_path: Path) -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(TransportError) as err:
            await TlsTransport(BOB, _dir(tmp_path, BOB)).connect(f"127.0.0.1:{port}", ALICE.public)
        assert err.value.reason == "unreachable" and "cannot reach" in err.value.message

    asyncio.run(main())
