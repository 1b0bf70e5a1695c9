"""API keys (issue: HTTP API, items 3 and 5): created with a role and accounts, the secret shown once and
stored only as a hash, revoked at once; every write records its actor, shown by history."""

import getpass
import json
from pathlib import Path

import pytest

from adapters import services
from adapters.bootstrap import Settings, bootstrap
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
        who = services.authenticate(app, made["key"])
        assert who == services.Principal(made["id"], "customer", ("acme", "beta"), "Acme portal")
        assert who.actor == f"key:{made['id']}"
        # one character off, another key's id, nothing: refused
        wrong = made["key"][:-1] + ("A" if made["key"][-1] != "A" else "B")
        assert services.authenticate(app, wrong) is None
        assert services.authenticate(app, "") is None
        assert services.authenticate(app, "blk_k_0000000000000000_" + "x" * 43) is None
        revoked = cli.json("keys", "revoke", made["id"])
        assert revoked["revoked_at"] and revoked["revoked_by"].startswith(("user:", "uid:"))
        assert services.authenticate(app, made["key"]) is None  # at once: the same App, no cache
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
        assert services.authenticate(app, made["key"]).role == "finance"
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
        services.record_feed(app, json.dumps({
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
