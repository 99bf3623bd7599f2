"""``python -m worker``: the Procfile's worker process — arq's worker for
``worker.settings.WorkerSettings``, kept running through Redis outages
(:class:`worker.resilient.ResilientWorker`).

Options are arq's: ``--burst``, ``-v``/``--verbose`` run the resilient worker; anything else
(``--check``, ``--watch DIR``, ``--custom-log-dict``, ``-V``) is handed to arq's own CLI
unchanged. On SIGTERM the process exits within ``SHUTDOWN_GRACE`` seconds (10).
"""

from __future__ import annotations

import sys

from arq.cli import cli as arq_cli
from arq.worker import get_kwargs

from scripts.logs import configure_from_env

SETTINGS_PATH = "worker.settings.WorkerSettings"
OWN_OPTIONS = {"--burst", "--no-burst", "-v", "--verbose"}


def main(argv: list[str]) -> None:
    if any(arg not in OWN_OPTIONS for arg in argv):
        arq_cli.main(args=[*argv, SETTINGS_PATH], prog_name="python -m worker")
        return
    # our format for every line (scripts/logs.py), set before the settings are read
    configure_from_env(verbose="-v" in argv or "--verbose" in argv)
    from worker.resilient import ResilientWorker
    from worker.settings import SETTINGS, WorkerSettings

    burst = {"burst": True} if "--burst" in argv else {}
    ResilientWorker(**{**get_kwargs(WorkerSettings), **burst},
                    shutdown_grace=SETTINGS.shutdown_grace).run()


if __name__ == "__main__":
    main(sys.argv[1:])
