import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("billing-ledger")


class CLI:
    """The real console script against a real SQLite file."""

    def __init__(self, db: Path, cwd: Path) -> None:
        self.db, self.cwd = db, cwd

    def run(self, *args: str, input: str | None = None, db: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.pop("BILLING_LEDGER_DB", None)
        prefix = ["--db", f"sqlite:///{self.db}"] if db else []
        return subprocess.run([str(EXE), *prefix, *args], input=input, capture_output=True, text=True,
                              cwd=self.cwd, env=env, timeout=120)

    def ok(self, *args: str, input: str | None = None) -> str:
        done = self.run(*args, input=input)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    def json(self, *args: str) -> dict:
        return json.loads(self.ok(*args, "--json"))

    def rows(self) -> list[tuple]:
        """Every stored event, straight from the file (to prove nothing was written)."""
        if not self.db.exists():
            return []
        with sqlite3.connect(self.db) as con:
            return con.execute("SELECT originator_id, originator_version, topic, state FROM stored_events "
                               "ORDER BY rowid").fetchall()


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    return CLI(tmp_path / "ledger.db", tmp_path)


@pytest.fixture
def seeded(cli: CLI) -> CLI:
    cli.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    return cli
