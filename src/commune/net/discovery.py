"""LAN discovery: advertise this node and find peers of the same commune over mDNS (zeroconf).

Each node registers one `_commune._tcp.local.` service whose TXT record carries the protocol
version, the commune id and the node key, and browses for the others. Only the interfaces asked
for are used, so a node never announces itself on a network it was not told to. Discovery is a
hint, not a proof: a peer found here still has to show its key over TLS before anything is synced.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

__all__ = ["PROTOCOL_VERSION", "SERVICE_TYPE", "Discovery", "Peer", "peer_from_txt"]

log = logging.getLogger(__name__)

SERVICE_TYPE = "_commune._tcp.local."
PROTOCOL_VERSION = b"1"
#: How long a browser waits for a found service's SRV, TXT and address records, in milliseconds.
_RESOLVE_TIMEOUT_MS = 3000


@dataclass(frozen=True, slots=True)
class Peer:
    """A node of our commune seen on the LAN: its key, its IPv4 addresses and its TCP port."""

    key: bytes
    addresses: tuple[str, ...]
    port: int


def _hex32(value: bytes | None) -> bytes | None:
    """The 32 bytes that 64 hex digits spell, or None if the value is not that."""
    if value is None or len(value) != 64:
        return None
    try:
        return bytes.fromhex(value.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


def peer_from_txt(
    properties: Mapping[bytes, bytes | None],
    addresses: tuple[str, ...],
    port: int | None,
    *,
    commune: bytes,
    own_key: bytes,
) -> Peer | None:
    """The peer a service describes, or None if it is malformed, of another commune, or ourselves.

    Kept apart from the network so the filtering can be tested on its own; never raises.
    """
    if properties.get(b"v") != PROTOCOL_VERSION:
        log.debug("discovery: ignored a service with version %r", properties.get(b"v"))
        return None
    their_commune = _hex32(properties.get(b"commune"))
    key = _hex32(properties.get(b"key"))
    if their_commune is None or key is None:
        log.debug("discovery: ignored a service with a malformed commune or key")
        return None
    if key == own_key:
        return None
    if their_commune != commune:
        log.debug("discovery: ignored peer %s of commune %s", key.hex()[:16], their_commune.hex()[:16])
        return None
    if not addresses or port is None or not 0 < port < 65536:
        log.debug("discovery: ignored peer %s with no address or port", key.hex()[:16])
        return None
    return Peer(key=key, addresses=addresses, port=port)


class Discovery:
    """Advertises this node on the given interfaces and reports peers of the same commune.

    `on_found` is called on zeroconf's browser thread (not the caller's) for each peer found and
    again whenever a peer's addresses or port change; it must be quick and thread-safe. Errors in it
    are logged, never raised into zeroconf.
    """

    def __init__(
        self,
        commune: bytes,
        key: bytes,
        port: int,
        interfaces: list[str],
        on_found: Callable[[Peer], None],
    ) -> None:
        if len(commune) != 32 or len(key) != 32:
            raise ValueError("the commune id and the node key are 32 bytes each")
        if not 0 < port < 65536:
            raise ValueError(f"port out of range: {port}")
        if not interfaces:
            raise ValueError("discovery needs at least one interface address")
        for address in interfaces:
            ipaddress.IPv4Address(address)  # IPv4 only; raises ValueError on anything else
        self._commune = commune
        self._key = key
        self._interfaces = list(interfaces)
        self._on_found = on_found
        self._lock = threading.Lock()
        self._peers: dict[bytes, Peer] = {}
        self._zc: Zeroconf | None = None
        self._browser: ServiceBrowser | None = None
        self._closed = False
        label = key.hex()[:16]
        self._info = ServiceInfo(
            SERVICE_TYPE,
            f"{label}.{SERVICE_TYPE}",
            port=port,
            properties={"v": PROTOCOL_VERSION, "commune": commune.hex(), "key": key.hex()},
            server=f"commune-{label}.local.",
            parsed_addresses=self._interfaces,
        )

    @property
    def instance_name(self) -> str:
        """The mDNS instance name this node advertises under."""
        return self._info.name

    def start(self) -> None:
        """Register this node's service (blocks for zeroconf's probe, under 2 s) and start browsing."""
        if self._closed:
            raise RuntimeError("discovery was closed")
        if self._zc is not None:
            return
        self._zc = Zeroconf(interfaces=self._interfaces, ip_version=IPVersion.V4Only)
        try:
            self._browser = ServiceBrowser(self._zc, SERVICE_TYPE, handlers=[self._on_change])
            self._zc.register_service(self._info)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Withdraw the service (goodbye packets) and stop zeroconf. Safe to call more than once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            zc, browser = self._zc, self._browser
            self._zc = self._browser = None
        if zc is None:
            return
        try:
            if browser is not None:
                browser.cancel()
            zc.unregister_service(self._info)
        except Exception:  # the goodbye is a courtesy: peers also drop us when the records expire
            log.debug("discovery: unregistering failed", exc_info=True)
        finally:
            zc.close()

    def peers(self) -> list[Peer]:
        """The peers found so far (the latest addresses and port of each), in no particular order."""
        with self._lock:
            return list(self._peers.values())

    def _on_change(self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        """Browser callback (zeroconf's thread): resolve an added or updated service and report it."""
        if state_change is ServiceStateChange.Removed:
            return
        try:
            info = zeroconf.get_service_info(service_type, name, timeout=_RESOLVE_TIMEOUT_MS)
            if info is None:
                log.debug("discovery: %s did not resolve", name)
                return
            peer = peer_from_txt(
                info.properties,
                tuple(info.parsed_addresses(IPVersion.V4Only)),
                info.port,
                commune=self._commune,
                own_key=self._key,
            )
            if peer is None:
                return
            with self._lock:
                if self._closed or self._peers.get(peer.key) == peer:
                    return
                self._peers[peer.key] = peer
            self._on_found(peer)
        except Exception:
            if self._closed:  # zeroconf shut down under a lookup still in flight
                log.debug("discovery: %s dropped at close", name, exc_info=True)
            else:
                log.exception("discovery: handling %s failed", name)
