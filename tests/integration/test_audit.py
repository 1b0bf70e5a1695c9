"""Auditors' time travel (issue: bitemporal quotes, retractions, explained history, diff, visual timeline):
the worked example of README "For auditors", through the real CLI."""

import html
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from decimal import Decimal
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
    # recorded 2026-04-01T02:00:00Z, shown in Kingsoft's business time zone (+08:00) as every time people read
    assert "rests on Upgraded o-72 at 2026-04-01T09:00:00+08:00 (recorded 2026-04-01T10:00:00+08:00)" in out


def test_timeline_at_a_knowledge_time_K_T3(story: CLI):
    before = story.json("timeline", "kec-7", *AT, "--known-at", BEFORE)["orders"]
    after = story.json("timeline", "kec-7", *AT, "--known-at", AFTER)["orders"]
    assert [o["order"] for o in before] == ["o-71", "o-72"] and [o["order"] for o in after] == ["o-71"]


def test_the_text_timeline_shows_the_retraction_the_frozen_refund_and_the_release_K_L1_K_L3(story: CLI):
    text = story.ok("timeline", "kec-7", *AT)
    assert ("retracted: Upgraded o-72 (line a-2, at 2026-04-01T09:00:00+08:00, recorded 2026-04-01T10:00:00+08:00) "
            "by line a-3 recorded 2026-04-20T11:00:00+08:00: the upgrade was never provisioned (ticket OPS-311)"
            in text)
    frozen = story.json("history", "kec-7")["facts"][-1]["details"]["amount"]
    assert (f"refund rf-7 (self_service) requested at 2026-04-25T10:00:00+08:00, recorded 2026-04-25T10:30:00+08:00: "
            f"accepted, CNY {frozen} (frozen quote CNY {frozen})" in text)
    assert "released (K-L3) by refund rf-7 at 2026-04-25T10:00:00+08:00" in text
    assert "five-day window (K-F2): 2026-03-01T09:00:00+08:00 to 2026-03-06T09:00:00+08:00" in text
    before = story.ok("timeline", "kec-7", *AT, "--known-at", BEFORE)
    assert "retracted:" not in before and "released (K-L3)" not in before and "o-72" in before


@pytest.mark.parametrize("line, message", [
    ({"recorded_at": "2026-02-01T00:00:00+00:00"}, "recorded_at: 2026-02-01T00:00:00Z is before"),  # UTC, said so
    ({"recorded_at": "2199-01-01T08:00:00+08:00"}, "recorded_at: 2199-01-01T00:00:00Z lies in the future"),
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
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CST = timezone(timedelta(hours=8))  # Kingsoft's calendar_tz: the page shows every time in it


def in_chromium(page: Path, profile: Path, png: Path) -> dict:
    """What headless Chromium laid out (the page's data-rendered report), and a screenshot of it."""
    flags = [*FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    rendered = dom.split('data-rendered="', 1)[1].split('"', 1)[0]
    subprocess.run([CHROMIUM, *flags, f"--screenshot={png}", "--window-size=1150,520", page.as_uri()],
                   capture_output=True, timeout=120)
    assert png.stat().st_size > 5000  # kept out of git (tmp_path, *.png ignored)
    return json.loads(html.unescape(rendered))


def local(t: str) -> str:
    """How the page writes a time: in the policy's zone, to the minute."""
    return datetime.fromisoformat(t).astimezone(CST).strftime("%Y-%m-%d %H:%M")


def readable(drawn: dict) -> None:
    """No text covers another or leaves the drawing; ticks sit on month starts of a linear axis."""
    assert drawn["overlapping"] == [] and drawn["clipped"] == []
    ticks = drawn["ticks"]
    times = [datetime.fromisoformat(t["t"]) for t in ticks]
    assert len(ticks) >= 2
    assert all((t.day, t.hour, t.minute, t.utcoffset()) == (1, 0, 0, timedelta(hours=8)) for t in times)
    assert [t["label"] for t in ticks] == [f"{t:%Y-%m}" for t in times]
    px_per_s = [(b["x"] - a["x"]) / (tb - ta).total_seconds() for a, b, ta, tb in
                zip(ticks, ticks[1:], times, times[1:], strict=False)]
    assert max(px_per_s) - min(px_per_s) < 2 / (86400 * 28)  # the same scale between every two ticks (< 2 px)


def x_of(drawn: dict, t: datetime) -> float:
    """Where the page's own ticks put business time ``t``."""
    (a, ta), (b, tb) = [(k["x"], datetime.fromisoformat(k["t"])) for k in (drawn["ticks"][0], drawn["ticks"][-1])]
    return a + (b - a) * ((t - ta) / (tb - ta))


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: run through `make test` (scripts/test-env)")
def test_the_html_timeline_renders_in_headless_chromium_K_S3_K_L3_K_F2(tmp_path: Path):
    cli = CLI(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    cli.ok("record", "--preserve-recorded-at", str(STORY))
    feed = [
        {"type": "purchase", "id": "b-1", "at": "2026-01-01T00:00:00+08:00", "instance": "kec-8",
         "account": "globex", "product": "KEC", "order": "o-81", "months": 1, "monthly_price": "30.00",
         "payment": {"cash": "30.00"}},
        {"type": "renew", "at": "2026-01-10T00:00:00+08:00", "instance": "kec-8", "order": "o-82", "months": 1,
         "monthly_price": "30.00", "payment": {"cash": "30.00"}},
        {"type": "downgrade", "at": "2026-01-15T00:00:00+08:00", "instance": "kec-8", "order": "o-83",
         "monthly_price": "15.00", "credit": "10.00"},
        {"type": "request_refund", "at": "2026-01-20T00:00:00+08:00", "instance": "kec-8", "refund": "rf-8"},
    ]
    cli.ok("record", "-", input="\n".join(json.dumps(x) for x in feed) + "\n")
    story = [json.loads(line) for line in STORY.read_text().splitlines()]
    purchase, upgrade, retract, request = story
    drawn = {}
    for instance, at, known_at in (("kec-7", *AT[1:], "2026-04-26T00:00:00Z"),
                                   ("kec-8", "2026-01-20T00:00:00+08:00", None)):
        page = tmp_path / f"{instance}.html"
        cli.ok("timeline", instance, "--at", at, *(["--known-at", known_at] if known_at else []),
               "--html", str(page))
        assert "http" not in page.read_text().replace("http://www.w3.org/2000/svg", "")  # self-contained
        drawn[instance] = in_chromium(page, tmp_path / "profile", tmp_path / f"{instance}.png")
        readable(drawn[instance])

    k7 = drawn["kec-7"]
    assert {c: k7[c] for c in ("order", "after-release", "retracted", "refund", "release", "window", "at",
                               "known-at", "overlap-rule")} == {
        "order": 1, "after-release": 1, "retracted": 1, "refund": 1, "release": 1, "window": 1, "at": 1,
        "known-at": 1, "overlap-rule": 0}
    frozen = cli.json("history", "kec-7")["facts"][-1]["details"]["amount"]  # K-L1: the frozen quote
    opens = datetime.fromisoformat(purchase["at"])
    assert set(k7["labels"]) == {
        f"five-day window (K-F2) until {local((opens + timedelta(hours=120)).isoformat())}",
        f"--at {local(AT[1])}", "--known-at 2026-04-26 08:00",
        f"rf-7 accepted: CNY {frozen} (frozen quote)", "released (K-L3) by rf-7"}
    paid = sum(Decimal(v) for v in purchase["payment"].values())  # cash + cloud ticket (K-M1)
    caption, retracted = k7["captions"]
    assert caption.startswith(f"paid CNY {paid:.2f} · {local(purchase['at'])} → ")
    assert caption.endswith(f"released {local(request['at'])}")
    assert retracted == (f"line {upgrade['id']}, retracted by {retract['id']} (recorded "
                         f"{local(retract['recorded_at'])}): {retract['reason']}")
    [bar] = k7["bars"]
    [release] = k7["release_x"]
    assert abs(bar["right"] - release) < 1  # K-L3: the bar stops at the release ...
    assert abs(release - x_of(k7, datetime.fromisoformat(request["at"]))) < 1.5  # ... which is the request's time
    assert abs(bar["left"] - x_of(k7, opens)) < 1.5

    k8 = drawn["kec-8"]
    assert (k8["order"], k8["overlap-rule"], k8["refund-denied"], k8["release"], k8["after-release"]) == (3, 1, 1, 0, 0)
    assert "K-S3: downgrade o-83 overlaps renewal o-82" in k8["labels"]  # and not o-81 with o-83: ordinary
    [denied] = [label for label in k8["labels"] if label.startswith("rf-8 denied (")]
    assert "K-S3" in denied
    assert [c.split(" · ")[0] for c in k8["captions"]] == ["paid CNY 30.00", "paid CNY 30.00", "credit CNY 10.00"]
    bars = {b["order"]: b for b in k8["bars"]}
    assert abs(bars["o-82"]["left"] - bars["o-81"]["right"]) < 1  # K-T3: the renewal starts at the expiry
