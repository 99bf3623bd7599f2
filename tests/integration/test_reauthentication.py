"""Re-authentication cannot be brute-forced (OWASP ASVS 2.2.1, 3.7.1): wrong current
passwords count toward the account lockout and a per-session limit."""

from __future__ import annotations

from db.repositories import audit
from db.repositories import users as users_repo
from tests.support import PASSWORD, bearer, serving, sign_in, verified_user

NEW = "a brand new passphrase for ann"


async def change(client, access: str, current: str):
    return await client.post("/v1/auth/password/change", headers=bearer(access),
                             json={"currentPassword": current, "newPassword": NEW})


async def test_wrong_guesses_lock_the_account_like_sign_in(settings, clock, mailbox):
    strict = settings.replace(lockout_threshold=3, rate_limit_reauth_per_session="100/hour")
    async with serving(strict, clock) as client:
        await verified_user(client, mailbox, "guess@example.com")
        access = (await sign_in(client, "guess@example.com")).json()["accessToken"]
        codes = [(await change(client, access, f"wrong guess {i}")).status_code
                 for i in range(3)]
        assert codes == [400, 400, 400]
        locked = await change(client, access, PASSWORD)  # the right one, too late
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
        assert locked.json()["setting"] == "LOCKOUT_THRESHOLD"
        assert (await client.get("/v1/auth/profile", headers=bearer(access))).status_code == 200
        assert (await sign_in(client, "guess@example.com")).status_code == 401  # one lockout
        user = await users_repo.get_by_email("guess@example.com")
        actions = await audit.list_actions(user.id)
        assert actions.count("auth.reauth.failed") == 3 and "auth.lockout.started" in actions
        assert "auth.password.changed" not in actions


async def test_the_per_session_limit_answers_429_and_spares_the_session(settings, clock,
                                                                        mailbox):
    limited = settings.replace(rate_limit_reauth_per_session="2/hour")
    async with serving(limited, clock) as client:
        await verified_user(client, mailbox, "limit@example.com")
        access = (await sign_in(client, "limit@example.com")).json()["accessToken"]
        assert [(await change(client, access, "nope nope nope")).status_code
                for _ in range(2)] == [400, 400]
        refused = await change(client, access, PASSWORD)
        assert refused.status_code == 429
        assert refused.json()["setting"] == "RATE_LIMIT_REAUTH_PER_SESSION"
        assert (await client.get("/v1/auth/profile", headers=bearer(access))).status_code == 200
        other = (await sign_in(client, "limit@example.com")).json()["accessToken"]
        assert (await change(client, other, PASSWORD)).status_code == 200  # another session


async def test_the_right_password_resets_the_failure_count(settings, clock, mailbox):
    strict = settings.replace(lockout_threshold=3, rate_limit_reauth_per_session="100/hour")
    async with serving(strict, clock) as client:
        await verified_user(client, mailbox, "reset@example.com")
        access = (await sign_in(client, "reset@example.com")).json()["accessToken"]
        for _ in range(2):
            assert (await change(client, access, "wrong wrong wrong")).status_code == 400
        assert (await change(client, access, PASSWORD)).status_code == 200


async def test_a_refusal_under_overload_counts_nothing(settings, clock, mailbox):
    """503 before any counting: the per-session budget and the lockout stay untouched."""
    import contextlib

    import httpx

    from api.app import create_app
    from tests.support import lifespan, running_worker

    busy = settings.replace(hash_concurrency=1, hash_queue_max_wait=0.05,
                            rate_limit_reauth_per_session="2/hour", lockout_threshold=2)
    app = create_app(busy, clock)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(lifespan(app))
        await stack.enter_async_context(running_worker(busy, clock))
        client = await stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"))
        await verified_user(client, mailbox, "busy@example.com")
        access = (await sign_in(client, "busy@example.com")).json()["accessToken"]
        async with app.state.services.hasher.turn():  # the only hashing slot is taken
            for current in (PASSWORD, "wrong wrong wrong", "wrong again, wrong"):
                assert (await change(client, access, current)).status_code == 503
        assert (await change(client, access, PASSWORD)).status_code == 200
