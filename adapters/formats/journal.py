"""The journal's formats: beancount (built from beancount's own data objects and printed by its printer) and
CSV (one row per posting). Both are written entry by entry to a temporary file renamed over the target when
complete (`adapters.formats.output.replacing`).

beancount is an optional dependency (the ``journal`` extra; ``dev`` has it): without it, ``--format
beancount`` is refused naming the extra.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from adapters.formats import output
from adapters.formats.errors import BadInput
from domain.money import from_cents
from projections.journal import CHART, Entry

FORMATS = ("beancount", "csv")
_LINK = re.compile(r"[A-Za-z0-9\-_/.]+")  # beancount's link characters; other ids stay in the metadata
CSV_COLUMNS = ["entry", "date", "kind", "currency", "account", "amount", "customer", "instance", "ref", "rules",
               "narration", "caused_by"]


def beancount() -> Any:
    try:
        from beancount.core import amount, data
        from beancount.parser import printer
    except ImportError:  # pragma: no cover - the extra is installed with dev
        raise BadInput(None, "beancount is not installed (pip install 'billing-ledger[journal]')",
                       param="format") from None
    return amount, data, printer


def directives(entries: Iterable[Entry], opened: date) -> Iterator[Any]:
    """``open`` for every account of the chart on ``opened``, then one transaction per entry."""
    amount, data, _ = beancount()
    for account in sorted(CHART):
        yield data.Open(data.new_metadata("journal", 0), opened, account, None, None)
    for n, e in enumerate(entries, start=1):
        meta = {"kind": e.kind}
        for key, value in (("rules", ", ".join(e.rules)), ("customer", e.customer), ("instance", e.instance),
                           ("ref", e.ref), ("caused_by", ", ".join(e.caused_by))):
            if value:
                meta[key] = value
        links = frozenset(x for x in (e.ref, *e.caused_by) if x and _LINK.fullmatch(x))
        postings = [data.Posting(account, amount.Amount(from_cents(c), e.currency), None, None, None, None)
                    for account, c in e.legs]
        yield data.Transaction(data.new_metadata("journal", n, meta), e.day, "*", e.customer, e.narration,
                               frozenset({e.kind.replace("_", "-")}), links, postings)


def write_beancount(entries: Iterable[Entry], path: str, opened: date) -> int:
    """Print every entry (beancount's printer), streamed; returns how many transactions."""
    _, data, printer = beancount()
    n = 0
    with output.replacing(path) as temp, open(temp, "w", encoding="utf-8") as f:
        f.write(";; billing-ledger journal (docs/journal.md): amounts in each currency's units, days of the "
                "reporting calendar\n")
        for d in directives(entries, opened):
            printer.print_entries([d], file=f)
            n += isinstance(d, data.Transaction)
    return n


def cents_text(c: int) -> str:
    """``str(from_cents(c))`` from the integer: the sign, the units, two digits of cents."""
    sign, c = ("-", -c) if c < 0 else ("", c)
    return f"{sign}{c // 100}.{c % 100:02d}"


def write_csv(entries: Iterable[Entry], path: str) -> int:
    """One row per posting (debit positive), ``entry`` numbering the transactions; returns how many entries.
    Every text cell goes through `output.csv_cell` (a spreadsheet executes no formula); an entry's own cells
    are made once for all its postings."""
    cell, last = output.csv_cell, 0
    with output.replacing(path) as temp, open(temp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for n, e in enumerate(entries, start=1):
            head = (n, cell(e.day.isoformat()), cell(e.kind), cell(e.currency))
            tail = (cell(e.customer or ""), cell(e.instance or ""), cell(e.ref or ""), cell(", ".join(e.rules)),
                    cell(e.narration), cell(", ".join(e.caused_by)))
            writer.writerows((*head, cell(account), cents_text(c), *tail) for account, c in e.legs)
            last = n
    return last
