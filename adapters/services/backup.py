"""Use cases: ``backup --out FILE`` and ``restore FILE`` (issue 30, item 10; docs/cli.md, "Backups").

- **SQLite**: `backup` copies the ledger's database with SQLite's online backup API (``sqlite3.Connection.backup``,
  every page in one step: one read transaction, so the copy is the database as of one moment, while writers
  go on) into a temporary file beside ``FILE``, flushed and renamed (mode 0600: the copy holds the keys'
  hashes); then it re-walks the copy's hash chain, whose head it answers. `restore` copies a backup the same
  way into the ``--db`` file, which must not exist yet, and re-walks the restored chain.
- **PostgreSQL**: `backup` runs ``pg_dump --format=custom`` (a consistent snapshot of the database, or of the
  ``?schema=``'s schema), with the connection from ``--db`` (the password in the environment, never on a command
  line); `restore` runs ``pg_restore`` into the ``--db`` database, which must not hold a ledger yet, and
  re-walks the restored chain. A dump's own chain is checked by restoring it (into a scratch database).

Each restore is checked with `verify` and any heads published before the backup (``--expect-head``): the
restored ledger must hold them, intact (`adapters.services.anchors`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.bootstrap import App, NoLedger, Settings, bootstrap
from adapters.formats import output
from adapters.formats.errors import BadInput
from adapters.services.anchors import Audit
from adapters.store.ledger import settings_from_url, shown
from domain.errors import LedgerError


@dataclass(frozen=True)
class Copy:
    """A backup written, or a ledger restored, and its chain re-walked (None: a dump, not checked here)."""

    file: str
    store: str  # sqlite | postgresql
    audit: Audit | None

    @property
    def ok(self) -> bool:
        return self.audit is None or self.audit.ok

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "store": self.store, "ok": self.ok,
                "verify": self.audit.as_json() if self.audit else None}


def backup(app: App, out: str, *, force: bool = False) -> Copy:
    """A copy of ``app``'s ledger as of one moment in ``out`` (see the module)."""
    url = app.settings.url
    app.ledger  # noqa: B018 - no ledger there: NoLedger (status 2), nothing written
    output.check_target(out, "--out", url, force)
    env = settings_from_url(url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        with output.replacing(out) as tmp:
            os.chmod(tmp, 0o600)
            _run("pg_dump", ["--format=custom", f"--file={tmp}",
                             *([f"--schema={env['POSTGRES_SCHEMA']}"] if "POSTGRES_SCHEMA" in env else [])], env)
        return Copy(out, "postgresql", None)
    source = _sqlite_file(env, "--db")
    with output.replacing(out) as tmp:
        os.chmod(tmp, 0o600)
        _copy_sqlite(source, tmp)
    return Copy(out, "sqlite", _audit(f"sqlite:///{Path(out).resolve()}", ()))


def restore(url: str, file: str, expect_heads: Sequence[str] = ()) -> Copy:
    """The backup ``file`` restored into the store at ``url`` (which must hold no ledger), then verified (with
    ``expect_heads``, heads published before the backup)."""
    from adapters.services.anchors import parse_head

    heads = [parse_head("expect_head", h) for h in expect_heads]
    if not Path(file).is_file():
        raise BadInput(None, f"FILE: {file!r} is not a file")
    env = settings_from_url(url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        if _holds_ledger(url):
            raise BadInput(None, f"--db: {shown(url)} already holds a ledger: restore into an empty database")
        _run("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={env['POSTGRES_DBNAME']}",
                            str(Path(file).resolve())], env)
        return Copy(file, "postgresql", _audit(url, heads))
    target = _sqlite_file(env, "--db")
    if target.exists():
        raise BadInput(None, f"--db: {str(target)!r} exists: restore into a new file")
    source = Path(file).resolve()
    try:
        with closing(sqlite3.connect(source.as_uri() + "?mode=ro", uri=True)) as con:
            found = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stored_events'"
                                ).fetchone()
    except sqlite3.DatabaseError:
        found = None
    if found is None:
        raise BadInput(None, f"FILE: {file!r} is not a backup of an SQLite ledger")
    with output.replacing(str(target)) as tmp:
        os.chmod(tmp, 0o600)
        _copy_sqlite(source, tmp)
    return Copy(file, "sqlite", _audit(url, heads))


def _sqlite_file(env: dict[str, str], option: str) -> Path:
    name = env["SQLITE_DBNAME"]
    if name == ":memory:" or name.startswith("file:"):
        raise BadInput(None, f"{option}: an in-memory ledger has no file to back up or restore")
    return Path(name).resolve()


def _copy_sqlite(source: Path, target: str) -> None:
    """Every page of ``source`` into ``target`` in one step of the online backup API: one read transaction."""
    with closing(sqlite3.connect(source.as_uri() + "?mode=ro", uri=True, timeout=30)) as src, \
            closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _audit(url: str, heads: Sequence[str]) -> Audit:
    from adapters.services.queries import verify

    copy = bootstrap(Settings.resolve(url))
    try:
        return verify(copy, heads)
    finally:
        copy.close()


def _holds_ledger(url: str) -> bool:
    from adapters.store.ledger import open_ledger

    try:
        open_ledger(url, create=False).close()
    except NoLedger:
        return False
    return True


def _run(tool: str, args: list[str], env: dict[str, str]) -> None:
    """A PostgreSQL client tool on the ``--db`` connection (its password in PGPASSWORD, not on the command line)."""
    exe = shutil.which(tool)
    if exe is None:
        raise LedgerError(f"{tool} is not installed (PostgreSQL's client tools)")
    conn = {"PGHOST": env["POSTGRES_HOST"], "PGPORT": env["POSTGRES_PORT"], "PGUSER": env["POSTGRES_USER"],
            "PGPASSWORD": env["POSTGRES_PASSWORD"], "PGDATABASE": env["POSTGRES_DBNAME"]}
    done = subprocess.run([exe, *args], env={**os.environ, **conn}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LedgerError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
