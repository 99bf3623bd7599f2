"""Pure rules of single sign-on: the redirectTo allow-list, the derived nonce and PKCE
verifier, and when a provider's ``amr`` shows a second factor (RFC 8176)."""

from __future__ import annotations

import pytest

from domain.directory.errors import RedirectNotAllowed
from domain.directory.id_tokens import IdTokenClaims
from domain.directory.sso import allowed_redirect, derived_secret, with_code
from domain.settings import Settings

SETTINGS = Settings(environment="test", app_url="https://app.example.test",
                    sso_allowed_redirects="https://app.example.test/auth/sso,"
                                          "myapp://sso?x=1")


def claims(*amr: str) -> IdTokenClaims:
    return IdTokenClaims(issuer="i", subject="s", email=None, email_verified=False, name=None,
                         amr=amr)


@pytest.mark.parametrize(("amr", "second"), [
    (("mfa",), True), (("pwd", "otp"), True), (("pwd", "hwk"), True), (("face", "pin"), True),
    (("pwd",), False), (("otp",), False), (("pwd", "kba"), False), ((), False),
])
def test_amr_shows_a_second_factor(amr, second):
    assert claims(*amr).shows_second_factor is second


def test_redirects_allowed_and_refused():
    assert allowed_redirect(SETTINGS, None) == "https://app.example.test/auth/sso"
    assert allowed_redirect(SETTINGS, "https://app.example.test/auth/sso?next=/a") \
        == "https://app.example.test/auth/sso?next=/a"
    assert allowed_redirect(SETTINGS, "myapp://sso") == "myapp://sso"
    for bad in ("https://app.example.test/auth/sso/evil", "https://app.example.test:444/auth/sso",
                "http://app.example.test/auth/sso", "https://app.example.test/auth/sso#x",
                "https://app.example.test/auth/sso\n", "https://app.example.test\\@x/auth/sso",
                "https://[::1/auth/sso", "x" * 3000):
        with pytest.raises(RedirectNotAllowed):
            allowed_redirect(SETTINGS, bad)


def test_code_replaces_any_code_in_the_query():
    assert with_code("myapp://sso?code=old&a=1", "new") == "myapp://sso?a=1&code=new"


def test_nonce_and_verifier_are_distinct_per_state_and_long_enough():
    nonce, verifier = (derived_secret(SETTINGS, "state-1", label) for label in ("nonce", "pkce"))
    assert nonce != verifier and len(verifier) == 43
    assert derived_secret(SETTINGS, "state-2", "pkce") != verifier
    assert derived_secret(SETTINGS, "state-1", "pkce") == verifier
