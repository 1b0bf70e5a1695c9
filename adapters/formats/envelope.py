"""The envelope of valid values: every bound the edge enforces (the feed, the payment statement, the CLI's
options), so that nothing accepted can break a ledger-wide job later (project, export, reconcile, verify,
history, quote). Each number is chosen against what holds the value downstream; docs/feed.md ("Limits")
lists them for users.

Money: ``MONEY_MAX`` = 10^12 in the currency unit, ASCII digits 0-9, at most ``MONEY_DECIMALS`` = 2.
    The read models keep money as BigInteger cents (signed 64 bits: 9.2 x 10^18 cents, 9.2 x 10^16 units).
    One amount is at most 10^14 cents, an order's actual payment (two refundable tenders) 2 x 10^14: a
    read-model row holds any accepted line 46,000 times over. What no line check can bound is a sum over many
    lines: an account's running balance in ``rm_account_months`` (every order of the account), a refund that
    bundles many instances: each stays exact up to 46,000 payments at the maximum amount. Parquet exports
    hold money as decimal128(38, 2) (up to 10^36): decimal128(18, 2), used before, stops at 10^16, which an
    account's closing balance passes with 5,000 maximal payments. An amount is ASCII digits because Python's
    ``\\d`` and ``Decimal`` also take Arabic-Indic and other digits, and ``$`` in a pattern also matches before
    a trailing newline.
Rates (discounts, decimal policy parameters): ASCII digits, at most ``RATE_DECIMALS`` = 4 (a basis point);
    a discount rate is below 1.
Months: ``MONTHS_MIN``..``MONTHS_MAX`` = 1..120 (ten years), for a term, a discount table's keys and a
    subscription's commitment: K-T2 makes a term 30 x months days, so one order lasts at most 3,600 days.
Business times: ``TIME_MIN`` <= t < ``TIME_MAX`` = [1970-01-01, 2200-01-01) UTC, with an offset in whole
    minutes. Everything derived from a time stays far inside what ``datetime`` holds (years 1 to 9999): a term
    ends at most 3,600 days later, renewals placed in advance may prepay up to ``VALIDITY_MAX`` (the end of a
    longest term bought at the window's end), deadlines add at most ``PARAMETER_DAYS_MAX`` working days; a UTC
    conversion moves a time by less than a day. Offsets of seconds would also make an ISO time longer than
    the read models' 40-character time columns. A billing period (a charge) lasts at most
    ``PERIOD_DAYS_MAX`` = 3,660 days (ten years and their leap days): the account ledger walks it day by day.
Ids: 1..``ID_MAX`` = 200 characters (the read models' id columns are VARCHAR(200)), printable
    (``str.isprintable``: no control or format characters, no NUL, no lone surrogates, no line or
    paragraph separators; a space is allowed). A product: at most ``PRODUCT_MAX`` = 100 (its column); a policy
    version: at most ``VERSION_MAX`` = 64 (quotes name the policy ``korpro-<version>`` in a 100-character
    column).
Currencies: ISO 4217's shape, three ASCII capital letters (the read models' currency column is CHAR(3)).
Free text (reasons, explanations, e-mail, exception reports): at most ``TEXT_MAX`` = 4,000 characters
    (``EMAIL_MAX`` = 254 for an e-mail, RFC 5321's path limit); no control characters except tab, line feed
    and carriage return; no lone surrogates (they cannot be stored as UTF-8).
Free-form objects (``spec``, ``post_policy.parameters``): nested at most ``OBJECT_DEPTH_MAX`` = 16 levels,
    at most ``OBJECT_BYTES_MAX`` = 64 KiB as compact JSON, strings as free text, integers within 64 bits
    (what every JSON reader and a BIGINT hold exactly), finite numbers only.
A feed line: one JSON object of at most ``LINE_BYTES_MAX`` = 1 MiB of UTF-8 (the newline excluded), nested at
    most ``JSON_DEPTH_MAX`` = 64 levels; a key twice in one object, NaN or Infinity are bad input (Python's
    ``json`` accepts all three; the last key would silently win, and NaN would be printed back as invalid
    JSON).
Policy parameters (``post_policy`` and ``--set``), by the type of the parameter: a decimal as a rate above
    (at most ``MONEY_MAX``); a whole number 0..``PARAMETER_DAYS_MAX`` = 3,650 (ten years of days; a parameter
    named ``*_hours``: 0..``PARAMETER_HOURS_MAX`` = 87,600, the same ten years), so a duration added to a time
    in the window stays far below year 9999 and counting working days stays cheap; dates within the window.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, get_type_hints

from adapters.formats.errors import echo

MONEY_MAX = Decimal(10) ** 12
MONEY_DECIMALS = 2
RATE_DECIMALS = 4
MONTHS_MIN, MONTHS_MAX = 1, 120
CPUS_MAX = 100_000  # a fixed-rate subscription's CPUs under management (P-M2)
BANDWIDTH_MBPS_MAX = 100_000  # an EIP's bandwidth (K-F6 compares it with 200)
TIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
VALIDITY_MAX = TIME_MAX + timedelta(days=30 * MONTHS_MAX)  # no order may be valid beyond this (2209-11-10)
PERIOD_DAYS_MAX = 3660
ID_MAX = 200
PRODUCT_MAX = 100
VERSION_MAX = 64
TEXT_MAX = 4000
EMAIL_MAX = 254
OBJECT_DEPTH_MAX = 16
OBJECT_BYTES_MAX = 64 * 1024
INTEGER_MIN, INTEGER_MAX = -(2**63), 2**63 - 1
LINE_BYTES_MAX = 1024 * 1024
JSON_DEPTH_MAX = 64
PARAMETER_DAYS_MAX = 3650
PARAMETER_HOURS_MAX = 87_600

MONEY_TEXT = re.compile(rf"[0-9]{{1,13}}(\.[0-9]{{1,{MONEY_DECIMALS}}})?", re.ASCII)  # fullmatch only
RATE_TEXT = re.compile(rf"[0-9]{{1,13}}(\.[0-9]{{1,{RATE_DECIMALS}}})?", re.ASCII)
CURRENCY_TEXT = re.compile(r"[A-Z]{3}", re.ASCII)
MONTHS_KEY = re.compile(r"[1-9][0-9]{0,2}", re.ASCII)
WHOLE_TEXT = re.compile(r"[0-9]{1,6}", re.ASCII)
_CONTROL_OK = "\t\n\r"


class Refused(ValueError):
    """A value outside the envelope. ``path``: where inside the field (``a.b[2]``), when the field is an object."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


# ----- money, rates, counts -----

def parse_money(value: Any) -> Decimal:
    """An amount: a JSON string of ASCII digits, at most 2 decimals, at most ``MONEY_MAX``."""
    if isinstance(value, bool) or isinstance(value, (int, float)):
        raise Refused(f"money must be a JSON string such as \"696.00\", not the number {echo(value)}")
    if not isinstance(value, str):
        raise Refused("money must be a JSON string such as \"696.00\"")
    if value.startswith("-"):
        raise Refused(f"a negative amount ({value}) makes no sense here")
    if not MONEY_TEXT.fullmatch(value):
        raise Refused(f"{echo(value)} is not an amount with at most {MONEY_DECIMALS} decimals (ASCII digits 0-9)")
    amount = Decimal(value)
    if amount > MONEY_MAX:
        raise Refused(f"{value} is more than the largest amount the ledger holds ({MONEY_MAX:,})")
    return amount


def rate(value: Any, *, below_one: bool = True) -> Decimal:
    """A rate: a JSON string of ASCII digits, at most ``RATE_DECIMALS`` decimals; a discount rate is below 1."""
    if not isinstance(value, str) or not RATE_TEXT.fullmatch(value):
        raise Refused(f"a rate must be a JSON string such as \"0.30\" (ASCII digits, at most {RATE_DECIMALS} "
                      f"decimals), not {echo(value)}")
    r = Decimal(value)
    if below_one and not r < 1:
        raise Refused(f"a rate must be below 1, got {value}")
    if r > MONEY_MAX:
        raise Refused(f"{value} is more than {MONEY_MAX:,}")
    return r


def months_key(key: str) -> int:
    """A discount table's key: a whole number of months, ``MONTHS_MIN``..``MONTHS_MAX``, written plainly."""
    if not MONTHS_KEY.fullmatch(key) or not MONTHS_MIN <= int(key) <= MONTHS_MAX:
        raise Refused(f"discount key {echo(key)} must be a whole number of months from {MONTHS_MIN} to {MONTHS_MAX}")
    return int(key)


# ----- times -----

def instant(value: Any) -> datetime:
    """A business time: ISO 8601 with an offset of whole minutes, in [``TIME_MIN``, ``TIME_MAX``)."""
    if not isinstance(value, str):
        raise Refused(f"a time must be an ISO 8601 string with an offset, not {echo(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(f"{echo(value)} is not an ISO 8601 time") from None
    offset = parsed.utcoffset()
    if offset is None:
        raise Refused(f"{echo(value)} has no offset: every time must be timezone-aware (e.g. +08:00)")
    if offset % timedelta(minutes=1):
        raise Refused(f"{echo(value)}: the offset must be whole minutes (±HH:MM)")
    within_window(parsed, value)
    return parsed


def within_window(t: datetime, shown: str | None = None) -> datetime:
    if not TIME_MIN <= t < TIME_MAX:
        raise Refused(f"{shown or t.isoformat()} is outside the ledger's time window "
                      f"[{TIME_MIN.date()}, {TIME_MAX.date()}) UTC")
    return t


def day(value: Any) -> date:
    """A calendar day ``YYYY-MM-DD`` within the window's years (a holiday)."""
    if not isinstance(value, str):
        raise Refused(f"a day must be a string YYYY-MM-DD, not {echo(value)}")
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise Refused(f"{echo(value)} is not a day written YYYY-MM-DD") from None
    if not TIME_MIN.date() <= parsed < TIME_MAX.date():
        raise Refused(f"{value} is outside the ledger's time window [{TIME_MIN.date()}, {TIME_MAX.date()})")
    return parsed


# ----- text -----

def identifier(value: Any, limit: int = ID_MAX) -> str:
    """An id: a JSON string of 1..``limit`` printable characters."""
    if not isinstance(value, str):
        raise Refused(f"must be a JSON string, not {echo(value)}")
    if not value:
        raise Refused("must not be empty")
    if len(value) > limit:
        raise Refused(f"at most {limit} characters, got {len(value)}")
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        raise Refused(f"{_char(bad)} at position {value.index(bad)} is not a printable character")
    return value


def instance_id(value: Any) -> str:
    """An instance's id (and a bound instance's: an EIP, a disk, a KDRDS): an `identifier` without ``/``, so
    that every ``/v1/instances/{i}`` route and console page can name it (issue 30)."""
    name = identifier(value)
    if "/" in name:
        raise Refused(f"{echo(name)} contains '/': an instance id names the instance in URLs "
                      "(/v1/instances/{instance}), so it may not")
    return name


def text(value: Any, limit: int = TEXT_MAX, *, required: bool = False) -> str:
    """Free text: at most ``limit`` characters; no control characters but tab, line feed and carriage return."""
    if not isinstance(value, str):
        raise Refused(f"must be a JSON string, not {echo(value)}")
    if required and not value.strip():
        raise Refused("must not be empty")
    if len(value) > limit:
        raise Refused(f"at most {limit} characters, got {len(value)}")
    check_characters(value)
    return value


def check_characters(value: str, path: str = "") -> None:
    for i, c in enumerate(value):
        if c not in _CONTROL_OK and unicodedata.category(c) in ("Cc", "Cs"):
            raise Refused(f"{_char(c)} at position {i} is a control character", path)


def currency(value: Any) -> str:
    if not isinstance(value, str) or not CURRENCY_TEXT.fullmatch(value):
        raise Refused(f"{echo(value)} is not an ISO 4217 currency code (three capital letters A-Z)")
    return value


def _char(c: str) -> str:
    return f"U+{ord(c):04X}" + (f" ({unicodedata.name(c, '')})" if unicodedata.name(c, "") else "")


# ----- free-form objects -----

def free_form(value: Any) -> Any:
    """A free-form JSON object (``spec``, parameters): bounded depth and size, finite numbers, free-text strings."""
    if not isinstance(value, dict):
        raise Refused("must be a JSON object")
    _check_tree(value)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > OBJECT_BYTES_MAX:
        raise Refused(f"{size:,} bytes as JSON; at most {OBJECT_BYTES_MAX:,}")
    return value


def _check_tree(root: Any) -> None:
    stack: list[tuple[Any, str, int]] = [(root, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, (dict, list)) and depth > OBJECT_DEPTH_MAX:
            raise Refused(f"nested too deeply (at most {OBJECT_DEPTH_MAX} levels)", path)
        if isinstance(node, dict):
            for k, v in node.items():
                check_characters(k, path)
                stack.append((v, f"{path}.{k}" if path else k, depth + 1))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(node))
        elif isinstance(node, str):
            check_characters(node, path)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not INTEGER_MIN <= node <= INTEGER_MAX:
                raise Refused("an integer beyond 64 bits", path)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise Refused(f"{echo(node)} is not a finite number", path)
        else:
            raise Refused(f"{echo(node)} is not a number JSON allows (no NaN or Infinity)", path)


# ----- JSON -----

class NotANumber:
    """What the feed's JSON reader makes of NaN, Infinity, a number too large for a float, or an integer of more
    than 20 digits: a value no field accepts (so the error names the field)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 30 else self.text[:27] + "..."


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise Refused("duplicate key (a JSON object names it twice)", k)
        out[k] = v
    return out


def _float(text: str) -> float | NotANumber:
    x = float(text)
    return x if math.isfinite(x) else NotANumber(text)


def _int(text: str) -> int | NotANumber:
    return int(text) if len(text.lstrip("-")) <= 20 else NotANumber(text)


def loads(text: str) -> Any:
    """One JSON value, strictly: a duplicate key, nesting beyond ``JSON_DEPTH_MAX`` are `Refused`; NaN,
    Infinity, overflowing floats and integers of more than 20 digits become `NotANumber`. Malformed JSON
    raises ``json.JSONDecodeError``."""
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=NotANumber, parse_float=_float,
                           parse_int=_int)
    except RecursionError:
        raise Refused(f"nested too deeply (at most {JSON_DEPTH_MAX} levels)") from None
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > JSON_DEPTH_MAX:
                raise Refused(f"nested too deeply (at most {JSON_DEPTH_MAX} levels)")
            stack.extend((v, depth + 1) for v in (node.values() if isinstance(node, dict) else node))
    return value


# ----- policy parameters -----

def parameter(cls: type, name: str, value: Any) -> None:
    """A policy parameter's value (``post_policy``, ``--set``) within the envelope, by the type of the field
    ``name`` of the policy's parameters dataclass ``cls``; the policy's own parser checks its meaning."""
    kind = get_type_hints(cls).get(name)
    if kind is None:
        return  # not this policy's: the policy says so
    if kind is Decimal:
        rate(value, below_one=False)
    elif kind is int:
        top = PARAMETER_HOURS_MAX if name.endswith("_hours") else PARAMETER_DAYS_MAX
        if isinstance(value, str) and WHOLE_TEXT.fullmatch(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise Refused(f"{echo(value)} is not a whole number from 0 to {top:,}")
    elif kind is str:
        identifier(value)
    elif getattr(kind, "__origin__", None) is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise Refused(f"{echo(value)} is not a list (or a comma-separated string)")
        check = day if kind.__args__[0] is date else identifier
        for item in items:
            if item != "":
                check(item)
