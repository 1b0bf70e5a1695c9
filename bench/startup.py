"""CLI start-up (issue 17): one ``quote`` on a small ledger, each call a fresh process, beside ``python -c pass``
timed the same way in the same run, the two interleaved (a call of each per round) so that both see the same
load. After warm-ups (bytecode and `adapters.codecache` written, as after any first call: the timed
processes run without ``PYTHONDONTWRITEBYTECODE``), the median wall time of each and its CPU time (user +
system of the child, from ``getrusage``), which a loaded machine inflates less."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-examples.jsonl"
QUOTE = ("quote", "kec-1", "--at", "2027-02-22T10:00:00+08:00", "--known-at", "2027-03-01T00:00:00Z")


def _cli() -> list[str]:
    """The console script beside this interpreter (as installed), else the module."""
    script = Path(sys.executable).with_name("billing-ledger")
    return [str(script)] if script.exists() else [sys.executable, "-m", "adapters.entry"]


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one fresh process running ``argv``; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cli_startup(workdir: str, runs: int = 20, warmups: int = 3) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("BILLING_LEDGER_DB", None)
    db = ["--db", f"sqlite:///{os.path.join(workdir, 'startup.db')}"]
    subprocess.run([*_cli(), *db, "record", str(SEED)], env=env, cwd=ROOT, capture_output=True, check=True)
    commands = {"quote": [*_cli(), *db, *QUOTE], "python": [sys.executable, "-c", "pass"]}
    for _ in range(warmups):
        for argv in commands.values():
            _timed(argv, env)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(_timed(argv, env))

    def summary(name: str) -> dict[str, Any]:
        walls, cpus = zip(*times[name], strict=True)
        return {"wall_ms": statistics.median(walls) * 1000, "cpu_ms": statistics.median(cpus) * 1000,
                "min_wall_ms": min(walls) * 1000}

    return {"command": " ".join(["billing-ledger", *QUOTE]), "ledger": SEED.name, "runs": runs, "warmups": warmups,
            "quote": summary("quote"), "python_pass": summary("python")}


def rows(s: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    q, p = s["quote"], s["python_pass"]
    return [(f"CLI start-up: a quote, fresh process ({s['ledger']}, median of {s['runs']})",
             f"{q['wall_ms']:.0f} ms wall, {q['cpu_ms']:.0f} ms CPU",
             f"python -c pass {p['wall_ms']:.0f} ms wall, {p['cpu_ms']:.0f} ms CPU",
             f"{q['wall_ms'] / p['wall_ms']:.2f}")]
