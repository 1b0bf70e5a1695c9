"""Side tables of the service (idempotency records, rate counters) created on first use."""

from __future__ import annotations

from sqlalchemy import Engine, MetaData
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError


class Ensured:
    """Creates ``metadata``'s tables when missing, once per engine; two processes racing to create them both
    succeed (the loser's ``CREATE`` fails on what the winner made, and the second pass finds it there)."""

    def __init__(self, metadata: MetaData) -> None:
        self.metadata = metadata
        self._done: set[int] = set()

    def __call__(self, engine: Engine) -> None:
        if id(engine) in self._done:
            return
        try:
            self.metadata.create_all(engine)
        except (IntegrityError, ProgrammingError, OperationalError):  # created meanwhile by another process
            self.metadata.create_all(engine)
        self._done.add(id(engine))
