"""Invitations: the text token (round trip, tolerant reading, every malformed case, fuzzing), the QR
drawing, and the inviting node's book (binding one key, expiry, revocation, persistence, races)."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commune.core.clock import ManualClock
from commune.core.errors import CommuneError
from commune.net.invitation import (
    MAX_ADDRESS_CHARS,
    MAX_ADDRESSES,
    PREFIX,
    Invitation,
    InvitationBook,
    InvitationError,
    secret_hash,
)

FAST = settings(max_examples=200, deadline=None)
FUZZ = settings(max_examples=1000, deadline=None)

COMMUNE = bytes(range(32))
INVITER = bytes(range(32, 64))
DAY_MS = 86_400_000


def sample(addresses: tuple[str, ...] = ("192.168.1.20:7654", "10.0.0.5:7654")) -> Invitation:
    return Invitation(COMMUNE, INVITER, addresses, os.urandom(32), 1_767_225_600_000 + 7 * DAY_MS)


def forge(fields: list[object] | bytes) -> str:
    """A token with a correct checksum around arbitrary bytes (the format, written out independently)."""
    payload = fields if isinstance(fields, bytes) else msgspec.msgpack.encode(fields)
    check = hashlib.blake2b(payload, digest_size=4, person=b"commune-inv-sum").digest()
    return "COMMUNE-INVITE-1:" + base64.b32encode(payload + check).decode().rstrip("=")


def good_fields(**changes: object) -> list[object]:
    inv = sample()
    fields = {f: getattr(inv, f) for f in Invitation.__struct_fields__}
    fields.update(changes)
    return [list(v) if isinstance(v, tuple) else v for v in fields.values()]


def refused(text: object) -> InvitationError:
    with pytest.raises(InvitationError) as info:
        Invitation.from_text(text)  # type: ignore[arg-type]
    assert info.value.reason == "malformed_invitation"
    assert info.value.message.endswith(".")
    return info.value


# --- the text form ---------------------------------------------------------------------------------

hosts = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", min_size=1, max_size=80),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
addresses_st = st.lists(st.builds(lambda h, p: f"{h}:{p}", hosts, st.integers(1, 65535)), max_size=MAX_ADDRESSES).map(
    tuple
)
invitations = st.builds(
    Invitation,
    commune=st.binary(min_size=32, max_size=32),
    inviter=st.binary(min_size=32, max_size=32),
    addresses=addresses_st,
    secret=st.binary(min_size=32, max_size=32),
    expires_ms=st.integers(0, 2**63 - 1),
)


@FAST
@given(invitations)
def test_text_round_trip(inv: Invitation) -> None:
    text = inv.to_text()
    assert text.startswith(PREFIX)
    assert Invitation.from_text(text) == inv


@FAST
@given(invitations)
def test_text_is_qr_alphanumeric(inv: Invitation) -> None:
    # Upper-case base32 and the prefix stay in the QR alphanumeric set (a smaller code).
    assert set(inv.to_text()) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@FAST
@given(invitations, st.data())
def test_reading_tolerates_whitespace_and_case(inv: Invitation, data: st.DataObject) -> None:
    text = inv.to_text()
    mask = data.draw(st.integers(0, 2 ** len(text) - 1), label="lower-case mask")
    chars = [c.lower() if mask >> i & 1 else c for i, c in enumerate(text)]
    spaces = st.sampled_from([" ", "\n", "\r\n", "\t", "  \n  ", "\u00a0", "\u2028"])
    for at, space in data.draw(st.lists(st.tuples(st.integers(0, len(text)), spaces), max_size=30), label="spaces"):
        chars.insert(at, space)
    assert Invitation.from_text("".join(chars)) == inv


def test_reading_a_pasted_block() -> None:
    inv = sample()
    text = inv.to_text()
    wrapped = "\n".join(text[i : i + 40] for i in range(0, len(text), 40))
    assert Invitation.from_text(f"\n   {wrapped.lower()}   \n\n") == inv


def test_typical_token_length() -> None:
    assert len(sample().to_text()) == 256


def test_mistyped_or_cut_short() -> None:
    text = sample().to_text()
    for bad in (text[:-1], text[:-8], text[: len(PREFIX) + 3]):
        assert "mistyped or cut short; copy it again" in refused(bad).message
    i = len(text) - 20
    changed = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]
    assert "mistyped or cut short" in refused(changed).message


def test_bad_base32() -> None:
    text = sample().to_text()
    for char in "0189=!":
        assert "mistyped" in refused(text[:-5] + char + text[-4:]).message
    assert "mistyped" in refused(PREFIX + "A").message  # no whole byte
    assert "mistyped" in refused(PREFIX + "AB").message  # one byte: shorter than the checksum


def test_base32_with_stray_bits() -> None:
    # The last character of an unpadded group also carries unused bits; they must be zero.
    text = forge(good_fields())
    assert len(text[len(PREFIX) :]) % 8 != 0
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    stray = text[:-1] + alphabet[alphabet.index(text[-1]) + 1]
    assert "mistyped" in refused(stray).message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("hello", "not a commune invitation"),
        ("COMMUNE-INVITE:AAAA", "not a commune invitation"),
        ("https://example.org/invite", "not a commune invitation"),
        ("COMMUNE-INVITE-2:AAAAAAAA", "another version"),
        ("commune-invite-12:AAAAAAAA", "another version"),
        ("COMMUNE-INVITE-1AAAAAAAA", "not a commune invitation"),
        ("COMMUNE-INVITE-1:AAAÉAAAA", "characters no invitation contains"),
        ("COMMUNE-INVITE-1:\x00AAA", "mistyped"),
        (PREFIX, "mistyped"),
    ],
)
def test_not_an_invitation(text: str, words: str) -> None:
    assert words in refused(text).message


@pytest.mark.parametrize("value", [None, b"COMMUNE-INVITE-1:AAAA", 42, ["COMMUNE-INVITE-1:"]])
def test_not_text(value: object) -> None:
    refused(value)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"\xc1", "cannot be read"),  # not msgpack at all
        (msgspec.msgpack.encode({"commune": COMMUNE}), "cannot be read"),  # a map, not an array
        (msgspec.msgpack.encode(good_fields()[:4]), "cannot be read"),  # a field missing
        (msgspec.msgpack.encode([*good_fields(), 1]), "cannot be read"),  # a field too many
        (msgspec.msgpack.encode(good_fields(expires_ms="soon")), "cannot be read"),
        (msgspec.msgpack.encode(good_fields(commune="x" * 32)), "cannot be read"),  # text, not bytes
        (msgspec.msgpack.encode(good_fields(addresses=[1])), "cannot be read"),
        (msgspec.msgpack.encode(good_fields()) + b"\x00", "cannot be read"),  # trailing bytes
    ],
)
def test_undecodable(payload: bytes, words: str) -> None:
    message = refused(forge(payload)).message
    assert words in message and "ask the inviter for a new one" in message


def test_non_canonical_encoding() -> None:
    # 5 written as a 64-bit integer instead of one byte: decodes, but is not the canonical form.
    fields = good_fields(expires_ms=5)
    raw = msgspec.msgpack.encode(fields)
    assert raw.endswith(b"\x05")
    assert "canonical" in refused(forge(raw[:-1] + b"\xcf" + (5).to_bytes(8, "big"))).message


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"commune": b"\x01" * 31}, "commune id is not 32 bytes"),
        ({"commune": b""}, "commune id is not 32 bytes"),
        ({"inviter": b"\x01" * 33}, "inviter key is not 32 bytes"),
        ({"secret": b"\x01" * 16}, "secret is not 32 bytes"),
        ({"addresses": ["h:1"] * (MAX_ADDRESSES + 1)}, f"more than {MAX_ADDRESSES} addresses"),
        ({"addresses": ["h" * (MAX_ADDRESS_CHARS - 1) + ":1"]}, f"longer than {MAX_ADDRESS_CHARS}"),
        ({"expires_ms": -1}, "expiry"),
    ],
)
def test_wrong_field_sizes(changes: dict[str, object], words: str) -> None:
    assert words in refused(forge(good_fields(**changes))).message


BAD_ADDRESSES = [
    "example.org",  # no port
    "example.org:",
    ":7654",  # no host
    "example.org:0",
    "example.org:65536",
    "example.org:99999999999999999999",
    "example.org:-1",
    "example.org:+80",
    "example.org:080",  # a leading zero: not the one way to write the port
    "example.org:http",
    "example.org:٣",  # a digit, but not an ASCII one
    "exa mple.org:80",
    "user@example.org:80",
    "example.org/path:80",
    "::1:80",  # IPv6 without brackets
    "[::1:80",
    "[zz::1]:80",
    "[]:80",
    "\x00:80",
    "",
]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_address_not_host_port(address: str) -> None:
    assert "not host:port with a port from 1 to 65535" in refused(forge(good_fields(addresses=[address]))).message


@pytest.mark.parametrize(
    "address",
    [
        "localhost:1",
        "10.0.0.1:65535",
        "[::1]:7654",
        "[fe80::1%eth0]:7654",
        "my-node_1.local:80",
        "a" * 56 + ".onion:80",
    ],
)
def test_address_forms_accepted(address: str) -> None:
    inv = sample((address,))
    assert Invitation.from_text(inv.to_text()).addresses == (address,)


def test_invalid_invitation_cannot_be_built() -> None:
    with pytest.raises(InvitationError) as info:
        Invitation(COMMUNE, INVITER, ("nowhere",), os.urandom(32), 0)
    assert info.value.reason == "malformed_invitation"
    with pytest.raises(InvitationError):
        Invitation(COMMUNE, INVITER, ["a:1"], os.urandom(32), 0)  # type: ignore[arg-type]


def expect_only_invitation_errors(text: str) -> None:
    try:
        Invitation.from_text(text)
    except InvitationError as exc:
        assert exc.reason == "malformed_invitation"
        assert isinstance(exc, CommuneError)


@FUZZ
@given(st.text())
def test_fuzz_random_text(text: str) -> None:
    expect_only_invitation_errors(text)
    expect_only_invitation_errors(PREFIX + text)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_payload_with_good_checksum(payload: bytes) -> None:
    expect_only_invitation_errors(forge(payload))


@settings(max_examples=500, deadline=None)
@given(invitations, st.data())
def test_fuzz_mutated_token(inv: Invitation, data: st.DataObject) -> None:
    text = inv.to_text()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(["delete", "insert", "replace", "truncate", "swap"]))
        char = data.draw(st.characters() | st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
        if op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "insert":
            text = text[:i] + char + text[i:]
        elif op == "replace":
            text = text[:i] + char + text[i + 1 :]
        elif op == "truncate":
            text = text[:i]
        elif i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    expect_only_invitation_errors(text)


def test_secret_hash() -> None:
    secret = os.urandom(32)
    assert len(secret_hash(secret)) == 32
    assert secret_hash(secret) == secret_hash(secret)
    assert secret_hash(secret) != hashlib.blake2b(secret, digest_size=32).digest()
    assert secret_hash(secret) != secret_hash(os.urandom(32))


# --- the QR code -----------------------------------------------------------------------------------


def check_qr_block(drawing: str) -> list[str]:
    lines = drawing.splitlines()
    assert lines and drawing.endswith("\n")
    width = len(lines[0])
    assert all(len(line) == width for line in lines)
    assert set(drawing) <= set(" ▀▄█\n")
    # A QR code is 17 + 4 * version modules wide, plus a quiet zone of 4 each side;
    # each line draws two rows of modules.
    assert (width - 8 - 17) % 4 == 0 and 1 <= (width - 8 - 17) // 4 + 1 <= 40
    assert len(lines) == (width + 1) // 2
    return lines


def test_qr_text() -> None:
    inv = sample()
    dark_terminal = check_qr_block(inv.qr_text())
    paper = check_qr_block(inv.qr_text(invert=False))
    complement = str.maketrans(" ▀▄█", "█▄▀ ")
    assert [line.translate(complement) for line in paper[:-1]] == dark_terminal[:-1]
    assert paper[0].strip() == ""  # the quiet zone is light: blank on paper ...
    assert set(dark_terminal[0]) == {"█"}  # ... and blocks on a dark terminal


def test_qr_text_of_the_largest_invitation() -> None:
    addresses = tuple("a" * (MAX_ADDRESS_CHARS - 6) + f":{60000 + i}" for i in range(MAX_ADDRESSES))
    inv = Invitation(COMMUNE, INVITER, addresses, os.urandom(32), 2**63 - 1)
    check_qr_block(inv.qr_text())


# --- the inviting node's book ----------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def book(tmp_path: Path, clock: ManualClock) -> Iterator[InvitationBook]:
    with InvitationBook(tmp_path / "invitations.db", clock) as b:
        yield b


def key(n: int) -> bytes:
    return bytes([n]) * 32


def reason_of(book: InvitationBook, secret: bytes, node: bytes, **kw: bytes) -> str:
    with pytest.raises(InvitationError) as info:
        book.check(secret, node, **kw)
    assert "ask" in info.value.message
    return info.value.reason


def test_issue(book: InvitationBook, clock: ManualClock) -> None:
    inv = book.issue(COMMUNE, INVITER, ["192.168.1.20:7654"], 7 * DAY_MS)
    assert (inv.commune, inv.inviter, inv.addresses) == (COMMUNE, INVITER, ("192.168.1.20:7654",))
    assert inv.expires_ms == clock.now_ms() + 7 * DAY_MS
    assert Invitation.from_text(inv.to_text()) == inv
    assert book.issue(COMMUNE, INVITER, [], DAY_MS).secret != inv.secret
    [record, _] = book.list()
    assert record.secret_hash == secret_hash(inv.secret)
    assert record.hash_prefix == secret_hash(inv.secret).hex()[:12]
    assert (record.commune, record.addresses, record.issued_ms) == (COMMUNE, inv.addresses, clock.now_ms())
    assert (record.expires_ms, record.used_by, record.revoked) == (inv.expires_ms, None, False)


@pytest.mark.parametrize(
    ("addresses", "valid_ms"),
    [(["nowhere"], DAY_MS), (["a:1"] * 9, DAY_MS), (["a:1"], 0), (["a:1"], -5), (["a:1"], 1.5)],
)
def test_issue_refuses_bad_arguments(book: InvitationBook, addresses: list[str], valid_ms: int) -> None:
    with pytest.raises(InvitationError):
        book.issue(COMMUNE, INVITER, addresses, valid_ms)
    assert book.list() == []


def test_first_key_binds(book: InvitationBook) -> None:
    inv = book.issue(COMMUNE, INVITER, ["a:1"], DAY_MS)
    book.check(inv.secret, key(1))
    book.check(inv.secret, key(1))  # the same node again (a reconnection) is fine
    assert reason_of(book, inv.secret, key(2)) == "invitation_used"
    book.check(inv.secret, key(1))
    assert book.list()[0].used_by == key(1)


def test_expiry(book: InvitationBook, clock: ManualClock) -> None:
    first = book.issue(COMMUNE, INVITER, ["a:1"], DAY_MS)
    second = book.issue(COMMUNE, INVITER, ["a:1"], DAY_MS)
    book.check(first.secret, key(1))
    clock.set(first.expires_ms - 1)
    book.check(first.secret, key(1))
    clock.set(first.expires_ms)
    assert reason_of(book, first.secret, key(1)) == "invitation_expired"  # even for the bound key
    assert reason_of(book, second.secret, key(2)) == "invitation_expired"
    assert book.list()[1].used_by is None  # an expired invitation binds no one


def test_revoke(book: InvitationBook) -> None:
    unused = book.issue(COMMUNE, INVITER, ["a:1"], DAY_MS)
    used = book.issue(COMMUNE, INVITER, ["a:1"], DAY_MS)
    book.check(used.secret, key(1))
    book.revoke(secret_hash(unused.secret))
    book.revoke(secret_hash(used.secret).hex()[:10].upper())  # a prefix, as `list` shows it
    book.revoke(secret_hash(used.secret))  # again: no harm
    assert reason_of(book, unused.secret, key(1)) == "invitation_revoked"
    assert reason_of(book, used.secret, key(1)) == "invitation_revoked"
    assert [r.revoked for r in book.list()] == [True, True]
    assert book.list()[0].used_by is None


def test_revoke_unknown_or_ambiguous(book: InvitationBook) -> None:
    with pytest.raises(InvitationError) as info:
        book.revoke(os.urandom(32))
    assert info.value.reason == "unknown_invitation"
    with pytest.raises(InvitationError) as info:
        book.revoke("not hex")
    assert info.value.reason == "unknown_invitation"
    hashes = [secret_hash(book.issue(COMMUNE, INVITER, [], DAY_MS).secret).hex() for _ in range(17)]
    shared = next(c for c in "0123456789abcdef" if sum(h.startswith(c) for h in hashes) > 1)  # 17 > 16
    with pytest.raises(InvitationError) as info:
        book.revoke(shared)
    assert info.value.reason == "ambiguous_invitation"
    assert not any(r.revoked for r in book.list())


def test_unknown(book: InvitationBook) -> None:
    inv = book.issue(COMMUNE, INVITER, ["a:1"], DAY_MS)
    assert reason_of(book, os.urandom(32), key(1)) == "unknown_invitation"
    assert reason_of(book, inv.secret[:31], key(1)) == "unknown_invitation"
    assert reason_of(book, b"", key(1)) == "unknown_invitation"
    assert reason_of(book, inv.secret, key(1), commune=b"\xff" * 32) == "unknown_invitation"
    assert book.list()[0].used_by is None
    book.check(inv.secret, key(1), commune=COMMUNE)
    with pytest.raises(ValueError):
        book.check(inv.secret, b"short")


def test_state_persists(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "book.db"
    with InvitationBook(path, clock) as book:
        bound = book.issue(COMMUNE, INVITER, ["a:1", "[::1]:2"], DAY_MS)
        revoked = book.issue(COMMUNE, INVITER, ["a:1"], DAY_MS)
        fresh = book.issue(COMMUNE, INVITER, ["a:1"], DAY_MS)
        book.check(bound.secret, key(1))
        book.revoke(secret_hash(revoked.secret))
        before = book.list()
    with InvitationBook(path, clock) as book:
        assert book.list() == before
        assert reason_of(book, bound.secret, key(2)) == "invitation_used"
        book.check(bound.secret, key(1))
        assert reason_of(book, revoked.secret, key(1)) == "invitation_revoked"
        book.check(fresh.secret, key(3))


def test_secret_never_stored(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "book.db"
    book = InvitationBook(path, clock)
    invs = [book.issue(COMMUNE, INVITER, ["a:1"], DAY_MS) for _ in range(5)]
    book.check(invs[0].secret, key(1))

    def raw_bytes() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(path.name))

    for data in (raw_bytes(), (book.close(), raw_bytes())[1]):  # with the log open, then after closing
        assert all(secret_hash(inv.secret) in data for inv in invs)  # what is stored is found ...
        assert not any(inv.secret in data for inv in invs)  # ... and the secret is not
        assert not any(inv.secret.hex().encode() in data for inv in invs)


def test_not_a_book(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InvitationError) as info:
        InvitationBook(path, clock)
    assert info.value.reason == "invitation_book_unreadable"


@pytest.mark.parametrize("shared", [False, True], ids=["two-connections", "one-book-two-threads"])
def test_concurrent_checks_bind_one_key(tmp_path: Path, clock: ManualClock, shared: bool) -> None:
    path = tmp_path / "book.db"
    first = InvitationBook(path, clock)
    second = first if shared else InvitationBook(path, clock)
    try:
        for _ in range(30):
            inv = first.issue(COMMUNE, INVITER, ["a:1"], DAY_MS)
            barrier = threading.Barrier(2)
            outcome: dict[int, str] = {}

            def attempt(book: InvitationBook, n: int, secret: bytes = inv.secret, barrier=barrier, outcome=outcome):
                barrier.wait()
                try:
                    book.check(secret, key(n))
                    outcome[n] = "admitted"
                except InvitationError as exc:
                    outcome[n] = exc.reason

            threads = [threading.Thread(target=attempt, args=(b, n)) for n, b in ((1, first), (2, second))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(outcome.values()) == ["admitted", "invitation_used"]
            winner = next(n for n, r in outcome.items() if r == "admitted")
            assert first.list()[-1].used_by == key(winner)
    finally:
        first.close()
        if not shared:
            second.close()
