"""The CLI's tables: columns aligned by what they hold, titles echoing ``--known-at``, listings."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.table import Table

from adapters.cli.app import out
from adapters.formats import output


def _title(what: str, known_at: datetime | None, zone: str | None = None, exact: bool = True) -> str:
    """A title echoing ``--known-at`` in the answer's zone: as typed (``exact``: with its microseconds, if any),
    or to the second (the default, now)."""
    return f"{what} (known at {output.when(known_at, zone, exact=exact)})" if known_at else what


def new_table(title: str, *columns: str, below: tuple[str, ...] = ("explanation", "details", "detail")) -> Table:
    """``below``: the columns of prose, on their own lines under each row on a narrow terminal (`SafeTable`)."""
    table = output.SafeTable(title=title, below=below)
    for col in columns:
        table.add_column(col, justify="right" if col.split(" (")[0] in RIGHT or AMOUNT.fullmatch(col) else "left")
    return table


RIGHT = ("paid", "consumed", "today", "baseline", "scenario", "difference", "instances", "amount", "debit",
         "credit")  # amounts, counts
AMOUNT = re.compile(r".+ \([A-Z]{3}\)")  # a header naming its currency ("refund (CNY)") heads amounts; "refund" an id


def listing(name: str, rows: list[dict[str, Any]], title: str, known_at: datetime | None, columns: dict[str, Any],
            as_json: bool, zone: Callable[[dict[str, Any]], str | None] | None = None,
            times: tuple[str, ...] = ()) -> None:
    """A listing: ``{name: rows}`` as JSON, or a table of ``columns`` (header -> field, or a function of the
    row) and how many rows. ``times``: the fields that are times, shown in one zone for the whole table: the
    business time zone of every row's policy (``zone``: a row's) when they share one, else UTC, and the title
    says which (`output.one_zone`)."""
    if as_json:
        print(output.json_text({name: rows}))
        return
    shown, note = output.one_zone(zone(r) for r in rows) if zone and rows else (None, "")
    table = new_table(_title(title, known_at, shown) + (f" · {note}" if note else ""), *columns)
    for r in rows:
        cells = (output.when(r[field], shown) if field in times else field(r) if callable(field) else r[field]
                 for field in columns.values())
        table.add_row(*("" if c is None else str(c) for c in cells))
    out.print(table)
    out.print(f"{len(rows)} {name.removesuffix('s')}(s)")
