"""A dedicated decoder for the ledger's stored events: the library's stored format, read without its generic
per-object hook.

The library's `JSONTranscoder` writes an event's state as JSON in which every typed value (a datetime, a
Decimal, a UUID, a `domain.money.Payment`) is an object ``{"_type_": name, "_data_": data}``, and reads it back
with a ``json`` object hook: a Python call for *every* JSON object of every event, the quotes frozen inside
refund events included. Here the state is parsed by the C scanner with no hook, and only the values that can
hold a typed object (objects and arrays) are walked; each typed object is decoded by the very transcoding the
library would use (its name looked up in the transcoder's own table), with the text-to-datetime and
text-to-Decimal decodings kept for values seen before (both types are immutable). The event object is then
made as the library makes it (``object.__new__`` and the state as its ``__dict__``, in the same key order).

What it does not know, it leaves to the library's mapper (`adapters.store.ledger.FormerTopics`, which calls it
first, and to which it says so by raising `Unknown`): a mapper with a compressor or a cipher, an event class
with a ``class_version`` (or a state that names one: an upcast), a typed value whose name the transcoder lacks.
Any other error (a state that is not JSON, a topic that names no class) is raised as it is: the mapper does not
fall back on it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, StoredEvent, find_id_convertor
from eventsourcing.utils import resolve_topic

KEEP = 4096  # decoded datetimes / Decimals kept per decoder (the texts repeat: one recorded time per feed)


class Unknown(Exception):
    """A state the dedicated decoder leaves to the library's mapper."""


class EventDecoder:
    def __init__(self, transcoder: JSONTranscoder, moved: dict[str, str]) -> None:
        self.names: dict[str, Any] = transcoder.names  # the transcoder's own table (the library's JSONTranscoder)
        self.moved = moved
        self.plans: dict[tuple[str, type], tuple[type, Callable[[Any], Any]]] = {}
        self.datetimes: dict[str, datetime] = {}
        self.decimals: dict[str, Decimal] = {}
        special: dict[str, Callable[[Any], Any]] = {}
        if _is(self.names.get("datetime_iso"), "DatetimeAsISO"):
            special["datetime_iso"] = self._datetime
        if _is(self.names.get("decimal_str"), "DecimalAsStr"):
            special["decimal_str"] = self._decimal
        self.special = special
        self.dates = "datetime_iso" in special

    def _datetime(self, text: str) -> datetime:
        try:
            return self.datetimes[text]
        except KeyError:
            if len(self.datetimes) >= KEEP:
                self.datetimes.clear()
            value = self.datetimes[text] = datetime.fromisoformat(text)
            return value

    def _decimal(self, text: str) -> Decimal:
        try:
            return self.decimals[text]
        except KeyError:
            if len(self.decimals) >= KEEP:
                self.decimals.clear()
            value = self.decimals[text] = Decimal(text)
            return value

    def _typed(self, name: Any, data: Any) -> Any:
        special = self.special.get(name)
        if special is not None and type(data) is str:
            return special(data)
        transcoding = self.names.get(name)
        if transcoding is None:
            raise Unknown(name)
        kind = type(data)
        if kind is dict or kind is list:
            data = self._walk(data)
        return transcoding.decode(data)

    def _walk(self, value: Any) -> Any:
        """``value`` as the library's object hook leaves it: each JSON object, innermost first, decoded when it
        is a typed value (exactly two keys, ``_type_`` and ``_data_``), else kept as a dict."""
        if type(value) is list:
            return [self._walk(x) if type(x) is dict or type(x) is list else x for x in value]
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return self._typed(value["_type_"], value["_data_"])
        for key, x in value.items():
            kind = type(x)
            if kind is dict:
                if len(x) == 2 and "_type_" in x and "_data_" in x:
                    value[key] = self._typed(x["_type_"], x["_data_"])
                else:
                    value[key] = self._walk(x)
            elif kind is list:
                value[key] = self._walk(x)
        return value

    def _state(self, state: dict[str, Any]) -> None:
        """`_walk` of an event's top-level state, in place, datetimes (most typed values) decoded inline."""
        dates = self.datetimes if self.dates else None
        for key, x in state.items():
            kind = type(x)
            if kind is dict:
                if len(x) == 2 and "_type_" in x and "_data_" in x:
                    data = x["_data_"]
                    if dates is not None and x["_type_"] == "datetime_iso" and type(data) is str:
                        value = dates.get(data)
                        state[key] = self._datetime(data) if value is None else value
                    else:
                        state[key] = self._typed(x["_type_"], data)
                else:
                    state[key] = self._walk(x)
            elif kind is list:
                state[key] = self._walk(x)

    def _plan(self, topic: str, id_type: type) -> tuple[type, Callable[[Any], Any]]:
        """The class of ``topic`` (former topics read as the classes they are now) and its originator id
        convertor, as the library finds them; `Unknown` for a class with versions (its states are upcast)."""
        cls = resolve_topic(self.moved.get(topic, topic))
        if getattr(cls, "class_version", 1) != 1:
            raise Unknown(topic)
        plan = self.plans[(topic, id_type)] = (cls, find_id_convertor(cls, id_type))
        return plan

    def decode(self, stored: StoredEvent) -> Any:
        """The domain event the library's mapper would make of ``stored``; `Unknown` if it is not ours to say."""
        oid = stored.originator_id
        plan = self.plans.get((stored.topic, type(oid)))
        cls, convert = self._plan(stored.topic, type(oid)) if plan is None else plan
        state = orjson.loads(stored.state)
        if type(state) is not dict or "class_version" in state or "_type_" in state:
            raise Unknown(stored.topic)
        self._state(state)
        state["originator_id"] = convert(oid)
        state["originator_version"] = stored.originator_version
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event


def _is(transcoding: Any, name: str) -> bool:
    """Whether ``transcoding`` is the library's own (by class), so that its decoding may be kept per text."""
    return transcoding is not None and type(transcoding).__name__ == name and \
        type(transcoding).__module__ == "eventsourcing.persistence"
