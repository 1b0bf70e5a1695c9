"""`verify` names what is broken, and `history` marks what the chain no longer vouches for (issue 25, item 9).

Each test tampers with the stored rows behind the ledger's back (SQL on the SQLite file or the PostgreSQL
database, as `tests/integration/test_tamper_evidence.py` does) and checks what a person reads: the instance
or account, the fact's type, its line id and both times of the first broken row (CLI text, ``--json``), and
the facts of an instance marked unverified from its first broken row on (``history``, text and ``--json``).
The HTTP API and the console are in `tests/http/test_chain.py`."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import CLI
from tests.integration.tamper import Surgery, row_of, two_feeds
from tests.stores import STORES, store_url


@pytest.fixture(params=STORES)
def ledger(request, tmp_path) -> CLI:
    """The seed examples (kec-1, kec-2 of account acme), then kec-2's renewal: two feeds, two seals."""
    return two_feeds(store_url(request.param, tmp_path), tmp_path)


def broken(cli: CLI) -> tuple[dict, str]:
    done, text = cli.run("verify", "--json"), cli.run("verify")
    assert done.returncode == 1 and text.returncode == 1, done.stdout + done.stderr
    return json.loads(done.stdout)["first_problem"], text.stdout


def test_an_edited_fact_is_named_by_instance_type_line_and_both_times(ledger: CLI):
    surgery = Surgery(ledger.url)
    row, state = row_of(surgery, "Purchased", "seed-2")  # kec-2's purchase (seed example 2)
    stored = json.loads(state)
    surgery.set_state(row, state.replace(b'"months":12', b'"months":24'))
    first, text = broken(ledger)
    assert first["kind"] == "edited" and first["row"] == row
    subject = first["subject"]
    assert (subject["stream"], subject["name"], subject["fact"], subject["line"]) == (
        "instance", "kec-2", "Purchased", "seed-2")
    assert subject["at"] == "2027-01-01T00:00:00+08:00"  # the business time, as fed
    assert subject["recorded_at"] == stored["timestamp"]["_data_"]  # the recorded time, as stored
    assert first["sealed_by"]["recorded_at"] == stored["timestamp"]["_data_"]  # its own feed's seal
    # the text says the same, on the lines under the finding
    assert f"BROKEN at position {first['position']}" in text
    named = next(line for line in text.splitlines() if line.strip().startswith(f"row {row}:"))
    assert all(s in named for s in ("instance kec-2", "Purchased", "line seed-2", "at 2027-01-01T00:00:00+08:00",
                                    "recorded "))


def test_an_account_fact_is_named_by_its_account(ledger: CLI):
    """A refund request judged on account acme writes an account fact too (K-F4): edit that one."""
    ledger.ok("record", "-", input=json.dumps({
        "type": "request_refund", "id": "req-1", "at": "2027-02-22T10:00:00+08:00", "instance": "kec-1",
        "refund": "r-1"}) + "\n")
    surgery = Surgery(ledger.url)
    row, state = next((r[0], r[4]) for r in surgery.rows() if ":Account.Application" in r[3])
    surgery.set_state(row, state + b" ")
    first, text = broken(ledger)
    subject = first["subject"]
    assert (subject["stream"], subject["name"], subject["line"]) == ("account", "acme", "req-1")
    assert subject["fact"].startswith("Application") and subject["at"] == "2027-02-22T10:00:00+08:00"
    assert "account acme" in text and "line req-1" in text


def test_a_deleted_fact_names_the_row_found_in_its_place_and_the_seal_that_had_it(ledger: CLI):
    surgery = Surgery(ledger.url)
    row, _ = row_of(surgery, "Purchased", "seed-2")
    later, _ = row_of(surgery, "Upgraded", "seed-3")
    surgery.sql("DELETE FROM {table} WHERE {id} = ?", row)
    first, text = broken(ledger)
    assert first["kind"] == "deleted" and first["subject"]["row"] == later
    assert (first["subject"]["name"], first["subject"]["fact"], first["subject"]["line"]) == ("kec-2", "Upgraded",
                                                                                               "seed-3")
    assert first["sealed_by"]["row"] == surgery.seal_ids()[0]
    assert "the row found where the sealed one is missing" in text and f"seal row {surgery.seal_ids()[0]}" in text


def test_a_row_that_no_longer_decodes_is_still_named_by_its_stream(ledger: CLI):
    surgery = Surgery(ledger.url)
    row, _ = row_of(surgery, "Upgraded", "seed-3")
    surgery.set_state(row, b"not json at all")
    first, text = broken(ledger)
    assert (first["subject"]["name"], first["subject"]["fact"], first["subject"]["decodes"]) == ("kec-2", "Upgraded",
                                                                                                  False)
    assert "instance kec-2, Upgraded" in text and "no longer decodes" in text


def test_history_marks_the_facts_from_an_edited_one_on_as_unverified(ledger: CLI):
    before = ledger.json("history", "kec-2")
    assert before["unverified_from"] is None and all(f["verified"] is True for f in before["facts"])
    surgery = Surgery(ledger.url)
    row, state = row_of(surgery, "Upgraded", "seed-3")
    surgery.set_state(row, state.replace(b'"o-3"', b'"o-9"'))
    after = ledger.json("history", "kec-2")
    assert [f["verified"] for f in after["facts"]] == [True, False, False]  # the purchase, the upgrade, the renewal
    text = ledger.ok("history", "kec-2")
    assert text.count("UNVERIFIED") == 3  # two facts, and the note under the table
    assert "billing-ledger verify" in text
    # another instance's history is untouched
    assert all(f["verified"] for f in ledger.json("history", "kec-1")["facts"])


def test_history_marks_the_facts_after_a_deleted_one_as_unverified(ledger: CLI):
    surgery = Surgery(ledger.url)
    row, _ = row_of(surgery, "Upgraded", "seed-3")
    surgery.sql("DELETE FROM {table} WHERE {id} = ?", row)
    after = ledger.json("history", "kec-2")
    assert [(f["fact"], f["verified"]) for f in after["facts"]] == [("Purchased", True), ("Renewed", False)]


def test_history_marks_a_row_inserted_behind_the_ledgers_back(ledger: CLI):
    """A copy of the renewal appended as a new version after the last seal: no seal vouches for it."""
    surgery = Surgery(ledger.url)
    i, originator, version, topic, state = next(r for r in surgery.rows() if r[3].endswith(":Renewed"))
    value = originator.hex if not surgery.pg else originator
    surgery.sql("INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                value, version + 1, topic, state)
    facts = ledger.json("history", "kec-2")["facts"]
    assert [f["verified"] for f in facts] == [True, True, True, False]
