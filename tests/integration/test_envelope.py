"""The envelope of valid values at its edges, through the real CLI on both stores (docs/feed.md, "Limits").

For each bound the value just inside is recorded (status 0: one feed holds them all, and a ledger-wide job
reads them back) and the value just outside is refused: status 2, ``line N: field: what`` (or the option's
name), no traceback, and no row written. Every finding of the hardening issue is a case of its own
(``FINDINGS``). One seeded ledger per store serves the whole module (a CLI call costs a process start).
"""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from pyarrow import parquet as pq

from adapters.formats import envelope
from tests.integration.conftest import CLI, EXE, InProcessCLI
from tests.stores import STORES, store_url

ODD = "é中😀𝔘ﬁ¼٣ a-[/x]\"'\\"  # odd printable unicode (multi-byte, astral, digits of other scripts, markup)
ID200 = (ODD * 20)[: envelope.ID_MAX - 4] + "-end"
MAX = "1000000000000.00"
EDGE_LATE = "2199-12-31T23:59:59+00:00"
T_MIN = "1970-01-01T00:00:00+00:00"


def deep(levels: int, leaf: object = 1) -> dict:
    """A free-form object nested ``levels`` deep (objects and arrays in turn)."""
    node: object = leaf
    for i in range(levels - 1):
        node = {"k": node} if i % 2 else [node]
    return {"k": node}


def sized(size: int) -> dict:
    """A free-form object of exactly ``size`` bytes as compact JSON."""
    shell = len(json.dumps({"pad": ""}, separators=(",", ":")))
    return {"pad": "x" * (size - shell)}


PURCHASE = {"type": "purchase", "at": "2026-01-01T00:00:00+08:00", "instance": "kec-x", "account": "acme",
            "product": "KEC", "order": "o-x", "months": 1, "monthly_price": "10.00", "payment": {"cash": "10.00"}}
SUBSCRIBE = {"type": "subscribe", "at": "2026-01-01T00:00:00Z", "instance": "kp-x", "account": "acme",
             "plan": "fixed", "cpus": 25}
CHARGE = {"type": "charge", "at": "2026-01-01T00:00:00Z", "instance": "kp-edge", "invoice": "inv-x",
          "amount": "10.00", "period_start": "2026-01-01T00:00:00Z", "period_end": "2026-02-01T00:00:00Z"}
OUTAGE = {"type": "report_outage", "at": "2026-01-02T00:00:00Z", "instance": "kp-edge",
          "start": "2026-01-02T00:00:00Z", "end": "2026-01-03T00:00:00Z"}
POST = {"type": "post_policy", "at": "2026-01-01T00:00:00Z", "policy": "korpro", "version": "v-x", "parameters": {}}
REFUND = {"type": "request_refund", "at": "2026-01-02T00:00:00Z", "instance": "kp-edge", "refund": "r-x",
          "reason": "trial", "email": "a@b.c", "invoice": "inv-1", "explanation": "why"}


def line(base: dict, **changes) -> str:
    return json.dumps({**base, **changes}, ensure_ascii=False)


def padded(base: dict, size: int) -> str:
    """``base`` as a JSON line of exactly ``size`` bytes of UTF-8 (padded with spaces, which JSON allows)."""
    text = json.dumps(base)
    return text[:-1] + " " * (size - len(text.encode())) + "}"


# ----- just inside: one feed, recorded with status 0 -----

INSIDE = [
    line(PURCHASE, id=ID200, instance="kec-edge", account=ID200, product="P" * envelope.PRODUCT_MAX, order=ID200,
         at=T_MIN, activated_at=T_MIN, trial_started_at=T_MIN, months=envelope.MONTHS_MAX, monthly_price=MAX,
         price=MAX, payment={"cash": MAX}, currency="XTS", discounts={"1": "0.9999", "120": "0.0001"},
         spec=deep(envelope.OBJECT_DEPTH_MAX - 1, {"max": envelope.INTEGER_MAX, "min": envelope.INTEGER_MIN,
                                               "text": "tab\there\nline\rend", "odd": ODD, "x": 1.5e308})),
    line(PURCHASE, instance="kec-late", order="o-late", at=EDGE_LATE, months=envelope.MONTHS_MAX,
         monthly_price="0.01", price="0.01", payment={"cash": "0.01"}),  # valid until 1 s before VALIDITY_MAX
    line(PURCHASE, instance="eip-edge", order="o-eip", product="EIP", bandwidth_mbps=envelope.BANDWIDTH_MBPS_MAX),
    line(PURCHASE, instance="kec-big", order="o-big", spec=sized(envelope.OBJECT_BYTES_MAX)),
    padded({**PURCHASE, "instance": "kec-pad", "order": "o-pad"}, envelope.LINE_BYTES_MAX),
    line(PURCHASE, id="p-r", instance="kec-r", order="o-r"),
    line({"type": "retract", "at": "2026-01-02T00:00:00+08:00", "target": "p-r",
          "reason": "entered twice\n" + "x" * (envelope.TEXT_MAX - 14)}),
    line({"type": "request_refund", "at": "2026-01-02T00:00:00+00:00", "instance": "kec-edge", "refund": "rf-edge",
          "reason": "r\t" * (envelope.TEXT_MAX // 2), "exception_report": "e" * envelope.TEXT_MAX}),
    line(SUBSCRIBE, instance="kp-edge", commitment_months=envelope.MONTHS_MAX, cpus=envelope.CPUS_MAX,
         currency="USD"),
    line(CHARGE, invoice="inv-1", amount=MAX, period_end="2036-01-09T00:00:00Z"),  # 3,660 days
    line(OUTAGE, start="2026-01-01T00:00:00Z", end=EDGE_LATE),
    line(POST, version="v" * envelope.VERSION_MAX,
         parameters={"performance_rate": "0.2500", "review_days": envelope.PARAMETER_DAYS_MAX,
                     "outage_min_hours": envelope.PARAMETER_HOURS_MAX, "holidays": ["1970-01-01", "2199-12-31"],
                     "base_fee": "1000000000000", "calendar_tz": "-23:59"}),
    line(REFUND, email="e" * (envelope.EMAIL_MAX - 4) + "@x.y", explanation="w\r\n" * (envelope.TEXT_MAX // 3)),
]


@pytest.fixture(scope="module", params=STORES)
def ledger(request, tmp_path_factory) -> CLI:
    """A store per kind (like the ``cli`` fixture's), holding the feed of values just inside the envelope."""
    tmp = tmp_path_factory.mktemp(f"envelope-{request.param}")
    cli = InProcessCLI(store_url(request.param, tmp), tmp)  # hundreds of checks: the entry point in process
    done = cli.run("record", "-", input="\n".join(INSIDE) + "\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"recorded {len(INSIDE)},"), done.stdout
    return cli


def test_values_just_inside_are_recorded_and_read_back(ledger: CLI, tmp_path: Path):
    (bought,) = [f for f in ledger.json("history", "kec-edge")["facts"] if f["fact"] == "Purchased"]
    d = bought["details"]
    assert (bought["id"], d["account"], d["order"], len(d["product"])) == (ID200, ID200, ID200, 100)
    assert (d["months"], d["monthly_price"], d["currency"], bought["at"]) == (120, MAX, "XTS", T_MIN)
    assert ledger.ok("project").startswith("projected events")
    out = tmp_path / "ledger.parquet"
    ledger.ok("export", "account-ledger", "--from", T_MIN, "--to", EDGE_LATE, "--format", "parquet",
              "--out", str(out))
    paid = sum(r["paid"] for r in pq.read_table(out).to_pylist())
    assert paid >= Decimal(MAX) * 2  # two maximal payments (kec-edge, kp-edge's charge), exact
    assert ledger.json("quote", "kec-edge", "--at", EDGE_LATE)["at"] == EDGE_LATE  # the last instant in the window
    assert ledger.json("history", "kec-edge", "--known-at", T_MIN)["facts"] == []  # the first one
    assert ledger.run("overdue", "--at", EDGE_LATE, "--holiday", "2199-12-31", "--set", "review_days=3650",
                      "--set", "outage_min_hours=87600").returncode == 0


# ----- just outside: refused, status 2, naming the line and field, nothing written -----

FINDINGS = {  # the findings, each verbatim
    "a term of 100,000 months": (line(PURCHASE, months=100_000), "months:"),
    "a purchase dated 9999-12-20": (line(PURCHASE, at="9999-12-20T00:00:00+08:00"), "at:"),
    "a purchase dated 0001-01-01": (line(PURCHASE, at="0001-01-01T00:00:00+00:00"), "at:"),
    "an amount of 10^23": (line(PURCHASE, monthly_price="1" + "0" * 23 + ".00"), "monthly_price:"),
    "an id of 201 characters": (line(PURCHASE, instance=ID200 + "x"), "instance: at most 200 characters"),
    "a 4-letter currency": (line(PURCHASE, currency="USDX"), "currency:"),
    "a NUL byte in an id": (line(PURCHASE, instance="kec\u0000x"), "instance: U+0000"),
    "a NUL byte in spec": (line(PURCHASE, spec={"cpu": "4\u0000"}), "spec.cpu: U+0000"),
    "duplicate keys": (json.dumps(PURCHASE)[:-1] + ', "monthly_price": "1.00"}', "monthly_price: duplicate key"),
    "NaN in spec": (json.dumps(PURCHASE)[:-1] + ', "spec": {"cpu": NaN}}', "spec.cpu: NaN"),
    "Arabic-Indic digits as money": (line(PURCHASE, monthly_price="٣٠.٠٠"), "monthly_price:"),
    "a trailing newline in money": (line(PURCHASE, monthly_price="10.00\n"), "monthly_price:"),
    "deep nesting": ('{"type": "purchase", "spec": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
}

BOUNDS = {
    # money and rates
    "money above 10^12": (line(PURCHASE, monthly_price="1000000000000.01"), "monthly_price:"),
    "a tender above 10^12": (line(PURCHASE, payment={"cash": "1000000000000.01"}), "payment.cash:"),
    "money with 3 decimals": (line(PURCHASE, price="0.001"), "price:"),
    "a rate with 5 decimals": (line(PURCHASE, discounts={"12": "0.12345"}), "discounts.12:"),
    "a rate of 1": (line(PURCHASE, discounts={"12": "1"}), "discounts.12:"),
    # months and counts
    "121 months": (line(PURCHASE, months=121), "months:"),
    "0 months": (line(PURCHASE, months=0), "months:"),
    "a 121-month commitment": (line(SUBSCRIBE, commitment_months=121), "commitment_months:"),
    "a discount key of 121 months": (line(PURCHASE, discounts={"121": "0.10"}), "discounts: discount key '121'"),
    "a discount key written 012": (line(PURCHASE, discounts={"012": "0.10"}), "discounts: discount key '012'"),
    "100,001 cpus": (line(SUBSCRIBE, cpus=envelope.CPUS_MAX + 1), "cpus:"),
    "100,001 Mbps": (line(PURCHASE, product="EIP", bandwidth_mbps=envelope.BANDWIDTH_MBPS_MAX + 1),
                     "bandwidth_mbps:"),
    "an integer of 5,000 digits": (json.dumps(PURCHASE)[:-1].replace('"months": 1', '"months": ' + "9" * 5000)
                                   + "}", "months:"),
    # times
    "just before 1970": (line(PURCHASE, at="1969-12-31T23:59:59.999999+00:00"), "at:"),
    "2200 itself": (line(PURCHASE, at="2200-01-01T00:00:00+00:00"), "at:"),
    "1970 written with an offset that makes it 1969": (line(PURCHASE, at="1970-01-01T00:59:00+01:00"), "at:"),
    "an offset with seconds": (line(PURCHASE, at="2026-01-01T00:00:00+05:30:15"), "at:"),
    "activated_at": (line(PURCHASE, activated_at="2200-01-01T00:00:00Z"), "activated_at:"),
    "trial_started_at": (line(PURCHASE, trial_started_at="1969-12-31T00:00:00Z"), "trial_started_at:"),
    "recorded_at": (line(PURCHASE, recorded_at="1969-12-31T00:00:00Z"), "recorded_at:"),
    "period_start": (line(CHARGE, period_start="1969-12-31T00:00:00Z"), "period_start:"),
    "period_end": (line(CHARGE, period_end="2200-01-01T00:00:00Z"), "period_end:"),
    "a billing period over 3,660 days": (line(CHARGE, period_end="2036-01-09T00:00:01Z"), "period_end:"),
    "an outage's start": (line(OUTAGE, start="1969-12-31T00:00:00Z"), "start:"),
    "an outage's end": (line(OUTAGE, end="2200-01-01T00:00:00Z"), "end:"),
    "validity beyond 2209-11-10": (line({"type": "renew", "at": EDGE_LATE, "instance": "kec-late", "order": "o-r2",
                                         "months": 1, "monthly_price": "0.01", "payment": {"cash": "0.01"}}),
                                   "months: the instance would be valid until"),
    # ids and names
    "an empty id": (line(PURCHASE, order=""), "order:"),
    "a tab in an id": (line(PURCHASE, account="a\tb"), "account: U+0009"),
    "a zero-width space in an id": (line(PURCHASE, account="a\u200bb"), "account: U+200B"),
    "a lone surrogate in an id": (json.dumps(PURCHASE)[:-1].replace('"acme"', '"a\\ud800"') + "}", "account:"),
    "a line separator in an id": (line(PURCHASE, order="o\u2028x"), "order: U+2028"),
    "an id as a number": (line(PURCHASE, order=7), "order:"),
    "a product of 101 characters": (line(PURCHASE, product="P" * 101), "product: at most 100 characters"),
    "a version of 65 characters": (line(POST, version="v" * 65), "version: at most 64 characters"),
    "a lower-case currency": (line(PURCHASE, currency="usd"), "currency:"),
    "a full-width currency": (line(PURCHASE, currency="ＵＳＤ"), "currency:"),
    "a 2-letter currency": (line(SUBSCRIBE, currency="US"), "currency:"),
    # free text
    "a reason of 4,001 characters": (line(REFUND, explanation="x" * (envelope.TEXT_MAX + 1)),
                                     "explanation: at most 4000 characters"),
    "a NUL in a reason": (line({"type": "retract", "at": "2026-01-02T00:00:00Z", "target": "p-r",
                                "reason": "a\u0000b"}), "reason: U+0000"),
    "a bell in an explanation": (line(REFUND, explanation="a\u0007b"), "explanation: U+0007"),
    "an e-mail of 255 characters": (line(REFUND, email="e" * 251 + "@x.y"), "email: at most 254 characters"),
    # free-form objects
    "spec nested 17 levels": (line(PURCHASE, spec=deep(envelope.OBJECT_DEPTH_MAX + 1)), "spec"),
    "spec of 64 KiB + 1": (line(PURCHASE, spec=sized(envelope.OBJECT_BYTES_MAX + 1)), "spec:"),
    "spec with an integer beyond 64 bits": (line(PURCHASE, spec={"n": envelope.INTEGER_MAX + 1}), "spec.n:"),
    "spec with a number beyond a float": (json.dumps(PURCHASE)[:-1] + ', "spec": {"n": 1e999}}', "spec.n:"),
    "spec with Infinity": (json.dumps(PURCHASE)[:-1] + ', "spec": {"n": -Infinity}}', "spec.n:"),
    "spec with a NUL in a key": (line(PURCHASE, spec={"a\u0000": 1}), "spec: U+0000"),
    "a line nested 65 levels": ('{"type": "purchase", "spec": ' + "[" * 64 + "]" * 64 + "}", "nested too deeply"),
    # policy parameters
    "a rate parameter of NaN": (line(POST, parameters={"performance_rate": "NaN"}), "parameters.performance_rate:"),
    "a rate parameter in exponent form": (line(POST, parameters={"base_fee": "1e3"}), "parameters.base_fee:"),
    "3,651 review days": (line(POST, parameters={"review_days": 3651}), "parameters.review_days:"),
    "87,601 outage hours": (line(POST, parameters={"outage_min_hours": 87_601}), "parameters.outage_min_hours:"),
    "a holiday in 2200": (line(POST, parameters={"holidays": ["2200-01-01"]}), "parameters.holidays:"),
    # the line itself
    "a line of 1 MiB + 1 byte": (padded(PURCHASE, envelope.LINE_BYTES_MAX + 1), "the line is longer than"),
}


def assert_refused(done: subprocess.CompletedProcess, message: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(message), done.stderr[:500]


@pytest.mark.parametrize("case", [*FINDINGS, *BOUNDS])
def test_a_value_just_outside_is_refused_naming_its_line_and_field(ledger: CLI, case: str):
    bad, field = {**FINDINGS, **BOUNDS}[case]
    before = ledger.rows()
    done = ledger.run("record", "-", input=bad + "\n")
    assert_refused(done, f"line 1: {field}")
    assert ledger.rows() == before


def run_bytes(ledger: CLI, *args: str | bytes, input: bytes | None = None) -> subprocess.CompletedProcess:
    """The console script with bytes in (an undecodable argument, a feed that is not UTF-8)."""
    env = {k: v for k, v in os.environ.items() if k != "BILLING_LEDGER_DB"}
    done = subprocess.run([str(EXE), "--db", ledger.url, *args], input=input, capture_output=True, env=env,
                          cwd=ledger.cwd, timeout=120)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(errors="replace"),
                                       done.stderr.decode(errors="replace"))


GOOD = json.dumps({**PURCHASE, "instance": "kec-u", "order": "o-u"}).encode()


def test_invalid_utf8_names_its_line_from_a_file_and_from_standard_input(ledger: CLI, tmp_path: Path):
    before = ledger.rows()
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(GOOD + b"\n" + b'{"type": "renew", "reason": "\xff"}\n')
    assert_refused(run_bytes(ledger, "record", str(feed)), "line 2: not valid UTF-8")
    assert_refused(run_bytes(ledger, "record", "-", input=feed.read_bytes()), "line 2: not valid UTF-8")
    assert ledger.rows() == before


def test_an_over_long_line_is_refused_without_reading_all_of_it(ledger: CLI, tmp_path: Path):
    feed = tmp_path / "long.jsonl"
    before = ledger.rows()
    for filler in (b"x", b" "):  # a blank line too
        feed.write_bytes(GOOD + b"\n" + filler * (8 * envelope.LINE_BYTES_MAX) + b"\n")
        assert_refused(run_bytes(ledger, "record", str(feed)), "line 2: the line is longer than 1,048,576 bytes")
    assert ledger.rows() == before


def test_an_undecodable_argument_is_bad_input(ledger: CLI):
    assert_refused(run_bytes(ledger, "history", b"kec-\xff"), "argument 4: not valid UTF-8")  # after --db URL


# ----- the CLI's own options -----

AT = ["--at", "2026-02-01T00:00:00Z"]
WINDOW = ["--from", T_MIN, "--to", EDGE_LATE]


def options(tmp: Path) -> dict[str, tuple[list[str], str]]:
    latin1 = tmp / "latin1.csv"  # written by the test
    missing = str(tmp / "no" / "such" / "file")
    return {
        "--at near year 9999": (["quote", "kec-edge", "--at", "9999-12-31T23:00:00+00:00"], "--at:"),
        "--at just outside": (["quote", "kec-edge", "--at", "2200-01-01T00:00:00Z"], "--at:"),
        "--known-at before 1970": (["history", "kec-edge", "--known-at", "1969-12-31T23:59:59+00:00"],
                                   "--known-at:"),
        "--from in 2200": (["export", "orders", "--from", "2200-01-01T00:00:00Z", "--to", EDGE_LATE, "--out",
                            str(tmp / "o.csv")], "--from:"),
        "--to in year 1": (["export", "orders", "--from", T_MIN, "--to", "0001-01-01T00:00:00+01:00", "--out",
                            str(tmp / "o.csv")], "--to:"),
        "--vs in 9999": (["diff", "kec-edge", *AT, "--known-at", T_MIN, "--vs", "9999-01-01T00:00:00Z"], "--vs:"),
        "--holiday in 2200": (["overdue", *AT, "--holiday", "2200-01-01"], "--holiday:"),
        "--holiday not a day": (["overdue", *AT, "--holiday", "someday"], "--holiday:"),
        "--set calendar_tz=bogus": (["quote", "kec-edge", *AT, "--set", "calendar_tz=bogus"],
                                    "--set: calendar_tz=bogus:"),
        "--set review_days=-1": (["overdue", *AT, "--set", "review_days=-1"], "--set: review_days=-1:"),
        "--set review_days=3651": (["overdue", *AT, "--set", "review_days=3651"], "--set: review_days=3651:"),
        "--set performance_rate=NaN": (["what-if", "--set", "performance_rate=NaN"],
                                       "--set: performance_rate=NaN:"),
        "--set holidays in 2200": (["overdue", *AT, "--set", "holidays=2026-01-01,2200-01-01"], "--set: holidays="),
        "--set an unknown name": (["overdue", *AT, "--set", "colour=red"], "--set: colour=red:"),
        "--statement missing": (["reconcile", "--statement", missing], "--statement: cannot read"),
        "--statement not UTF-8": (["reconcile", "--statement", str(latin1)], "--statement: line 2: not valid UTF-8"),
        "--add missing": (["what-if", "kec-edge", *AT, "--add", missing], "--add: cannot read"),
        "--out in a missing folder": (["export", "orders", *WINDOW, "--out", missing], "--out: "),
        "--out of reconcile": (["reconcile", "--statement", str(latin1), "--out", missing], "--out: "),
        "--out a folder": (["export", "orders", *WINDOW, "--out", str(tmp)], "--out: "),
        "--csv in a missing folder": (["what-if", "--csv", missing], "--csv: "),
        "--html in a missing folder": (["timeline", "kec-edge", "--html", missing], "--html: "),
        "--with names no instance": (["quote", "kec-edge", *AT, "--with", "kec-404"], "--with:"),
    }


OPTION_CASES = list(options(Path("/nonexistent")))


@pytest.mark.parametrize("case", OPTION_CASES)
def test_a_bad_option_is_refused_naming_the_option(ledger: CLI, tmp_path: Path, case: str):
    args, message = options(tmp_path)[case]
    (tmp_path / "latin1.csv").write_bytes(b"kind,reference,account,amount,currency,booked_at\n"
                                          b"charge,o-\xe9,acme,1.00,CNY,2026-03-01T10:05:00+00:00\n")
    before = ledger.rows()
    assert_refused(ledger.run(*args), message)
    assert ledger.rows() == before


def test_a_sqlite_store_in_a_missing_folder_or_on_a_folder_is_bad_input(tmp_path: Path):
    for url in (f"sqlite:///{tmp_path / 'no' / 'ledger.db'}", f"sqlite:///{tmp_path}"):
        assert_refused(CLI(url, tmp_path).run("instances"), "--db: cannot open")
