"""The real CLI against a real SQLite file: record, quote, history, timeline (interface.md)."""

import json
from pathlib import Path

import pytest

from tests.integration.conftest import CLI, ROOT, InProcessCLI


@pytest.fixture
def cli(real_cli: CLI) -> CLI:
    """This module drives the console script itself: every call here is a real process (elsewhere the same entry
    point mostly runs in process, `InProcessCLI`)."""
    return real_cli


INTERFACE_KEYS = ["instance", "at", "known_at", "policy", "currency", "mode", "eligible", "reasons", "amount",
                  "outcome", "lines"]


def test_seed_example_quotes_in_the_interface_shape_K_A1_K_U1(seeded: CLI):
    q = seeded.json("quote", "kec-1", "--at", "2027-02-22T10:00:00+08:00", "--known-at", "2100-01-01T00:00:00Z")
    assert list(q) == INTERFACE_KEYS
    assert (q["instance"], q["at"], q["known_at"]) == ("kec-1", "2027-02-22T10:00:00+08:00",
                                                       "2100-01-01T00:00:00+00:00")
    assert (q["policy"], q["currency"], q["amount"], q["outcome"]) == ("kingsoft-2021-05-27", "CNY", "196.00",
                                                                      "refund")
    assert [{k: ln[k] for k in ("instance", "order", "kind", "rule", "paid", "consumed", "refund")}
            for ln in q["lines"]] == [{"instance": "kec-1", "order": "o-1", "kind": "purchase", "rule": "K-A1",
                                       "paid": "696.00", "consumed": "500.00", "refund": "196.00"}]
    up = seeded.json("quote", "kec-2", "--at", "2027-04-06T00:00:00+08:00")
    assert [ln["refund"] for ln in up["lines"]] == ["88.33", "88.33"]
    assert up["amount"] == "176.66"


def test_human_quote_shows_the_explanation(seeded: CLI):
    out = seeded.ok("quote", "kec-1", "--at", "2027-02-22T10:00:00+08:00")
    assert "696.00 − (50/30 × 390 × 0.70 + 50/30 × 27) = 196.00" in out
    assert "196.00" in out.splitlines()[-1]


def test_recording_a_feed_twice_changes_nothing(seeded: CLI):
    before = seeded.rows()
    again = seeded.ok("record", str(ROOT / "examples" / "seed-examples.jsonl"))
    assert "recorded 0, duplicates 3" in again
    assert seeded.rows() == before


def test_feed_from_standard_input_and_default_database(tmp_path: Path):
    cli = CLI("unused: the default is the embedded SQLite file in the working directory", tmp_path)
    feed = (ROOT / "examples" / "seed-examples.jsonl").read_text()
    done = cli.run("record", "-", input=feed, db=False)
    assert done.returncode == 0, done.stderr
    assert (cli.cwd / "billing-ledger.db").exists()
    assert "recorded 3" in done.stdout


def test_history_lists_every_fact_with_both_times(seeded: CLI):
    h = seeded.json("history", "kec-2")
    facts = h["facts"]
    assert [f["fact"] for f in facts] == ["Purchased", "Upgraded"]
    assert [f["id"] for f in facts] == ["seed-2", "seed-3"]
    assert facts[1]["at"] == "2027-04-01T00:00:00+08:00"
    assert all(f["recorded_at"] for f in facts)
    assert facts[1]["details"]["payment"]["cash"] == "90.00"


def test_timeline_shows_validity_taken_effect_and_overlaps_K_T3_K_T4(seeded: CLI):
    t = seeded.json("timeline", "kec-2", "--at", "2027-03-01T00:00:00+08:00")
    by = {o["order"]: o for o in t["orders"]}
    assert by["o-2"]["start"] == "2027-01-01T00:00:00+08:00"
    assert by["o-2"]["end"] == "2027-12-27T00:00:00+08:00"  # 360 days
    assert (by["o-2"]["taken_effect"], by["o-3"]["taken_effect"]) == (True, False)
    assert by["o-3"]["overlaps"] == ["o-2"]


def cells(table: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    row = next(line for line in table.splitlines() if line.startswith("│") and line.split("│")[1].strip() == first)
    return [c.strip() for c in row.split("│")[1:-1]]


def test_the_human_timeline_flags_only_k_s3_overlaps_and_shows_amounts_K_S3_K_M1(seeded: CLI):
    table = seeded.ok("timeline", "kec-2", "--at", "2027-03-01T00:00:00+08:00")
    header = cells(table.replace("┃", "│"), "order")
    assert "K-S3 overlaps" in header and "overlaps" not in header  # the upgrade's overlap is ordinary (K-T3)
    j = {o["order"]: o for o in seeded.json("timeline", "kec-2", "--at", "2027-03-01T00:00:00+08:00")["orders"]}
    for order in ("o-2", "o-3"):
        row = dict(zip(header, cells(table, order), strict=True))
        assert row["K-S3 overlaps"] == "" and j[order]["overlaps"]  # a fact in the JSON, no finding
        assert row["amount (CNY)"] == j[order]["amount"] != "0.00"


def test_quote_of_an_unknown_instance_is_bad_input(seeded: CLI):
    done = seeded.run("quote", "nope", "--at", "2027-01-01T00:00:00+08:00")
    assert done.returncode == 2
    assert "nope" in done.stderr


def test_naive_quote_time_is_bad_input_K_T1(seeded: CLI):
    done = seeded.run("quote", "kec-1", "--at", "2027-01-01T00:00:00")
    assert done.returncode == 2 and "--at" in done.stderr and "offset" in done.stderr


def test_retraction_frees_the_order_id_and_known_at_sees_before_and_after(cli: CLI, tmp_path: Path):
    cli = InProcessCLI(cli.url, cli.cwd)  # eight calls about retractions, not about the process: the entry point
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps({
        "type": "purchase", "id": "p1", "at": "2026-01-01T00:00:00+08:00", "instance": "kec-9", "account": "a",
        "product": "KEC", "order": "o-9", "months": 12, "monthly_price": "10.00", "payment": {"cash": "120.00"}}
    ) + "\n")
    cli.ok("record", str(first))
    known_before = json.loads(cli.ok("history", "kec-9", "--json"))["facts"][0]["recorded_at"]
    fix = tmp_path / "fix.jsonl"
    fix.write_text("\n".join(json.dumps(x) for x in [
        {"type": "retract", "id": "x1", "at": "2026-01-02T00:00:00+08:00", "target": "p1",
         "reason": "wrong price"},
        {"type": "purchase", "id": "p1b", "at": "2026-01-01T00:00:00+08:00", "instance": "kec-9", "account": "a",
         "product": "KEC", "order": "o-9", "months": 12, "monthly_price": "5.00", "payment": {"cash": "60.00"}},
    ]) + "\n")
    cli.ok("record", str(fix))
    at = ["--at", "2026-01-31T00:00:00+08:00"]
    assert cli.json("quote", "kec-9", *at, "--known-at", known_before)["amount"] == "110.00"  # 120 - 10
    assert cli.json("quote", "kec-9", *at)["amount"] == "55.00"  # 60 - 5
    facts = cli.json("history", "kec-9")["facts"]
    assert [f["fact"] for f in facts] == ["Purchased", "Retracted", "Purchased"]
    assert facts[0]["retracted"]["reason"] == "wrong price" and facts[0]["retracted"]["by"] == "x1"
    assert "retracted" not in facts[2]


def test_history_names_a_bundled_refunds_instances_with_as_the_feed_does(cli: CLI, tmp_path):
    """Issue 25, item 15: a refund request's details said ``with_`` (the stored, Python-safe name); the feed
    writes ``with``, and so do the history's JSON (which keeps the old name too: fields are never renamed) and
    table now; the stored event is unchanged."""
    feed = [{"type": "purchase", "id": "w-1", "at": "2026-01-01T00:00:00+08:00", "instance": "w-kec",
             "account": "w", "product": "KEC", "order": "w-o1", "months": 12, "monthly_price": "10.00",
             "payment": {"cash": "120.00"}, "activated_at": "2026-01-01T00:00:00+08:00"},
            {"type": "purchase", "id": "w-2", "at": "2026-01-01T00:00:00+08:00", "instance": "w-eip",
             "account": "w", "product": "EIP", "order": "w-o2", "months": 12, "monthly_price": "5.00",
             "payment": {"cash": "60.00"}, "activated_at": "2026-01-01T00:00:00+08:00"},
            {"type": "bind_eip", "at": "2026-01-01T01:00:00+08:00", "instance": "w-kec", "eip": "w-eip"},
            {"type": "request_refund", "id": "w-r", "at": "2026-01-03T00:00:00+08:00", "instance": "w-kec",
             "refund": "w-rf", "with": ["w-eip"]}]
    path = tmp_path / "with.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in feed))
    cli.ok("record", str(path))
    request = next(f for f in cli.json("history", "w-kec")["facts"] if f["id"] == "w-r")
    assert request["details"]["with"] == ["w-eip"]
    assert request["details"]["with_"] == ["w-eip"]  # the old name, kept for readers of the JSON before
    table = cli.ok("history", "w-kec")
    assert "with=" in table and "with_=" not in table
