import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stores import STORES, store_url, stored_rows

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here runs through a real store (an SQLite file or a PostgreSQL database): marked ``store``
    (``pytest -m "not store"`` runs only the in-memory tests)."""
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.store)
EXE = Path(sys.executable).with_name("billing-ledger")


class CLI:
    """The real console script against a real store (an SQLite file, or a PostgreSQL database)."""

    def __init__(self, url: str, cwd: Path) -> None:
        self.url, self.cwd = url, cwd

    def run(self, *args: str, input: str | None = None, db: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.pop("BILLING_LEDGER_DB", None)
        prefix = ["--db", self.url] if db else []
        return subprocess.run([str(EXE), *prefix, *args], input=input, capture_output=True, text=True,
                              cwd=self.cwd, env=env, timeout=120)

    def ok(self, *args: str, input: str | None = None) -> str:
        done = self.run(*args, input=input)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    def json(self, *args: str) -> dict:
        return json.loads(self.ok(*args, "--json"))

    def rows(self) -> list[tuple]:
        return stored_rows(self.url)


@pytest.fixture(params=STORES)
def cli(request, tmp_path: Path) -> CLI:
    return CLI(store_url(request.param, tmp_path), tmp_path)


@pytest.fixture
def seeded(cli: CLI) -> CLI:
    cli.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    return cli
