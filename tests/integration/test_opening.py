"""Reading commands never create a ledger; stores that cannot be opened are bad input naming them; PostgreSQL
schemas work for every command (daily use).

A mistyped ``--db`` used to leave an empty database behind and report "ok: 0 rows".
"""

import json
import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.integration.conftest import CLI, ROOT, InProcessCLI
from tests.stores import PG_URL, STORES, fresh_pg_database, libpq

READING = [["verify"], ["quote", "kec-1", "--at", "2027-02-22T10:00:00+08:00"], ["history", "kec-1"],
           ["instances"], ["refunds", "--open"], ["overdue", "--at", "2027-01-01T00:00:00Z"], ["project"],
           ["export", "orders", "--from", "2026-01-01T00:00:00Z", "--to", "2027-01-01T00:00:00Z", "--out", "o.csv"]]


@pytest.mark.parametrize("args", READING, ids=lambda a: a[0])
def test_reading_a_missing_sqlite_ledger_is_bad_input_and_creates_nothing(tmp_path: Path, args):
    cli = InProcessCLI(f"sqlite:///{tmp_path / 'nope.db'}", tmp_path)  # the real process: the tests below
    done = cli.run(*args)
    assert done.returncode == 2 and "no ledger at" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_file_that_holds_no_ledger_is_not_turned_into_one(tmp_path: Path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE t (x)")
    done = CLI(f"sqlite:///{other}", tmp_path).run("verify")
    assert done.returncode == 2 and "holds no ledger" in done.stderr
    with sqlite3.connect(other) as con:
        assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["t"]


def test_a_missing_directory_or_an_unreachable_server_is_bad_input_naming_the_store(tmp_path: Path):
    feed = str(ROOT / "examples" / "seed-examples.jsonl")
    done = CLI(f"sqlite:///{tmp_path / 'no' / 'x.db'}", tmp_path).run("record", feed)
    assert done.returncode == 2 and "--db" in done.stderr and "does not exist" in done.stderr
    done = CLI("postgresql+psycopg://someone:s3cret@127.0.0.1:1/ledger", tmp_path).run("verify")
    assert done.returncode == 2 and "cannot open" in done.stderr and "s3cret" not in done.stderr


@pytest.mark.skipif(not PG_URL, reason="no PostgreSQL: run through `make test` (scripts/test-env)")
def test_an_empty_postgresql_database_holds_no_ledger_and_stays_empty(tmp_path: Path):
    url = fresh_pg_database()
    done = CLI(url, tmp_path).run("verify")
    assert done.returncode == 2 and "no ledger at" in done.stderr
    with psycopg.connect(libpq(url)) as con:
        assert con.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


@pytest.mark.skipif(not PG_URL, reason="no PostgreSQL: run through `make test` (scripts/test-env)")
def test_a_postgresql_schema_is_created_on_first_write_and_used_by_every_command(tmp_path: Path):
    base = fresh_pg_database()
    schema = f"l_{uuid.uuid4().hex[:8]}"
    cli = InProcessCLI(f"{base}?schema={schema}", tmp_path)
    assert cli.run("verify").returncode == 2  # nothing yet, and nothing created by reading
    cli.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    assert json.loads(cli.ok("quote", "kec-1", "--at", "2027-02-22T10:00:00+08:00", "--json"))["amount"] == "196.00"
    cli.ok("project")
    cli.ok("export", "orders", "--from", "2026-01-01T00:00:00Z", "--to", "2028-01-01T00:00:00Z", "--out",
           str(tmp_path / "o.csv"))
    assert "ok:" in cli.ok("verify")
    with psycopg.connect(libpq(base)) as con:
        tables = {(r[0], r[1]) for r in con.execute("SELECT schemaname, tablename FROM pg_tables "
                                                     "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")}
    assert (schema, "billingledger_events") in tables and (schema, "rm_orders") in tables
    assert not any(s == "public" for s, _ in tables)


@pytest.mark.parametrize("kind", STORES)
def test_verify_on_a_new_ledger_after_a_feed_is_ok(kind, tmp_path: Path):
    from tests.stores import store_url

    cli = InProcessCLI(store_url(kind, tmp_path), tmp_path)
    cli.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    assert "ok:" in cli.ok("verify")
