"""ID token checks of OpenID Connect Core §3.1.3.7, done by joserfc and authlib (no JOSE code
of our own): the signature against the provider's JWKS with an ``alg`` from the allow-list
(RFC 8725 §3.1: never ``none``, never HS* keyed with a public key), then ``iss``, ``aud``,
``azp``, ``exp``, ``iat`` and ``nonce`` by ``authlib.oidc.core.CodeIDToken``. Each failure
becomes the error of ``domain/directory/errors.py`` that names the check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from domain.directory.errors import (
    IdTokenExpired,
    InvalidAudience,
    InvalidIdToken,
    InvalidIssuer,
    InvalidSignature,
    NonceMismatch,
)

MAX_SUBJECT = 255  # OIDC Core §2 "sub": it MUST NOT exceed 255 ASCII characters
LEEWAY = 60  # seconds of clock difference tolerated with a provider (exp, iat, nbf)

# RFC 8176 §2: methods that prove possession or inherence, a factor besides a password
SECOND_FACTORS = frozenset({"otp", "sms", "hwk", "swk", "sc", "fpt", "face", "iris", "retina",
                            "vbm", "tel", "pop"})
_CLAIM_ERRORS = {"iss": InvalidIssuer, "aud": InvalidAudience, "azp": InvalidAudience,
                 "nonce": NonceMismatch, "exp": IdTokenExpired}


@dataclass(frozen=True, slots=True)
class IdTokenClaims:
    """What latchkey uses of a valid ID token. amr: RFC 8176 method references, as sent."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    amr: tuple[str, ...]

    @property
    def shows_second_factor(self) -> bool:
        """True when ``amr`` says the person used more than a password at the provider:
        ``mfa``, or a possession/inherence method together with another method."""
        methods = set(self.amr)
        return "mfa" in methods or (bool(methods & SECOND_FACTORS) and len(methods) >= 2)


class UnknownKey(Exception):
    """No key of the JWKS has the token's ``kid``: the provider may have rotated its keys."""


def verify(id_token: str, keys: dict[str, Any], *, algorithms: Sequence[str]) -> Any:
    """The token (``.header``, ``.claims``) once its signature verifies with a key of the JWKS
    ``keys`` under one of ``algorithms``. raises UnknownKey (fetch the JWKS again),
    InvalidSignature, InvalidIdToken (malformed, or an algorithm outside the allow-list)."""
    try:
        key_set = KeySet.import_key_set(keys)  # type: ignore[arg-type]
        return jwt.decode(id_token, key_set,
                          registry=JWSRegistry(algorithms=list(algorithms),
                                               strict_check_header=False))
    except InvalidKeyIdError:
        raise UnknownKey() from None
    except BadSignatureError:
        raise InvalidSignature() from None
    except UnsupportedAlgorithmError:
        raise InvalidIdToken("The ID token's signing algorithm is not allowed "
                             "(OIDC_ID_TOKEN_ALGORITHMS).") from None
    except (JoseError, ValueError, TypeError, KeyError):
        raise InvalidIdToken() from None


def check_claims(token: Any, *, issuer: str, client_id: str, nonce: str, now: int,
                 access_token: str | None) -> IdTokenClaims:
    """Validate the verified token's claims (OIDC Core §3.1.3.7 steps 2-4, 9-11 and
    ``at_hash``); ``now``: Unix seconds. raises InvalidIssuer, InvalidAudience (``aud`` lacks
    the client id, or ``azp`` is another client), IdTokenExpired, NonceMismatch,
    InvalidIdToken (a required claim missing or malformed, ``iat`` in the future)."""
    options: dict[str, Any] = {"iss": {"essential": True, "value": issuer},
                               "aud": {"essential": True, "value": client_id},
                               "sub": {"essential": True}}
    params = {"nonce": nonce, "client_id": client_id, "access_token": access_token}
    claims = CodeIDToken(token.claims, token.header, options, params)
    try:
        claims.validate(now=now, leeway=LEEWAY)
    except ExpiredTokenError:
        raise IdTokenExpired() from None
    except ClaimError as error:
        raise _CLAIM_ERRORS.get(error.claim, InvalidIdToken)() from None
    except (JoseError, ValueError, TypeError):
        raise InvalidIdToken() from None
    amr = claims.get("amr") or []
    email = claims.get("email")
    name = claims.get("name")
    if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= MAX_SUBJECT \
            or "\x00" in claims["sub"]:  # OIDC Core §2: sub is at most 255 ASCII characters
        raise InvalidIdToken("The ID token's sub is not an identifier this service can keep.")
    if isinstance(name, str):  # the provider's text: no control characters kept
        name = "".join(c for c in name if c.isprintable()).strip()
    return IdTokenClaims(
        issuer=claims["iss"], subject=claims["sub"],
        email=email if isinstance(email, str) and email else None,
        email_verified=_email_verified(claims),
        name=name[:100] if isinstance(name, str) and name else None,
        amr=tuple(m for m in amr if isinstance(m, str)))


def _email_verified(claims: Any) -> bool:
    """Whether the provider vouches for the email. ``email_verified`` when sent (some
    providers send the string "true": Cognito); Microsoft Entra ID never sends it for work
    accounts, so without it the optional claim ``xms_edov`` (email domain owner verified:
    the tenant owns the address's domain) stands in. Anything else is not a yes."""
    if "email_verified" in claims:
        return claims.get("email_verified") in (True, "true")
    return claims.get("xms_edov") in (True, "true", "1", 1)
