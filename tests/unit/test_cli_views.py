"""The CLI's human answers are pure renderers (`adapters.cli.views`, issue 26, item 3): a use case's result in,
rich renderables out, checked here without a console, an App call or the CLI."""

import io
from datetime import UTC, datetime

from rich.console import Console

from adapters.bootstrap import Settings, bootstrap
from adapters.cli import views
from adapters.services import feeds, queries
from tests.feedkit import day, jsonl, memory_ledger, purchase

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def text(renderables) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    for r in renderables:
        console.print(r)
    return console.export_text()


def test_a_quote_renders_its_lines_reasons_and_outcome():
    app = bootstrap(Settings(url="unused://", clock=lambda: NOW), ledger=memory_ledger())
    feeds.record_feed(app, jsonl(purchase("kec-1", account="acme")))
    q = queries.quote(app, "kec-1", day(20))
    shown = text(views.quote(q, exact_known=False, explain=True))
    assert "Refund quote for kec-1 at " in shown and "explanation" in shown
    assert "How each line was computed:" in shown
    assert f"policy {q.policy} · mode {q.mode}" in shown and f"amount {q.currency} {q.amount}" in shown
    for line in q.lines:
        assert f"[{line.rule}]: {line.formula}" in shown


def test_an_unchanged_diff_says_so_and_lists_no_cause():
    t = datetime(2027, 2, 22, 2, tzinfo=UTC)
    d = {"changed": [], "lines": [], "reasons": {"added": [], "removed": []}, "caused_by": []}
    lines = views.diff(d, "kec-1", t, t, t, "+08:00")
    assert lines[1:] == ["  no change", "Caused by (recorded in between):"]
    assert lines[0].startswith("Quote for kec-1 at 2027-02-22T10:00:00+08:00")


def test_no_refund_past_a_deadline_is_an_empty_table_and_a_count():
    shown = views.overdue(datetime(2027, 2, 22, tzinfo=UTC), [])
    assert shown[-1] == "0 past a deadline" and "Refunds past a deadline at 2027-02-22" in text(shown[:1])
