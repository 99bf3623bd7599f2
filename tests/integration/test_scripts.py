"""scripts/dev, the private Redis, the dev mailbox and the test environment as a developer
meets them: real processes, real ports, a private TMPDIR to see what is left behind."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from domain.settings import Settings
from scripts.embedded_redis import answers, free_port
from tests.support import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
# These run no test database; the SQLite pass covers them once.
once = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                          reason="runs in the SQLite pass only (uses no test database)")
# What the test process set for itself, which a developer's shell would not have.
OURS = ("ENVIRONMENT", "DATABASE_URL", "REDIS_URL", "PORT", "APP_URL", "SMTP_HOST", "SMTP_PORT")


def developer_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in OURS and not k.startswith(("TEST_", "RATE_LIMIT_"))}
    return {**env, "TMPDIR": str(tmp), **extra}


def leftovers(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("latchkey-*"))


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    """Signal the process group as a terminal would; return everything it printed."""
    os.killpg(proc.pid, sig)
    output, _ = proc.communicate(timeout=30)
    return output


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@once
def test_dev_says_the_port_is_taken_before_starting_anything(listener, tmp_path):
    env = developer_env(tmp_path, PORT=str(listener), VAR_DIR=str(tmp_path / "var"))
    result = subprocess.run([str(ROOT / "scripts/dev")], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert f"port {listener} is taken" in result.stderr
    assert f"PORT={listener + 1} scripts/dev" in result.stderr
    assert "latchkey (development)" not in result.stdout  # no banner
    assert not (tmp_path / "var").exists()  # no migration ran


@once
def test_dev_has_loose_limits_prints_links_last_and_leaves_no_folder(tmp_path):
    port = free_port()
    env = developer_env(tmp_path, PORT=str(port), VAR_DIR=str(tmp_path / "var"),
                        BCRYPT_ROUNDS="4")
    proc = subprocess.Popen([str(ROOT / "scripts/dev")], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        deadline = time.monotonic() + 90
        while True:
            try:
                if api.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "scripts/dev not up"
            time.sleep(0.2)
        assert leftovers(tmp_path)  # the private Redis keeps its folder while it runs
        for n in range(6):  # production allows 5 registrations per hour and IP
            response = api.post("/v1/auth/register",
                                json={"email": f"dev{n}@example.com", "password": PASSWORD})
            assert response.status_code == 201, response.text
        mail_dir = tmp_path / "var" / "mail"
        while len(list(mail_dir.glob("*.eml"))) < 6:
            assert time.monotonic() < deadline, "mail not delivered"
            time.sleep(0.1)
        time.sleep(0.3)  # let the mailbox's lines reach honcho
    finally:
        output = stop(proc, signal.SIGINT)  # Ctrl-C
    lines = [re.sub(r"^\S+ mailbox\.1\s+\| ?", "", line) for line in output.splitlines()
             if " mailbox.1 " in line]
    header = lines.index(next(line for line in lines if "dev5@example.com" in line))
    assert lines[header + 1] == ""
    assert re.fullmatch(r"http://localhost:\d+/verify-email\?token=\S+", lines[header + 2])
    assert not re.search(r"[→←] cron:sweep", output)  # arq's lines about the 10 s sweep
    assert leftovers(tmp_path) == []


def test_every_rate_limit_has_a_development_value():
    script = (ROOT / "scripts/dev").read_text()
    dev_values = dict(re.findall(r"^dev_limit (\w+) (\S+)$", script, re.M))
    limits = {f.name.removeprefix("rate_limit_").upper(): f.default
              for f in dataclasses.fields(Settings) if f.name.startswith("rate_limit_")}
    assert dev_values.keys() == limits.keys()
    loose = Settings.from_env({"ENVIRONMENT": "development",
                               **{f"RATE_LIMIT_{k}": v for k, v in dev_values.items()}})
    assert loose.rate_limit_register == "100/hour"


def test_private_redis_in_the_foreground_removes_its_folder_on_sigterm(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "scripts.embedded_redis", "--port",
                             str(port)], cwd=ROOT, env=developer_env(tmp_path), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 20
    while not answers("127.0.0.1", port):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    assert leftovers(tmp_path) == [next(tmp_path.glob("latchkey-redis-*")).name]
    proc.send_signal(signal.SIGTERM)  # what honcho sends
    assert proc.wait(timeout=20) == 0
    assert not answers("127.0.0.1", port)
    assert leftovers(tmp_path) == []


def run_test_environment(tmp: Path, code: str = "") -> subprocess.Popen[str]:
    script = f"import tests.environment as e; print(e.REDIS_URL, flush=True); {code}"
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, text=True,
                            env=developer_env(tmp), stdout=subprocess.PIPE)


def test_a_test_run_leaves_nothing_and_sweeps_folders_of_dead_runs(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f"latchkey-test-{dead.pid}-abc").mkdir()
    (tmp_path / f"latchkey-redis-{dead.pid}-def").mkdir()
    (tmp_path / f"latchkey-test-{os.getpid()}-ghi").mkdir()  # a live run's: kept
    proc = run_test_environment(tmp_path)
    assert proc.wait(timeout=60) == 0
    assert leftovers(tmp_path) == [f"latchkey-test-{os.getpid()}-ghi"]


def test_a_test_run_ended_by_sigterm_cleans_up(tmp_path):
    proc = run_test_environment(tmp_path, "import time; time.sleep(60)")
    redis_port = int(proc.stdout.readline().rsplit(":", 1)[1].split("/")[0])
    assert answers("127.0.0.1", redis_port) and leftovers(tmp_path)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert leftovers(tmp_path) == []
    assert not answers("127.0.0.1", redis_port)


def test_the_dev_mailbox_prints_each_link_alone_and_last(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "scripts.mailbox", "--port", str(port),
                             "--dir", str(tmp_path / "mail")], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert "SMTP sink" in proc.stdout.readline()
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.test", "b@x.test", "Hi"
        message.set_content("Open https://app.example.test/verify-email?token=abc to verify.")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(3)]
    finally:
        stop(proc)
    assert lines[0].startswith("[mailbox] to b@x.test: Hi")
    assert lines[1:] == ["", "https://app.example.test/verify-email?token=abc"]
