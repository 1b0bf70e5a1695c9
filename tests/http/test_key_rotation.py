"""Issue 30, item 9 (rotation), on a real server per store: a key rotated gets a new secret (same id, role and
accounts); its old secret still authenticates during the overlap window and is refused after it; rotating again
refuses the oldest at once; a revoked key cannot be rotated; every key action is in the server's log with its
actor and the key's id, never a secret. Before: no rotation (404), and key actions were not logged."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.http.conftest import EXE, seed, serving
from tests.stores import STORES, store_url


def status(s, secret: str) -> int:
    return s.get("/v1/verify", secret).status_code


@pytest.mark.parametrize("store", STORES)
def test_a_rotated_keys_old_secret_works_through_the_overlap_then_is_refused(store, tmp_path):
    db = store_url(store, tmp_path)
    made = seed(db)
    with serving(db, tmp_path) as s:
        s.keys = made
        admin_id = made["admin"].split("_")[1] + "_" + made["admin"].split("_")[2]
        new = s.post("/v1/keys", "admin", json={"role": "auditor", "name": "rotating"}).json()
        old_secret = new["key"]
        assert status(s, old_secret) == 200
        rotated = s.post(f"/v1/keys/{new['id']}/rotation", "admin", json={"overlap": "3s"})
        assert rotated.status_code == 200, rotated.text
        got = rotated.json()
        assert got["id"] == new["id"] and got["role"] == "auditor" and got["key"] != old_secret
        assert status(s, old_secret) == 200 and status(s, got["key"]) == 200  # the overlap: both
        listed = {k["id"]: k for k in s.get("/v1/keys", "admin").json()["keys"]}[new["id"]]
        assert listed["rotated_by"] == f"key:{admin_id}" and listed["previous_until"] == got["previous_until"]
        time.sleep(3.5)
        assert status(s, old_secret) == 401 and status(s, got["key"]) == 200  # the overlap is over

        again = s.post(f"/v1/keys/{new['id']}/rotation", "admin", json={"overlap": "1h"}).json()
        latest = s.post(f"/v1/keys/{new['id']}/rotation", "admin").json()  # no body: 24 hours
        assert status(s, got["key"]) == 401  # two rotations back: refused at once
        assert status(s, again["key"]) == 200 and status(s, latest["key"]) == 200
        assert s.get("/v1/keys", "admin").json()["keys"][-1]["previous_until"] == latest["previous_until"]
        for overlap in ("31d", "-1s", "soon", 5):
            bad = s.post(f"/v1/keys/{new['id']}/rotation", "admin", json={"overlap": overlap})
            assert bad.status_code == 422, (overlap, bad.text)
        assert s.post(f"/v1/keys/{new['id']}/rotation", "auditor").status_code == 403
        assert s.request("DELETE", f"/v1/keys/{new['id']}", "admin").status_code == 200
        refused = s.post(f"/v1/keys/{new['id']}/rotation", "admin")
        assert refused.status_code == 422 and "revoked" in refused.text
        assert status(s, latest["key"]) == 401

        log = s.log.read_text()
        secrets = [old_secret, got["key"], again["key"], latest["key"], *made.values()]
        assert not [x for x in secrets if x in log]
        assert f"key {new['id']} created: role auditor, by key:{admin_id}" in log
        assert log.count(f"key {new['id']} rotated by key:{admin_id}") == 3
        assert f"key {new['id']} revoked by key:{admin_id}" in log


def test_keys_rotate_on_the_command_line(tmp_path):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    made = seed(db)
    key_id = "_".join(made["finance"].split("_")[1:3])
    done = subprocess.run([str(EXE), "--db", db, "keys", "rotate", key_id, "--overlap", "0s", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rotated = json.loads(done.stdout)
    assert rotated["id"] == key_id and rotated["key"].startswith(f"blk_{key_id}_")
    listed = subprocess.run([str(EXE), "--db", db, "keys", "list", "--json"], capture_output=True, text=True,
                            timeout=60)
    (row,) = [k for k in json.loads(listed.stdout)["keys"] if k["id"] == key_id]
    assert row["rotated_at"] == row["previous_until"] == rotated["previous_until"]  # no overlap: from then on
    assert row["rotated_by"].startswith(("user:", "uid:"))
    with serving(db, tmp_path) as s:
        assert status(s, made["finance"]) == 401 and status(s, rotated["key"]) == 200  # no overlap: at once
    bad = subprocess.run([str(EXE), "--db", db, "keys", "rotate", "k_0000000000000000"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "no active key" in bad.stderr
