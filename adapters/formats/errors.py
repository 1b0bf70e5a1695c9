"""Bad input: the error every format and entrypoint raises for a value it refuses (exit status 2, HTTP 4xx).
Its own module, so that checking a CLI option or a statement does not load the feed's pydantic models."""

from __future__ import annotations

from collections.abc import Callable

ECHO_MAX = 60  # characters of an offending value an error message repeats (docs/feed.md, "Errors")


def echo(value: object, limit: int = ECHO_MAX) -> str:
    """An offending value as an error message repeats it: its ``repr``, cut to about ``limit`` characters
    (with how long it was), so that a 200 kB value is not sent back in full (issue 30)."""
    try:
        shown = repr(value)
    except ValueError:  # an int past Python's 4,300 digits
        return f"a {type(value).__name__} too long to show"
    if len(shown) <= limit:
        return shown
    size = f"{len(value):,} characters" if isinstance(value, str) else f"{len(shown):,} characters as text"
    return f"{shown[:limit - 1]}… ({size})"


class BadInput(Exception):
    """Bad input at a feed line (or a parameter of a call, ``line`` None): exit status 2, nothing written.

    ``param``: the parameter refused, by its neutral name (the use case's, as the HTTP API calls it: ``known_at``,
    ``set``); each entrypoint says it in its own words (`named`: ``--known-at`` on the CLI). ``str()`` is the
    neutral form, ``known_at: message``."""

    def __init__(self, line: int | None, message: str, *, param: str | None = None) -> None:
        self.line = line
        self.message = message
        self.param = param
        super().__init__(self.named(str))

    def named(self, name: Callable[[str], str]) -> str:
        """The message, its parameter named by ``name(param)`` (``line N:`` first for a feed's line)."""
        where = f"line {self.line}: " if self.line is not None else ""
        return where + (f"{name(self.param)}: " if self.param else "") + self.message


PROBLEMS_MAX = 100  # the bad lines one answer lists (docs/feed.md)


class BadFeed(BadInput):
    """Every bad line of a feed (the first ``PROBLEMS_MAX``), each a `BadInput` naming its line and field;
    ``truncated``: more lines were left unchecked. Nothing of the feed is written. One line reads exactly as
    its `BadInput`; several read one a line, then a summary."""

    def __init__(self, problems: list[BadInput], truncated: bool = False) -> None:
        first = problems[0]
        super().__init__(first.line, first.message)
        self.problems = problems
        self.truncated = truncated

    def __str__(self) -> str:
        return "\n".join(self.messages())

    def messages(self) -> list[str]:
        """What an entrypoint shows, one item a line: each bad line, then the summary when there are several."""
        if len(self.problems) == 1 and not self.truncated:
            return [str(self.problems[0])]
        return [*map(str, self.problems), self.summary]

    @property
    def summary(self) -> str:
        more = f"; stopped at the first {PROBLEMS_MAX}, the lines after them were not checked" if self.truncated \
            else ""
        n = len(self.problems)
        return f"{n} bad line{'s' if n != 1 else ''}{more}; nothing was recorded"
