"""TOTP as any authenticator app computes it: RFC 6238 Appendix B vectors from our own
HOTP/TOTP (RFC 4226 §5.3, written out below with hmac + struct, not pyotp), and latchkey's
check accepting exactly the codes made that way (±1 step, not ±2). Backup code format."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from datetime import UTC, datetime

import pytest

from domain.two_factor import backup_codes
from domain.two_factor.totp import matching_step

RFC_SEED = b"12345678901234567890"  # RFC 6238 Appendix B, HMAC-SHA1 seed (ASCII)
RFC_SEED_BASE32 = base64.b32encode(RFC_SEED).decode()

# RFC 6238 Appendix B, SHA-1 column: (Unix time, 8-digit TOTP)
VECTORS = [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
           (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")]


def hotp(key: bytes, counter: int, digits: int) -> str:
    """RFC 4226 §5.3: HMAC-SHA1 of the 8-byte big-endian counter, dynamic truncation."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10 ** digits).zfill(digits)


def totp(secret_base32: str, unix_time: float, digits: int = 6, step_offset: int = 0) -> str:
    """RFC 6238 §4: HOTP with T = floor(time / 30) (+ ``step_offset``)."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    return hotp(key, int(unix_time) // 30 + step_offset, digits)


@pytest.mark.parametrize(("unix_time", "expected"), VECTORS)
def test_our_reference_totp_gives_the_rfc_6238_vectors(unix_time, expected):
    assert totp(RFC_SEED_BASE32, unix_time, digits=8) == expected


@pytest.mark.parametrize(("unix_time", "expected"), VECTORS)
def test_latchkey_accepts_the_6_digit_codes_of_the_rfc_vectors(unix_time, expected):
    now = datetime.fromtimestamp(unix_time, UTC)
    code = totp(RFC_SEED_BASE32, unix_time)
    assert code == expected[-6:]  # truncation mod 10^6: the 6-digit code ends the 8-digit one
    assert matching_step(RFC_SEED_BASE32, code, now) == unix_time // 30
    assert matching_step(RFC_SEED_BASE32, f"{code[:3]} {code[3:]}", now) == unix_time // 30


@pytest.mark.parametrize(("unix_time", "_"), VECTORS)
def test_one_step_of_drift_either_way_is_accepted_two_are_not(unix_time, _):
    now = datetime.fromtimestamp(unix_time, UTC)
    step = unix_time // 30
    for offset in (-1, 1):
        code = totp(RFC_SEED_BASE32, unix_time, step_offset=offset)
        assert matching_step(RFC_SEED_BASE32, code, now) == step + offset
    for offset in (o for o in (-2, 2) if step + o >= 0):
        code = totp(RFC_SEED_BASE32, unix_time, step_offset=offset)
        if code in {totp(RFC_SEED_BASE32, unix_time, step_offset=o) for o in (-1, 0, 1)}:
            continue  # a 1-in-10^6 collision with a code of the window
        assert matching_step(RFC_SEED_BASE32, code, now) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12345\x00"])
def test_malformed_codes_match_nothing(code):
    assert matching_step(RFC_SEED_BASE32, code, datetime.now(UTC)) is None


def test_backup_codes_accept_dash_spaces_and_any_case():
    assert backup_codes.normalize("abcde-fghjk") == "abcdefghjk"
    assert backup_codes.normalize("  ABCDE-FGHJK \n") == "abcdefghjk"
    assert backup_codes.normalize("abcdefghjk") == "abcdefghjk"
    assert backup_codes.normalize("ABC DE FGH JK") == "abcdefghjk"
    for bad in ("abcde--fghjk", "abcde-fghj", "abcde-fghjkm", "abcde-fghj0", "abcde-fghjl",
                "abcde-fghjo", "abcde-fghji", "abcde-fghj1", ""):
        assert backup_codes.normalize(bad) is None, bad


def test_the_backup_alphabet_has_no_look_alikes():
    assert not set("0Oo1lIi") & set(backup_codes.ALPHABET)
    assert len(set(backup_codes.ALPHABET)) == 31
