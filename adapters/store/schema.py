"""Side tables of the service (idempotency records, rate counters, keys) created on first use, and the columns
a table made by an earlier version lacks added in place."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Engine, MetaData, Table, inspect, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError


def add_columns(engine: Engine, table: Table, names: Iterable[str]) -> None:
    """Add each of ``names`` (nullable columns of ``table`` added since it was first made) that the table in the
    database lacks; a racing process's ``ALTER`` wins and this one's is checked again."""
    def present() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns(table.name)}

    have = present()
    for name in names:
        if name in have:
            continue
        kind = table.c[name].type.compile(engine.dialect)
        try:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))
        except Exception:  # noqa: BLE001 - added meanwhile by another process: checked again
            if name not in present():
                raise


class Ensured:
    """Creates ``metadata``'s tables when missing (and adds the ``added`` columns a table made earlier lacks),
    once per engine; two processes racing to create them both succeed (the loser's ``CREATE`` fails on what the
    winner made, and the second pass finds it there)."""

    def __init__(self, metadata: MetaData, added: Mapping[Table, tuple[str, ...]] | None = None) -> None:
        self.metadata = metadata
        self.added = dict(added or {})
        self._done: set[int] = set()

    def __call__(self, engine: Engine) -> None:
        if id(engine) in self._done:
            return
        try:
            self.metadata.create_all(engine)
        except (IntegrityError, ProgrammingError, OperationalError):  # created meanwhile by another process
            self.metadata.create_all(engine)
        for table, names in self.added.items():
            add_columns(engine, table, names)
        self._done.add(id(engine))
