"""Bad input: the error every format and entrypoint raises for a value it refuses (exit status 2, HTTP 4xx).
Its own module, so that checking a CLI option or a statement does not load the feed's pydantic models."""

from __future__ import annotations


class BadInput(Exception):
    """Bad input at a feed line (or a CLI argument, ``line`` None): exit status 2, nothing written."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.message = message
