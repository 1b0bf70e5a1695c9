"""Event store wiring: the `eventsourcing` application on the library's own persistence modules.

The user gives an SQLAlchemy URL (``--db`` / ``BILLING_LEDGER_DB``); we translate it into the
library's settings. Embedded default: the SQLite file ``./billing-ledger.db``
(``eventsourcing.sqlite``). PostgreSQL URLs (``postgresql+psycopg://…``) use ``eventsourcing.postgres``.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from decimal import Decimal
from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]  # C, not in typeshed
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoding
from eventsourcing.utils import get_topic

from adapters.store.decoding import EventDecoder, Unknown
from domain import topics
from domain.money import TENDERS, Payment

DEFAULT_URL = "sqlite:///billing-ledger.db"


class PaymentAsDict(Transcoding):
    type = Payment
    name = "payment"

    def encode(self, obj: Payment) -> dict[str, str]:
        return obj.as_dict()

    def decode(self, data: dict[str, str]) -> Payment:
        return Payment(*(Decimal(data[t]) for t in TENDERS))


class Transcoder(JSONTranscoder):
    """The library's JSON transcoder, writing the same bytes with less work per event: one C encoder made once
    (the library's ``JSONEncoder.encode`` makes one per call, with a circular-reference check events never need),
    and each non-JSON value (a datetime, a UUID, a Decimal, a payment) encoded through one dictionary look-up of
    its type."""

    def __init__(self) -> None:
        super().__init__()
        self._by_type: dict[type, tuple[str, Any]] = {}
        self._encode = c_make_encoder(None, self._encode_obj, c_encode_basestring, None, ":", ",", False, False,
                                      True) if c_make_encoder is not None else None

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        self._by_type[transcoding.type] = (transcoding.name, transcoding.encode)

    def encode(self, obj: Any) -> bytes:
        if self._encode is None:
            return super().encode(obj)
        return "".join(self._encode(obj, 0)).encode("utf8")

    def _encode_obj(self, o: Any) -> dict[str, Any]:
        found = self._by_type.get(type(o))
        if found is None:
            return super()._encode_obj(o)  # the library's error for an unregistered type
        return {"_type_": found[0], "_data_": found[1](o)}


class FormerTopics(Mapper):
    """The library's mapper, reading an event stored under a moved class's former topic as the class it is now
    (`domain.topics.moved_classes`; a dictionary look-up per event, nothing imported until such an event).

    Events are read by the dedicated decoder (`adapters.store.decoding`: the same events, without the generic
    per-object hook) when it knows the stored state; by the library's own mapper otherwise."""

    moved: dict[str, str] = {}
    decoder: EventDecoder | None = None

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        if self.decoder is not None:
            try:
                return self.decoder.decode(stored_event)
            except Unknown:  # only the decoder's own signal: any other error is an error (it hid a regression once)
                pass
        return self.generic(stored_event)

    def to_stored_event(self, domain_event: Any, actor: str | None = None) -> StoredEvent:
        """The library's stored event for ``domain_event`` (its `Mapper.to_stored_event`, step for step), with
        ``actor`` (who recorded it: an API key's ``key:<id>``, or ``user:<login>``) added to the stored state
        when given. The actor belongs to the stored record, as the recorded time does: the frozen domain event
        is not touched, and `domain.stream.actor_of` reads it back from a decoded event's state."""
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        if actor is not None:
            state["actor"] = actor
        stored = self.transcoder.encode(state)
        if self.compressor:
            stored = self.compressor.compress(stored)
        if self.cipher:
            stored = self.cipher.encrypt(stored)
        return StoredEvent(originator_id=originator_id, originator_version=originator_version,
                           topic=get_topic(type(domain_event)), state=stored)

    def generic(self, stored_event: StoredEvent) -> Any:
        """The library's own decoding (former topics read as the classes they are now)."""
        topic = self.moved.get(stored_event.topic)
        if topic is not None:
            stored_event = StoredEvent(originator_id=stored_event.originator_id,
                                       originator_version=stored_event.originator_version, topic=topic,
                                       state=stored_event.state)
        return super().to_domain_event(stored_event)


class Ledger(Application):
    """The billing ledger's event-sourced application (one per database)."""

    name = "BillingLedger"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        topics.register()  # events written under a former module path still decode
        super().__init__(*args, **kwargs)
        from adapters.store.streams import StreamCache

        self.streams = StreamCache(self)  # decoded streams kept between reads (quotes, diffs, timelines)

    def construct_transcoder(self) -> Any:
        if self.env.get(self.factory.TRANSCODER_TOPIC):  # another transcoder asked for: the library's way
            return super().construct_transcoder()
        transcoder = Transcoder()
        self.register_transcodings(transcoder)
        return transcoder

    mapper: FormerTopics

    def construct_mapper(self) -> FormerTopics:
        mapper = self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=FormerTopics)
        assert isinstance(mapper, FormerTopics)
        mapper.moved = topics.moved_classes()
        transcoder = mapper.transcoder
        plain = type(transcoder) in (JSONTranscoder, Transcoder)  # Transcoder: the same decoding table
        if plain and isinstance(transcoder, JSONTranscoder) and mapper.compressor is None and mapper.cipher is None:
            mapper.decoder = EventDecoder(transcoder, mapper.moved)
        return mapper

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(PaymentAsDict())


class StoreURLError(ValueError):
    pass


def _plain_sqlite(url: str) -> str | None:
    """The file of a plain ``sqlite:///FILE`` URL (no query), which SQLAlchemy would parse to exactly that
    and render unchanged; None for any other URL. The common case opens without importing SQLAlchemy."""
    if url.startswith("sqlite:///") and "?" not in url:
        return url[len("sqlite:///"):]
    return None


def settings_from_url(url: str) -> dict[str, str]:
    """Translate an SQLAlchemy URL into `eventsourcing` persistence settings."""
    plain = _plain_sqlite(url)
    if plain is not None:
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": plain or ":memory:"}
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except ArgumentError as e:
        raise StoreURLError(f"--db: {url!r} is not an SQLAlchemy URL ({e})") from None
    backend = u.get_backend_name()
    if backend == "sqlite":  # whether the file can be opened is `_check_sqlite`'s (open_ledger)
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": u.database or ":memory:"}
    if backend == "postgresql":
        settings = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": u.database or "postgres",
            "POSTGRES_HOST": u.host or "127.0.0.1",
            "POSTGRES_PORT": str(u.port or 5432),
            "POSTGRES_USER": u.username or "postgres",
            "POSTGRES_PASSWORD": u.password or "",
            "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        }
        if "schema" in u.query:
            settings["POSTGRES_SCHEMA"] = str(u.query["schema"])
        return settings
    raise StoreURLError(f"--db: unsupported database {backend!r}; use sqlite:///FILE or postgresql+psycopg://…")


def open_ledger(url: str | None = None, *, create: bool = True, **extra: Any) -> Ledger:
    """Open the ledger at ``url``, else ``$BILLING_LEDGER_DB``, else the default.

    ``create``: make the store (an SQLite file; a PostgreSQL schema named by ``?schema=`` and the tables) when
    there is none. Without it (every reading command) a missing ledger is `NoLedger`, and nothing is created:
    a mistyped ``--db`` never leaves an empty database behind. A URL that cannot be opened is a
    `StoreURLError` naming it (never its password). On PostgreSQL the tables (and functions) are created only
    when missing: concurrent ``CREATE`` statements from several processes fail ("tuple concurrently
    updated")."""
    url = url or os.environ.get("BILLING_LEDGER_DB") or DEFAULT_URL
    env = settings_from_url(url)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        _check_sqlite(url, env["SQLITE_DBNAME"], create)
    elif _pg_tables_exist(url, env, create):
        env["CREATE_TABLE"] = "n"
    env.update(extra)
    return Ledger(env=env)


class NoLedger(StoreURLError):
    """A reading command on a store that holds no ledger."""


def shown(url: str) -> str:
    """A URL to show: its password hidden."""
    if _plain_sqlite(url) is not None:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _check_sqlite(url: str, name: str, create: bool) -> None:
    if name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if path.is_dir():
        raise StoreURLError(f"--db: cannot open {shown(url)}: {name!r} is a directory, not an SQLite file")
    if not path.resolve().parent.is_dir():
        raise StoreURLError(f"--db: cannot open {shown(url)}: the directory of {name!r} does not exist")
    if not path.exists():
        if not create:
            raise NoLedger(f"--db: no ledger at {shown(url)} (no such file; record a feed to start one)")
        return
    if create:
        return
    try:
        with closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)) as con:
            found = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stored_events'"
                                ).fetchone()
    except sqlite3.DatabaseError as e:
        raise StoreURLError(f"--db: {name!r} cannot be read as an SQLite database ({e})") from None
    if found is None:
        raise NoLedger(f"--db: no ledger at {shown(url)} (the file holds no ledger)")


def _pg_tables_exist(url: str, env: dict[str, str], create: bool) -> bool:
    """Whether the ledger's tables exist; with ``create``, the schema named by ``?schema=`` is made first."""
    import psycopg
    from psycopg import sql

    schema = env.get("POSTGRES_SCHEMA")
    table = f"{schema}.{Ledger.name.lower()}_events" if schema else f"{Ledger.name.lower()}_events"
    try:
        with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                             user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"], connect_timeout=10,
                             autocommit=True) as con:
            found = con.execute("SELECT to_regclass(%s)", (table,)).fetchone()
            if found is not None and found[0] is not None:
                return True
            if not create:
                raise NoLedger(f"--db: no ledger at {shown(url)} (the database holds no ledger tables; record a "
                               "feed to start one)")
            if schema:
                con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            return False
    except psycopg.Error as e:
        raise StoreURLError(f"--db: cannot open {shown(url)}: {str(e).strip().splitlines()[0]}") from None


def readmodel_url(url: str) -> tuple[str, dict[str, Any]]:
    """The read models' SQLAlchemy URL and connect arguments: ``?schema=`` (the store's setting, which psycopg
    does not know) becomes the connection's ``search_path``, so the read-model tables live beside the events."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    schema = u.query.get("schema")
    if u.get_backend_name() != "postgresql" or not schema:
        return url, {}
    clean = u.difference_update_query(["schema"]).render_as_string(hide_password=False)
    return clean, {"connect_args": {"options": f"-csearch_path={schema}"}}
