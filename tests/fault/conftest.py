"""Fixtures of the fault-injection suite: per test a private Redis, an SMTP sink and a Twilio
stub the test can break, and the Procfile's processes on this run's database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from scripts.embedded_redis import EmbeddedRedis
from tests.fault.system import FaultySink, ScriptedTwilio, System


@pytest.fixture
def private_redis() -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis().start()
    yield server
    server.stop()


@pytest.fixture
def sink() -> Iterator[FaultySink]:
    box = FaultySink().up()
    yield box
    box.down()


@pytest.fixture
def sms() -> Iterator[ScriptedTwilio]:
    stub = ScriptedTwilio().start()
    yield stub
    stub.stop()


SystemFactory = Callable[..., System]


@pytest.fixture
def system(clean: None, private_redis: EmbeddedRedis, sink: FaultySink,
           sms: ScriptedTwilio) -> Iterator[SystemFactory]:
    """``system(workers=1, **env)``: web + workers started with ``env`` settings; every
    process still running is stopped after the test."""
    made: list[System] = []

    def make(workers: int = 1, **env: str) -> System:
        system = System(redis_url=private_redis.url, smtp_port=sink.port, twilio=sms, **env)
        made.append(system)
        system.start_web()
        for _ in range(workers):
            system.start_worker()
        return system

    yield make
    sink.gate.set()  # release a held reply before the processes are stopped
    for system in made:
        system.close()
