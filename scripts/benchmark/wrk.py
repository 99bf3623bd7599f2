"""Run wrk (Debian's package; C, epoll) with one of the Lua scripts beside this file.

wrk drives HTTP from a second process on loopback using a fraction of the CPU a Python client
would need, which matters on a 2-core machine where the client competes with the server.
"""

from __future__ import annotations

import json
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    socket_errors: int
    lost: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _command(url: str, script: str, args: list[str], connections: int, seconds: float,
             threads: int) -> list[str]:
    return ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
            "--timeout", "10s", "-s", str(HERE / script), url, "--", *args]


def _parse(output: str) -> WrkResult:
    line = next((ln for ln in output.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return WrkResult(requests=raw["requests"], seconds=raw["duration_us"] / 1e6,
                     p50_ms=raw["p50_us"] / 1e3, p99_ms=raw["p99_us"] / 1e3,
                     max_ms=raw["max_us"] / 1e3, non2xx=raw["non2xx"],
                     socket_errors=raw["socket_errors"], lost=raw["lost"])


def run(url: str, script: str, args: list[str], *, connections: int, seconds: float,
        threads: int = 2) -> WrkResult:
    """Run wrk to completion; raises RuntimeError if it fails."""
    done = subprocess.run(_command(url, script, args, connections, seconds, threads),
                          capture_output=True, text=True, check=False, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr or done.stdout}")
    return _parse(done.stdout)


class Background:
    """wrk running until ``stop()`` (SIGINT makes wrk report what it measured so far)."""

    def __init__(self, url: str, script: str, args: list[str], *, connections: int,
                 threads: int = 1) -> None:
        self._proc = subprocess.Popen(_command(url, script, args, connections, 3600, threads),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self) -> WrkResult:
        self._proc.send_signal(signal.SIGINT)
        output, _ = self._proc.communicate(timeout=30)
        return _parse(output)

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        """Never leave wrk behind when a phase fails (it would load the next run for an hour)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
