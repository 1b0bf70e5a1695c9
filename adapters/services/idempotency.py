"""Use case: record a feed at most once per ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header).

The first request with a key (per principal: two keys' clients never share one) inserts a row, unique on
(principal, key), that holds a fingerprint of what it asked (the feed's bytes and its options); then it
records the feed; then it stores its answer in the row. A later request with the same key:

- same fingerprint, answer stored: the stored answer is returned again (``replayed``), nothing is recorded;
- other fingerprint: `KeyReused` (422, the draft's "key reused with a different payload");
- same fingerprint, first request still running: `StillRunning` (409, the draft's "concurrent request").

Decisions:

- **A request that fails releases its key.** A feed that is bad input (or refused, or fails) writes nothing
  (a feed is recorded all or nothing), so its row is deleted and a retry with the same key is a new first
  request. Only successful answers are replayed.
- **The answer is stored after the feed is recorded, not in the same transaction.** The ledger's events and
  this table are written through different connections (the event store's, the read models' engine). A
  crash between recording and storing the answer leaves the row "running" with no answer; a retry takes the
  key over and records the feed again. That is safe for lines that
  carry an ``id``: the ledger's own line ids make a re-recorded line a duplicate (same content: skipped and
  counted in ``duplicates``) or a conflict (other content: bad input). A line without an ``id`` would be
  recorded twice, so a client that retries after a crash should give its lines ids (interface.md).
- **A crashed request's key is taken over at once** (issue 30, item 8): the row names the process running the
  first request (`adapters.store.liveness`); a retry that finds it running and its process dead takes the key
  over (so a request that died before recording anything runs again), one whose process is alive gets 409. A
  row older than ``ABANDONED_AFTER`` (or of an earlier version, naming no process) is taken over regardless.
- The idempotency key is the client's: 1 to 255 printable ASCII characters.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from adapters.bootstrap import App
from adapters.formats.errors import BadInput
from adapters.services.feeds import record_feed
from adapters.store import idempotency as store
from adapters.store import liveness

ABANDONED_AFTER = timedelta(minutes=5)  # a "running" row older than this belongs to a crashed request
KEY = re.compile(r"\A[\x20-\x7e]{1,255}\Z")


class KeyReused(Exception):
    """The same Idempotency-Key with another request (422)."""


class StillRunning(Exception):
    """The first request with this Idempotency-Key has not answered yet (409)."""


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    replayed: bool = False  # the stored answer of an earlier request with the same key

    def as_json(self) -> dict[str, Any]:
        return self.body


def fingerprint(feed: bytes | Sequence[bytes], preserve_recorded_at: bool) -> str:
    """What a request asked for: its feed's bytes (a feed given as lines: joined by line feeds) and options."""
    data = feed if isinstance(feed, bytes) else b"\n".join(feed)
    return hashlib.sha256(b"preserve_recorded_at=%d\n" % preserve_recorded_at + data).hexdigest()


def record_feed_once(app: App, feed: bytes | Sequence[bytes], *, principal: str, key: str | None,
                     actor: str | None = None, preserve_recorded_at: bool = False) -> Answer:
    """Record ``feed`` (as `adapters.services.feeds.record_feed`) unless ``principal`` already did with the
    idempotency ``key``: then the first answer. Without a key, simply record it."""
    def run() -> dict[str, Any]:
        return record_feed(app, feed, preserve_recorded_at=preserve_recorded_at, actor=actor).as_json()

    return once(app, principal, key, fingerprint(feed, preserve_recorded_at), run)


def _abandoned(engine: Engine, found: store.Stored, now: datetime) -> bool:
    """A running row's request is gone: its process died (at once), or it ran past ``ABANDONED_AFTER``."""
    if now - found.started_at >= ABANDONED_AFTER:
        return True
    return found.owner is not None and not liveness.alive(engine, found.owner)


def once(app: App, principal: str, key: str | None, mine: str, run: Callable[[], dict[str, Any]],
         status: int = 200) -> Answer:
    """``run()``'s answer, stored under (``principal``, ``key``) with the fingerprint ``mine`` of what the
    request asked for, unless an earlier request with that key answered: then its answer (``replayed``). Every
    write of the API that honours ``Idempotency-Key`` goes through here (a feed, a refund application or step:
    `adapters.services.refund_steps`); without a key, simply ``run()``."""
    if key is None:
        return Answer(run())
    if not KEY.match(key):
        raise BadInput(None, "Idempotency-Key: 1 to 255 printable ASCII characters")
    engine = app.readmodels
    app.writer  # noqa: B018 - the store exists before its idempotency records (as for keys)
    now, owner = app.now(), liveness.me(engine)
    found = store.claim(engine, principal, key, mine, now, owner)
    if found is not None:
        if found.fingerprint != mine:
            raise KeyReused(f"Idempotency-Key {key!r} was used for another request")
        if found.status is not None:
            return Answer(json.loads(found.body or "{}"), replayed=True)
        if not _abandoned(engine, found, now) or not store.take_over(engine, principal, key, found.started_at,
                                                                     now, owner):
            raise StillRunning(f"the first request with Idempotency-Key {key!r} is still running")
    try:
        body = run()
    except BaseException:
        store.release(engine, principal, key)
        raise
    store.finish(engine, principal, key, status, json.dumps(body))
    return Answer(body)
