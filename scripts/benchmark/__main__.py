"""scripts/bench: start latchkey as the Procfile does, load it with wrk, print one table.

Options: --quick (short run, <= 60 s), --dry-run (tiny load: only checks the harness works),
--bcrypt-rounds N (default: BCRYPT_ROUNDS or 12). Figures also go to var/bench/<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scripts.benchmark.system import ROOT, System, choose_database, drop_database


@dataclass(frozen=True)
class Plan:
    seconds: float  # per wrk figure
    sessions: int
    registrations: int
    registration_rate: float
    emails: int
    expired_rows: int


PLANS = {
    "full": Plan(20, 256, 500, 5, 2000, 1_000_000),
    "quick": Plan(4, 128, 40, 10, 300, 50_000),
    "dry-run": Plan(1, 128, 4, 20, 10, 1000),
}


def machine() -> dict[str, object]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), platform.processor())
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "kernel": platform.release()}


async def measure(system: System, plan: Plan, sink) -> dict[str, object]:
    from scripts.benchmark import overload, phases, reference, seed

    figures: dict[str, object] = {}
    ceiling = phases.bcrypt_ceiling(system.bcrypt_rounds, min(plan.seconds, 10))
    user_ids = await seed.seed_users(64, rounds=system.bcrypt_rounds,
                                     pepper=system.env["PASSWORD_PEPPER"])
    made = await seed.seed_sessions(user_ids, plan.sessions * 2)
    access = seed.access_tokens(made, system.env["JWT_SECRET"])
    tokens = [t for _, _, t in made]
    figures |= phases.refresh(system, tokens[: plan.sessions], plan.seconds)
    figures |= phases.profile(system, access, plan.seconds)
    figures |= phases.signins(system, len(user_ids), plan.seconds, ceiling)
    figures |= phases.profile_during_signin_storm(system, len(user_ids), access, plan.seconds)
    figures |= await overload.overload(system, len(user_ids), access, plan.seconds, ceiling)
    figures |= await phases.registration_latency(system, sink, plan.registrations,
                                                 plan.registration_rate)
    figures |= await phases.email_throughput(system, sink, user_ids, plan.emails)
    seeded = await seed.seed_expired(user_ids[0], plan.expired_rows)
    figures |= phases.cleanup(system, plan.expired_rows, seeded,
                              str(system.workdir / "access.txt"), min(plan.seconds, 10))
    figures |= {f"peak RSS MB, {k}": v for k, v in system.peak_rss_mb().items()}
    for label, one in (("5-statement transaction", False), ("the app's 1 statement", True)):
        name = f"reference: raw asyncpg rotations/s, {label}"
        if system.database_url.startswith("postgres"):
            fresh = [t for _, _, t in await seed.seed_sessions(user_ids, plan.sessions)]
            figures[name] = await reference.rotations_per_second(
                system.database_url, fresh, plan.seconds, one_statement=one)
        else:
            figures[name] = "n/a (SQLite run)"
    return figures


def report(context: dict[str, object], figures: dict[str, object]) -> str:
    lines = ["", "latchkey bench  " + "  ".join(f"{k}={v}" for k, v in context.items()), ""]
    width = max(len(k) for k in figures)
    for name, value in figures.items():
        shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
        lines.append(f"  {name:<{width}}  {shown:>14}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--bcrypt-rounds", type=int,
                        default=int(os.environ.get("BCRYPT_ROUNDS", "12")))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("scripts/bench needs wrk (Debian package 'wrk'); scripts/bench installs "
                         "it when run as root, or: sudo apt-get install wrk")
    plan = PLANS["dry-run" if args.dry_run else "quick" if args.quick else "full"]
    workdir = Path(tempfile.mkdtemp(prefix="latchkey-bench-"))
    database_url, admin_url = choose_database(workdir)
    from domain.settings import Settings
    from scripts.benchmark.phases import Sink
    from scripts.bootstrap import bind_database

    bind_database(Settings(database_url=database_url))  # the seeding writes through db/

    sink = Sink()
    controller = sink.start()
    system = System(database_url=database_url, smtp_port=controller.port,
                    bcrypt_rounds=args.bcrypt_rounds, workdir=workdir)
    started = time.monotonic()
    try:
        system.start()
        figures = asyncio.run(measure(system, plan, sink))
    finally:
        system.stop()
        controller.stop()
        drop_database(database_url, admin_url)
    context = {**machine(), "database": database_url.split("://")[0].replace("postgresql",
               "postgres") + (" (fresh db)" if admin_url else " file"),
               "redis": "system 127.0.0.1:6379" if ":6379/" in system.redis_url else "embedded",
               "bcrypt_rounds": args.bcrypt_rounds, "web_workers": system.web_workers,
               "plan": "dry-run" if args.dry_run else "quick" if args.quick else "full",
               "wall_seconds": round(time.monotonic() - started, 1)}
    print(report(context, figures))
    out = ROOT / "var" / "bench" / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"context": context, "figures": figures}, indent=2))
    print(f"\n  figures written to {out.relative_to(ROOT)}")
    print(f"BENCH_JSON {out}")


if __name__ == "__main__":
    main()
