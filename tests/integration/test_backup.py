"""Issue 30, item 10, through the real console script on both stores: ``backup`` taken while another process
keeps recording feeds is a copy of the ledger as of one moment (SQLite: the online backup API; PostgreSQL:
pg_dump); ``restore`` into a new store verifies against the head published before the backup, and the restored
events are exactly the live ledger's first ones (nothing torn, nothing missing in between). A restore never
writes over a ledger."""

from __future__ import annotations

import json
import threading
import time

from tests.integration.conftest import CLI, ROOT
from tests.stores import store_url


def feed(n: int) -> str:
    return "".join(json.dumps({"type": "purchase", "id": f"buy-bk-{n}-{k}", "at": "2026-01-01T00:00:00+08:00",
                               "instance": f"bk-{n}-{k}", "account": "backup", "product": "MongoDB",
                               "order": f"o-bk-{n}-{k}", "months": 12, "monthly_price": "30.00",
                               "payment": {"cash": "360.00"}}) + "\n" for k in range(20))


def test_a_backup_during_recording_restores_and_verifies_against_the_head_published_before(real_cli, tmp_path):
    live = real_cli
    live.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    published = live.json("verify")["head"]
    stop, recorded = threading.Event(), []

    def writer() -> None:
        n = 0
        while not stop.is_set():
            path = tmp_path / f"feed-{n}.jsonl"
            path.write_text(feed(n))
            live.ok("record", str(path))
            recorded.append(n)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not recorded:
            time.sleep(0.05)
        at_start = len(live.rows())
        made = live.json("backup", "--out", str(tmp_path / "ledger.backup"))
        at_end = len(live.rows())
    finally:
        stop.set()
        thread.join()
    assert made["ok"] and (tmp_path / "ledger.backup").stat().st_mode & 0o077 == 0
    kind = "sqlite" if live.url.startswith("sqlite") else "postgresql"
    (tmp_path / "restored").mkdir()
    restored = CLI(store_url(kind, tmp_path / "restored"), tmp_path)
    got = restored.json("restore", str(tmp_path / "ledger.backup"), "--expect-head", published)
    assert got["ok"] and got["verify"]["chain_ok"] and got["verify"]["expect_head"][0]["ok"]
    rows = restored.rows()
    assert at_start <= len(rows) <= at_end and len(live.rows()) > len(rows)  # the writer went on meanwhile
    assert rows == live.rows()[:len(rows)]  # one moment's copy: the live ledger's first rows, exactly
    if kind == "sqlite":
        assert made["verify"]["head"] == got["verify"]["head"]
    assert restored.json("verify", "--expect-head", published)["ok"]
    assert json.loads(restored.ok("instances", "--account", "backup", "--json"))["instances"]

    again = restored.run("restore", str(tmp_path / "ledger.backup"))
    assert again.returncode == 2 and "restore into" in again.stderr  # never over a ledger
    assert restored.rows() == rows
    elsewhere = CLI(store_url(kind, tmp_path / "other") if kind == "postgresql" else
                    f"sqlite:///{tmp_path / 'other.db'}", tmp_path)
    wrong = elsewhere.run("restore", str(tmp_path / "ledger.backup"), "--expect-head", "ab" * 32, "--json")
    assert wrong.returncode == 1 and not json.loads(wrong.stdout)["verify"]["expect_head"][0]["ok"]
    assert live.run("backup", "--out", str(tmp_path / "ledger.backup")).returncode == 2  # exists: --force
