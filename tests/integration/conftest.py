import contextlib
import io
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


_COMMANDS: dict[int, tuple[object, object]] = {}


@contextlib.contextmanager
def _click_command_built_once():
    """typer turns the app into a click command again on every call, from the commands' signatures (about 0.1 s,
    more than most commands take on a small ledger). The app is the same on every call, so the command built from
    it is too: while `InProcessCLI` runs, build it once per app and reuse it (click makes a new context per call)."""
    import typer.main

    build = typer.main.get_command

    def once(app):
        if id(app) not in _COMMANDS:
            _COMMANDS[id(app)] = (app, build(app))  # the app is kept: its id stays its own
        return _COMMANDS[id(app)][1]

    typer.main.get_command = once
    try:
        yield
    finally:
        typer.main.get_command = build


class InProcessCLI(CLI):
    """The same entry point (``adapters.cli.main``), called in this process: no interpreter start-up, for
    tests that run it hundreds of times. The console script itself stays covered by `CLI`."""

    def run(self, *args: str, input: str | bytes | None = None, db: bool = True) -> subprocess.CompletedProcess:
        from adapters import cli

        argv = ["billing-ledger", *(["--db", self.url] if db else []), *args]
        raw = input.encode() if isinstance(input, str) else (input or b"")
        out, err = io.StringIO(), io.StringIO()
        saved = sys.argv, sys.stdin, os.getcwd()
        sys.argv, sys.stdin = argv, io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
        os.chdir(self.cwd)
        code = 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _click_command_built_once():
                cli.main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            sys.argv, sys.stdin = saved[0], saved[1]
            os.chdir(saved[2])
            if cli.State.app is not None:
                cli.State.app.close()
        return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@pytest.fixture(params=STORES)
def cli(request, tmp_path: Path) -> CLI:
    """The CLI's entry point on a fresh store, in this process (`InProcessCLI`): the same argv, output and exit
    status as the console script, without an interpreter start-up per call. What needs a real process (the
    console script's own exit status, standard input and output through pipes, bytes in argv, kill -9, races
    between processes, the README) uses `real_cli` or `CLI` itself."""
    return InProcessCLI(store_url(request.param, tmp_path), tmp_path)


@pytest.fixture(params=STORES)
def real_cli(request, tmp_path: Path) -> CLI:
    """The real console script, as a subprocess, on a fresh store."""
    return CLI(store_url(request.param, tmp_path), tmp_path)


@pytest.fixture
def seeded(cli: CLI) -> CLI:
    cli.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    return cli
