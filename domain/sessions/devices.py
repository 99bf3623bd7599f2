"""Human names for the device behind a user agent ("Firefox on Ubuntu"), via ua-parser."""

from __future__ import annotations

from functools import lru_cache

from ua_parser import parse


@lru_cache(maxsize=4096)  # parsing runs ~600 regexes; user agents repeat a lot
def describe(user_agent: str | None) -> tuple[str, str]:
    """(device name, platform) for a user agent; ("Unknown device", "unknown") without one.
    platform: the OS family in lower case ("ios", "android", "windows", "mac os x", ...)."""
    if not user_agent:
        return "Unknown device", "unknown"
    result = parse(user_agent[:512])
    browser = result.user_agent.family if result.user_agent else "Other"
    if browser == "Other":  # an app or script: its product token ("okhttp/4.9")
        browser = user_agent.split("/")[0].strip()[:40] or "Unknown browser"
    system = result.os.family if result.os and result.os.family != "Other" else None
    name = f"{browser} on {system}" if system else browser
    return name[:100], system.lower() if system else "unknown"
