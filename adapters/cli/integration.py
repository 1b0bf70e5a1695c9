"""Integration out: the change feed (``events``; docs/cli.md, "The change feed")."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Optional

import typer

from adapters import services
from adapters.cli.app import application, cli, err


@cli.command("events")
def events_cmd(
    after: Annotated[Optional[str], typer.Option("--after", metavar="CURSOR", help="a cursor an earlier run or "
                                                 "event gave (default: the start of the log)")] = None,
    types: Annotated[Optional[list[str]], typer.Option(
        "--types", help="only these types of fact, e.g. RefundApplied,RefundCompleted (repeatable)")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="stop after this many facts")] = None,
    follow: Annotated[bool, typer.Option("--follow", help="keep reading as facts are recorded (until "
                                                          "interrupted)")] = False,
    poll: Annotated[float, typer.Option("--poll", min=0.05, max=60, help="seconds between reads when "
                                                                         "following")] = 1.0,
) -> None:
    """Every recorded fact after --after, in log order, one JSON object a line (history --json's shape, with
    position, cursor, instance and account); the cursor to resume from goes to stderr at the end."""
    app, cursor, left = application(), after, limit
    wanted = [t.strip() for given in types or [] for t in given.split(",") if t.strip()]
    try:
        while left is None or left > 0:
            page = services.changes(app, cursor, min(left or 500, 500), wanted)
            for fact in page.events:
                sys.stdout.write(json.dumps(fact, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            cursor = page.next_cursor
            if left is not None:
                left -= len(page.events)
            if not page.more:
                if not follow:
                    break
                time.sleep(poll)
    except KeyboardInterrupt:
        pass
    err.print(f"next cursor: {cursor or ''}")
