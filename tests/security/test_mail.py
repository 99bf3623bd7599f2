"""Mail header injection: nothing a client sends can add a header or a recipient to a mail
the worker sends (OWASP ASVS 4.0.3 V5.2.3 SMTP injection; RFC 5322 §2.2: a header ends at
CRLF, so CR or LF in a value starts a new header)."""

from __future__ import annotations

import pytest

from scripts.mailbox import ReceivedMail
from tests.security.helpers import PASSWORD, is_problem, new_email, register

EVIL = "evil@attacker.example"
BREAKS = ["\r\n", "\n", "\r", "\r\n\r\n"]
HEADERS = {"subject", "from", "to", "date", "message-id", "x-latchkey-message-id",
           "mime-version", "content-type", "content-transfer-encoding"}


def assert_untouched(mail: ReceivedMail, recipient: str) -> None:
    """One envelope recipient, the account's; no header the renderer does not write; the
    attacker's address nowhere in the headers."""
    assert mail.recipients == [recipient], mail.recipients
    names = {name.lower() for name in mail.message}
    assert names <= HEADERS, names - HEADERS
    assert EVIL not in str(list(mail.message.items()))


@pytest.mark.parametrize("brk", BREAKS, ids=["crlf", "lf", "cr", "crlfcrlf"])
def test_line_breaks_in_name_and_email_are_400(api, brk):
    """ASVS V5.2.3: a name or address with CR/LF and a Bcc header is refused, naming the
    field, before any mail is queued (V5.1.4: control characters)."""
    response = register(api, new_email("eve"), name=f"Eve{brk}Bcc: {EVIL}")
    assert is_problem(response, 400) and response.json()["errors"][0]["field"] == "name"
    address = f"{new_email('eve')}{brk}Bcc: {EVIL}"
    for path, body in [("/v1/auth/register", {"email": address, "password": PASSWORD}),
                       ("/v1/auth/password/forgot", {"email": address}),
                       ("/v1/auth/verify-email/resend", {"email": address})]:
        response = api.post(path, json=body)
        assert is_problem(response, 400), (path, response.text)
        assert response.json()["errors"][0]["field"] == "email"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"],
                         ids=["U+2028", "U+2029", "U+0085"])
def test_other_line_separators_do_not_reach_the_headers(api, box, separator):
    """ASVS V5.2.3: Unicode line separators (which str.splitlines() and some mail code
    treat as line ends) are refused or stay inside the body; either way the mail has its
    own headers and one recipient."""
    email = new_email("sep")
    response = register(api, email, name=f"Eve{separator}Bcc: {EVIL}")
    if response.status_code == 400:
        assert response.json()["errors"][0]["field"] == "name"
        return
    assert response.status_code == 201, response.text
    assert_untouched(box.wait_for(email)[0], email)


def test_no_mail_reaches_the_injected_recipient(api, box):
    """The end-to-end check at the SMTP sink (ASVS V5.2.3): after the attempts above and a
    legitimate sign-up sent after them, the attacker's address has received nothing."""
    for brk in BREAKS:
        register(api, new_email("eve"), name=f"Eve{brk}Bcc: {EVIL}")
        api.post("/v1/auth/password/forgot", json={"email": f"{new_email('e')}{brk}Cc: {EVIL}"})
    sentinel = new_email("sentinel")
    assert register(api, sentinel, name="Sentinel").status_code == 201
    assert_untouched(box.wait_for(sentinel)[0], sentinel)
    assert box.to(EVIL) == []
    assert all(EVIL not in m.recipients for m in box.received)
