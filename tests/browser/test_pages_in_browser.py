"""The emailed links in a real browser: headless Chromium (Selenium) against the real web and
worker processes, links taken from the SMTP sink, forms clicked and submitted, the effect
checked over the JSON API, and the token looked for in both processes' output."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import PASSWORD, token_of

STRONG = "plum radiator gossip lantern"


@pytest.fixture
def chrome(browser: Any) -> Any:
    browser.delete_all_cookies()
    browser.get_log("browser")  # drop what earlier tests left
    return browser


def by(css: str) -> tuple[str, str]:
    return ("css selector", css)


def submit(driver: Any) -> None:
    """Click the form's button and wait until the answer page has loaded (a click returns
    before the navigation it starts has finished)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    # A mark on the old page's window: gone once the answer page has replaced it. Element
    # staleness checks race the navigation ("node does not belong to the document").
    driver.execute_script("window.latchkeyOldPage = true")
    driver.find_element(*by("button[type=submit]")).click()
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(
            "return !window.latchkeyOldPage && document.readyState === 'complete'"))


def text(driver: Any, css: str) -> str:
    return str(driver.find_element(*by(css)).text)


def assert_clean_console(driver: Any) -> None:
    """The browser reported no CSP violation (a 4xx page's own status is logged too: fine)."""
    messages = [e["message"] for e in driver.get_log("browser")]
    assert [m for m in messages if "Content Security Policy" in m or "Refused" in m] == []


def assert_result_page(driver: Any, live: Any, path: str) -> None:
    """After a POST: the bare path, no Referer sent (no-referrer), CSS applied (CSP allows it)."""
    assert driver.current_url == f"{live.url}{path}"
    assert driver.execute_script("return document.referrer") == ""
    assert driver.find_element(*by("main")).value_of_css_property("max-width") == "512px"
    assert_clean_console(driver)


def register(live: Any, mailbox: Any, email: str) -> str:
    """Register over HTTP; return the verification link from the sink."""
    api = httpx.post(f"{live.url}/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert api.status_code == 201
    return mailbox.wait_for(email, timeout=10.0)[0].links[0]


def sign_in(live: Any, email: str, password: str = PASSWORD) -> int:
    return httpx.post(f"{live.url}/v1/auth/signin",
                      json={"email": email, "password": password}).status_code


def test_verify_email_link(chrome, live, mailbox):
    email = "olive@example.com"
    link = register(live, mailbox, email)
    assert link.startswith(f"{live.url}/verify-email?token=")
    chrome.get(link)
    assert chrome.title == "Verify your email address \N{EN DASH} latchkey"
    assert sign_in(live, email) == 403  # opening the link alone verifies nothing
    submit(chrome)
    assert text(chrome, "h1") == "Your email address is verified"
    assert_result_page(chrome, live, "/verify-email")
    assert sign_in(live, email) == 200
    assert token_of(link) not in live.logs()


def test_reset_password_link(chrome, live, mailbox):
    email = "pia@example.com"
    verify = register(live, mailbox, email)
    assert httpx.post(f"{live.url}/v1/auth/verify-email",
                      json={"token": token_of(verify)}).status_code == 200
    assert httpx.post(f"{live.url}/v1/auth/password/forgot",
                      json={"email": email}).status_code == 200
    mail = mailbox.wait_for(email, timeout=10.0, subject="Reset your password")[0]
    link = next(link for link in mail.links if "/reset-password?" in link)

    def fill(new: str, again: str) -> None:
        chrome.find_element(*by("#new_password")).send_keys(new)
        chrome.find_element(*by("#confirm_password")).send_keys(again)
        submit(chrome)

    chrome.get(link)
    assert "be 12 to 128 characters long" in text(chrome, "#password-rules")
    fill("password1234", "password1234")
    assert chrome.title.startswith("Error: ")
    field = chrome.find_element(*by("#new_password"))
    assert field.get_attribute("aria-invalid") == "true"
    error_id = field.get_attribute("aria-describedby").split()[-1]
    assert text(chrome, f"#{error_id}").startswith("The new password is too weak")
    assert_result_page(chrome, live, "/reset-password")

    fill(STRONG, STRONG)
    assert text(chrome, "h1") == "Your password has been reset"
    assert_result_page(chrome, live, "/reset-password")
    assert sign_in(live, email) == 401
    assert sign_in(live, email, STRONG) == 200

    chrome.get(link)  # the link works once
    fill(STRONG + " again", STRONG + " again")
    assert text(chrome, "h1") == "This link does not work"
    assert text(chrome, "#problem") == "invalid_token"
    assert sign_in(live, email, STRONG) == 200
    logs = live.logs()
    assert token_of(link) not in logs and token_of(verify) not in logs


def test_invalid_link(chrome, live):
    chrome.get(f"{live.url}/verify-email?token=not-a-real-token")
    submit(chrome)
    assert text(chrome, "h1") == "This link does not work"
    assert text(chrome, "#problem") == "invalid_token"
    assert chrome.title == "Error: This link does not work \N{EN DASH} latchkey"
    assert_result_page(chrome, live, "/verify-email")
