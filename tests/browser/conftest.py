"""Fixtures for the hosted pages: the app in-process (headers, markup, status codes; always
run) and the real web + worker processes driven by headless Chromium through Selenium
(skipped with the reason when the browser, its driver or selenium is missing)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.settings import Settings
from scripts.embedded_redis import free_port
from tests.environment import DATABASE_URL, REDIS_URL
from tests.processes import wait_for_system
from tests.support import MutableClock, serving

BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


class FormFields(HTMLParser):
    """name -> value of every <input> of an HTML page, and each form's action."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.attrs: dict[str, dict[str, str | None]] = {}
        self.actions: list[str | None] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.values[str(found["name"])] = found.get("value") or ""
            self.attrs[str(found["name"])] = found
        if tag == "form":
            self.actions.append(found.get("action"))


@pytest.fixture
def page_settings(settings: Settings) -> Settings:
    """Pages on; APP_URL is the test client's origin, so the CSRF cookie is not Secure."""
    return settings.replace(hosted_pages="on", app_url="http://testserver")


@pytest.fixture
async def pages(page_settings: Settings, clock: MutableClock
                ) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its pages and a real arq worker, in this event loop."""
    async with serving(page_settings, clock) as client:
        yield client




@dataclass
class LiveSystem:
    url: str  # the web process, which is also APP_URL
    log: Path  # everything both processes wrote to stdout and stderr

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def live(smtp, clean) -> Iterator[LiveSystem]:
    """The Procfile's web (access log off, as there) and worker as processes, pages on,
    APP_URL = the web process, both processes' output captured for the log checks."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": DATABASE_URL,
           "REDIS_URL": REDIS_URL, "SMTP_PORT": str(smtp[1]), "BCRYPT_ROUNDS": "4",
           "HOSTED_PAGES": "on", "APP_URL": url}
    log = Path(tempfile.mkstemp(prefix="latchkey-pages-", suffix=".log")[1])
    with log.open("wb") as out:
        procs = [
            subprocess.Popen([str(BIN / "uvicorn"), "api.app:create_app", "--factory",
                              "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
                             env=env, stdout=out, stderr=subprocess.STDOUT),
            subprocess.Popen([sys.executable, "-m", "worker"],
                             env=env, stdout=out, stderr=subprocess.STDOUT),
        ]
    try:
        wait_for_system(url)
        yield LiveSystem(url, log)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
        log.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian chromium through its chromedriver (Selenium); skips with the reason
    when any of the three is missing."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (shutil.which(path) or Path(path).is_file()):
            pytest.skip(f"browser tests need {path} (apt-get install {package})")
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="browser tests need selenium (pip install selenium)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1000,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
