"""Print fresh random values for the secrets latchkey refuses to start without:
``python -m scripts.secrets >> .env`` (256 bits each, OWASP ASVS 6.4.1)."""

from __future__ import annotations

import secrets

from domain.settings import SECRETS


def main() -> None:
    for name in SECRETS:
        print(f"{name.upper()}={secrets.token_urlsafe(32)}")


if __name__ == "__main__":
    main()
