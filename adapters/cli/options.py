"""The CLI's options: the aliases commands share, and the parsing of option values (a bad one is bad input
naming the option, exit status 2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Optional

import typer

from adapters.bootstrap import Settings
from adapters.cli.app import State
from adapters.formats import output, params
from adapters.formats.errors import BadInput

Json = Annotated[bool, typer.Option("--json", help="print JSON (every field, full precision) instead of a table")]
KnownAt = Annotated[Optional[str], typer.Option("--known-at", help="as recorded by then (default: now)")]
Limit = Annotated[Optional[int], typer.Option("--limit", min=0, help="at most this many")]
Account = Annotated[Optional[str], typer.Option("--account", help="only this account's")]
Mode = Annotated[str, typer.Option("--mode", help="auto, or a mode or refund reason of the instance's policy")]
Force = Annotated[bool, typer.Option("--force", help="replace the file if it exists (never the ledger's own)")]
OutFile = Annotated[str, typer.Option("--out", help="the file to write")]
Until = Annotated[str, typer.Option("--to", help="business time, exclusive")]
Workers = Annotated[Optional[int], typer.Option(
    "--workers", metavar="N", help="run the partitions on a local Dask cluster of N worker processes (default 1: "
                                   "in this process; needs billing-ledger[dask] above 1)")]
Scheduler = Annotated[Optional[str], typer.Option(
    "--scheduler", metavar="tcp://HOST:PORT", help="run the partitions on an existing Dask cluster (a PostgreSQL "
                                                   "ledger only: the workers open it by its URL)")]
PartitionSize = Annotated[Optional[int], typer.Option(
    "--partition-size", metavar="N", min=1, help="instances per partition (default: balanced ranges of at least "
                                                 "1,000)")]


def flag(param: str) -> str:
    """A parameter's neutral name, as the use cases and the HTTP API say it (``known_at``), as the CLI's option
    (``--known-at``): what an error naming the parameter shows (`adapters.formats.errors.BadInput.named`)."""
    return "--" + param.replace("_", "-")


def parse_sets(sets: list[str] | None) -> dict[str, str]:
    """``--set NAME=VALUE`` overrides, each checked now (a bad name or value is bad input naming --set)."""
    from adapters.services import queries

    return queries.check_overrides(params.pairs("set", sets))


def writable(option: str, path: str, force: bool) -> None:
    """Refuse (status 2) to write onto the ledger's database, or onto an existing file without --force."""
    output.check_target(path, option, (State.settings or Settings.resolve()).url, force)


def out_file(path: str, fmt: str, formats: Sequence[str], force: bool) -> None:
    """``--out PATH`` in ``--format FMT``: refused (status 2) when the file may not be written (`writable`), or
    when the format is not one of ``formats``."""
    writable("--out", path, force)
    if fmt not in formats:
        raise BadInput(None, f"--format: {fmt!r} is not {' or '.join(formats)}")


def period(start: str, end: str, known_at: str | None) -> tuple[datetime, datetime, datetime | None]:
    """``--from``, ``--to`` and ``--known-at`` (none: the default), as instants."""
    return params.instant("from", start), params.instant("to", end), params.optional_instant("known_at", known_at)


def read_text(option: str, path: str, newline: str | None = None) -> str:
    """A UTF-8 text file (``newline=None``: universal newlines); invalid UTF-8 names its line."""
    data = output.read_bytes(option, path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise BadInput(None, f"{option}: line {line}: not valid UTF-8") from None
    return text if newline is not None else text.replace("\r\n", "\n").replace("\r", "\n")
