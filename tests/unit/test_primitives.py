"""Pure domain rules: passwords, tokens, settings, email normalisation, SMTP classification."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from aiosmtplib import SMTPRecipientRefused, SMTPRecipientsRefused, SMTPResponseException
from cryptography.fernet import Fernet

from domain.accounts import normalize_email
from domain.encryption import SecretBox, UndecryptableSecret
from domain.errors import (
    PermanentDeliveryError,
    TransientDeliveryError,
    Unauthenticated,
    ValidationFailed,
)
from domain.passwords.hashing import PasswordHasher
from domain.passwords.policy import check_password_policy
from domain.sessions.devices import describe
from domain.settings import Settings, SettingsError
from domain.tokens import AccessTokenCodec, derive_child_token, hash_token, new_opaque_token
from worker.channels.email import classify
from worker.tasks import backoff

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def hasher():
    h = PasswordHasher(rounds=4, pepper="pepper")
    yield h
    h.close()


async def test_long_passwords_are_not_truncated(hasher):
    a, b = "x" * 100 + "a", "x" * 100 + "b"  # differ after bcrypt's 72-byte limit
    hashed = await hasher.hash(a)
    assert await hasher.verify(a, hashed)
    assert not await hasher.verify(b, hashed)


async def test_unknown_account_check_is_false_and_pepper_matters(hasher):
    assert not await hasher.verify("anything at all", None)
    other = PasswordHasher(rounds=4, pepper="another pepper")
    assert not await other.verify("secret password", await hasher.hash("secret password"))
    other.close()


def test_needs_rehash_when_cost_rises(hasher):
    assert hasher.needs_rehash("$2b$04$" + "a" * 53) is False
    assert PasswordHasher(rounds=12, pepper="p").needs_rehash("$2b$04$" + "a" * 53) is True


@pytest.mark.parametrize(("password", "ok"), [
    ("a" * 11, False), ("a" * 12, True), ("é" * 12, True), ("a" * 128, True), ("a" * 129, False),
])
def test_password_policy_counts_code_points(password, ok):
    if ok:
        check_password_policy(password)
    else:
        with pytest.raises(ValidationFailed):
            check_password_policy(password)


CODEC = AccessTokenCodec(secret="s" * 32, issuer="latchkey", audience="latchkey", ttl=900)


def test_access_token_round_trip_and_expiry():
    user, session = uuid.uuid4(), uuid.uuid4()
    token = CODEC.issue(user_id=user, session_id=session, now=NOW)
    claims = CODEC.decode(token, now=NOW + timedelta(seconds=899))
    assert (claims.user_id, claims.session_id, claims.amr) == (user, session, ("pwd",))
    with pytest.raises(Unauthenticated):
        CODEC.decode(token, now=NOW + timedelta(seconds=900))


@pytest.mark.parametrize("change", [
    {"typ": "refresh"}, {"aud": "someone-else"}, {"iss": "evil"},
])
def test_access_token_claims_are_checked(change):
    payload = {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "jti": "j",
               "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60,
               "iss": "latchkey", "aud": "latchkey", "typ": "access", **change}
    with pytest.raises(Unauthenticated):
        CODEC.decode(jwt.encode(payload, "s" * 32, algorithm="HS256"), now=NOW)


def test_other_algorithms_are_refused():
    payload = {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "jti": "j", "typ": "access",
               "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60,
               "iss": "latchkey", "aud": "latchkey"}
    for token in (jwt.encode(payload, None, algorithm="none"),
                  jwt.encode(payload, "s" * 64, algorithm="HS512")):
        with pytest.raises(Unauthenticated):
            CODEC.decode(token, now=NOW)


def test_opaque_tokens():
    token = new_opaque_token()
    assert len(token) == 43 and token != new_opaque_token()
    assert len(hash_token(token)) == 64
    assert derive_child_token("k", token) == derive_child_token("k", token)
    assert derive_child_token("k", token) != derive_child_token("other", token)


def test_production_settings_need_strong_secrets():
    with pytest.raises(SettingsError, match=r"JWT_SECRET.*PASSWORD_PEPPER"):
        Settings.from_env({"ENVIRONMENT": "production"})
    key, old_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    strong = {"ENVIRONMENT": "production", "JWT_SECRET": "j" * 32, "PASSWORD_PEPPER": "p" * 32,
              "ENCRYPTION_KEY": f"{key},{old_key}"}  # rotation: the first encrypts
    assert Settings.from_env(strong).environment == "production"
    with pytest.raises(SettingsError, match="ENCRYPTION_KEY must be one Fernet key"):
        Settings.from_env({**strong, "ENCRYPTION_KEY": "e" * 32})


def test_secrets_at_rest_rotate_and_never_hold_the_plaintext():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = SecretBox(Settings(environment="test", encryption_key=old))
    ciphertext = before.encrypt("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in ciphertext
    after = SecretBox(Settings(environment="test", encryption_key=f"{new},{old}"))
    assert after.decrypt(ciphertext) == "JBSWY3DPEHPK3PXP"
    rotated = after.rotate(ciphertext)
    assert SecretBox(Settings(environment="test", encryption_key=new)).decrypt(
        rotated) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(UndecryptableSecret):
        SecretBox(Settings(environment="test", encryption_key=new)).decrypt(ciphertext)
    dev = SecretBox(Settings(environment="test"))  # the fixed dev key: stable across processes
    assert SecretBox(Settings(environment="test")).decrypt(dev.encrypt("x")) == "x"


def test_the_default_environment_is_production_and_refuses_dev_secrets():
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({})
    for name in ("JWT_SECRET", "PASSWORD_PEPPER", "ENCRYPTION_KEY"):
        assert name in str(refused.value)
    assert "python -m scripts.secrets" in str(refused.value)
    assert Settings.from_env({}, secrets_required=False).environment == "production"
    assert not Settings.from_env({}, secrets_required=False).serves_pages


def test_cors_origins_are_exact():
    settings = Settings.from_env({"ENVIRONMENT": "test",
                                  "CORS_ORIGINS": "http://localhost:3000, https://a.example/"})
    assert settings.cors_origin_list == ["http://localhost:3000", "https://a.example"]
    with pytest.raises(SettingsError, match="wildcard"):
        Settings.from_env({"ENVIRONMENT": "test", "CORS_ORIGINS": "*"})


def test_settings_parse_and_reject_bad_values():
    settings = Settings.from_env({"ENVIRONMENT": "development", "BCRYPT_ROUNDS": "10",
                                  "ARQ_POLL_DELAY": "0.01", "HSTS": "off"})
    assert settings.hsts is False
    assert settings.bcrypt_rounds == 10 and settings.arq_poll_delay == 0.01
    with pytest.raises(SettingsError, match="BCRYPT_ROUNDS must be a int"):
        Settings.from_env({"BCRYPT_ROUNDS": "twelve"})
    with pytest.raises(SettingsError, match="SMTP_TLS"):
        Settings.from_env({"SMTP_TLS": "maybe"})


@pytest.mark.parametrize(("raw", "expected"), [
    ("  Ann@Example.COM ", "Ann@example.com"), ("a.b+c@sub.example.org", "a.b+c@sub.example.org"),
])
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "no-at", "a@b", "a b@c.io", "@c.io", "a@" + "c" * 250 + ".io"])
def test_invalid_emails(raw):
    with pytest.raises(ValidationFailed):
        normalize_email(raw)


def test_smtp_failures_are_classified():
    assert isinstance(classify(SMTPResponseException(451, "later")), TransientDeliveryError)
    assert isinstance(classify(SMTPResponseException(550, "no")), PermanentDeliveryError)
    refused = SMTPRecipientsRefused([SMTPRecipientRefused(550, "no such user", "x@y.io")])
    assert isinstance(classify(refused), PermanentDeliveryError)
    assert isinstance(classify(ConnectionRefusedError()), TransientDeliveryError)


def test_backoff_doubles_and_caps():
    assert [backoff(n, 1.0) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert backoff(20, 1.0) == 300.0


@pytest.mark.parametrize(("password", "why"), [
    ("password1234", "too weak"), ("qwertyuiop12", "too weak"), ("aaaaaaaaaaaa", "too weak"),
    ("xx jane.doe xx yy", "email"),
])
def test_new_passwords_must_be_hard_to_guess(password, why):
    with pytest.raises(ValidationFailed) as caught:
        check_password_policy(password, email="Jane.Doe@example.com", min_strength=3)
    assert why in caught.value.errors[0][1]


def test_strong_and_long_passwords_pass():
    check_password_policy("correct horse battery staple", email="jd@example.com", min_strength=3)
    check_password_policy("x7!Qz" * 25, email="jd@example.com", min_strength=3)  # > 72 chars


@pytest.mark.parametrize(("agent", "name", "platform"), [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36", "Chrome on Windows", "windows"),
    ("okhttp/4.9.0", "okhttp", "unknown"),
    (None, "Unknown device", "unknown"),
])
def test_device_names(agent, name, platform):
    assert describe(agent) == (name, platform)


def test_access_tokens_carry_the_roles_claim():
    now = datetime.now(UTC)
    token = CODEC.issue(user_id=uuid.uuid4(), session_id=uuid.uuid4(), now=now,
                        roles=["admin", "user"])
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["admin", "user"]
    assert CODEC.decode(token, now=now).roles == ("admin", "user")


def test_phone_numbers_longer_than_e164_are_refused():
    from domain.contacts_format import normalize_phone

    assert normalize_phone("+1 415 555 2671") == "+14155552671"
    with pytest.raises(ValidationFailed):
        normalize_phone("+4992250922630715")  # libphonenumber says valid; 16 digits > E.164
