"""Decoded event streams, kept between reads: the quote path's snapshot.

Events are immutable and a stream only grows, so a stream decoded once stays right: a later read asks the
store only for the events after the version it holds (``gt=version``, one indexed query that usually returns
nothing) and decodes just those. Each read still goes to the store, so a stream is never stale, whoever
wrote to it. The cache holds at most ``max_streams`` streams (least recently read dropped first).

What a stream derives from its whole history (the folded instance view, when the question covers every
event) is memoised on the `Stream` value itself by the policies' replays; a stream that grows is a new value,
so nothing derived from the old one is ever reused for it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any
from uuid import UUID

from domain.stream import Stream


class StreamCache:
    def __init__(self, ledger: Any, max_streams: int = 4096):
        self.ledger = ledger
        self.max_streams = max_streams
        self._streams: OrderedDict[UUID, Stream] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, aggregate_id: UUID) -> Stream:
        with self._lock:
            held = self._streams.get(aggregate_id)
        version = held.version if held is not None else None
        newer = self.ledger.recorder.select_events(aggregate_id, gt=version)
        if held is not None and not newer:
            stream = held
        else:
            stream = Stream((*(held or ()), *map(self.ledger.mapper.to_domain_event, newer)))
        with self._lock:
            self._streams[aggregate_id] = stream
            self._streams.move_to_end(aggregate_id)
            while len(self._streams) > self.max_streams:
                self._streams.popitem(last=False)
        return stream
