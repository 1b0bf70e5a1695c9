"""Recording: ``record`` appends a feed (the billing and payment systems that feed the ledger)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from adapters.cli.app import application, cli, err, out
from adapters.formats.errors import BadInput


@cli.command("record")
def record_cmd(
    feed_path: Annotated[str, typer.Argument(metavar="FEED.jsonl", help="the feed, or - for standard input")],
    preserve_recorded_at: Annotated[bool, typer.Option("--preserve-recorded-at",
                                                       help="take each line's recorded_at (migrations)")] = False,
) -> None:
    """Append a feed of commands, all or nothing."""
    from adapters.services import feeds, keys

    if feed_path == "-":
        result = feeds.record_feed(application(), sys.stdin.buffer, preserve_recorded_at=preserve_recorded_at,
                                   actor=keys.local_actor())
    else:
        try:
            handle = open(feed_path, "rb")  # read a line at a time: invalid UTF-8 and long lines name their line
        except OSError as e:
            raise BadInput(None, f"FEED.jsonl: cannot read {feed_path!r}: {e.strerror}") from None
        with handle:
            result = feeds.record_feed(application(), handle, preserve_recorded_at=preserve_recorded_at,
                                       actor=keys.local_actor())
    if result.lines == 0:
        err.print(f"{'standard input' if feed_path == '-' else feed_path}: the feed is empty; nothing was recorded")
    out.print(f"recorded {result.recorded}, duplicates {result.duplicates}, denied {result.denied}")
