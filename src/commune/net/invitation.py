"""Invitations to join a commune (DESIGN §5, "Access").

An invitation is a token passed out of band (pasted text or a QR code): the commune's id, the
inviter's node key (the invitee pins it when connecting), addresses to reach the inviter and a
one-time secret. The text form is "COMMUNE-INVITE-1:" and base32 (RFC 4648, upper case, no
padding) of the canonical msgpack bytes and a 4-byte checksum: every character is in the QR
alphanumeric set, so a QR code of it stays small, and a mistyped or truncated paste is caught.

The inviting node keeps an `InvitationBook`: only a hash of each secret, never the secret, with
whom it admitted. The first node key to present a secret binds it; after that only that key may
use it, until it expires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import os
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import qrcode
import qrcode.exceptions

from commune.core.clock import Clock
from commune.core.encoding import decode_canonical, decoder, encode
from commune.core.errors import CommuneError

PREFIX = "COMMUNE-INVITE-1:"
KEY_BYTES = 32
SECRET_BYTES = 32
MAX_ADDRESSES = 8
MAX_ADDRESS_CHARS = 300
CHECKSUM_BYTES = 4
#: Expiry times are stored as SQLite integers (signed 64-bit).
MAX_EXPIRES_MS = 2**63 - 1

_CHECKSUM_PERSON = b"commune-inv-sum"
_SECRET_PERSON = b"commune-invite"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
_MISTYPED = "the invitation was mistyped or cut short; copy it again"


class InvitationError(CommuneError):
    """An invitation that is malformed, or that this node will not honour."""

    reason = "malformed_invitation"


def secret_hash(secret: bytes) -> bytes:
    """The 32-byte hash under which a secret is recorded (personalised, so not a plain BLAKE2b of it)."""
    return hashlib.blake2b(secret, digest_size=32, person=_SECRET_PERSON).digest()


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=CHECKSUM_BYTES, person=_CHECKSUM_PERSON).digest()


def _address_problem(address: object) -> str | None:
    """Why `address` is not "host:port" with a port from 1 to 65535 (None if it is)."""
    if type(address) is not str:
        return "An address is not text."
    if len(address) > MAX_ADDRESS_CHARS:
        return f"An address is longer than {MAX_ADDRESS_CHARS} characters."
    shown = address if address.isprintable() else repr(address)
    wrong = f"The address {shown!r} is not host:port with a port from 1 to 65535."
    host, colon, port = address.rpartition(":")
    if not colon or not host or not (port.isascii() and port.isdigit()) or port != str(int(port)):
        return wrong
    if not 1 <= int(port) <= 65535:
        return wrong
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return wrong
    elif not set(host) <= _HOST_CHARS:
        return wrong
    return None


class Invitation(msgspec.Struct, frozen=True, array_like=True):
    """What an invitee needs to join: commune id, inviter's node key, addresses, one-time secret, expiry."""

    commune: bytes
    inviter: bytes
    addresses: tuple[str, ...]
    secret: bytes
    expires_ms: int

    def __post_init__(self) -> None:
        # Runs on construction and on decoding alike, so no invalid invitation exists.
        for name, value in (("commune id", self.commune), ("inviter key", self.inviter), ("secret", self.secret)):
            if type(value) is not bytes or len(value) != 32:
                raise InvitationError(f"The {name} is not 32 bytes.")
        if type(self.addresses) is not tuple:
            raise InvitationError("The addresses are not a list.")
        if len(self.addresses) > MAX_ADDRESSES:
            raise InvitationError(f"There are more than {MAX_ADDRESSES} addresses.")
        for address in self.addresses:
            problem = _address_problem(address)
            if problem:
                raise InvitationError(problem)
        if type(self.expires_ms) is not int or not 0 <= self.expires_ms <= MAX_EXPIRES_MS:
            raise InvitationError("The expiry time is not a time.")

    def to_text(self) -> str:
        """The token people pass on: the prefix, then base32 of the canonical bytes and a checksum."""
        payload = encode(self)
        return PREFIX + base64.b32encode(payload + _checksum(payload)).decode("ascii").rstrip("=")

    @classmethod
    def from_text(cls, text: str) -> Invitation:
        """Read a pasted token: whitespace anywhere and any letter case are fine.

        Anything wrong raises InvitationError (reason `malformed_invitation`), never another exception.
        """
        if not isinstance(text, str):
            raise _malformed("an invitation is text starting with " + PREFIX)
        compact = "".join(text.split())
        if not compact:
            raise _malformed("the invitation is empty; paste the whole invitation")
        if not compact.isascii():
            raise _malformed("the invitation has characters no invitation contains; copy it again")
        compact = compact.upper()
        if not compact.startswith(PREFIX):
            version, colon, _ = compact.removeprefix("COMMUNE-INVITE-").partition(":")
            if compact.startswith("COMMUNE-INVITE-") and colon and version.isdigit():
                raise _malformed(
                    "the invitation is for another version of commune; update commune or ask the "
                    "inviter for an invitation this version reads"
                )
            raise _malformed(f"this is not a commune invitation (an invitation starts with {PREFIX}); copy it again")
        body = compact[len(PREFIX) :]
        try:
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
        except (binascii.Error, ValueError):
            raise _malformed(_MISTYPED) from None
        if base64.b32encode(raw).decode("ascii").rstrip("=") != body or len(raw) <= CHECKSUM_BYTES:
            raise _malformed(_MISTYPED)
        payload, check = raw[:-CHECKSUM_BYTES], raw[-CHECKSUM_BYTES:]
        if _checksum(payload) != check:
            raise _malformed(_MISTYPED)
        try:
            return decode_canonical(payload, _DECODER)
        except CommuneError as exc:
            detail = exc.message.rstrip(".")
            raise _malformed(
                f"the invitation cannot be read ({detail[:1].lower()}{detail[1:]}); ask the inviter for a new one"
            ) from None

    def qr_text(self, *, invert: bool = True) -> str:
        """The token as a QR code drawn with half-block characters, two module rows per line.

        By default it is drawn for a dark terminal (the light modules are the printed blocks);
        `invert=False` draws dark modules as blocks, for dark-on-light output such as paper.
        """
        text = self.to_text()
        for level in (qrcode.constants.ERROR_CORRECT_M, qrcode.constants.ERROR_CORRECT_L):
            qr = qrcode.QRCode(error_correction=level, border=4)
            qr.add_data(text)
            try:
                qr.make(fit=True)
                break
            except (qrcode.exceptions.DataOverflowError, ValueError):
                continue  # the largest invitations fit only with the lowest error correction (qrcode raises either)
        matrix: list[list[bool]] = [list(row) for row in qr.get_matrix()]
        if len(matrix) % 2:
            matrix.append([False] * len(matrix[0]))  # quiet zone under the last row
        glyphs = " ▀▄█"  # by (top drawn) + 2 * (bottom drawn)
        lines = []
        for top, bottom in zip(matrix[::2], matrix[1::2], strict=True):
            lines.append("".join(glyphs[(t != invert) + 2 * (b != invert)] for t, b in zip(top, bottom, strict=True)))
        return "\n".join(lines) + "\n"


_DECODER = decoder(Invitation)


def _malformed(sentence: str) -> InvitationError:
    return InvitationError(sentence[0].upper() + sentence[1:] + ".", reason="malformed_invitation")


def _refused(reason: str, sentence: str) -> InvitationError:
    return InvitationError(sentence, reason=reason)


class IssuedInvitation(msgspec.Struct, frozen=True):
    """One invitation as the inviting node recorded it (no secret: only its hash)."""

    hash_prefix: str
    secret_hash: bytes
    commune: bytes
    addresses: tuple[str, ...]
    issued_ms: int
    expires_ms: int
    used_by: bytes | None
    revoked: bool


_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS invitations (
    hash BLOB PRIMARY KEY,
    commune BLOB NOT NULL,
    inviter BLOB NOT NULL,
    addresses TEXT NOT NULL,
    issued_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    used_by BLOB,
    used_ms INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0
);
"""
_COLUMNS = "hash, commune, addresses, issued_ms, expires_ms, used_by, revoked"


class InvitationBook:
    """The invitations this node issued, in their own SQLite file (WAL): secret hashes, never secrets.

    Safe to share between threads; several books may open the same file (binding is one atomic UPDATE).
    """

    def __init__(self, path: str | os.PathLike[str], clock: Clock) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        except sqlite3.Error as exc:
            raise InvitationError(
                f"cannot open the invitation book {self.path}: {exc}", reason="invitation_book_unreadable"
            ) from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a binding, once reported, survives a power cut
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                raise InvitationError(
                    f"{self.path} is an invitation book of another version ({version})",
                    reason="invitation_book_unreadable",
                )
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            self._db.close()
            raise InvitationError(
                f"cannot open the invitation book {self.path}: {exc}", reason="invitation_book_unreadable"
            ) from None
        except InvitationError:
            self._db.close()
            raise

    def issue(
        self, commune: bytes, inviter: bytes, addresses: tuple[str, ...] | list[str], valid_ms: int
    ) -> Invitation:
        """Make an invitation valid for `valid_ms` from now, and record its secret's hash."""
        if type(valid_ms) is not int or valid_ms <= 0:
            raise InvitationError("An invitation is valid for a positive number of milliseconds.")
        now = self.clock.now_ms()
        invitation = Invitation(
            commune=commune,
            inviter=inviter,
            addresses=tuple(addresses),
            secret=secrets.token_bytes(SECRET_BYTES),
            expires_ms=now + valid_ms,
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO invitations (hash, commune, inviter, addresses, issued_ms, expires_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    secret_hash(invitation.secret),
                    commune,
                    inviter,
                    msgspec.json.encode(invitation.addresses).decode(),
                    now,
                    invitation.expires_ms,
                ),
            )
        return invitation

    def check(self, secret: bytes, key: bytes, *, commune: bytes | None = None) -> None:
        """Admit node `key` with `secret`, or raise InvitationError saying why not.

        The first key to present a valid secret binds it; afterwards only that key is admitted, until
        the invitation expires. With `commune`, the invitation must also be for that commune. Reasons:
        `unknown_invitation`, `invitation_revoked`, `invitation_expired`, `invitation_used`.
        """
        if type(key) is not bytes or len(key) != KEY_BYTES:
            raise ValueError("a node key is 32 bytes")
        if not isinstance(secret, bytes) or len(secret) != SECRET_BYTES:
            raise _unknown()
        digest = secret_hash(bytes(secret))
        now = self.clock.now_ms()
        # One statement binds or does nothing, so two keys racing for one secret cannot both win.
        sql = "UPDATE invitations SET used_by = ?, used_ms = ? WHERE hash = ? AND used_by IS NULL AND revoked = 0"
        sql += " AND expires_ms > ?"
        params: tuple[object, ...] = (key, now, digest, now)
        if commune is not None:
            sql += " AND commune = ?"
            params += (commune,)
        with self._lock:
            if self._db.execute(sql, params).rowcount == 1:
                return
            row = self._db.execute(
                "SELECT commune, expires_ms, used_by, revoked FROM invitations WHERE hash = ?", (digest,)
            ).fetchone()
        if row is None or (commune is not None and row[0] != commune):
            raise _unknown()
        _, expires_ms, used_by, revoked = row
        if revoked:
            raise _refused("invitation_revoked", "The inviter has withdrawn this invitation; ask them for a new one.")
        if now >= expires_ms:
            when = datetime.fromtimestamp(expires_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise _refused("invitation_expired", f"This invitation expired at {when}; ask the inviter for a new one.")
        if used_by == key:
            return
        raise _refused(
            "invitation_used",
            "This invitation has already admitted another device, and each admits only one; "
            "ask the inviter for a new one.",
        )

    def revoke(self, secret_hash: bytes | str) -> None:
        """Withdraw an invitation, by its secret's hash or a hex prefix of it (as `list` shows)."""
        with self._lock:
            if isinstance(secret_hash, bytes):
                rows = self._db.execute("SELECT hash FROM invitations WHERE hash = ?", (secret_hash,)).fetchall()
            else:
                prefix = secret_hash.strip().lower()
                if not prefix or not all(c in "0123456789abcdef" for c in prefix):
                    raise _refused("unknown_invitation", f"{secret_hash!r} is not the start of an invitation's hash.")
                rows = self._db.execute(
                    "SELECT hash FROM invitations WHERE substr(lower(hex(hash)), 1, ?) = ?", (len(prefix), prefix)
                ).fetchall()
            if not rows:
                raise _refused("unknown_invitation", "No invitation issued by this node has that hash.")
            if len(rows) > 1:
                raise _refused(
                    "ambiguous_invitation",
                    f"{len(rows)} invitations start with {secret_hash!r}; give more of the hash.",
                )
            self._db.execute("UPDATE invitations SET revoked = 1 WHERE hash = ?", (rows[0][0],))

    def list(self) -> list[IssuedInvitation]:
        """Every invitation issued, in the order issued."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM invitations ORDER BY rowid").fetchall()
        return [
            IssuedInvitation(
                hash_prefix=bytes(digest).hex()[:12],
                secret_hash=bytes(digest),
                commune=bytes(commune),
                addresses=tuple(msgspec.json.decode(addresses)),
                issued_ms=issued_ms,
                expires_ms=expires_ms,
                used_by=None if used_by is None else bytes(used_by),
                revoked=bool(revoked),
            )
            for digest, commune, addresses, issued_ms, expires_ms, used_by, revoked in rows
        ]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> InvitationBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _unknown() -> InvitationError:
    return _refused(
        "unknown_invitation",
        "This node did not issue that invitation (or it was mistyped); ask the inviter for a new one.",
    )
