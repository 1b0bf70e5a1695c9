"""Nothing the ledger accepts can break a ledger-wide job (docs/feed.md, "Limits").

Hypothesis writes small feeds whose values sit at or near the envelope's edges (the largest amount, 120-month
terms, both ends of the time window in odd offsets, 200-character ids of odd printable unicode, specs nested
16 levels deep, discount tables, refunds, KorPro charges and posted policy versions) and records each through
the CLI's entry point on a fresh store. Whatever ``record`` accepts, ``project``, every export (CSV and
Parquet), ``reconcile`` (a one-line statement), ``verify``, and ``history --json`` and ``quote --json`` on each
instance must then succeed: status 0 (``reconcile`` also 1, a mismatch), never a refusal after the feed was
accepted, never a traceback; so must the other readers (listings, ``overdue``, ``what-if``, ``timeline``, the
human tables that print the ids). The feed and those jobs run through the real entry point
(``adapters.cli.main``) one after the other in this process (`InProcessCLI`): no process start per example
(the console script itself is covered by tests/integration/test_cli.py and the README test).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta, timezone
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.formats import envelope
from tests.integration.conftest import CLI, InProcessCLI
from tests.stores import fresh_pg_database

T_MIN, T_MAX = envelope.TIME_MIN, envelope.TIME_MAX - timedelta(microseconds=1)
MONEY = ["0.00", "0.01", "1.00", "999999999999.99", "1000000000000.00"]
OFFSETS = [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12)),
           timezone(timedelta(hours=5, minutes=45)), timezone(-timedelta(hours=23, minutes=59))]
ODD = "aZ09 -_.:/é中文日本語한국어ελληνικάкириллицаعربيעברית😀𝔘ﬁ¼²٣۴ⅷ[/]{}\"'\\<>&%$#@!?~`|^*+=,;"


def iso(t: datetime, tz: timezone) -> str:
    return t.astimezone(tz).isoformat()


def ids(draw, n: int, prefix: str, instance: bool = False) -> list[str]:
    """``n`` distinct ids: short ones, or 200 characters of odd printable unicode ending in a unique tag; an
    instance's without ``/`` (every URL names it: issue 30)."""
    alphabet = ODD.replace("/", "") if instance else ODD
    out = []
    for i in range(n):
        tag = f"{prefix}{i}"
        if draw(st.booleans()):
            body = draw(st.text(alphabet=alphabet, min_size=envelope.ID_MAX - len(tag),
                                max_size=envelope.ID_MAX - len(tag)))
        else:
            body = draw(st.text(alphabet=alphabet, min_size=0, max_size=6))
        out.append(body + tag)
    return out


def spec(draw) -> dict:
    """A free-form object up to the deepest allowed, with edge numbers and odd strings."""
    depth = draw(st.sampled_from([1, 2, envelope.OBJECT_DEPTH_MAX]))
    leaf = draw(st.sampled_from([envelope.INTEGER_MAX, envelope.INTEGER_MIN, 1.7976931348623157e308, 5e-324, -0.0,
                                 True, None, "tab\there\nline", "😀" * 50, ODD]))
    node: object = leaf
    for level in range(depth - 1):
        node = {f"k{level}{ODD[level % len(ODD)]}": node} if level % 2 else [node, "x"]
    return node if isinstance(node, dict) else {"v": node, "cpu": 2}


@st.composite
def feeds(draw) -> tuple[list[dict], list[tuple[str, str]], str]:
    """A feed at the envelope's edges; the instances it opens (name, quote mode); a statement row's reference."""
    anchor = draw(st.sampled_from([T_MIN, T_MIN + timedelta(minutes=1), datetime(2026, 3, 1, 12, tzinfo=UTC),
                                   T_MAX - timedelta(days=20)]))
    tz = draw(st.sampled_from(OFFSETS))
    n = draw(st.integers(1, 3))
    names, orders, lines_ids = ids(draw, n, "i", instance=True), ids(draw, 3 * n, "o"), ids(draw, 3 * n, "l")
    refunds = ids(draw, n + 1, "r")
    account = ids(draw, 1, "a")[0]
    lines: list[dict] = []
    opened: list[tuple[str, str]] = []
    reference = orders[0]

    def at(days: float) -> str:
        return iso(min(anchor + timedelta(days=days), T_MAX), tz)

    for k, name in enumerate(names):
        months = draw(st.sampled_from([1, 2, 119, envelope.MONTHS_MAX]))
        price = draw(st.sampled_from(MONEY))
        line = {"type": "purchase", "id": lines_ids[3 * k], "at": at(k), "instance": name, "account": account,
                "product": draw(st.sampled_from(["KEC", "EBS", "KRDS", "EIP", "X" * envelope.PRODUCT_MAX])),
                "order": orders[3 * k], "months": months, "monthly_price": draw(st.sampled_from(MONEY)),
                "price": price, "payment": {"cash": price}, "currency": draw(st.sampled_from(["CNY", "USD", "XTS"])),
                "spec": spec(draw)}
        if draw(st.booleans()):
            keys = draw(st.lists(st.sampled_from([1, 12, 119, 120]), max_size=4, unique=True))
            line["discounts"] = {str(m): draw(st.sampled_from(["0", "0.0001", "0.5", "0.9999"])) for m in keys}
        if draw(st.booleans()):
            line["activated_at"] = at(k + draw(st.sampled_from([0, 0.5])))
        if line["product"] == "EIP":
            line["bandwidth_mbps"] = draw(st.sampled_from([1, 200, envelope.BANDWIDTH_MBPS_MAX]))
        if draw(st.integers(0, 4)) == 0:
            line["promotion"] = {"id": lines_ids[3 * k + 1], "refundable": draw(st.booleans()),
                                 "five_day_refund": draw(st.booleans())}
        lines.append(line)
        opened.append((name, "auto"))
        step = draw(st.sampled_from(["none", "renew", "upgrade", "downgrade", "refund", "retracted upgrade"]))
        if step == "renew":
            cash = draw(st.sampled_from(MONEY))
            lines.append({"type": "renew", "at": at(k + 1), "instance": name, "order": orders[3 * k + 1],
                          "months": draw(st.sampled_from([1, envelope.MONTHS_MAX])), "price": cash,
                          "monthly_price": draw(st.sampled_from(MONEY)), "payment": {"cloud_ticket": cash}})
        elif step in ("upgrade", "retracted upgrade"):
            cash = draw(st.sampled_from(MONEY))
            lines.append({"type": "upgrade", "id": lines_ids[3 * k + 2], "at": at(k + 1), "instance": name,
                          "order": orders[3 * k + 2], "monthly_price": draw(st.sampled_from(MONEY)),
                          "payment": {"cash": cash}, "spec": spec(draw)})
            if step == "retracted upgrade":
                lines.append({"type": "retract", "at": at(k + 2), "target": lines_ids[3 * k + 2],
                              "reason": "never provisioned\t" + ODD})
        elif step == "downgrade":
            lines.append({"type": "downgrade", "at": at(k + 1), "instance": name, "order": orders[3 * k + 2],
                          "monthly_price": "0.01", "credit": draw(st.sampled_from(MONEY))})
        elif step == "refund":
            lines.append({"type": "request_refund", "at": at(k + draw(st.sampled_from([0, 3, 10]))), "instance": name,
                          "refund": refunds[k],
                          "reason": draw(st.sampled_from(["x", "é\n" * (envelope.TEXT_MAX // 2)])),
                          "exception_report": draw(st.sampled_from([None, "RPT-1"]))})
            if lines[-1]["exception_report"] is None:
                del lines[-1]["exception_report"]
    if draw(st.booleans()):  # a KorPro subscription, a charge, reports, a refund request, a posted version
        sub = ids(draw, 1, "s", instance=True)[0]
        plan = draw(st.sampled_from(["fixed", "performance"]))
        start = anchor + timedelta(days=5)
        subscribe = {"type": "subscribe", "at": iso(start, tz), "instance": sub, "account": account, "plan": plan,
                     "commitment_months": draw(st.sampled_from([1, envelope.MONTHS_MAX]))}
        subscribe.update({"cpus": draw(st.sampled_from([1, envelope.CPUS_MAX]))} if plan == "fixed" else
                         {"estimated_monthly_savings": draw(st.sampled_from(MONEY))})
        period = min(timedelta(days=draw(st.sampled_from([1, 30, envelope.PERIOD_DAYS_MAX]))), T_MAX - start)
        invoice = ids(draw, 1, "v")[0]
        lines += [
            subscribe,
            {"type": "charge", "at": iso(start, tz), "instance": sub, "invoice": invoice,
             "amount": draw(st.sampled_from(MONEY)), "period_start": iso(start, tz),
             "period_end": iso(start + period, tz)},
            {"type": "report_outage", "at": iso(start, tz), "instance": sub, "start": iso(start, tz),
             "end": iso(start + period, tz)},
            {"type": "post_policy", "at": iso(start, tz), "policy": "korpro",
             "version": draw(st.text(alphabet=ODD, min_size=1, max_size=envelope.VERSION_MAX)),
             "parameters": {"performance_rate": "0.9999", "review_days": envelope.PARAMETER_DAYS_MAX,
                            "outage_min_hours": draw(st.sampled_from([0, envelope.PARAMETER_HOURS_MAX])),
                            "holidays": ["2199-12-31", "1970-01-01"], "calendar_tz": "-23:59",
                            "base_fee": "1000000000000"}},
            {"type": "request_refund", "at": iso(start, tz), "instance": sub, "refund": refunds[-1],
             "reason": draw(st.sampled_from(["trial", "money_back", "outage", "billing_error"])),
             "email": "e" * (envelope.EMAIL_MAX - 4) + "@x.y", "invoice": invoice,
             "explanation": "why\r\n" * 100},
        ]
        opened.append((sub, "outage"))
        reference = invoice
    return lines, opened, reference


def fresh(cli: CLI, n: int) -> CLI:
    """A new, empty store of the same kind as ``cli``'s, for one example."""
    if cli.url.startswith("sqlite"):
        return InProcessCLI(f"sqlite:///{cli.cwd / f'example-{n}.db'}", cli.cwd)
    return InProcessCLI(fresh_pg_database(), cli.cwd)


def jobs(ledger: CLI, opened: list[tuple[str, str]], reference: str) -> list[list[str]]:
    statement = ledger.cwd / "statement.csv"
    with statement.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["kind", "reference", "account", "amount", "currency", "booked_at"],
                                 ["charge", reference, "acme", "1.00", "CNY", "2026-03-01T10:05:00+00:00"]])
    window = ["--from", T_MIN.isoformat(), "--to", T_MAX.isoformat()]
    out = ledger.cwd / "export"
    runs = [["project"], ["verify"], ["reconcile", "--statement", str(statement)],
            # and the other ledger-wide readers, in their human form too (ids are printed, never read as markup)
            ["instances"], ["accounts"], ["refunds"], ["overdue", "--at", T_MAX.isoformat()], ["what-if", "--json"]]
    runs += [["export", what, *window, "--format", fmt, "--out", f"{out}.{what}.{fmt}", "--force"]
             for what in ("orders", "refunds", "account-ledger") for fmt in ("csv", "parquet")]
    for name, mode in opened:
        runs += [["history", "--json", "--", name],  # "--": an id may start with "-"
                 ["quote", "--at", T_MAX.isoformat(), "--mode", mode, "--json", "--", name],
                 ["history", "--", name], ["quote", "--at", T_MAX.isoformat(), "--mode", mode, "--explain", "--", name],
                 ["timeline", "--json", "--", name],
                 ["timeline", "--at", T_MIN.isoformat(), "--html", str(ledger.cwd / "t.html"), "--force", "--", name]]
    return [["--db", ledger.url, *args] for args in runs]


def test_nothing_accepted_breaks_a_ledger_wide_job(cli: CLI):
    numbers, accepted = count(), []

    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(feeds())
    def check(example):
        lines, opened, reference = example
        ledger = fresh(cli, next(numbers))
        done = ledger.run("record", "-", input="\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
        assert done.returncode in (0, 2) and "Traceback" not in done.stderr, done.stderr
        if done.returncode == 2:  # refused: said so, with its line, and wrote nothing
            assert done.stderr.startswith("line "), done.stderr
            assert ledger.rows() == []
            return
        accepted.append(len(lines))
        reader = InProcessCLI(ledger.url, ledger.cwd)  # the entry point in this process: no start-up per job
        for args in jobs(ledger, opened, reference):
            r = reader.run(*args, db=False)
            ok = (0, 1) if args[2] == "reconcile" else (0,)
            assert r.returncode in ok and "Traceback" not in r.stderr, (args, r.returncode, r.stderr, lines)

    check()
    assert len(accepted) >= 5, f"only {len(accepted)} of the generated feeds were accepted: the test proves little"
