"""Print fresh random values for the secrets latchkey refuses to start without:
``python -m scripts.secrets >> .env`` (256 bits each, OWASP ASVS 6.4.1)."""

from __future__ import annotations

import base64
import secrets

from domain.settings import SECRETS


def main() -> None:
    for name in SECRETS:
        # ENCRYPTION_KEY is a Fernet key: url-safe base64 of 32 random bytes, padded
        value = (base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
                 if name == "encryption_key" else secrets.token_urlsafe(32))
        print(f"{name.upper()}={value}")


if __name__ == "__main__":
    main()
