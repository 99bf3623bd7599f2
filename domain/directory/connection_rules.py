"""The rules an organization's identity-provider settings must follow before they are stored
(API.md ``/v1/organizations/{id}/sso``). Every check collects its problems, so one 400
names each bad field (``issuer``, ``clientId``, ``clientSecret``, ``allowedDomains[i]``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from domain.settings import Settings

Problems = list[tuple[str, str]]

MAX_ISSUER = 500  # sso_connections.issuer
MAX_CLIENT_ID = 255
MAX_CLIENT_SECRET = 1000
MAX_DOMAINS = 50
LOOPBACK = ("localhost", "127.0.0.1", "::1")  # http issuers outside production only
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# RFC 1035 §2.3.1 labels (letters, digits, inner hyphens; 63 octets), RFC 1123 §2.1 digits
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def check_issuer(settings: Settings, issuer: str, problems: Problems) -> str:
    """The issuer without surrounding blanks and otherwise exactly as given: ID tokens'
    ``iss`` must equal it character for character (OIDC Discovery §4.3), trailing slash
    included. Rules: an absolute https URL with a host and no query, fragment or user
    info (OIDC Discovery §2); http only for localhost / 127.0.0.1 / ::1 when ENVIRONMENT is
    not production (a provider on the developer's machine)."""
    issuer = issuer.strip()
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        problems.append(("issuer", "must be an absolute https URL"))
        return issuer
    if len(issuer) > MAX_ISSUER:
        problems.append(("issuer", f"must be at most {MAX_ISSUER} characters"))
    elif CONTROL.search(issuer) or " " in issuer or not parts.hostname:
        problems.append(("issuer", "must be an absolute https URL"))
    elif "?" in issuer or "#" in issuer or "@" in parts.netloc:
        problems.append(("issuer", "must not have a query, fragment or user name"))
    elif parts.scheme != "https" and not (
            parts.scheme == "http" and parts.hostname in LOOPBACK
            and settings.environment != "production"):
        problems.append(("issuer", "must be an https URL"))
    return issuer


def check_text(field: str, value: str, maximum: int, problems: Problems) -> str:
    """``value`` without surrounding blanks (a pasted id or secret often ends in a newline;
    no provider issues one with blanks around it): 1..maximum characters, no control
    characters."""
    value = value.strip()
    if not value:
        problems.append((field, "is required"))
    elif len(value) > maximum:
        problems.append((field, f"must be at most {maximum} characters"))
    elif CONTROL.search(value):
        problems.append((field, "must not contain control characters"))
    return value


def normalize_domain(text: str) -> str:
    """``@Example.COM.`` -> ``example.com``: what sso_domains stores and emails compare to."""
    return text.strip().lstrip("@").rstrip(".").lower()


def valid_domain(domain: str) -> bool:
    """A DNS name of two or more labels (RFC 1035 §2.3.1; IDNs in their xn-- form), at most
    253 characters, whose last label is not all digits (no IP addresses)."""
    labels = domain.split(".")
    return (len(domain) <= 253 and len(labels) >= 2 and not labels[-1].isdigit()
            and all(LABEL.match(label) for label in labels))


def check_domains(domains: Sequence[str], problems: Problems) -> list[str]:
    """1..50 email domains, normalized (lower case, leading @ and trailing dot dropped),
    duplicates dropped in the order given."""
    if not domains:
        problems.append(("allowedDomains", "must list at least one email domain"))
    if len(domains) > MAX_DOMAINS:
        problems.append(("allowedDomains", f"must list at most {MAX_DOMAINS} domains"))
        return []
    kept: list[str] = []
    for index, text in enumerate(domains):
        domain = normalize_domain(text)
        if not valid_domain(domain):
            problems.append((f"allowedDomains[{index}]",
                             "must be an email domain such as example.com "
                             "(international names in their xn-- form)"))
        elif domain not in kept:
            kept.append(domain)
    return kept
