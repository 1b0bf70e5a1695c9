"""No output destroys anything, and untrusted text stays inert (hardening).

Outputs refuse the ledger's own database (even with --force) and any existing file without --force, name the
option, exit 2 and write nothing; files appear complete or not at all. Ids that look like Rich markup, HTML or
a spreadsheet formula are shown as they are: in tables, in the HTML timeline, and in CSV (formula cells get a
leading apostrophe; plain numbers, negative ones included, stay numbers).
"""

import csv
import json
from pathlib import Path

import pytest

from adapters.formats import output
from tests.feedkit import day, jsonl, purchase
from tests.integration.conftest import CLI

PERIOD = ["--from", "2025-01-01T00:00:00Z", "--to", "2027-01-01T00:00:00Z"]
MARKUP = "kec-[bold red]x[reverse]"  # no "/": an instance id may not hold one (docs/feed.md)
FORMULA = '=HYPERLINK("http://evil.example","x")'
HTML = "<img src=x onerror=alert(1)>"


@pytest.fixture
def odd(cli: CLI) -> CLI:
    cli.ok("record", "-", input=jsonl(purchase(MARKUP, order="o-markup"), purchase(HTML, order="o-html"),
                                      purchase("kec-f", order=FORMULA)))
    return cli


def test_outputs_refuse_the_ledgers_own_database_even_with_force(odd: CLI, tmp_path: Path):
    if not odd.url.startswith("sqlite"):
        pytest.skip("a server database has no file to overwrite")
    db = odd.url.removeprefix("sqlite:///")
    before = odd.rows()
    for args in (["timeline", "kec-f", "--html", db], ["export", "orders", *PERIOD, "--out", db, "--force"],
                 ["export", "orders", *PERIOD, "--out", db + "-wal", "--force"]):
        done = odd.run(*args)
        assert done.returncode == 2 and "ledger's own database" in done.stderr, done.stderr
    assert odd.rows() == before and "ok:" in odd.ok("verify")


def test_an_existing_file_is_replaced_only_with_force(odd: CLI, tmp_path: Path):
    target = tmp_path / "orders.csv"
    target.write_text("keep me\n")
    done = odd.run("export", "orders", *PERIOD, "--out", str(target))
    assert done.returncode == 2 and "--out" in done.stderr and "--force" in done.stderr
    assert target.read_text() == "keep me\n"
    odd.ok("export", "orders", *PERIOD, "--out", str(target), "--force")
    assert [r["instance"] for r in csv.DictReader(target.open())] == [MARKUP, HTML, "kec-f"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []  # no temporary left


def test_a_missing_directory_is_bad_input_naming_the_option(odd: CLI, tmp_path: Path):
    for args in (["export", "orders", *PERIOD, "--out", str(tmp_path / "no" / "x.csv")],
                 ["timeline", "kec-f", "--html", str(tmp_path / "no" / "x.html")]):
        done = odd.run(*args)
        assert done.returncode == 2 and "does not exist" in done.stderr and "Traceback" not in done.stderr


def test_csv_cells_that_a_spreadsheet_would_execute_are_neutralised(odd: CLI, tmp_path: Path):
    target = tmp_path / "orders.csv"
    odd.ok("export", "orders", *PERIOD, "--out", str(target))
    rows = {r["instance"]: r for r in csv.DictReader(target.open())}
    assert rows["kec-f"]["order"] == "'" + FORMULA
    assert rows[MARKUP]["paid"] == "120.00"
    assert output.csv_cell("-5.00") == "-5.00" and output.csv_cell("-x") == "'-x" and output.csv_cell("@x") == "'@x"


def test_markup_in_ids_is_shown_as_it_is(odd: CLI):
    listing = odd.ok("instances")
    assert MARKUP in listing and HTML in listing
    assert MARKUP in odd.ok("history", MARKUP)
    assert MARKUP in [r["instance"] for r in json.loads(odd.ok("instances", "--json"))["instances"]]


def test_the_html_timeline_escapes_what_it_draws(odd: CLI, tmp_path: Path):
    page = tmp_path / "t.html"
    odd.ok("timeline", HTML, "--html", str(page), "--at", day(1).isoformat())
    text = page.read_text()
    assert HTML not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_control_characters_reach_no_terminal(capsys):
    console = output.SafeConsole(highlight=False, markup=False, width=200)
    table = output.SafeTable(title="t\x1b[2J")
    table.add_column("id")
    table.add_row("a\x1b]0;owned\x07b")
    console.print(table)
    console.print("line \x9b31m [red]x[/]")
    console.print("reason :smile: :cross_mark:")  # emoji codes in feed text stay text
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "\\x1b]0;owned\\x07b" in shown and "[red]x[/]" in shown
    assert "reason :smile: :cross_mark:" in shown


def test_a_failed_write_leaves_the_old_file_and_no_part(tmp_path: Path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), output.replacing(str(target)) as temp:
        Path(temp).write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_times_for_people_are_cut_to_the_second_and_shown_in_the_answers_zone():
    """`output.when` formats one time field in the answer's zone: to the second (exact: with non-zero
    microseconds), UTC written Z when no business time zone applies, the end of time as stored."""
    kingsoft = output.calendar_tz("kingsoft-2021-05-27")
    assert output.when("2026-04-01T02:00:00.999999Z", kingsoft) == "2026-04-01T10:00:00+08:00"
    assert output.when("2026-04-01T02:00:00.5Z", kingsoft, exact=True) == "2026-04-01T10:00:00.500000+08:00"
    assert output.when("2026-04-01T02:00:00Z", kingsoft, exact=True) == "2026-04-01T10:00:00+08:00"  # no .000000
    assert output.when("2026-04-01T08:00:00+08:00", output.calendar_tz(product="KorPro")) == "2026-04-01T00:00:00+00:00"
    assert output.when("2026-04-01T08:00:00+08:00", None) == "2026-04-01T00:00:00Z"  # no zone: UTC, said so
    assert output.when("9999-12-31T23:59:59.999999+00:00", kingsoft) == "9999-12-31T23:59:59+00:00"  # beyond: as stored
    assert output.when(None, kingsoft) == output.when("", kingsoft) == ""
    assert output.calendar_tz("korpro-2026-03-20") == "+00:00" and output.calendar_tz("nobody") is None


def test_one_zone_per_answer_over_rows_of_several_policies():
    assert output.one_zone(["+08:00", "+08:00"]) == ("+08:00", "times in +08:00, the business time zone of the "
                                                               "policies concerned")
    zone, note = output.one_zone(["+08:00", "+00:00"])
    assert zone is None and note == ("times in UTC: the policies concerned have different business time zones "
                                     "(+00:00, +08:00)")
    assert output.one_zone([None])[0] is None
    assert output.one_zone([])[1] == "times in UTC: no business time zone applies"
