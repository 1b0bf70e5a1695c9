"""Request bodies (docs/http.md, "Bodies"): one size-checked reader for every body of every route, JSON
objects into their models, and a feed's lines from JSON Lines or a JSON array.

- `read_within` is the one reader: a declared ``Content-Length`` over the limit is 413 before a byte is read;
  otherwise the stream (sent with a length or chunked) is read chunk by chunk and refused with 413 as soon as
  it passes the limit, so nothing past the limit (and the one chunk that crossed it) is ever read or kept. The
  bytes are then kept on the request, so that a form is parsed from them and the stream is never read again.
- `body` (the routes' ``Body``) reads within ``BILLING_LEDGER_HTTP_MAX_BODY`` and only after the route's key
  was authenticated and authorized (`adapters.http.auth.authorize` marks the request): a request without a
  valid key is answered 401 with its body unread. A route that asked for its body first is a defect (500).
- `json_model`: a JSON object into a pydantic model; broken JSON (invalid UTF-8, nested too deeply, a number
  of more than 4,300 digits, a key twice) is 422 naming the body, as a feed's bad line is.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from adapters.formats.errors import BadInput, echo

M = TypeVar("M", bound=BaseModel)


async def read_within(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is longer than ``limit`` bytes (never reading past the chunk that
    crossed it)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is over {limit} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"the body is over {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # gone, or cut off by the body's deadline (adapters.http.protocol): nobody hears this
        raise HTTPException(408, "the connection closed before the body was complete") from None
    data = b"".join(chunks)
    request._body = data  # starlette's own cache: `request.form()` parses these bytes, the stream is done
    return data


async def body(request: Request) -> bytes:
    """The route's body, within the server's ``max_body``, once its key is authorized."""
    if getattr(request.state, "principal", None) is None:
        raise RuntimeError(f"{request.url.path} asked for its body before authenticating its key")
    return await read_within(request, request.app.state.http_settings.max_body)


Body = Annotated[bytes, Depends(body)]


class _Pairs(list):
    """A JSON object as its pairs, in order, repeats too."""


class _Number(str):
    """A JSON number as its own text."""


def _tree(data: bytes, what: str) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadInput(None, f"body: not valid UTF-8 (byte {e.start + 1})") from None
    try:
        return json.loads(text, object_pairs_hook=_Pairs, parse_float=_Number, parse_int=_Number,
                          parse_constant=_Number)
    except RecursionError:
        raise BadInput(None, "body: nested too deeply") from None
    except ValueError as e:
        raise BadInput(None, f"body: not {what}: {e}") from None


def _encode(value: Any) -> str:
    """JSON text of a decoded value, keeping what the feed's checks look at: every pair of an object (in
    order, repeats too) and each number's own text."""
    if isinstance(value, _Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {_encode(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_encode(v) for v in value) + "]"
    if isinstance(value, _Number):
        return str(value)
    return json.dumps(value)


def _plain(value: Any, path: str, twice: bool = False) -> Any:
    """The decoded value as Python's ``json`` gives it; a key twice in an object is bad input (``twice``: the
    last one, for feed lines, whose parser refuses it in its own words)."""
    if isinstance(value, _Pairs):
        out: dict[str, Any] = {}
        for k, v in value:
            if k in out and not twice:
                raise BadInput(None, f"body: {path}{echo(k)}: the key is given twice")
            out[k] = _plain(v, f"{path}{k}.", twice)
        return out
    if isinstance(value, list):
        return [_plain(v, path, twice) for v in value]
    if isinstance(value, _Number):
        try:
            return json.loads(value)
        except ValueError:  # past Python's 4,300 digits, or NaN and Infinity
            if twice:
                return str(value)  # a feed line's: its parser says what is wrong with it
            raise BadInput(None, f"body: {path.rstrip('.') or 'value'}: {echo(value)} is not a number "
                                 "JSON allows here") from None
    return value


def json_model(data: bytes, model: type[M], raw: str | None = None) -> tuple[M, list[str]]:
    """The JSON object ``data`` as ``model`` (its errors are 422 naming each field); with ``raw``, that field's
    items (a list of feed lines) also as the text the client sent (`_encode`), for the feed's own parser."""
    try:
        tree = _tree(data, "a JSON object")
        if not isinstance(tree, _Pairs):
            raise BadInput(None, "body: must be a JSON object")
        seen: set[str] = set()
        for name, _ in tree:
            if name in seen:
                raise BadInput(None, f"body: {echo(name)}: the key is given twice")
            seen.add(name)
        fields = dict(tree)
        lines = fields.get(raw) if raw is not None else None
        lenient = {raw: _plain(fields[raw], f"{raw}.", twice=True)} if raw in fields else {}
        plain = _plain(_Pairs((k, v) for k, v in tree if k != raw), "")
        kept = [_encode(line) for line in lines] if isinstance(lines, list) else []
    except RecursionError:
        raise BadInput(None, "body: nested too deeply") from None
    try:
        return model.model_validate({**plain, **lenient}), kept
    except ValidationError as e:
        raise RequestValidationError([{**x, "loc": ("body", *x["loc"])} for x in e.errors()]) from None


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body is ``model`` (read by `json_model`, not by FastAPI: after
    the key, within the limit)."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}


def feed_lines(data: bytes) -> list[bytes] | bytes:
    """A JSON array of feed objects (its elements become lines 1, 2, ...), or else the body as JSON Lines."""
    text = data.lstrip(b" \t\r\n\xef\xbb\xbf")
    if not text.startswith(b"["):
        return data
    try:
        items = _tree(data, "a JSON array of feed lines")
        if not isinstance(items, list) or isinstance(items, _Pairs):
            raise BadInput(None, "body: not a JSON array of feed lines")
        return [_encode(item).encode() for item in items]
    except RecursionError:
        raise BadInput(None, "body: not a JSON array of feed lines: nested too deeply") from None
