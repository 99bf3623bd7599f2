"""SMS channel: ``<kind>.sms.txt`` sent with the twilio SDK's Messages API.

The SDK's own aiohttp client makes the request (To, From, Body as a form, HTTP basic auth
with the account SID and auth token), so what reaches ``TWILIO_API_BASE_URL`` (the local stub
in tests and development) is exactly what Twilio gets. One client and one aiohttp session per
worker process. The body holds a one-time code: it is never logged, and no error text built
here quotes it.
"""

from __future__ import annotations

import logging

from aiohttp import ClientError, ClientSession, ClientTimeout
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from domain.errors import PermanentDeliveryError, TransientDeliveryError
from domain.messages.delivery import OutgoingMessage
from domain.settings import Settings
from worker.templates import render_sms

TWILIO_API = "https://api.twilio.com"  # the prefix of every URL the SDK builds for Messages
TIMEOUT = 10.0  # seconds for one request, connect to last byte; Twilio answers in < 1 s
# A 5xx may come after Twilio accepted the SMS: try at most this often (first try + 2 retries).
MAX_ATTEMPTS_AFTER_5XX = 3
# Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors): invalid
# To (21211), no permission for the region (21408), unsubscribed (21610), unreachable carrier
# or To (21612), not a mobile number (21614), blocked by fraud guard (60410, 60605).
PERMANENT_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 60410, 60605})
NOT_CONFIGURED = ("SMS is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, "
                  "TWILIO_FROM_NUMBER")

# The SDK logs each request's URL and headers at INFO (never the body); keep that off the
# worker's log, warnings and errors still show.
_sdk_log = logging.getLogger("latchkey.worker.twilio_http")
_sdk_log.setLevel(logging.WARNING)


class BaseUrlHttpClient(AsyncTwilioHttpClient):
    """The SDK's aiohttp client, sending to ``base_url`` instead of ``https://api.twilio.com``
    (paths, form and auth untouched) with a ``timeout`` (seconds) on every request. Create it
    inside the running event loop (it opens an aiohttp session)."""

    def __init__(self, base_url: str, timeout: float = TIMEOUT) -> None:
        super().__init__(pool_connections=False, timeout=timeout, logger=_sdk_log)
        self.base_url = base_url.rstrip("/")
        self.session = ClientSession(timeout=ClientTimeout(total=timeout))

    async def request(self, method: str, url: str, params: dict[str, object] | None = None,
                      data: dict[str, object] | None = None,
                      headers: dict[str, str] | None = None,
                      auth: tuple[str, str] | None = None,
                      timeout: float | None = None,  # noqa: ASYNC109 (the SDK's signature)
                      allow_redirects: bool = False) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        # aiohttp reads timeout=None as "no timeout at all": always pass ours.
        return await super().request(method, url, params=params, data=data, headers=headers,
                                     auth=auth, timeout=timeout or self.timeout,
                                     allow_redirects=allow_redirects)


def classify(exc: TwilioRestException, attempt: int) -> Exception:
    """Map a Twilio API error to a delivery error. 429 → transient (retried with backoff);
    5xx → transient until ``attempt`` reaches MAX_ATTEMPTS_AFTER_5XX, then permanent (the SMS
    may have gone out: do not send it again and again); the codes in PERMANENT_CODES and any
    other 4xx → permanent. The text names the code: "Twilio 21211: ...". """
    code = f"Twilio {exc.code}" if exc.code else f"Twilio HTTP {exc.status}"
    reason = f"{code}: {exc.msg}"[:300] if exc.msg else code
    if exc.code in PERMANENT_CODES:  # whatever the status: Twilio says no retry can help
        return PermanentDeliveryError(reason)
    if exc.status == 429:
        return TransientDeliveryError(reason)
    if exc.status >= 500:
        if attempt >= MAX_ATTEMPTS_AFTER_5XX:
            return PermanentDeliveryError(f"{reason} (gave up after {attempt} attempts; "
                                          "the SMS may have been sent)")
        return TransientDeliveryError(reason)
    return PermanentDeliveryError(reason)


class SmsChannel:
    """Sends ``<kind>.sms.txt`` through Twilio's Messages API; returns the message SID.
    raises TransientDeliveryError (429, 5xx before the cap, connection trouble, timeout) or
    PermanentDeliveryError (not configured, other 4xx and Twilio error codes, 5xx at the cap).
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._http: BaseUrlHttpClient | None = None
        self._client: Client | None = None

    def _twilio(self) -> Client:
        if self._client is None:
            s = self._settings
            self._http = BaseUrlHttpClient(s.twilio_api_base_url)
            # environment: our settings only (the SDK would read TWILIO_EDGE/REGION from
            # os.environ and move the host away from TWILIO_API_BASE_URL).
            self._client = Client(s.twilio_account_sid, s.twilio_auth_token,
                                  http_client=self._http,
                                  environment={"TWILIO_ACCOUNT_SID": s.twilio_account_sid})
        return self._client

    async def deliver(self, message: OutgoingMessage) -> str | None:
        """Render and send ``message`` to ``message.recipient`` (E.164)."""
        s = self._settings
        if not s.twilio_configured:
            hint = " (or run scripts/dev, which prints SMS)" if s.is_development else ""
            raise PermanentDeliveryError(NOT_CONFIGURED + hint)
        body = render_sms(message)
        try:
            sent = await self._twilio().messages.create_async(
                to=message.recipient, from_=s.twilio_from_number, body=body)
        except TwilioRestException as exc:
            raise classify(exc, message.attempt) from None
        except (ClientError, OSError, TimeoutError) as exc:
            raise TransientDeliveryError(f"Twilio unreachable: {type(exc).__name__}") from None
        return sent.sid

    async def close(self) -> None:
        """Close the aiohttp session (worker shutdown)."""
        if self._http is not None:
            await self._http.close()
        self._http = self._client = None
