"""The mobile pairing page (/mobile/pair): in-process over HTTP (headers, CSRF, sign-in and
its errors, two-factor, mobile access off, the session ended once the code shows, "New
code"), and in a real browser (the QR image and the running countdown, no CSP violation, no
token in the processes' output)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import jwt
import pyotp

from api.pages.mobile_pairing import QR_CSP
from api.pages.rendering import CSP
from db.tables import OneTimeToken, Session
from tests.browser.conftest import FormFields
from tests.browser.test_pages_in_browser import assert_clean_console, by, submit, text
from tests.support import PASSWORD, bearer, decode_qr, sign_in, verified_user

PAGE = "/mobile/pair"
DEVICE = "Mobile pairing page"
IMG_SRC = re.compile(r'<img id="qr" src="(data:image/png;base64,[A-Za-z0-9+/=]+)"')


async def account(client, mailbox, email: str, *, enabled: bool = True) -> dict:
    """A verified account, signed in over the API (that session stays); mobile on if told."""
    await verified_user(client, mailbox, email)
    pair = (await sign_in(client, email)).json()
    if enabled:
        assert (await client.post("/v1/mobile/enable", headers=bearer(pair["accessToken"]))
                ).status_code == 200
    return pair


async def post_form(client, html: str, **fields: str) -> httpx.Response:
    """POST the page's form (its hidden fields and ``fields``) to its action."""
    form = FormFields(html)
    assert form.actions == [PAGE]
    return await client.post(PAGE, data={**form.values, **fields})


async def open_and_sign_in(client, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get(PAGE)
    assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
    return await post_form(client, page.text, email=email, password=password)


def qr_token(html: str) -> str:
    """The token of the pairing URI in the page's QR image (decoded as a phone would)."""
    uri = decode_qr(IMG_SRC.search(html).group(1))
    assert uri.startswith("latchkey://pair?server=http%3A%2F%2Ftestserver&token="), uri
    return uri.rsplit("token=", 1)[1]


async def page_sessions(client) -> list[dict]:
    return await Session.select(Session.revoked_reason, Session.amr).where(
        Session.device_name == DEVICE)


async def test_sign_in_shows_the_qr_code_and_ends_the_page_session(pages, mailbox):
    await account(pages, mailbox, "pam@example.com")
    shown = await open_and_sign_in(pages, "pam@example.com")
    assert shown.status_code == 200, shown.text
    assert shown.headers["content-security-policy"] == QR_CSP
    assert shown.headers["cache-control"] == "no-store"
    assert shown.headers["referrer-policy"] == "no-referrer"
    html = shown.text
    token = qr_token(html)
    assert FormFields(html).values["replaces"] == token  # "New code" replaces this one
    assert re.search(r'id="countdown" role="timer" data-seconds="900">15:00 left', html)
    assert '<script src="/mobile/pair/countdown.js" defer></script>' in html
    assert "Nothing stays signed in on this computer" in html
    assert await page_sessions(pages) == [{"revoked_reason": "signout", "amr": "pwd"}]
    script = await pages.get("/mobile/pair/countdown.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript") and b"setInterval" in script.content

    phone = await pages.post("/v1/mobile/pair", json={
        "token": token, "deviceName": "Pam's phone", "platform": "ios"})
    assert phone.status_code == 200, phone.text  # the page's sign-in was plainly signed out
    claims = jwt.decode(phone.json()["accessToken"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd"]


async def test_wrong_password_and_missing_csrf(pages, mailbox):
    await account(pages, mailbox, "quin@example.com")
    refused = await open_and_sign_in(pages, "quin@example.com", "not the password at all")
    assert refused.status_code == 401
    assert 'aria-invalid="true"' in refused.text and "incorrect" in refused.text
    assert FormFields(refused.text).values["email"] == "quin@example.com"
    pages.cookies.clear()
    forged = await pages.post(PAGE, data={"email": "quin@example.com", "password": PASSWORD})
    assert forged.status_code == 403 and "csrf_failed" in forged.text
    assert await OneTimeToken.count().where(OneTimeToken.purpose == "pair_device") == 0
    assert await page_sessions(pages) == []


async def test_mobile_access_off_is_said_and_turned_on_only_by_the_button(pages, mailbox):
    api = await account(pages, mailbox, "ray@example.com", enabled=False)
    off = await open_and_sign_in(pages, "ray@example.com")
    assert off.status_code == 200 and "Mobile access is off" in off.text
    assert "<img" not in off.text
    status = await pages.get("/v1/mobile", headers=bearer(api["accessToken"]))
    assert status.json()["isEnabled"] is False  # the page changed nothing by itself
    assert await page_sessions(pages) == [{"revoked_reason": None, "amr": "pwd"}]

    on = await post_form(pages, off.text)
    assert on.status_code == 200 and qr_token(on.text)
    status = await pages.get("/v1/mobile", headers=bearer(api["accessToken"]))
    assert status.json()["isEnabled"] is True
    assert await page_sessions(pages) == [{"revoked_reason": "signout", "amr": "pwd"}]
    again = await post_form(pages, off.text)  # the page's session has ended
    assert again.status_code == 401 and "This page has expired" in again.text


async def test_new_code_replaces_the_one_shown(pages, mailbox):
    await account(pages, mailbox, "sal@example.com")
    first = await open_and_sign_in(pages, "sal@example.com")
    old = qr_token(first.text)
    second = await post_form(pages, first.text, password=PASSWORD)
    assert second.status_code == 200, second.text
    new = qr_token(second.text)
    assert new != old
    assert await OneTimeToken.count().where(OneTimeToken.purpose == "pair_device") == 1
    gone = await pages.post("/v1/mobile/pair", json={
        "token": old, "deviceName": "Sal's phone", "platform": "android"})
    assert gone.status_code == 400 and gone.json()["type"] == "invalid_token"


async def test_two_factor_accounts_answer_a_code_on_the_page(pages, mailbox, clock):
    api = await account(pages, mailbox, "tia@example.com")
    enrol = (await pages.post("/v1/auth/two-factor/totp/enable", json={"password": PASSWORD},
                              headers=bearer(api["accessToken"]))).json()
    app = pyotp.TOTP(enrol["secret"])
    assert (await pages.post("/v1/auth/two-factor/totp/verify", json={"code": app.at(clock.now)},
                             headers=bearer(api["accessToken"]))).status_code == 200
    clock.advance(seconds=30)  # a new TOTP step: the enrolment code is not replayed

    step = await open_and_sign_in(pages, "tia@example.com")
    assert step.status_code == 200 and "Confirm it is you" in step.text
    assert "<img" not in step.text and await page_sessions(pages) == []
    wrong = await post_form(pages, step.text, method="totp", code="000000"
                            if app.at(clock.now) != "000000" else "111111")
    assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.text
    shown = await post_form(pages, wrong.text, method="totp", code=app.at(clock.now))
    assert shown.status_code == 200, shown.text
    phone = await pages.post("/v1/mobile/pair", json={
        "token": qr_token(shown.text), "deviceName": "Tia's phone", "platform": "ios"})
    claims = jwt.decode(phone.json()["accessToken"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp"]  # as strong as the sign-in that paired it
    assert await page_sessions(pages) == [{"revoked_reason": "signout", "amr": "pwd otp"}]


async def test_sms_two_factor_accounts_can_have_a_code_texted(pages, mailbox, twilio):
    """An account whose only method is SMS must be able to finish on this page too."""
    api = await account(pages, mailbox, "sam@example.com")
    auth, phone = bearer(api["accessToken"]), "+14155552679"
    assert (await pages.post("/v1/auth/two-factor/sms/enable", headers=auth, json={
        "phoneNumber": phone, "password": PASSWORD})).status_code == 200
    enrol = (await asyncio.to_thread(twilio.wait_for, phone))[0].code
    assert (await pages.post("/v1/auth/two-factor/sms/verify", headers=auth,
                             json={"code": enrol})).status_code == 200

    step = await open_and_sign_in(pages, "sam@example.com")
    assert 'name="send_sms"' in step.text and len(twilio.to(phone)) == 1
    texted = await post_form(pages, step.text, send_sms="1")
    assert texted.status_code == 200 and "on its way to +1******2679" in texted.text
    code = (await asyncio.to_thread(twilio.wait_for, phone, 2))[1].code
    shown = await post_form(pages, texted.text, method="sms", code=code)
    assert shown.status_code == 200, shown.text
    assert qr_token(shown.text)


def test_the_qr_code_and_its_countdown_in_a_browser(browser, live, mailbox):
    chrome: Any = browser
    chrome.delete_all_cookies()
    chrome.get_log("browser")
    email = "uma@example.com"
    assert httpx.post(f"{live.url}/v1/auth/register",
                      json={"email": email, "password": PASSWORD}).status_code == 201
    link = mailbox.wait_for(email, timeout=10.0)[0].links[0]
    token = link.split("token=", 1)[1]
    assert httpx.post(f"{live.url}/v1/auth/verify-email", json={"token": token}
                      ).status_code == 200
    api = httpx.post(f"{live.url}/v1/auth/signin", json={"email": email, "password": PASSWORD})
    assert httpx.post(f"{live.url}/v1/mobile/enable",
                      headers=bearer(api.json()["accessToken"])).status_code == 200

    chrome.get(f"{live.url}{PAGE}")
    assert chrome.title == "Pair a mobile device \N{EN DASH} latchkey"
    chrome.find_element(*by("#email")).send_keys(email)
    chrome.find_element(*by("#password")).send_keys(PASSWORD)
    submit(chrome)
    assert text(chrome, "h1") == "Scan the code with your phone"
    assert chrome.current_url == f"{live.url}{PAGE}"
    image = chrome.find_element(*by("#qr"))
    assert image.is_displayed()
    assert chrome.execute_script("return arguments[0].naturalWidth", image) > 100

    from selenium.webdriver.support.wait import WebDriverWait

    def left(driver: Any) -> str:  # the script replaced the server's text: "14:59 left"
        shown = text(driver, "#countdown")
        return shown if re.fullmatch(r"1[45]:\d\d left", shown) else ""

    first = WebDriverWait(chrome, 10).until(left)
    WebDriverWait(chrome, 10).until(lambda d: left(d) and left(d) != first)  # it ticks
    assert "UTC" in text(chrome, "#expires-at")
    assert_clean_console(chrome)

    pairing_token = qr_token_of(image.get_attribute("src"), live.url)
    phone = httpx.post(f"{live.url}/v1/mobile/pair", json={
        "token": pairing_token, "deviceName": "Uma's phone", "platform": "android"})
    assert phone.status_code == 200, phone.text
    logs = live.logs()
    assert pairing_token not in logs and token not in logs


def qr_token_of(data_url: str, server: str) -> str:
    uri = decode_qr(data_url)
    prefix = "latchkey://pair?server=" + server.replace(":", "%3A").replace("/", "%2F")
    assert uri.startswith(prefix + "&token="), uri
    return uri.rsplit("token=", 1)[1]
