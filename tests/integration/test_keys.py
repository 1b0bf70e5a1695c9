"""API keys (issue: HTTP API, items 3 and 5): created with a role and accounts, the secret shown once and
stored only as a hash, revoked at once; every write records its actor, shown by history."""

import getpass
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.bootstrap import Settings, bootstrap
from adapters.services import feeds, keys
from tests.integration.conftest import ROOT, InProcessCLI
from tests.stores import STORES, store_url

SEED = str(ROOT / "examples" / "seed-examples.jsonl")


@pytest.fixture(params=STORES)
def cli(request, tmp_path: Path) -> InProcessCLI:
    return InProcessCLI(store_url(request.param, tmp_path), tmp_path)


def app_of(cli: InProcessCLI):
    return bootstrap(Settings(url=cli.url))


def test_a_key_authenticates_until_it_is_revoked(cli):
    made = cli.json("keys", "create", "--role", "customer", "--account", "acme", "--account", "beta",
                    "--name", "Acme portal")
    assert made["role"] == "customer" and made["accounts"] == ["acme", "beta"] and made["name"] == "Acme portal"
    app = app_of(cli)
    try:
        who = keys.authenticate(app, made["key"])
        assert who == keys.Principal(made["id"], "customer", ("acme", "beta"), "Acme portal")
        assert who.actor == f"key:{made['id']}"
        # one character off, another key's id, nothing: refused
        wrong = made["key"][:-1] + ("A" if made["key"][-1] != "A" else "B")
        assert keys.authenticate(app, wrong) is None
        assert keys.authenticate(app, "") is None
        assert keys.authenticate(app, "blk_k_0000000000000000_" + "x" * 43) is None
        revoked = cli.json("keys", "revoke", made["id"])
        assert revoked["revoked_at"] and revoked["revoked_by"].startswith(("user:", "uid:"))
        assert keys.authenticate(app, made["key"]) is None  # at once: the same App, no cache
    finally:
        app.close()


def test_the_secret_is_never_stored_nor_listed(cli, tmp_path):
    made = cli.json("keys", "create", "--role", "admin")
    listed = cli.json("keys", "list")["keys"]
    assert [k["id"] for k in listed] == [made["id"]] and made["key"] not in json.dumps(listed)
    assert made["key"] not in cli.ok("keys", "list")
    if cli.url.startswith("sqlite"):
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("*.db*"))
        assert made["key"].encode() not in raw and made["id"].encode() in raw


def test_keys_survive_a_read_model_rebuild(cli):
    cli.ok("record", SEED)
    made = cli.json("keys", "create", "--role", "finance")
    cli.ok("project", "--rebuild")
    app = app_of(cli)
    try:
        assert keys.authenticate(app, made["key"]).role == "finance"
    finally:
        app.close()


@pytest.mark.parametrize("args, message", [
    (["--role", "root"], "--role: 'root' is not one of admin, recorder, finance, auditor, support, customer"),
    (["--role", "customer"], "--account: a customer key needs at least one account"),
    (["--role", "auditor", "--account", "a\tb"], "--account: 'a\\tb' is not an account name"),
])
def test_bad_key_options_are_status_2_and_create_nothing(cli, tmp_path, args, message):
    done = cli.run("keys", "create", *args)
    assert done.returncode == 2 and message in done.stderr
    if cli.url.startswith("sqlite"):
        assert not list(tmp_path.glob("*.db"))


def test_reading_keys_never_creates_a_ledger(cli, tmp_path):
    for args in (["keys", "list"], ["keys", "revoke", "k_0123456789abcdef"]):
        done = cli.run(*args)
        assert done.returncode == 2 and "no ledger at" in done.stderr
    if cli.url.startswith("sqlite"):
        assert not list(tmp_path.glob("*.db"))


def test_revoking_an_unknown_key_is_status_2(cli):
    cli.json("keys", "create", "--role", "admin")
    done = cli.run("keys", "revoke", "k_0123456789abcdef")
    assert done.returncode == 2 and "no key 'k_0123456789abcdef'" in done.stderr


def local_user() -> str:
    try:
        return f"user:{getpass.getuser()}"
    except Exception:  # noqa: BLE001
        import os

        return f"uid:{os.getuid()}"


def test_every_write_records_its_actor(cli):
    cli.ok("record", SEED)
    app = app_of(cli)
    try:
        feeds.record_feed(app, json.dumps({
            "type": "request_refund", "id": "r-by-key", "refund": "rf-by-key", "instance": "kec-1",
            "at": "2027-02-22T10:00:00+08:00"}), actor="key:k_00000000000000aa")
    finally:
        app.close()
    facts = cli.json("history", "kec-1")["facts"]
    by_line = {f["id"]: f["actor"] for f in facts}
    assert by_line["r-by-key"] == "key:k_00000000000000aa"
    assert {a for line, a in by_line.items() if line != "r-by-key"} == {local_user()}
    assert "key:k_00000000000000aa" in cli.ok("history", "kec-1")  # the table's "recorded by" column
    assert cli.json("verify")["ok"]  # the actor is part of the hashed rows


def test_keys_list_shows_when_each_key_was_last_used(cli):
    """Issue 30, item 9: ``last_used_at`` (to the minute), null until the key authenticates; a table made
    before the column existed gets it added."""
    made = cli.json("keys", "create", "--role", "auditor", "--name", "used")
    unused = cli.json("keys", "create", "--role", "auditor", "--name", "unused")
    listed = {k["id"]: k for k in cli.json("keys", "list")["keys"]}
    assert listed[made["id"]]["last_used_at"] is None and listed[unused["id"]]["last_used_at"] is None
    app = app_of(cli)
    try:
        assert keys.authenticate(app, made["key"]) is not None
        assert keys.authenticate(app, made["key"][:-1] + "?") is None  # a wrong secret is no use
    finally:
        app.close()
    listed = {k["id"]: k for k in cli.json("keys", "list")["keys"]}
    used = datetime.fromisoformat(listed[made["id"]]["last_used_at"])
    assert abs(datetime.now(UTC) - used) < timedelta(minutes=1)
    assert listed[unused["id"]]["last_used_at"] is None
    table = cli.ok("keys", "list")
    assert "last used" in table and "never" in table


def test_a_keys_table_of_an_earlier_version_gets_last_used_at(tmp_path):
    import sqlite3

    cli = InProcessCLI(f"sqlite:///{tmp_path / 'old.db'}", tmp_path)
    made = cli.json("keys", "create", "--role", "auditor")
    with sqlite3.connect(tmp_path / "old.db") as con:
        con.execute("ALTER TABLE api_keys DROP COLUMN last_used_at")
    app = app_of(cli)
    try:
        assert keys.authenticate(app, made["key"]) is not None
    finally:
        app.close()
    assert cli.json("keys", "list")["keys"][0]["last_used_at"] is not None


def test_a_key_with_an_expiry_stops_authenticating_then(cli):
    """Issue 30, item 9: ``--expires-at``; from then on the key is refused as a revoked one; a time already
    past is status 2."""
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    made = cli.json("keys", "create", "--role", "auditor", "--expires-at", soon)
    assert made["expires_at"] == datetime.fromisoformat(soon).isoformat()
    listed = {k["id"]: k for k in cli.json("keys", "list")["keys"]}
    assert listed[made["id"]]["expires_at"] == made["expires_at"]
    app = app_of(cli)
    try:
        assert keys.authenticate(app, made["key"]) is not None
        import time

        time.sleep(max(0.0, (datetime.fromisoformat(soon) - datetime.now(UTC)).total_seconds()) + 0.1)
        assert keys.authenticate(app, made["key"]) is None
    finally:
        app.close()
    past = cli.run("keys", "create", "--role", "auditor", "--expires-at", "2020-01-01T00:00:00+00:00")
    assert past.returncode == 2 and "--expires-at" in past.stderr and "not in the future" in past.stderr
