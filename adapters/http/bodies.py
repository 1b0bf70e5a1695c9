"""Request bodies: read within the size limit (413 over it), and a feed's lines from JSON Lines or a JSON
array."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from adapters.formats.errors import BadInput


async def body(request: Request) -> bytes:
    """The whole body, refused with 413 as soon as it is longer than the server's ``max_body``."""
    limit = request.app.state.http_settings.max_body
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


Body = Annotated[bytes, Depends(body)]


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


class _Pairs(list):
    pass


class _Number(str):
    pass


def feed_lines(data: bytes) -> list[bytes] | bytes:
    """A JSON array of feed objects (its elements become lines 1, 2, ...), or else the body as JSON Lines."""
    text = data.lstrip(b" \t\r\n\xef\xbb\xbf")
    if not text.startswith(b"["):
        return data
    try:
        items = json.loads(data.decode("utf-8"), object_pairs_hook=_Pairs, parse_float=_Number,
                           parse_int=_Number, parse_constant=_Number)
    except (ValueError, RecursionError) as e:
        raise BadInput(None, f"body: not a JSON array of feed lines: {e}") from None
    if not isinstance(items, list) or isinstance(items, _Pairs):
        raise BadInput(None, "body: not a JSON array of feed lines")
    return [_encode(item).encode() for item in items]

