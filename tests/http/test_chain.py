"""The hash chain over HTTP (issue 25, item 9): ``/v1/verify`` names the first broken row (instance, fact type,
line id, both times), ``/v1/instances/{i}/history`` marks the facts from it on unverified, and the console's
chain page shows auditors the verified head, position, last seal and last checkpoint, and what broke.

Its own server on its own ledger: the session's shared server must stay untampered."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.http.conftest import Server, seed, serving
from tests.http.test_console import signed_in
from tests.integration.conftest import InProcessCLI
from tests.integration.tamper import Surgery, row_of


@pytest.fixture
def chained(tmp_path) -> Iterator[Server]:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    made = seed(db)
    cli = InProcessCLI(db, tmp_path)
    cli.ok("keygen", "--out", str(tmp_path / "signing.key"))
    cli.ok("checkpoint", "--key", str(tmp_path / "signing.key"), "--file", str(tmp_path / "checkpoints.jsonl"))
    with serving(db, tmp_path, env={"BILLING_LEDGER_CHECKPOINTS": str(tmp_path / "checkpoints.jsonl")}) as s:
        s.keys = made
        yield s


def tamper(server: Server) -> int:
    """Edit kec-2's upgrade (seed example 3, line seed-3); its row id."""
    surgery = Surgery(server.db)
    row, state = row_of(surgery, "Upgraded", "seed-3")
    surgery.set_state(row, state.replace(b'"o-3"', b'"o-9"'))
    return row


def test_verify_and_history_over_http_name_and_mark_the_broken_row(chained: Server):
    assert chained.get("/v1/verify", "auditor").json()["first_problem"] is None
    row = tamper(chained)
    v = chained.get("/v1/verify", "auditor").json()
    assert v["ok"] is False
    subject = v["first_problem"]["subject"]
    assert (subject["row"], subject["stream"], subject["name"], subject["fact"], subject["line"], subject["at"]) == (
        row, "instance", "kec-2", "Upgraded", "seed-3", "2027-04-01T00:00:00+08:00")
    assert subject["recorded_at"]
    h = chained.get("/v1/instances/kec-2/history", "auditor").json()
    assert [(f["fact"], f["verified"]) for f in h["facts"]] == [("Purchased", True), ("Upgraded", False)]
    with signed_in(chained, "auditor") as client:  # the console's history page marks it too (issue 25, item 9)
        page = client.get("/console/instances/kec-2/history").text
        rows = re.findall(r"<tr[^>]*><td>(.*?)</td>", page)
        assert rows == ["1", '2 <strong class="unverified">unverified</strong>'], rows
        assert 'id="unverified">UNVERIFIED: from that fact on' in page


@pytest.mark.parametrize("key, status", [("auditor", 200), ("admin", 200), ("finance", 200),
                                         ("auditor@acme", 403), ("customer@acme", 403), ("recorder", 403)])
def test_the_chain_page_follows_the_verify_grant(server: Server, key: str, status: int):
    """Ledger-wide and read-only: the shared server (no checkpoint file configured) will do."""
    with signed_in(server, key) as client:
        assert client.get("/console/chain").status_code == status
        assert ('href="/console/chain"' in client.get("/console").text) == (status == 200)
        if status == 200:
            assert "no checkpoint file configured (BILLING_LEDGER_CHECKPOINTS)" in client.get("/console/chain").text


def test_the_chain_page_shows_the_verified_head_position_and_last_checkpoint_then_what_broke(chained: Server):
    v = chained.get("/v1/verify", "auditor").json()
    with signed_in(chained, "auditor") as client:
        page = client.get("/console/chain").text
        assert "Verified:" in page and v["head"] in page
        assert f"{v['position']} chained rows sealed" in page
        assert "ok: line 1 of" in page and f"position {v['position']}" in page  # the operator's checkpoint
        row = tamper(chained)
        page = client.get("/console/chain").text
        assert "Broken:" in page and v["head"] not in page.split("First broken row")[0].split("Verified head")[1]
        problem = page.split("First broken row", 1)[1]
        assert f"row {row}: instance kec-2, Upgraded, line seed-3, at 2027-04-01" in problem
        assert "FAILED: line 1 of" in page  # the checkpoint's rows are no longer intact
