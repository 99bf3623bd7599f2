"""The magic-link landing page (``/auth/magic``): over HTTP in-process (headers, CSRF, single
use, the two-factor code form) and in headless Chromium against the real web and worker
processes, from the link in the email to "Signed in as"."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pyotp
import pytest

from api.pages.rendering import CSP
from db.tables import OneTimeToken, Session, User
from tests.browser.conftest import FormFields
from tests.support import PASSWORD, bearer, sign_in, token_of, verified_user, wait_mail

SUBJECT = "Your sign-in link"
PAGE_HEADERS = {"content-security-policy": CSP, "referrer-policy": "no-referrer",
                "cache-control": "no-store", "x-content-type-options": "nosniff",
                "x-frame-options": "DENY"}


def assert_page(response: Any, status: int) -> str:
    """An HTML page with ``status``, every page header and no script; returns its text."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    for name, value in PAGE_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "<script" not in response.text
    return response.text


async def magic_link(client: Any, mailbox: Any, email: str) -> str:
    """A verified account's emailed magic link."""
    await verified_user(client, mailbox, email)
    assert (await client.post("/v1/auth/magic-link/request",
                              json={"email": email})).status_code == 200
    return (await wait_mail(mailbox, email, subject=SUBJECT))[0].links[0]


async def press(client: Any, page: Any, **fields: str) -> Any:
    """POST the page's form (its hidden fields + ``fields``) to its action, the bare path."""
    form = FormFields(page.text)
    assert form.actions == ["/auth/magic"]
    return await client.post(form.actions[0], data={**form.values, **fields})


async def test_the_button_signs_in_once_and_opening_the_link_uses_nothing(pages, mailbox):
    email = "mira@example.com"
    link = await magic_link(pages, mailbox, email)
    assert link.startswith("http://testserver/auth/magic?token=")
    page = await pages.get(link)
    html = assert_page(page, 200)
    assert "<title>Sign in \N{EN DASH} latchkey</title>" in html
    assert '<button type="submit">Sign in</button>' in html
    form = FormFields(html)
    assert form.values["token"] == token_of(link) and form.values["_csrf_token"]
    assert token_of(link) not in page.headers["set-cookie"]
    # a mail scanner's prefetch (the GET) neither used the token nor opened a session
    assert (await OneTimeToken.select(OneTimeToken.used_at).where(
        OneTimeToken.purpose == "magic_link").first())["used_at"] is None
    assert await Session.count() == 0

    done = await press(pages, page)
    assert f'Signed in as <strong id="email">{email}</strong>' in assert_page(done, 200)
    assert (await Session.select(Session.amr).first())["amr"] == "email"
    again = await press(pages, page)
    assert '<code id="problem">invalid_token</code>' in assert_page(again, 400)
    assert await Session.count() == 1


async def test_without_the_csrf_pair_nothing_is_used(pages, mailbox):
    link = await magic_link(pages, mailbox, "nils@example.com")
    page = await pages.get(link)
    pages.cookies.clear()
    refused = await pages.post("/auth/magic", data=FormFields(page.text).values)
    assert "csrf_failed" in assert_page(refused, 403)
    assert await Session.count() == 0
    fresh = await pages.get(link)
    assert "Signed in as" in assert_page(await press(pages, fresh), 200)


async def test_expired_missing_and_unknown_tokens(pages, mailbox, clock, page_settings):
    link = await magic_link(pages, mailbox, "omar@example.com")
    page = await pages.get(link)
    clock.advance(seconds=page_settings.magic_link_ttl + 1)
    assert '<code id="problem">token_expired</code>' in assert_page(await press(pages, page), 400)
    assert "incomplete" in assert_page(await pages.get("/auth/magic"), 400)
    csrf = FormFields(page.text).values["_csrf_token"]
    assert "incomplete" in assert_page(
        await pages.post("/auth/magic", data={"_csrf_token": csrf}), 400)
    unknown = await press(pages, await pages.get("/auth/magic?token=not-a-real-token"))
    assert "This link does not work" in assert_page(unknown, 400)


async def test_a_deactivated_account_is_not_signed_in(pages, mailbox):
    email = "pat@example.com"
    page = await pages.get(await magic_link(pages, mailbox, email))
    await User.update({User.is_active: False}).where(User.email_lower == email)
    assert "invalid_token" in assert_page(await press(pages, page), 400)
    assert await Session.count() == 0


async def test_two_factor_asks_for_a_code_on_the_page(pages, mailbox, clock):
    email = "quin@example.com"
    await verified_user(pages, mailbox, email)
    auth = bearer((await sign_in(pages, email)).json()["accessToken"])
    secret = (await pages.post("/v1/auth/two-factor/totp/enable", headers=auth,
                               json={"password": PASSWORD})).json()["secret"]
    totp = pyotp.TOTP(secret)
    assert (await pages.post("/v1/auth/two-factor/totp/verify", headers=auth,
                             json={"code": totp.at(clock())})).status_code == 200
    assert (await pages.post("/v1/auth/magic-link/request",
                             json={"email": email})).status_code == 200
    link = (await wait_mail(mailbox, email, subject=SUBJECT))[0].links[0]
    sessions_before = await Session.count()

    asked = await press(pages, await pages.get(link))
    html = assert_page(asked, 200)
    assert "<h1>Confirm it is you</h1>" in html
    fields = FormFields(html)
    assert fields.values["two_factor_token"] and fields.values["methods"] == "totp backup"
    assert '<label for="code">' in html and '<label for="method">' in html
    assert fields.attrs["code"]["autocomplete"] == "one-time-code"
    assert await Session.count() == sessions_before  # no session before the second factor

    clock.advance(seconds=30)  # the enrolment used this step's code: a new step's code
    wrong = await press(pages, asked, method="totp", code="000000" if totp.at(
        clock()) != "000000" else "111111")
    html = assert_page(wrong, 400)
    assert "The code is incorrect. Try again." in html
    assert FormFields(html).attrs["code"]["aria-invalid"] == "true"
    assert 'aria-describedby="code-help code-error"' in html
    done = await press(pages, wrong, method="totp", code=totp.at(clock()))
    assert f'Signed in as <strong id="email">{email}</strong>' in assert_page(done, 200)
    assert sorted(r["amr"] for r in await Session.select(Session.amr)) == ["email otp", "pwd"]
    used = await press(pages, wrong, method="totp", code=totp.at(clock()))
    assert "This sign-in has ended" in assert_page(used, 400)


async def test_sms_two_factor_texts_a_code_from_the_page(pages, mailbox, twilio):
    email, phone = "ravi@example.com", "+14155552672"
    await verified_user(pages, mailbox, email)
    auth = bearer((await sign_in(pages, email)).json()["accessToken"])
    assert (await pages.post("/v1/auth/two-factor/sms/enable", headers=auth, json={
        "phoneNumber": phone, "password": PASSWORD})).status_code == 200
    enrol = (await asyncio.to_thread(twilio.wait_for, phone))[0].code
    assert (await pages.post("/v1/auth/two-factor/sms/verify", headers=auth,
                             json={"code": enrol})).status_code == 200
    assert (await pages.post("/v1/auth/magic-link/request",
                             json={"email": email})).status_code == 200
    link = (await wait_mail(mailbox, email, subject=SUBJECT))[0].links[0]

    asked = await press(pages, await pages.get(link))
    html = assert_page(asked, 200)
    assert FormFields(html).values["methods"] == "sms backup"
    assert '<button type="submit" name="send_sms" value="1" formnovalidate>' in html
    assert len(twilio.to(phone)) == 1  # showing the form texts nothing
    texted = await press(pages, asked, send_sms="1")
    assert "A sign-in code is on its way to +1******2672." in assert_page(texted, 200)
    code = (await asyncio.to_thread(twilio.wait_for, phone, 2))[1].code
    done = await press(pages, texted, method="sms", code=code)
    assert f'Signed in as <strong id="email">{email}</strong>' in assert_page(done, 200)
    assert sorted(r["amr"] for r in await Session.select(Session.amr)) == ["email sms", "pwd"]


async def test_no_token_in_our_logs(pages, mailbox, caplog):
    caplog.set_level(logging.DEBUG)
    link = await magic_link(pages, mailbox, "rae@example.com")
    page = await pages.get(link)
    assert (await press(pages, page)).status_code == 200
    assert (await press(pages, page)).status_code == 400
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert ours and not [m for m in ours if token_of(link) in m]  # httpx: the test's client


# In a real browser ------------------------------------------------------------------------

@pytest.fixture
def chrome(browser: Any) -> Any:
    browser.delete_all_cookies()
    browser.get_log("browser")  # drop what earlier tests left
    return browser


def test_the_emailed_link_in_a_browser(chrome, live, mailbox):
    from tests.browser.test_pages_in_browser import assert_result_page, submit, text

    email = "sol@example.com"
    assert httpx.post(f"{live.url}/v1/auth/register",
                      json={"email": email, "password": PASSWORD}).status_code == 201
    verify = mailbox.wait_for(email, timeout=10.0)[0].links[0]
    assert httpx.post(f"{live.url}/v1/auth/verify-email",
                      json={"token": token_of(verify)}).status_code == 200
    assert httpx.post(f"{live.url}/v1/auth/magic-link/request",
                      json={"email": email}).status_code == 200
    mail = mailbox.wait_for(email, timeout=10.0, subject=SUBJECT)[0]
    link = mail.links[0]
    assert link.startswith(f"{live.url}/auth/magic?token=")

    chrome.get(link)
    assert chrome.title == "Sign in \N{EN DASH} latchkey"
    submit(chrome)
    assert text(chrome, "h1") == "You are signed in"
    assert text(chrome, "#email") == email
    assert_result_page(chrome, live, "/auth/magic")

    chrome.get(link)  # the link works once
    submit(chrome)
    assert text(chrome, "h1") == "This link does not work"
    assert text(chrome, "#problem") == "invalid_token"
    assert token_of(link) not in live.logs()
