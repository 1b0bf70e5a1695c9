"""Bad input: status 2, ``line N: field: ...``, and the store exactly as before (interface.md, "Bad input")."""

import json
from pathlib import Path

import pytest

from tests.integration.conftest import CLI

GOOD = {"type": "purchase", "id": "p1", "at": "2026-01-01T00:00:00+08:00", "instance": "kec-1", "account": "acme",
        "product": "KEC", "order": "o-1", "months": 12, "monthly_price": "10.00", "payment": {"cash": "120.00"}}
RENEW = {"type": "renew", "at": "2026-02-01T00:00:00+08:00", "instance": "kec-1", "order": "o-2", "months": 1,
         "monthly_price": "10.00", "payment": {"cash": "10.00"}}


def with_(base: dict, **changes) -> str:
    line = {**base, **changes}
    return json.dumps({k: v for k, v in line.items() if v is not ...})


CASES = {
    "malformed JSON": ('{"type": "renew", ', "malformed JSON"),
    "unknown type": (json.dumps({"type": "refundz", "at": "2026-02-01T00:00:00+08:00"}), "type: unknown command"),
    "unknown field": (with_(RENEW, colour="red"), "colour: unknown field"),
    "missing field": (with_(RENEW, order=...), "order: missing required field"),
    "money as a number": (with_(RENEW, monthly_price=10), "monthly_price: money must be a JSON string"),
    "more than 2 decimals": (with_(RENEW, payment={"cash": "10.001"}), "payment.cash: '10.001' is not an amount"),
    "negative price": (with_(RENEW, monthly_price="-10.00"), "monthly_price: a negative amount"),
    "naive timestamp": (with_(RENEW, at="2026-02-01T00:00:00"), "at: '2026-02-01T00:00:00' has no offset"),
    "unknown instance": (with_(RENEW, instance="kec-404"), "instance: unknown instance 'kec-404'"),
    "reused order id": (with_(RENEW, order="o-1"), "order: order id 'o-1' is already used"),
    "mixed currencies": (with_(RENEW, currency="USD"), "currency: instance 'kec-1' is billed in CNY"),
    "reused id, other content": (with_(GOOD, monthly_price="11.00", payment={"cash": "132.00"}),
                                 "id: 'p1' was already recorded with other content"),
    "tenders do not add up": (with_(RENEW, payment={"cash": "9.00"}), "payment: payment tenders add up to 9.00"),
    "order before the purchase": (with_(RENEW, at="2025-12-01T00:00:00+08:00"), "at: an order cannot precede"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_line_is_reported_with_its_number_and_field_and_nothing_is_written(cli: CLI, tmp_path: Path, case):
    cli.ok("record", "-", input=json.dumps(GOOD) + "\n")
    before = cli.rows()
    bad, message = CASES[case]
    feed = tmp_path / "feed.jsonl"
    # a good line first: it must not be written either (all or nothing)
    feed.write_text(json.dumps({**RENEW, "order": "o-ok"}) + "\n" + bad + "\n")
    done = cli.run("record", str(feed))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"line 2: {message}"), done.stderr
    assert cli.rows() == before


def test_an_unreadable_feed_file_is_bad_input(real_cli: CLI):  # the console script's own status
    done = real_cli.run("record", "/nonexistent/feed.jsonl")
    assert done.returncode == 2 and "FEED.jsonl" in done.stderr


def test_the_same_order_id_twice_in_one_feed_is_bad_input(real_cli: CLI):  # a feed piped to a real process
    two = json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "id": "p2", "instance": "kec-2"}) + "\n"
    done = real_cli.run("record", "-", input=two)
    assert done.returncode == 2 and done.stderr.startswith("line 2: order:")
    assert real_cli.rows() == []


def test_record_reports_every_bad_line_and_writes_nothing(real_cli: CLI, tmp_path: Path):
    """Issue 25 item 8: every bad line, each ``line N: field: what``, then a summary; nothing written. Lines
    that are not valid commands are all listed first (the feed is not applied then)."""
    real_cli.ok("record", "-", input=json.dumps(GOOD) + "\n")
    before = real_cli.rows()
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join([json.dumps({**RENEW, "order": "o-ok"}), with_(RENEW, colour="red"), "",
                               '{"type": "renew", ', with_(RENEW, order=...)]) + "\n")
    done = real_cli.run("record", str(feed))
    assert done.returncode == 2, done.stdout + done.stderr
    errors = done.stderr.splitlines()
    assert len(errors) == 4, errors
    assert errors[0].startswith("line 2: colour: unknown field") and errors[1].startswith("line 4: malformed JSON")
    assert errors[2:] == ["line 5: order: missing required field", "3 bad lines; nothing was recorded"]
    assert real_cli.rows() == before


def test_record_reports_every_refused_line_each_judged_without_the_refused_ones(real_cli: CLI, tmp_path: Path):
    """Issue 25 item 8: well-formed lines the ledger refuses are all listed; a refused line is undone before
    the next is judged (line 4 reuses o-2 of line 3, which was refused, so o-2 is free: it is accepted), and
    nothing is written (the good lines neither)."""
    real_cli.ok("record", "-", input=json.dumps(GOOD) + "\n")
    before = real_cli.rows()
    lines = [json.dumps({**RENEW, "order": "o-ok"}), with_(RENEW, instance="kec-404"),
             with_(RENEW, payment={"cash": "9.00"}), with_(RENEW, order="o-2"), with_(RENEW, order="o-1"),
             with_(RENEW, order="o-2")]
    done = real_cli.run("record", "-", input="\n".join(lines) + "\n")
    assert done.returncode == 2, done.stdout + done.stderr
    errors = done.stderr.splitlines()
    assert [e.split(":")[:2] for e in errors[:-1]] == [
        ["line 2", " instance"], ["line 3", " payment"], ["line 5", " order"], ["line 6", " order"]], errors
    assert "unknown instance 'kec-404'" in errors[0] and "already used (by 'kec-1')" in errors[2]
    assert errors[-1] == "4 bad lines; nothing was recorded"
    assert real_cli.rows() == before


def test_record_lists_at_most_100_bad_lines(cli: CLI):
    """Issue 25 item 8: the first 100 bad lines, then says it stopped."""
    done = cli.run("record", "-", input="x\n" * 150)
    errors = done.stderr.splitlines()
    assert done.returncode == 2 and len(errors) == 101 and errors[99].startswith("line 100: malformed JSON")
    assert errors[-1] == "100 bad lines; stopped at the first 100, the lines after them were not checked; " \
                         "nothing was recorded"
    assert cli.rows() == []
