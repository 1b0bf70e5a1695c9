"""Tamper evidence: `verify` passes on an untouched store and names the first row that was edited,
deleted, inserted or swapped when the SQLite file is changed behind the ledger's back."""

import json
import sqlite3

import pytest

from tests.integration.conftest import CLI, ROOT


@pytest.fixture
def sqlite_ledger(tmp_path) -> CLI:
    cli = CLI(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    cli.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    cli.ok("record", "-", input=json.dumps({
        "type": "renew", "at": "2027-05-01T00:00:00+08:00", "instance": "kec-2", "order": "o-4", "months": 1,
        "monthly_price": "20.00", "payment": {"cash": "20.00"}}) + "\n")
    return cli


def sql(cli: CLI, statement: str, *args) -> list[tuple]:
    with sqlite3.connect(cli.url.removeprefix("sqlite:///")) as con:
        return con.execute(statement, args).fetchall()


def fact_rows(cli: CLI) -> list[int]:
    """Row ids of the chained rows (every stored event but the chain's own)."""
    return [r[0] for r in sql(cli, "SELECT rowid FROM stored_events WHERE topic NOT LIKE 'domain.chain:%' "
                                   "ORDER BY rowid")]


def broken(cli: CLI) -> dict:
    done = cli.run("verify", "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_an_untouched_store_verifies(sqlite_ledger: CLI):
    report = json.loads(sqlite_ledger.ok("verify", "--json"))
    assert report["ok"] is True and report["seals"] == 2 and report["rows"] == len(fact_rows(sqlite_ledger))


def test_an_edited_row_is_found(sqlite_ledger: CLI):
    row = fact_rows(sqlite_ledger)[3]
    state = sql(sqlite_ledger, "SELECT state FROM stored_events WHERE rowid = ?", row)[0][0]
    sql(sqlite_ledger, "UPDATE stored_events SET state = ? WHERE rowid = ?", state.replace(b"696.00", b"996.00")
        if b"696.00" in state else state + b" ", row)
    report = broken(sqlite_ledger)
    assert report["first_problem"]["kind"] == "edited" and report["first_problem"]["row"] == row


def test_a_deleted_row_is_found(sqlite_ledger: CLI):
    rows = fact_rows(sqlite_ledger)
    sql(sqlite_ledger, "DELETE FROM stored_events WHERE rowid = ?", rows[2])
    report = broken(sqlite_ledger)
    assert report["first_problem"]["kind"] == "deleted" and report["first_problem"]["row"] == rows[3]


def test_swapped_rows_are_found(sqlite_ledger: CLI):
    a, b = fact_rows(sqlite_ledger)[1:3]
    cols = "originator_id, originator_version, topic, state"
    (ra,), (rb,) = (sql(sqlite_ledger, f"SELECT {cols} FROM stored_events WHERE rowid = ?", r) for r in (a, b))
    sql(sqlite_ledger, "DELETE FROM stored_events WHERE rowid IN (?, ?)", a, b)
    sql(sqlite_ledger, f"INSERT INTO stored_events (rowid, {cols}) VALUES (?, ?, ?, ?, ?)", a, *rb)
    sql(sqlite_ledger, f"INSERT INTO stored_events (rowid, {cols}) VALUES (?, ?, ?, ?, ?)", b, *ra)
    report = broken(sqlite_ledger)
    assert report["first_problem"]["kind"] == "reordered" and report["first_problem"]["row"] == a


def test_an_inserted_row_is_found(sqlite_ledger: CLI):
    cols = "originator_id, originator_version, topic, state"
    rows = fact_rows(sqlite_ledger)
    (copy,) = sql(sqlite_ledger, f"SELECT {cols} FROM stored_events WHERE rowid = ?", rows[0])
    sql(sqlite_ledger, f"INSERT INTO stored_events ({cols}) VALUES (?, ?, ?, ?)", copy[0], 99, copy[2], copy[3])
    report = broken(sqlite_ledger)
    assert report["first_problem"]["kind"] == "inserted"


def test_an_edited_seal_is_found(sqlite_ledger: CLI):
    (row, state), *_ = sql(sqlite_ledger, "SELECT rowid, state FROM stored_events WHERE topic LIKE "
                                          "'domain.chain:Chain.Sealed' ORDER BY rowid")
    sql(sqlite_ledger, "UPDATE stored_events SET state = ? WHERE rowid = ?", state.replace(b'"head":"', b'"head":"f'),
        row)
    assert broken(sqlite_ledger)["seal_problems"]
