"""The hosted pages over HTTP, in-process (no browser needed, always run): security headers,
CSRF, single use, expiry, rate limits, markup for assistive technology, nothing in logs."""

from __future__ import annotations

import logging

from api.pages.rendering import CSP, CSRF_COOKIE
from tests.browser.conftest import FormFields
from tests.support import PASSWORD, register, sign_in, token_of, verified_user, wait_mail

STRONG = "plum radiator gossip lantern"
PAGE_HEADERS = {"content-security-policy": CSP, "referrer-policy": "no-referrer",
                "cache-control": "no-store", "x-content-type-options": "nosniff",
                "x-frame-options": "DENY"}


def assert_page(response, status: int) -> str:
    """The response is an HTML page with ``status`` and every page header; returns it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    for name, value in PAGE_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "location" not in response.headers
    return response.text


async def verify_link(client, mailbox, email: str) -> str:
    assert (await register(client, email)).status_code == 201
    return (await wait_mail(mailbox, email))[0].links[0]


async def submit(client, link: str, **fields: str):
    """GET the page, then POST its form (hidden fields + ``fields``) to its action."""
    page = await client.get(link)
    form = FormFields(assert_page(page, 200))
    assert form.actions == [page.url.path]  # the bare path: the token stays in the body
    return await client.post(form.actions[0], data={**form.values, **fields})


async def test_verify_page_headers_csrf_cookie_and_single_use(pages, mailbox):
    link = await verify_link(pages, mailbox, "hank@example.com")
    assert link.startswith("http://testserver/verify-email?token=")
    page = await pages.get(link)
    html = assert_page(page, 200)
    assert '<html lang="en">' in html and "<script" not in html
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=") and token_of(link) not in cookie
    assert "; httponly" in cookie.lower() and "; samesite=strict" in cookie.lower()
    form = FormFields(html)
    assert form.values["token"] == token_of(link) and form.values["_csrf_token"]
    # the GET (a mail scanner's prefetch) used nothing
    assert (await sign_in(pages, "hank@example.com")).status_code == 403

    done = await pages.post("/verify-email", data=form.values)
    assert "Your email address is verified" in assert_page(done, 200)
    assert (await sign_in(pages, "hank@example.com")).status_code == 200
    again = await pages.post("/verify-email", data=form.values)
    assert '<code id="problem">invalid_token</code>' in assert_page(again, 400)
    css = await pages.get("/pages/style.css")
    assert css.status_code == 200 and css.headers["content-type"] == "text/css; charset=utf-8"


async def test_post_without_the_csrf_pair_is_refused_and_uses_nothing(pages, mailbox):
    link = await verify_link(pages, mailbox, "ivy@example.com")
    form = FormFields((await pages.get(link)).text)
    pages.cookies.clear()
    refused = await pages.post("/verify-email", data=form.values)
    assert "csrf_failed" in assert_page(refused, 403)
    forged = {**form.values, "_csrf_token": "0" * 128}
    await pages.get("/verify-email?token=x")  # a fresh cookie, not matching the forged field
    assert "csrf_failed" in assert_page(await pages.post("/verify-email", data=forged), 403)
    assert (await sign_in(pages, "ivy@example.com")).status_code == 403
    assert assert_page(await submit(pages, link), 200)  # the token was not used up


async def test_expired_and_missing_tokens(pages, mailbox, clock, page_settings):
    link = await verify_link(pages, mailbox, "jo@example.com")
    clock.advance(seconds=page_settings.email_verification_ttl + 1)
    assert "token_expired" in assert_page(await submit(pages, link), 400)
    assert "incomplete" in assert_page(await pages.get("/reset-password"), 400)
    form = FormFields((await pages.get("/verify-email?token=x")).text).values
    assert "incomplete" in assert_page(
        await pages.post("/verify-email", data={"_csrf_token": form["_csrf_token"]}), 400)


async def test_reset_form_markup_errors_and_success(pages, mailbox):
    email = "kim@example.com"
    await verified_user(pages, mailbox, email)
    assert (await pages.post("/v1/auth/password/forgot", json={"email": email})).status_code == 200
    link = next(link for mail in await wait_mail(mailbox, email, count=3)
                for link in mail.links if "/reset-password?" in link)
    html = assert_page(await pages.get(link), 200)
    fields = FormFields(html)
    for name in ("new_password", "confirm_password"):
        assert f'<label for="{name}">' in html
        assert fields.attrs[name]["autocomplete"] == "new-password"
        assert fields.attrs[name]["aria-describedby"] == "password-rules"
    assert "be 12 to 128 characters long" in html and "not contain your email" in html

    mismatch = await submit(pages, link, new_password=STRONG, confirm_password=STRONG + "x")
    fields = FormFields(assert_page(mismatch, 400))
    assert fields.attrs["confirm_password"]["aria-describedby"] == \
        "password-rules confirm_password-error"
    assert fields.attrs["confirm_password"]["aria-invalid"] == "true"
    assert 'id="confirm_password-error"' in mismatch.text and "do not match" in mismatch.text
    assert STRONG not in mismatch.text  # a password is never sent back

    weak = await submit(pages, link, new_password="password1234", confirm_password="password1234")
    assert "The new password is too weak" in assert_page(weak, 400)
    assert 'aria-describedby="password-rules new_password-error"' in weak.text
    done = await submit(pages, link, new_password=STRONG, confirm_password=STRONG)
    assert "Your password has been reset" in assert_page(done, 200)
    assert (await sign_in(pages, email)).status_code == 401
    assert (await sign_in(pages, email, STRONG)).status_code == 200


async def test_page_posts_share_the_token_rate_limit(pages, mailbox):
    """RATE_LIMIT_TOKEN (20/hour per IP) counts page POSTs like the JSON endpoints'."""
    link = await verify_link(pages, mailbox, "lou@example.com")
    form = FormFields((await pages.get(link)).text).values
    bogus = {**form, "token": "not-a-token"}
    for _ in range(20):
        assert (await pages.post("/verify-email", data=bogus)).status_code == 400
    limited = await pages.post("/verify-email", data=form)
    assert "Too many attempts" in assert_page(limited, 429)
    assert int(limited.headers["retry-after"]) > 0
    api = await pages.post("/v1/auth/verify-email", json={"token": token_of(link)})
    assert api.status_code == 429  # one budget for the page and the API


async def test_no_token_in_our_logs(pages, mailbox, caplog):
    caplog.set_level(logging.DEBUG)
    link = await verify_link(pages, mailbox, "max@example.com")
    assert (await submit(pages, link)).status_code == 200
    assert (await submit(pages, link)).status_code == 400
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert ours and not [m for m in ours if token_of(link) in m]  # httpx: the test's client


async def test_pages_off_means_not_found(settings, clock):
    from tests.support import serving

    async with serving(settings.replace(hosted_pages="off"), clock, worker=False) as client:
        assert (await client.get("/verify-email?token=x")).status_code == 404
        assert (await client.get("/pages/style.css")).status_code == 404


async def test_the_json_api_needs_no_csrf_cookie(pages, mailbox):
    link = await verify_link(pages, mailbox, "ned@example.com")
    ok = await pages.post("/v1/auth/verify-email", json={"token": token_of(link)})
    assert ok.status_code == 200 and (await sign_in(pages, "ned@example.com", PASSWORD)
                                      ).status_code == 200
