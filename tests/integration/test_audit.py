"""Auditors' time travel (issue: bitemporal quotes, retractions, explained history, diff, visual timeline):
the worked example of README "For auditors", through the real CLI."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import CLI, ROOT

STORY = ROOT / "examples" / "audit-story.jsonl"
AT = ["--at", "2026-04-15T09:00:00+08:00"]
BEFORE, AFTER = "2026-04-10T00:00:00Z", "2026-04-21T00:00:00Z"  # the retraction was recorded 2026-04-20T03:00Z


@pytest.fixture
def story(cli: CLI) -> CLI:
    assert "recorded 4" in cli.ok("record", "--preserve-recorded-at", str(STORY))
    return cli


def test_quotes_before_and_after_a_retraction_differ_as_the_facts_say_K_A1_K_U1(story: CLI):
    before = story.json("quote", "kec-7", *AT, "--known-at", BEFORE)
    after = story.json("quote", "kec-7", *AT, "--known-at", AFTER)
    # K-A1: 960 - 100/30 x 45 = 810.00; K-U1 (known before the retraction): 548.33/329 x (329 - 14) = 525.00
    assert [(ln["order"], ln["refund"]) for ln in before["lines"]] == [("o-71", "810.00"), ("o-72", "525.00")]
    assert (before["amount"], after["amount"]) == ("1335.00", "810.00")
    assert (before["known_at"], after["known_at"]) == ("2026-04-10T00:00:00+00:00", "2026-04-21T00:00:00+00:00")


def test_diff_names_the_retraction_that_changed_the_quote(story: CLI):
    d = json.loads(story.ok("diff", "kec-7", *AT, "--known-at", BEFORE, "--vs", AFTER, "--json"))
    assert d["changed"] == [{"field": "amount", "from": "1335.00", "to": "810.00"}]
    assert [(ln["order"], ln["from"]["refund"], ln["to"]) for ln in d["lines"]] == [("o-72", "525.00", None)]
    assert [(c["fact"], c["id"], c["target"]) for c in d["caused_by"]] == [("Retracted", "a-3", "a-2")]
    assert "never provisioned" in d["caused_by"][0]["reason"]
    human = story.ok("diff", "kec-7", *AT, "--known-at", BEFORE, "--vs", AFTER)
    assert "amount: 1335.00 -> 810.00" in human and "Retracted of line a-2" in human


def test_history_keeps_the_retracted_fact_linked_to_its_retraction(story: CLI):
    facts = story.json("history", "kec-7")["facts"]
    assert [f["fact"] for f in facts] == ["Purchased", "Upgraded", "Retracted", "RefundApplied"]
    assert facts[1]["retracted"] == {"by": "a-3", "version": facts[2]["version"],
                                     "recorded_at": "2026-04-20T03:00:00+00:00",
                                     "reason": "the upgrade was never provisioned (ticket OPS-311)"}
    early = story.json("history", "kec-7", "--known-at", BEFORE)["facts"]
    assert [f["fact"] for f in early] == ["Purchased", "Upgraded"] and "retracted" not in early[1]


def test_the_frozen_quote_is_what_was_known_when_the_refund_was_applied_K_L1(story: CLI):
    applied = story.json("history", "kec-7")["facts"][-1]["details"]
    assert (applied["amount"], applied["quote"]["known_at"]) == ("773.33", "2026-04-25T02:30:00+00:00")
    assert [ln["order"] for ln in applied["quote"]["lines"]] == ["o-71"]  # the upgrade was already retracted


def test_explain_shows_formulas_and_the_facts_behind_each_reason(story: CLI):
    out = story.ok("quote", "kec-7", *AT, "--known-at", BEFORE, "--explain")
    assert "kec-7 o-71 [K-A1]: 960.00 − (100/30 × 30 + 100/30 × 15) = 810.00" in out
    assert "kec-7 o-72 [K-U1]: 548.33/329 × (329 − 14) = 525.00" in out
    assert "rests on Upgraded o-72 at 2026-04-01T09:00:00+08:00 (recorded 2026-04-01T02:00:00+00:00)" in out


def test_timeline_at_a_knowledge_time_K_T3(story: CLI):
    before = story.json("timeline", "kec-7", *AT, "--known-at", BEFORE)["orders"]
    after = story.json("timeline", "kec-7", *AT, "--known-at", AFTER)["orders"]
    assert [o["order"] for o in before] == ["o-71", "o-72"] and [o["order"] for o in after] == ["o-71"]


@pytest.mark.parametrize("line, message", [
    ({"recorded_at": "2026-02-01T00:00:00+00:00"}, "recorded_at: 2026-02-01T00:00:00+00:00 is before"),
    ({"recorded_at": "2199-01-01T00:00:00+00:00"}, "recorded_at: 2199-01-01T00:00:00+00:00 lies in the future"),
    ({"recorded_at": None}, "recorded_at: missing required field"),
])
def test_preserved_recorded_times_must_not_decrease_nor_lie_in_the_future(story: CLI, line, message):
    renew = {"type": "renew", "at": "2026-04-02T00:00:00+08:00", "instance": "kec-7", "order": "o-79",
             "months": 1, "monthly_price": "100.00", "payment": {"cash": "100.00"}, **line}
    before = story.rows()
    done = story.run("record", "--preserve-recorded-at", "-",
                     input=json.dumps({k: v for k, v in renew.items() if v is not None}) + "\n")
    assert done.returncode == 2 and done.stderr.startswith(f"line 1: {message}"), done.stderr
    assert story.rows() == before


def test_recorded_at_without_the_flag_is_bad_input(cli: CLI):
    done = cli.run("record", str(STORY))
    assert done.returncode == 2 and done.stderr.startswith("line 1: recorded_at: only allowed with")


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: run through `make test` (scripts/test-env)")
def test_the_html_timeline_renders_in_headless_chromium_K_S3(tmp_path: Path):
    cli = CLI(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    cli.ok("record", "--preserve-recorded-at", str(STORY))
    cli.ok("record", "-", input="\n".join(json.dumps(x) for x in [
        {"type": "purchase", "id": "b-1", "at": "2026-01-01T00:00:00+08:00", "instance": "kec-8",
         "account": "globex", "product": "KEC", "order": "o-81", "months": 1, "monthly_price": "30.00",
         "payment": {"cash": "30.00"}},
        {"type": "renew", "at": "2026-01-10T00:00:00+08:00", "instance": "kec-8", "order": "o-82", "months": 1,
         "monthly_price": "30.00", "payment": {"cash": "30.00"}},
        {"type": "downgrade", "at": "2026-01-15T00:00:00+08:00", "instance": "kec-8", "order": "o-83",
         "monthly_price": "15.00", "credit": "10.00"},
        {"type": "request_refund", "at": "2026-01-20T00:00:00+08:00", "instance": "kec-8", "refund": "rf-8"},
    ]) + "\n")
    drawn = {}
    for instance in ("kec-7", "kec-8"):
        page = tmp_path / f"{instance}.html"
        cli.ok("timeline", instance, "--at", "2026-01-20T00:00:00+08:00", "--html", str(page))
        assert "http" not in page.read_text().replace("http://www.w3.org/2000/svg", "")  # self-contained
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}"]
        dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                             timeout=120).stdout
        rendered = dom.split('data-rendered="', 1)[1].split('"', 1)[0].replace("&quot;", '"')
        drawn[instance] = json.loads(rendered)
        subprocess.run([CHROMIUM, *flags, f"--screenshot={tmp_path / instance}.png", "--window-size=1050,500",
                        page.as_uri()], capture_output=True, timeout=120)
        assert (tmp_path / f"{instance}.png").stat().st_size > 5000  # kept out of git (tmp_path, *.png ignored)
    assert drawn["kec-7"]["order"] == 1 and drawn["kec-7"]["retracted"] == 1 and drawn["kec-7"]["refund"] == 1
    assert drawn["kec-7"]["five-day-window"] == 1 and drawn["kec-7"]["at"] == 1
    assert drawn["kec-8"]["order"] == 3 and drawn["kec-8"]["overlap-k-s3"] == 1
    assert drawn["kec-8"]["refund-denied"] == 1  # K-S3 denies it
