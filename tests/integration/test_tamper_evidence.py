"""Tamper evidence: `verify` passes on an untouched store and names the first row that was edited,
deleted, inserted or swapped when the SQLite file is changed behind the ledger's back; and with an anchor
(a head published earlier, signed checkpoints) it also catches what plain verify cannot: the last feed deleted
whole, seal and all, and a chain rewritten and consistently re-sealed (on both stores)."""

import json
import os
import sqlite3

import pytest

from tests.integration.conftest import CLI
from tests.integration.tamper import RENEW, Surgery, two_feeds
from tests.stores import STORES, store_url


@pytest.fixture
def sqlite_ledger(tmp_path) -> CLI:
    return two_feeds(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)


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


# ----- anchors: a published head and signed checkpoints, on both stores -----

@pytest.fixture(params=STORES)
def ledger(request, tmp_path) -> CLI:
    """The seed examples, then one renewal: two feeds, two seals."""
    return two_feeds(store_url(request.param, tmp_path), tmp_path)


def published(cli: CLI) -> dict:
    """What an auditor keeps from `verify --json`: the head and the rows it covers."""
    report = json.loads(cli.ok("verify", "--json"))
    assert report["ok"] and report["position"] == report["rows"]
    return report


def failing(cli: CLI, *args: str) -> dict:
    done = cli.run("verify", "--json", *args)
    assert done.returncode == 1, done.stdout + done.stderr
    return json.loads(done.stdout)


def make_key(cli: CLI, name: str = "signing.key") -> str:
    cli.ok("keygen", "--out", str(cli.cwd / name))
    return str(cli.cwd / name)


def test_deleting_the_last_feed_whole_passes_plain_verify_but_not_its_anchors(ledger: CLI):
    key, checkpoints = make_key(ledger), str(ledger.cwd / "checkpoints.jsonl")
    first_seal = Surgery(ledger.url).seal_ids()[0]
    before = published(ledger)
    ledger.ok("checkpoint", "--key", key, "--file", checkpoints)
    Surgery(ledger.url).delete_after(first_seal)  # the renewal's rows and its seal
    after = published(ledger)  # plain verify cannot tell
    assert after["seals"] == before["seals"] - 1 and after["position"] < before["position"]

    report = failing(ledger, "--expect-head", before["head"])
    (anchor,) = report["expect_head"]
    assert report["chain_ok"] is True and anchor["found"] is False and "not in the chain" in anchor["message"]
    report = failing(ledger, "--checkpoints", checkpoints, "--public-key", key + ".pub")
    first = report["checkpoints"]["first_failure"]
    assert first["line"] == 1 and first["signature_ok"] is True and "truncated" in first["message"]
    text = ledger.run("verify", "--expect-head", before["head"], "--checkpoints", checkpoints)
    assert text.returncode == 1 and "FAILED: the checkpoint at line 1" in text.stdout
    # an anchor published before the renewal still holds: the first feed is intact
    (older,) = json.loads(ledger.ok("verify", "--json", "--expect-head", after["head"]))["expect_head"]
    assert older["found"] and older["seal"] == 1 and older["position"] == after["position"]


def test_a_rewritten_and_resealed_chain_passes_plain_verify_but_not_an_earlier_anchor(ledger: CLI):
    key, checkpoints = make_key(ledger), str(ledger.cwd / "checkpoints.jsonl")
    ledger.ok("checkpoint", "--key", key, "--file", checkpoints)
    before = published(ledger)
    surgery = Surgery(ledger.url)
    row, state = next((r[0], r[4]) for r in surgery.rows() if b'"696.00"' in r[4])
    surgery.set_state(row, state.replace(b'"696.00"', b'"996.00"'))
    assert failing(ledger)["first_problem"]["kind"] == "edited"  # as left, the edit shows
    surgery.reseal()
    after = published(ledger)  # re-sealed consistently: plain verify passes
    assert after["head"] != before["head"] and after["position"] == before["position"]

    (anchor,) = failing(ledger, "--expect-head", before["head"])["expect_head"]
    assert anchor["found"] is False
    first = failing(ledger, "--checkpoints", checkpoints)["checkpoints"]["first_failure"]
    assert first["line"] == 1 and first["signature_ok"] and "rewritten and re-sealed" in first["message"]
    # and no new checkpoint blesses the rewritten chain in that file
    done = ledger.run("checkpoint", "--key", key, "--file", checkpoints)
    assert done.returncode == 1 and "no longer extends the checkpoint at line 1" in done.stderr
    assert len(open(checkpoints).read().splitlines()) == 1


def test_an_honest_ledger_that_grew_after_its_checkpoints_passes(ledger: CLI):
    key, checkpoints = make_key(ledger), str(ledger.cwd / "checkpoints.jsonl")
    ledger.ok("checkpoint", "--key", key, "--file", checkpoints)
    head = published(ledger)["head"]
    ledger.ok("record", "-", input=json.dumps({**RENEW, "order": "o-5", "at": "2027-06-01T00:00:00+08:00"}) + "\n")
    ledger.ok("checkpoint", "--key", key, "--file", checkpoints)
    ledger.ok("record", "-", input=json.dumps({**RENEW, "order": "o-6", "at": "2027-07-01T00:00:00+08:00"}) + "\n")
    report = json.loads(ledger.ok("verify", "--json", "--expect-head", head, "--checkpoints", checkpoints,
                                  "--public-key", key + ".pub"))
    assert report["ok"] and report["seals"] == 4
    assert [(c["line"], c["ok"], c["seals"]) for c in report["checkpoints"]["results"]] == [(1, True, 2), (2, True, 3)]
    assert report["expect_head"][0]["seal"] == 2
    lines = [json.loads(x) for x in open(checkpoints).read().splitlines()]
    assert [sorted(x) for x in lines] == [sorted(["head", "position", "seals", "recorded_at", "made_at",
                                                  "public_key", "signature"])] * 2


def test_a_tampered_checkpoint_line_is_detected(sqlite_ledger: CLI):
    key, checkpoints = make_key(sqlite_ledger), sqlite_ledger.cwd / "checkpoints.jsonl"
    sqlite_ledger.ok("checkpoint", "--key", key, "--file", str(checkpoints))
    line = json.loads(checkpoints.read_text())
    checkpoints.write_text(json.dumps({**line, "made_at": "2020-01-01T00:00:00+00:00"}) + "\n")
    first = failing(sqlite_ledger, "--checkpoints", str(checkpoints))["checkpoints"]["first_failure"]
    assert first["signature_ok"] is False and "signature does not verify" in first["message"]
    # a line that is no checkpoint at all is bad input, naming the line
    checkpoints.write_text(json.dumps(line) + "\n" + json.dumps({**line, "position": "eleven"}) + "\n")
    done = sqlite_ledger.run("verify", "--checkpoints", str(checkpoints))
    assert done.returncode == 2 and "line 2" in done.stderr and "position" in done.stderr


def test_a_checkpoint_signed_with_another_key_fails_against_the_public_key(sqlite_ledger: CLI):
    ours, theirs = make_key(sqlite_ledger, "ours.key"), make_key(sqlite_ledger, "theirs.key")
    checkpoints = str(sqlite_ledger.cwd / "checkpoints.jsonl")
    sqlite_ledger.ok("checkpoint", "--key", theirs, "--file", checkpoints)
    first = failing(sqlite_ledger, "--checkpoints", checkpoints, "--public-key", ours + ".pub")
    assert "signed by another key" in first["checkpoints"]["first_failure"]["message"]
    # without --public-key each line is checked against the key it names, and the output says so
    done = sqlite_ledger.run("verify", "--checkpoints", checkpoints)
    assert done.returncode == 0 and "the key each line names" in done.stdout


def test_keygen_never_overwrites_a_file(sqlite_ledger: CLI, tmp_path):
    key = tmp_path / "signing.key"
    key.write_text("precious")
    done = sqlite_ledger.run("keygen", "--out", str(key))
    assert done.returncode == 2 and "never overwritten" in done.stderr and key.read_text() == "precious"
    other = tmp_path / "other.key"
    (tmp_path / "other.key.pub").write_text("precious")
    assert sqlite_ledger.run("keygen", "--out", str(other)).returncode == 2 and not other.exists()
    assert sqlite_ledger.run("keygen", "--out", str(tmp_path / "ledger.db")).returncode == 2
    made = make_key(sqlite_ledger, "fresh.key")
    assert oct(os.stat(made).st_mode & 0o777) == "0o600" and open(made).read().startswith("-----BEGIN PRIVATE KEY")


def test_checkpoint_refuses_a_broken_chain_the_database_and_a_file_that_is_no_checkpoint_file(sqlite_ledger: CLI):
    key, checkpoints = make_key(sqlite_ledger), sqlite_ledger.cwd / "checkpoints.jsonl"
    db = sqlite_ledger.url.removeprefix("sqlite:///")
    size = os.path.getsize(db)
    done = sqlite_ledger.run("checkpoint", "--key", key, "--file", db)
    assert done.returncode == 2 and "database" in done.stderr and os.path.getsize(db) == size
    notes = sqlite_ledger.cwd / "notes.txt"
    notes.write_text("not a checkpoint\n")
    assert sqlite_ledger.run("checkpoint", "--key", key, "--file", str(notes)).returncode == 2
    assert notes.read_text() == "not a checkpoint\n"
    row = fact_rows(sqlite_ledger)[2]
    sql(sqlite_ledger, "UPDATE stored_events SET state = state || ' ' WHERE rowid = ?", row)
    done = sqlite_ledger.run("checkpoint", "--key", key, "--file", str(checkpoints))
    assert done.returncode == 1 and "the chain is broken" in done.stderr and not checkpoints.exists()
