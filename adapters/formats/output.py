"""Writing files and terminal text safely: no output destroys anything, no untrusted text acts.

Files (``export --out``, ``reconcile --out``, ``what-if --csv``, ``timeline --html``):

- a command never writes onto the ledger's own database file (nor its ``-wal``/``-shm``), even with
  ``--force``; an existing file is replaced only with ``--force``; a missing directory is bad input;
- a file is written under a temporary name in the same directory and renamed over the target only when it is
  complete, so a failed command leaves no half file and the old file (if any) untouched.

Text from the ledger (ids, reasons, explanations, formulas) is shown inert:

- on a terminal, control characters (C0, DEL, C1: escape sequences among them) are shown as ``\\xNN``
  escapes and Rich markup in it is never interpreted (`cell`, `plain`);
- in a CSV, a cell that a spreadsheet would execute as a formula (starting with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return) and is not a plain number is prefixed with an apostrophe (the OWASP
  recommendation), so ``=HYPERLINK(...)`` stays text; numbers such as ``-5.00`` stay numbers. Parquet keeps
  every value raw (typed columns are not executed).

Times people read are formatted where they are rendered, field by field (`when`): one zone per answer, the
business time zone (``calendar_tz``) of the policy it concerns, or UTC written ``Z`` when none applies or its
rows' policies differ (`one_zone`). Text is never searched for things that look like times: an id or a reason
is shown as it is.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from adapters.formats.errors import BadInput
from domain.policies import registry
from domain.timeutil import readable

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def plain(text: object) -> str:
    """Untrusted text for a terminal: every control character (escape sequences included) made visible."""
    return str(text).translate(_CONTROL)


def calendar_tz(policy: str | None = None, product: str | None = None) -> str | None:
    """The business time zone (``calendar_tz``, ±HH:MM) of the policy named ``policy`` (a quote's or refund's
    policy, with or without its version), or of the policy that judges ``product`` (`registry.calendar_tz`);
    None if neither is known or that policy has none (its times are then shown in UTC, written ``Z``)."""
    try:
        found = registry.named(policy) if policy else registry.for_product(product) if product else None
    except LookupError:
        return None
    return registry.calendar_tz(found) if found is not None else None


def when(value: datetime | str | None, zone: str | None, *, exact: bool = False) -> str:
    """A time people read, formatted where it is rendered: ``value`` (a datetime, or the ISO text of an
    answer's time field) in ``zone`` (the answer's business time zone, ±HH:MM; None: UTC, written ``Z``), to
    the second, or ``exact`` with non-zero microseconds (an option's value the user typed) —
    `domain.timeutil.readable`. None or "" is "". Only fields known to be times pass here: ids and texts are
    never rewritten; JSON never passes here."""
    if value is None or value == "":
        return ""
    return readable(value if isinstance(value, datetime) else datetime.fromisoformat(value), zone, exact=exact)


def zone_name(zone: str | None) -> str:
    """How a page or table names the zone its times are in: the offset, or ``UTC``."""
    return zone or "UTC"


def one_zone(zones: Iterable[str | None]) -> tuple[str | None, str]:
    """One zone per answer: the zone an answer that spans rows of several policies (a listing, an account) is
    shown in, and the words that say which. Their business time zone when they all share one; else UTC."""
    found = set(zones)
    if len(found) == 1 and None not in found:
        zone = found.pop()
        return zone, f"times in {zone}, the business time zone of the policies concerned"
    if len(found) > 1:
        named = ", ".join(sorted(z or "none" for z in found))
        return None, f"times in UTC: the policies concerned have different business time zones ({named})"
    return None, "times in UTC: no business time zone applies"


def cell(value: object) -> Text:
    """A table cell: plain text (``plain``) that Rich shows as it is, markup and all."""
    return Text("" if value is None else plain(value))


class SafeConsole(Console):
    """A console that shows every string it is given inert: markup and emoji codes off (``:smile:`` stays
    text), control characters visible."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("emoji", False)
        super().__init__(*args, **kwargs)

    def print(self, *objects: Any, **kwargs: Any) -> None:  # noqa: A003 - Rich's own name
        kwargs.setdefault("markup", False)
        super().print(*(plain(o) if isinstance(o, str) else o for o in objects), **kwargs)


class SafeTable(Table):
    """A table whose string cells and title are shown inert (`cell`), and that stays readable on a narrow
    terminal: when its columns do not fit the width unwrapped, it is laid out as text instead of boxes, no
    header cut and no value broken inside a column (`narrow_lines`).

    ``below``: the headers of the columns of prose (a formula, details, a status), which the narrow layout
    shows on their own lines under each row, indented, instead of as a column."""

    def __init__(self, *args: Any, title: str | None = None, below: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, title=Text(plain(title)) if title is not None else None, **kwargs)
        self.below = below

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*(cell(c) if isinstance(c, str) or c is None else c for c in cells), **kwargs)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        if not self.columns or super().__rich_measure__(console, options).maximum <= options.max_width:
            yield from super().__rich_console__(console, options)
            return
        yield from narrow_lines(self, options.max_width)


NBSP = "\u00a0"  # keeps a header with its value on one line of the narrow layout


def _plain_cell(value: Any) -> str:
    return value.plain if isinstance(value, Text) else "" if value is None else str(value)


def narrow_lines(table: SafeTable, width: int) -> Iterator[Text]:
    """``table`` for a terminal ``width`` columns wide: the title, then the columns not in ``below`` aligned
    under whole headers (numbers right-aligned) when they fit side by side, each row followed by its ``below``
    cells as ``header: text`` lines, wrapped at word boundaries and indented; when even those columns do not
    fit, each row as one block of ``header value`` pairs. Every header and every value is printed whole."""
    if table.title is not None:
        yield Text(_plain_cell(table.title), style="bold")
    cols = [(c, [_plain_cell(x) for x in c._cells]) for c in table.columns]
    side = [(c, cells) for c, cells in cols if _plain_cell(c.header) not in table.below]
    under = [(c, cells) for c, cells in cols if _plain_cell(c.header) in table.below]
    widths = [max([len(_plain_cell(c.header)), *(len(x) for x in cells)]) for c, cells in side]
    aligned = sum(widths) + 2 * (len(widths) - 1) <= width

    def row(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if c.justify == "right" else v.ljust(w)
                         for (c, _), v, w in zip(side, values, widths, strict=True)).rstrip()

    if aligned:
        yield Text(row([_plain_cell(c.header) for c, _ in side]), style="bold")
        yield Text("─" * min(width, sum(widths) + 2 * (len(widths) - 1)))
    for i in range(table.row_count):
        style = table.rows[i].style or ""
        if aligned:
            yield Text(row([cells[i] for _, cells in side]), style=style)
        else:
            pairs = [f"{_plain_cell(c.header)} {cells[i]}" for c, cells in side if cells[i]]
            kept = (p.replace(" ", NBSP) if len(p) <= width - 4 else p for p in pairs)  # broken only if too long
            for line in _wrapped(" · ".join(kept), width, "", "    ", style):
                yield Text(line.plain.replace(NBSP, " "), style=style)
        for c, cells in under:
            if cells[i]:
                yield from _wrapped(f"{_plain_cell(c.header)}: {cells[i]}", width, "    ", "      ", style)
        if not aligned and i + 1 < table.row_count:
            yield Text("")


def _wrapped(text: str, width: int, first: str, rest: str, style: Any) -> Iterator[Text]:
    """``text`` in lines of at most ``width`` columns, broken between words (a word longer than a line keeps
    a line of its own, whole), the first line indented by ``first``, the others by ``rest``."""
    line = first
    for word in text.split(" "):
        if line.strip() and len(line) + 1 + len(word) > width:
            yield Text(line, style=style)
            line = rest + word
        else:
            line = f"{line} {word}" if line.strip() else line + word
    if line.strip():
        yield Text(line, style=style)


def csv_cell(value: str) -> str:
    """A CSV cell a spreadsheet will not execute: formula-like text gets a leading apostrophe."""
    if value.startswith(_FORMULA) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def ledger_files(url: str) -> set[Path]:
    """The files of an SQLite ledger (none for a server database)."""
    if not url.startswith("sqlite"):
        return set()
    name = url.split("///", 1)[-1].split("?", 1)[0]
    if not name or name == ":memory:" or name.startswith("file:"):
        return set()
    base = Path(name).resolve()
    return {base, Path(f"{base}-wal"), Path(f"{base}-shm"), Path(f"{base}-journal")}


def same_file(a: str | Path, b: str | Path) -> bool:
    """The same file, through links too."""
    if Path(a).resolve() == Path(b).resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_ledger(path: str, option: str, ledger_url: str) -> None:
    """No output, ever, onto the ledger's own database files (even with --force)."""
    if any(same_file(path, f) for f in ledger_files(ledger_url)):
        raise BadInput(None, f"{option}: {path!r} is the ledger's own database; choose another file")


def check_target(path: str, option: str, ledger_url: str, force: bool) -> None:
    """Bad input (status 2, nothing written) when ``path`` may not be written."""
    refuse_ledger(path, option, ledger_url)
    target = Path(path).resolve()
    if target.is_dir():
        raise BadInput(None, f"{option}: {path!r} is a directory")
    if not target.parent.is_dir():
        raise BadInput(None, f"{option}: the directory of {path!r} does not exist")
    if not os.access(target.parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise BadInput(None, f"{option}: cannot write {path!r} (permission denied)")
    if target.exists() and not force:
        raise BadInput(None, f"{option}: {path!r} exists; add --force to replace it")


def _temporary(path: str, data: bytes, mode: int) -> str:
    """``data`` in a new temporary file next to ``path``, flushed to disk; returns its name."""
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _sync_directory(path: str) -> None:
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def create_new(path: str, data: bytes, mode: int) -> None:
    """Write a new file at ``path``; FileExistsError if anything is there (nothing is ever replaced)."""
    tmp = _temporary(path, data, mode)
    try:
        os.link(tmp, path)  # atomic, and fails if ``path`` exists
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: exclusive creation instead
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    finally:
        os.unlink(tmp)
    _sync_directory(path)


def replace_with(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace (or create) ``path`` by ``data``, atomically: a temporary file renamed over it. An existing
    file keeps its permission bits; a symbolic link keeps pointing at the file, which is the one replaced."""
    path = os.path.realpath(path)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        pass
    tmp = _temporary(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    _sync_directory(path)


@contextmanager
def replacing(path: str) -> Iterator[str]:
    """A temporary file beside ``path`` for the block to write; when the block ends without an error it is
    flushed to disk and renamed over ``path`` (an existing file keeps its permission bits), else removed."""
    path = os.path.realpath(path)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    tmp = _temporary(path, b"", mode)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_directory(path)


def read_bytes(option: str, path: str) -> bytes:
    """A file the user named, whole; one that cannot be read is bad input naming the option."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise BadInput(None, f"{option}: cannot read {path!r}: {e.strerror}") from None


def write_text(path: str, text: str) -> None:
    with replacing(path) as temp, open(temp, "w", encoding="utf-8") as f:
        f.write(text)


_NON_ASCII = re.compile(r"[^\x00-\x7e]")  # what json.dumps escapes past the control characters


def json_text(value: Any) -> str:
    """``json.dumps(value, indent=2)``'s text (non-ASCII escaped as ``\\uXXXX``), encoded by orjson: a CLI
    answer of many rows (a reconciliation's findings) costs a fraction of the standard encoder's time."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:  # e.g. an integer past 64 bits: the standard encoder's own text
        return json.dumps(value, indent=2)
    if text.isascii() and "\x7f" not in text:
        return text
    return _NON_ASCII.sub(lambda m: json.dumps(m.group())[1:-1], text)
