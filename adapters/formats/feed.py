"""The command feed (JSON Lines), validated at the edge with pydantic (interface.md, "Command feed").

Money is a JSON string with at most 2 decimals; a JSON number is refused (a float
must never come near money). Every timestamp must carry an offset. Unknown types and
fields are refused. Errors name the line and the field: ``line 3: payment.cash: ...``.
Every value must lie in the envelope (`adapters.formats.envelope`, docs/feed.md "Limits"): a line is
read as bytes (invalid UTF-8 and an over-long line name their line), parsed as strict JSON (no duplicate
keys, no NaN or Infinity, bounded nesting) and each field checked against its bounds.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import IO, Annotated, Any, Literal, NamedTuple, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from adapters.formats import envelope
from adapters.formats.envelope import Refused
from adapters.formats.errors import PROBLEMS_MAX, BadFeed, BadInput, echo  # their home; also imported from here
from domain.money import Payment
from domain.policies import registry

MONEY_TEXT = re.compile(r"\A[0-9]{1,13}(\.[0-9]{1,2})?\Z", re.ASCII)  # an amount's text (see envelope.parse_money)


def _rate(value: Any) -> Decimal:
    return envelope.rate(value)


def _instant(value: Any) -> datetime:
    """A business time (the feed's, and the CLI's --at, --known-at, --from, --to, --vs): ISO 8601 with an
    offset, inside the envelope's time window."""
    return envelope.instant(value)


def _optional(check: Any) -> BeforeValidator:
    return BeforeValidator(lambda v: None if v is None else check(v))


def _text(limit: int = envelope.TEXT_MAX, required: bool = False) -> Any:
    return lambda v: envelope.text(v, limit, required=required)


Money = Annotated[Decimal, BeforeValidator(envelope.parse_money)]
Rate = Annotated[Decimal, BeforeValidator(_rate)]
Instant = Annotated[datetime, BeforeValidator(_instant)]
Id = Annotated[str, BeforeValidator(envelope.identifier)]
InstanceId = Annotated[str, BeforeValidator(envelope.instance_id)]  # no "/": every URL can name it
Product = Annotated[str, BeforeValidator(lambda v: envelope.identifier(v, envelope.PRODUCT_MAX))]
Version = Annotated[str, BeforeValidator(lambda v: envelope.identifier(v, envelope.VERSION_MAX))]
Currency = Annotated[str, BeforeValidator(envelope.currency)]
Text = Annotated[str, BeforeValidator(_text(required=True))]  # free text that must say something
Months = Annotated[int, Field(ge=envelope.MONTHS_MIN, le=envelope.MONTHS_MAX, strict=True)]
OptionalMoney = Annotated[Decimal | None, _optional(envelope.parse_money)]
OptionalInstant = Annotated[datetime | None, _optional(_instant)]
OptionalId = Annotated[str | None, _optional(envelope.identifier)]
OptionalCurrency = Annotated[str | None, _optional(envelope.currency)]
OptionalText = Annotated[str | None, _optional(_text())]
OptionalSaying = Annotated[str | None, _optional(_text(required=True))]  # when given, not blank
OptionalEmail = Annotated[str | None, _optional(_text(envelope.EMAIL_MAX))]
FreeForm = Annotated[dict[str, Any] | None, _optional(envelope.free_form)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PaymentIn(_Model):
    cash: Money = Decimal("0")
    cloud_ticket: Money = Decimal("0")
    voucher: Money = Decimal("0")
    gift_balance: Money = Decimal("0")

    def value(self) -> Payment:
        return Payment(self.cash, self.cloud_ticket, self.voucher, self.gift_balance)


class Command(_Model):
    type: str
    at: Instant
    id: OptionalId = None
    recorded_at: OptionalInstant = None


class RequestRefund(Command):
    """A request, judged by the instance's policy, which says which fields it takes: a console application
    (``mode``, ``with``, ``exception_report``, ``reason`` as free text), a reviewed request (``reason`` one of
    the policy's reasons, ``email``, ``invoice``, ``explanation``). ``mode``: ``auto`` or a mode of a registered
    policy (the instance's policy refuses another's)."""

    type: Literal["request_refund"]
    instance: InstanceId
    refund: Id
    mode: Id = "auto"
    with_: list[InstanceId] = Field(default=[], alias="with")
    exception_report: OptionalSaying = None
    reason: OptionalText = None
    email: OptionalEmail = None
    invoice: OptionalId = None
    explanation: OptionalText = None

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        known = modes()
        if value not in known:
            raise Refused(f"unknown mode {echo(value)} (known: {', '.join(known)})")
        return value


class CompleteRefund(Command):
    type: Literal["complete_refund"]
    refund: Id


class RejectRefund(Command):
    type: Literal["reject_refund"]
    refund: Id
    reason: Text


class Retract(Command):
    type: Literal["retract"]
    target: Id
    reason: Text


SHARED: dict[str, type[Command]] = {  # a refund's lifecycle and retractions: every policy's instances
    "request_refund": RequestRefund, "complete_refund": CompleteRefund, "reject_refund": RejectRefund,
    "retract": Retract,
}


@cache
def _commands(policies: tuple[Any, ...]) -> dict[str, type[Command]]:
    """Every feed command's model: the shared ones, and those each registered policy declares (its ``feed``
    module's ``MODELS``, `domain.policy.About`), computed once per registry."""
    out = dict(SHARED)
    for policy in policies:
        for kind, model in policy.feed_models().items():
            if out.setdefault(kind, model) is not model:
                raise AssertionError(f"two models for the feed command {echo(kind)}")
    return out


@cache
def _modes(policies: tuple[Any, ...]) -> tuple[str, ...]:
    return ("auto", *dict.fromkeys(m for p in reversed(policies) for m in p.modes))  # the fallback's first


def modes() -> tuple[str, ...]:
    """What a request may ask to be judged as: ``auto``, or a mode of a registered policy."""
    return _modes(tuple(registry.POLICIES))


def commands() -> dict[str, type[Command]]:
    """Every feed command's model, by type, as the registry stands."""
    return _commands(tuple(registry.POLICIES))


class FeedLine(NamedTuple):
    """A validated feed line: its number, its command, and for a line with an ``id`` the digest of its
    content (canonical JSON without ``recorded_at``), which tells a duplicate from a conflicting reuse."""

    number: int
    command: Command
    digest: str


def parse_line(number: int, text: str | bytes) -> FeedLine:
    """One feed line (its text, or its bytes without or with the newline), validated; `BadInput` names the line
    and the field."""
    text = _line_text(number, text)
    try:
        raw = envelope.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(number, f"malformed JSON: {e.msg} (column {e.colno})") from None
    except Refused as e:
        raise BadInput(number, str(e)) from None
    if not isinstance(raw, dict):
        raise BadInput(number, "a feed line must be a JSON object")
    kind = raw.get("type")
    if kind is None:
        raise BadInput(number, "type: missing required field")
    known = commands()
    model = known.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise BadInput(number, f"type: unknown command {echo(kind)} (known: {', '.join(sorted(known))})")
    try:
        command = model.model_validate(raw)
    except ValidationError as e:
        raise BadInput(number, describe(e, model)) from None
    digest = ""
    if command.id is not None:
        content = {k: v for k, v in raw.items() if k != "recorded_at"}
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return FeedLine(number, command, digest)


def _line_text(number: int, line: str | bytes) -> str:
    """A line's text without its newline: at most ``LINE_BYTES_MAX`` bytes of UTF-8."""
    if isinstance(line, bytes):
        body = line[:-1] if line.endswith(b"\n") else line
        if len(body) > envelope.LINE_BYTES_MAX:
            raise BadInput(number, f"the line is longer than {envelope.LINE_BYTES_MAX:,} bytes")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadInput(number, f"not valid UTF-8 (byte {e.start + 1} of the line)") from None
    text = line.removesuffix("\n")
    if len(text) > envelope.LINE_BYTES_MAX // 4 and \
            len(text.encode("utf-8", "surrogatepass")) > envelope.LINE_BYTES_MAX:
        raise BadInput(number, f"the line is longer than {envelope.LINE_BYTES_MAX:,} bytes")
    return text


def describe(error: ValidationError, model: type[BaseModel] | None = None) -> str:
    """The first pydantic error as ``field: message`` (``field.inner.path`` inside an object). An unknown field
    comes first, with the closest known one (a misspelt ``acount`` is the error, not the missing ``account``)."""
    errors = error.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    where = ".".join(str(p) for p in first["loc"])
    kind = first["type"]
    if kind == "missing":
        return f"{where}: missing required field"
    if kind == "extra_forbidden":
        return f"{where}: unknown field{_suggestion(first['loc'], model)}"
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, Refused):
        where = ".".join(p for p in (where, cause.path) if p)
        message = cause.message
    else:
        message = first["msg"].removeprefix("Value error, ")
    return f"{where or 'line'}: {message}"


def _suggestion(loc: tuple[Any, ...], model: type[BaseModel] | None) -> str:
    """``; did you mean 'account'?`` for a top-level field close to a known one."""
    if model is None or len(loc) != 1 or not isinstance(loc[0], str):
        return ""
    known = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(loc[0], known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(sorted(known))})"


def lines_of(source: str | bytes | IO[bytes] | Iterable[str | bytes]) -> Iterable[str | bytes]:
    """A feed's lines: split on line feeds only (a JSON string may hold U+2028 or U+0085, which
    ``str.splitlines`` would split on); a binary file is read a line at a time, never more than
    ``LINE_BYTES_MAX`` (+2) bytes at once."""
    if isinstance(source, str):
        return source.split("\n")
    if isinstance(source, bytes):
        return source.split(b"\n")
    if hasattr(source, "readline"):
        return _read_lines(cast("IO[bytes]", source))  # a binary handle (what has ``readline``, here)
    return source


def _read_lines(handle: IO[bytes]) -> Iterator[bytes]:
    """Each line, at most ``LINE_BYTES_MAX`` + 2 bytes of it (more is too long, and the rest of that line is
    skipped, so that the next line keeps its number)."""
    while chunk := handle.readline(envelope.LINE_BYTES_MAX + 2):
        if len(chunk) == envelope.LINE_BYTES_MAX + 2 and not chunk.endswith(b"\n"):
            while (rest := handle.readline(envelope.LINE_BYTES_MAX)) and not rest.endswith(b"\n"):
                pass
        yield chunk


def parse_feed(lines: Iterable[str | bytes]) -> list[FeedLine]:
    """Every line of a feed (texts or bytes, see `lines_of`), validated; blank lines are skipped. Raises
    `BadFeed` listing every bad line (the first ``PROBLEMS_MAX``)."""
    out: list[FeedLine] = []
    problems: list[BadInput] = []
    for number, line in enumerate(lines, start=1):
        if len(problems) == PROBLEMS_MAX:
            raise BadFeed(problems, truncated=True)
        try:
            text = _line_text(number, line)  # even a blank line has at most LINE_BYTES_MAX bytes of UTF-8
            if text.strip(" \t\r\n"):
                out.append(parse_line(number, text))
        except BadInput as e:
            problems.append(e)
    if problems:
        raise BadFeed(problems)
    return out
