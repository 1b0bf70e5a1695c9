"""What-if replays through the real CLI: nothing is written; expected figures are worked out here."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.conftest import CLI, ROOT

CST = "+08:00"


def day(n: int) -> str:
    return f"2026-01-{1 + n:02d}T00:00:00{CST}" if n < 31 else f"2026-02-{n - 30:02d}T00:00:00{CST}"


KINGSOFT = [
    {"type": "purchase", "at": day(0), "instance": "kec-1", "account": "acme", "product": "KEC", "order": "o-1",
     "months": 12, "monthly_price": "30.00", "payment": {"cash": "300.00", "cloud_ticket": "60.00"}},
    {"type": "purchase", "at": day(0), "instance": "db-2", "account": "acme", "product": "MongoDB", "order": "o-2",
     "months": 1, "monthly_price": "30.00", "payment": {"cash": "20.00", "cloud_ticket": "10.00"}},
    {"type": "request_refund", "at": day(10), "instance": "kec-1", "refund": "r-1"},
    {"type": "request_refund", "at": day(3), "instance": "db-2", "refund": "r-2"},
]
KORPRO = [
    {"type": "subscribe", "at": "2026-01-05T00:00:00Z", "instance": "kp-1", "account": "initech",
     "plan": "performance", "estimated_monthly_savings": "10000.00"},
    {"type": "charge", "at": "2026-01-05T00:00:00Z", "instance": "kp-1", "invoice": "inv-1", "amount": "2000.00",
     "period_start": "2026-01-05T00:00:00Z", "period_end": "2026-02-05T00:00:00Z"},
    {"type": "report_savings", "at": "2026-02-06T00:00:00Z", "instance": "kp-1", "invoice": "inv-1",
     "actual_savings": "4000.00"},
    {"type": "post_policy", "at": "2026-06-01T00:00:00Z", "policy": "korpro", "version": "2026-06",
     "parameters": {"performance_rate": "0.25"}},
    {"type": "request_refund", "at": "2026-02-10T00:00:00Z", "instance": "kp-1", "refund": "r-3",
     "reason": "savings_shortfall", "email": "ap@initech.example", "invoice": "inv-1", "explanation": "low"},
]


@pytest.fixture
def books(cli: CLI) -> CLI:
    cli.ok("record", "-", input="\n".join(json.dumps(x) for x in KINGSOFT + KORPRO) + "\n")
    return cli


def test_ledger_wide_parameter_overrides_change_every_refund_as_the_formulas_say(books: CLI, tmp_path: Path):
    before = books.rows()
    done = books.json("what-if", "--set", "refundable_tenders=cash", "--set", "performance_rate=0.25")
    assert books.rows() == before  # nothing written
    by = {r["refund"]: r for r in done["requests"]}
    daily = Decimal("30.00") / 30
    # r-1: self-service (K-F2 closed), 10 days used. Today: cash + tickets 360 - 10 x 1.00; scenario: cash only
    assert (by["r-1"]["baseline"], by["r-1"]["scenario"]) == (str(360 - 10 * daily), str(300 - 10 * daily))
    # r-2: MongoDB has no five-day refund: self-service, 3 days used
    assert (by["r-2"]["baseline"], by["r-2"]["scenario"]) == (str(30 - 3 * daily), str(20 - 3 * daily))
    # r-3: P-G2 re-priced on actual savings: fee - rate x actual
    assert (by["r-3"]["baseline"], by["r-3"]["scenario"]) == (
        str(Decimal("2000.00") - Decimal("0.20") * 4000), str(Decimal("2000.00") - Decimal("0.25") * 4000))
    cny = (360 - 10 * daily) + (30 - 3 * daily), (300 - 10 * daily) + (20 - 3 * daily)
    assert done["totals"]["CNY"] == {"baseline": str(cny[0]), "scenario": str(cny[1]),
                                     "difference": str(cny[1] - cny[0]), "judged": 2, "changed": 2}  # r-1, r-2
    assert done["totals"]["USD"]["difference"] == "-200.00"
    only_acme = books.json("what-if", "--set", "refundable_tenders=cash", "--account", "acme")
    assert sorted(r["refund"] for r in only_acme["requests"]) == ["r-1", "r-2"]


def test_a_posted_policy_version_can_judge_earlier_requests_P_V1(books: CLI):
    done = books.json("what-if", "--policy-version", "2026-06")
    by = {r["refund"]: r for r in done["requests"]}
    assert (by["r-3"]["baseline"], by["r-3"]["scenario"]) == ("1200.00", "1000.00")
    assert by["r-1"]["difference"] == "0.00"


def test_one_instance_with_facts_dropped_or_added(books: CLI, tmp_path: Path):
    books.ok("record", "-", input="\n".join(json.dumps(x) for x in [
        {"type": "purchase", "at": day(0), "instance": "kec-9", "account": "acme", "product": "KEC", "order": "o-9",
         "months": 12, "monthly_price": "10.00", "payment": {"cash": "120.00"}},
        {"type": "upgrade", "id": "up-9", "at": day(30), "instance": "kec-9", "order": "u-9", "monthly_price": "20.00",
         "payment": {"cash": "110.00"}}]) + "\n")
    before = books.rows()
    at = ["--at", day(40)]
    # today: K-A1 120 - 10/30 x 40 = 106.67; K-U1 110/330 x (330 - 10) = 106.67 -> 213.34
    dropped = books.json("what-if", "kec-9", *at, "--drop", "up-9")
    assert (dropped["today"]["amount"], dropped["scenario"]["amount"], dropped["difference"]) == (
        "213.34", "106.67", "-106.67")
    renewal = tmp_path / "renewal.jsonl"
    renewal.write_text(json.dumps({"type": "renew", "at": day(35), "instance": "kec-9", "order": "r-9", "months": 1,
                                   "monthly_price": "20.00", "payment": {"cash": "20.00"}}) + "\n")
    added = books.json("what-if", "kec-9", *at, "--add", str(renewal))
    assert (added["scenario"]["amount"], added["difference"]) == ("233.34", "20.00")  # K-A2: not in effect
    assert books.rows() == before
    bad = books.run("what-if", "kec-9", *at, "--drop", "no-such-line")
    assert (bad.returncode, bad.stderr) == (2, "--drop: no-such-line: no line with this id was recorded\n")


# ----- issue 25 item 2: the baseline is the ledger as recorded, judged by its own parameters -----

POSTED = {"type": "post_policy", "at": "2026-06-01T00:00:00Z", "policy": "korpro", "version": "2026-06",
          "parameters": {"performance_rate": "0.25"}}  # P-V1: posted after the requests below
KP = ("kp-1", "2026-03-10T00:00:00Z", "savings_shortfall")  # P-G2: 2000.00 - 0.20 x 4000.00 = 1200.00
KEC = ("kec-2", "2027-04-06T00:00:00+08:00", "auto")


@pytest.fixture
def examples(cli: CLI) -> CLI:
    for example in ("seed-examples.jsonl", "korpro-examples.jsonl"):
        cli.ok("record", str(ROOT / "examples" / example))
    cli.ok("record", "-", input=json.dumps(POSTED) + "\n")
    return cli


def plain(cli: CLI, instance: str, at: str, mode: str = "auto") -> str:
    return cli.json("quote", instance, "--at", at, "--mode", mode)["amount"]


def test_one_instances_baseline_is_the_plain_quote_under_every_scenario_option(examples: CLI, tmp_path: Path):
    """Only the scenario gets --set, --add, --drop and --policy-version (the baseline was judged with --set:
    kp-1's 800.00 where the quote is 1200.00)."""
    renewal = tmp_path / "renewal.jsonl"
    renewal.write_text(json.dumps({"type": "renew", "at": "2027-04-03T00:00:00+08:00", "instance": "kec-2",
                                   "order": "o-9", "months": 1, "monthly_price": "20.00",
                                   "payment": {"cash": "20.00"}}) + "\n")
    assert plain(examples, *KP) == "1200.00"
    before = examples.rows()
    cases = [  # (instance, at, mode), options, the scenario's amount (None: worked out as differing)
        (KP, ["--set", "performance_rate=0.3"], "800.00"),  # 2000.00 - 0.3 x 4000.00
        (KP, ["--policy-version", "2026-06"], "1000.00"),  # 2000.00 - 0.25 x 4000.00 (P-V1)
        (KP, ["--policy-version", "2026-06", "--set", "performance_rate=0.3"], "800.00"),  # --set on top
        (KEC, ["--set", "refundable_tenders=cloud_ticket"], "0.00"),  # K-M1: cash is not refundable
        (KEC, ["--add", str(renewal)], None),
        (KEC, ["--drop", "seed-3"], None),
        (KEC, ["--add", str(renewal), "--drop", "seed-3", "--set", "refundable_tenders=cloud_ticket"], "0.00"),
    ]
    for (instance, at, mode), options, expected in cases:
        done = examples.json("what-if", instance, "--at", at, "--mode", mode, *options)
        assert done["baseline"]["amount"] == plain(examples, instance, at, mode), options
        assert done["today"] == done["baseline"]
        if expected is not None:
            assert done["scenario"]["amount"] == expected, options
        assert done["scenario"]["amount"] != done["baseline"]["amount"], options
        assert Decimal(done["difference"]) == Decimal(done["scenario"]["amount"]) - Decimal(done["baseline"]["amount"])
    assert examples.rows() == before


def test_the_ledger_wide_baselines_are_the_recorded_quotes_under_every_scenario_option(examples: CLI):
    """Recorded requests judged again: each baseline is the quote frozen into its application (K-L1)."""
    examples.ok("record", "-", input=json.dumps({
        "type": "request_refund", "at": KP[1], "instance": "kp-1", "refund": "rf-kp-1", "reason": KP[2],
        "email": "ap@initech.example", "invoice": "inv-101", "explanation": "low savings"}) + "\n")
    frozen = {r["refund"]: r["amount"] for r in examples.json("refunds")["refunds"]}
    assert frozen == {"rf-kp-1": "1200.00", "rf-kp-2": "50.00"}
    at = "2026-03-11T00:00:00Z"  # every instance's exposure at T: each baseline is the instance's plain quote
    plain_at = {"kec-1": plain(examples, "kec-1", at), "kp-1": plain(examples, "kp-1", at, KP[2]),
                "kp-2": plain(examples, "kp-2", at, KP[2])}
    for options, scenario in ((["--set", "performance_rate=0.3"], "800.00"),
                              (["--policy-version", "2026-06"], "1000.00"),
                              (["--set", "refundable_tenders=cloud_ticket"], "1200.00")):
        again = examples.json("what-if", *options)
        assert {r["refund"]: r["baseline"] for r in again["requests"]} == frozen, options
        assert {r["refund"]: r["scenario"] for r in again["requests"]}["rf-kp-1"] == scenario, options
        exposed = examples.json("what-if", "--at", at, "--mode", KP[2], "--all", *options)
        assert {r["instance"]: r["baseline"] for r in exposed["instances"]} == plain_at, options


# ----- issue 25 item 4: an error about a scenario names the user's option and value -----

def test_a_refused_scenario_names_the_option_and_the_users_value_never_a_line_they_did_not_write(
        examples: CLI, tmp_path: Path):
    at = ["--at", "2027-04-06T00:00:00+08:00"]
    once = examples.json("what-if", "kec-2", *at, "--drop", "seed-3")
    twice = examples.json("what-if", "kec-2", *at, "--drop", "seed-3", "--drop", "seed-3")  # dropped, once
    assert twice["scenario"] == once["scenario"] and once["difference"] != "0.00"
    examples.ok("record", "-", input=json.dumps({"type": "retract", "id": "a-3", "at": "2027-04-02T00:00:00+08:00",
                                                 "target": "seed-3", "reason": "entered twice"}) + "\n")
    before = examples.rows()
    bad = tmp_path / "bad.jsonl"  # line 2 blank: line 3 is the third line of the file
    bad.write_text("\n".join(json.dumps({"type": "renew", "at": "2027-04-03T00:00:00+08:00", "instance": "kec-2",
                                         "order": f"o-{n}", "months": 1, "monthly_price": "20.00",
                                         "payment": {"cash": cash}}) if cash else "" for n, cash in
                             ((1, "20.00"), (2, None), (3, "-20.00"))) + "\n")
    for options, message in [
        (["--drop", "a-3"], "--drop: a-3: a retraction cannot be retracted; record the fact again instead"),
        (["--drop", "seed-3"], "--drop: seed-3: line 'seed-3' is already retracted"),  # by a-3
        (["--drop", "seed-1"], "--drop: seed-1: the line is a fact about kec-1, not about kec-2"),
        (["--drop", "kp-1-sub"], "--drop: kp-1-sub: the line is a fact about kp-1, not about kec-2"),
        (["--drop", "nope"], "--drop: nope: no line with this id was recorded"),
        (["--add", str(bad)], "--add: line 3: payment.cash: a negative amount (-20.00) makes no sense here"),
    ]:
        done = examples.run("what-if", "kec-2", *at, *options)
        assert (done.returncode, done.stderr) == (2, message + "\n"), options
    assert examples.rows() == before


# ----- issue 25 item 3: every instance's refund exposure at a time -----

def test_every_instances_exposure_at_T_before_and_after_the_scenario_with_totals_per_currency_policy_product(
        examples: CLI, tmp_path: Path):
    """``what-if --at T`` without INSTANCE: every instance open at T (kec-2, opened in 2027, is not), whether or
    not a refund was requested, judged as if its customer asked at T; totals per (currency, policy, product)."""
    before = examples.rows()
    at, kp = "2026-03-10T00:00:00Z", ["--mode", "savings_shortfall"]
    x = examples.json("what-if", "--at", at, *kp, "--set", "performance_rate=0.3", "--all")
    rows = {r["instance"]: r for r in x["instances"]}
    assert sorted(rows) == ["kec-1", "kp-1", "kp-2"]  # no recorded request among them: exposure, not requests
    assert (rows["kp-1"]["baseline"], rows["kp-1"]["scenario"], rows["kp-1"]["difference"]) == (
        "1200.00", "800.00", "-400.00")  # P-G2: 2000.00 - 0.2 (0.3) x 4000.00
    assert rows["kec-1"]["baseline"] == rows["kec-1"]["scenario"] == plain(examples, "kec-1", at)  # no KorPro rate
    assert {r["mode"] for r in rows.values()} == {"auto", "savings_shortfall"}  # --mode: KorPro's; Kingsoft auto
    for t in x["totals"]:
        mine = [r for r in rows.values() if (r["currency"], r["policy"], r["product"]) ==
                (t["currency"], t["policy"], t["product"])]
        assert t["instances"] == len(mine) and t["unjudged"] == 0
        for side in ("baseline", "scenario"):
            assert Decimal(t[side]) == sum(Decimal(r[side]) for r in mine)
    assert [(t["currency"], t["product"], t["changed"]) for t in x["totals"]] == [("CNY", "KEC", 0),
                                                                                ("USD", "KorPro", 1)]
    changed = examples.json("what-if", "--at", at, *kp, "--set", "performance_rate=0.3")  # without --all
    assert [r["instance"] for r in changed["instances"]] == ["kp-1"] and changed["totals"] == x["totals"]
    table = examples.ok("what-if", "--at", at, *kp, "--set", "performance_rate=0.3")
    assert "kp-1" in table and "USD korpro KorPro: 2 instance(s) judged, 1 changed" in table
    assert "exposure USD 1200.00, scenario USD 800.00, difference USD -400.00" in " ".join(table.split())
    acme = examples.json("what-if", "--at", at, "--account", "acme", "--all")
    assert [r["instance"] for r in acme["instances"]] == ["kec-1"]
    # KorPro judges a request by its reason (P-R1): without --mode its instances are counted as not judged
    auto = examples.json("what-if", "--at", at, "--all")
    korpro = next(t for t in auto["totals"] if t["product"] == "KorPro")
    assert (korpro["instances"], korpro["unjudged"]) == (0, 2) and "reason" in korpro["unjudged_because"]
    csv = tmp_path / "exposure.csv"
    examples.ok("what-if", "--at", at, *kp, "--set", "performance_rate=0.3", "--csv", str(csv))
    assert csv.read_text().splitlines()[0] == ("instance,account,policy,product,currency,mode,baseline,scenario,"
                                               "difference,error")
    assert len(csv.read_text().splitlines()) == 4  # every instance, as --all
    for options, message in [
        (["--mode", "savings_shortfall", "--mode", "outage"], "--mode: savings_shortfall and outage are both "
                                                             "modes of korpro: give at most one per policy"),
        (["--mode", "sometimes"], "--mode: 'sometimes' is not one of"),
        (["--drop", "seed-1"], "--drop: facts are added or left out in one instance's scenario: give INSTANCE"),
    ]:
        done = examples.run("what-if", "--at", at, *options)
        assert done.returncode == 2 and done.stderr.startswith(message), (options, done.stderr)
    done = examples.run("what-if", "--mode", "outage")  # recorded requests keep the mode they were judged under
    assert done.returncode == 2 and done.stderr.startswith("--mode: recorded requests are judged again")
    assert examples.rows() == before
