"""``python -m scripts.create_admin`` as an operator runs it: a real process against the test
database and Redis, on a pseudo-terminal or without one; the reset email it queues is sent
by the test's worker, and the admin it makes can use the admin API."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from db.repositories import users
from db.tables import AuditEvent
from domain.names import AuditAction
from tests.environment import DATABASE_URL, REDIS_URL
from tests.support import PASSWORD, bearer, sign_in, token_of, verified_user, wait_mail

ROOT = Path(__file__).resolve().parents[2]
NEW = "a brand new passphrase for the admin"


def environment() -> dict[str, str]:
    return {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL, "BCRYPT_ROUNDS": "4"}


async def create_admin(*args: str) -> tuple[int, str, str]:
    """Run the command without a terminal; (exit status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scripts.create_admin", *args, cwd=ROOT, env=environment(),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, out.decode(), err.decode()


PROMPTS = (b"Password for root@example.com: ", b"Same password again: ")


def _read(fd: int, *, until: tuple[bytes, ...] = (), timeout: float = 30.0) -> bytes:
    """What the terminal shows until it ends with one of ``until`` (a prompt waiting for
    input: typing earlier would be flushed by getpass), or until the process closes it."""
    seen = b""
    while not (until and seen.endswith(until)):
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"nothing more within {timeout} s; got {seen!r}"
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the process has ended and closed the terminal
            chunk = b""
        if not chunk:
            break
        seen += chunk
    return seen


def on_terminal(*args: str, typed: list[str]) -> tuple[int, str]:
    """Run the command on a pseudo-terminal (its own session, so getpass talks to this pty),
    answering each password prompt with the next of ``typed``; (exit status, everything
    the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "scripts.create_admin", *args], cwd=ROOT,
                            env=environment(), stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    shown = b""
    try:
        for answer in typed:
            shown += _read(master, until=PROMPTS)
            os.write(master, answer.encode() + b"\n")
        shown += _read(master)
        return proc.wait(timeout=60), shown.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


async def actions(email: str) -> list[str]:
    user = await users.get_by_email(email)
    rows = await AuditEvent.select(AuditEvent.action).where(AuditEvent.user_id == user.id)
    return [r["action"] for r in rows]


async def test_send_reset_creates_an_admin_who_sets_a_password_by_email(client, mailbox,
                                                                        settings):
    status, out, err = await create_admin("Boss@Example.com", "--send-reset")
    assert status == 0, err
    assert "Boss@example.com" in out and "created" in out and "reset" in out
    admin = await users.get_by_email("boss@example.com")
    assert admin.roles == ["admin"] and admin.email_verified_at is not None
    assert (await sign_in(client, "boss@example.com", password="")).status_code in (400, 401)

    mail = (await wait_mail(mailbox, "Boss@example.com", subject="Reset your password"))[0]
    assert mail.links[0].startswith(f"{settings.app_url}/reset-password?token=")
    reset = await client.post("/v1/auth/password/reset",
                              json={"token": token_of(mail.links[0]), "newPassword": NEW})
    assert reset.status_code == 200, reset.text
    pair = await sign_in(client, "boss@example.com", password=NEW)
    assert pair.status_code == 200, pair.text
    listed = await client.get("/v1/users", headers=bearer(pair.json()["accessToken"]))
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert {AuditAction.REGISTERED, AuditAction.USER_ROLE_CHANGED,
            AuditAction.PASSWORD_RESET_REQUESTED} <= set(await actions("boss@example.com"))


async def test_on_a_terminal_it_prompts_twice_without_echo_and_checks_the_policy(client):
    status, shown = await asyncio.to_thread(
        on_terminal, "root@example.com",
        typed=["password1234", "password1234",  # refused by the policy
               NEW, NEW + "!",  # the two differ
               NEW, NEW])
    assert status == 0, shown
    assert shown.count("Password for root@example.com: ") == 3
    assert "too weak" in shown and "differ" in shown
    assert "created" in shown
    assert NEW not in shown and "password1234" not in shown  # nothing typed was echoed
    pair = await sign_in(client, "root@example.com", password=NEW)
    assert pair.status_code == 200, pair.text
    me = await client.get("/v1/users/me", headers=bearer(pair.json()["accessToken"]))
    assert me.json()["roles"] == ["admin"] and me.json()["emailVerified"] is True
    assert (await client.get("/v1/users", headers=bearer(
        pair.json()["accessToken"]))).status_code == 200


async def test_without_a_terminal_or_send_reset_it_exits_2_and_creates_nothing(client):
    status, _, err = await create_admin("nobody@example.com")
    assert status == 2
    assert "no terminal" in err and "--send-reset" in err
    assert await users.get_by_email("nobody@example.com") is None
    status, _, err = await create_admin("not-an-address", "--send-reset")
    assert status == 1 and "latchkey create_admin:" in err


async def test_an_existing_account_is_promoted_and_keeps_its_password(client, mailbox):
    await verified_user(client, mailbox, "ann@example.com")
    user = await users.get_by_email("ann@example.com")
    status, out, err = await create_admin("ann@example.com")  # no terminal needed
    assert status == 0, err
    assert "promoted to admin" in out
    pair = await sign_in(client, "ann@example.com", password=PASSWORD)
    assert pair.status_code == 200
    assert (await client.get("/v1/users", headers=bearer(
        pair.json()["accessToken"]))).status_code == 200
    [event] = await AuditEvent.select().where(
        (AuditEvent.user_id == user.id)
        & (AuditEvent.action == AuditAction.USER_ROLE_CHANGED.value))
    metadata = event["metadata"]
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    assert metadata == {"role": "admin", "previous": ["user"], "via": "create_admin"}
