"""Former topics of moved event classes, so that a ledger written before a move still decodes.

An event's topic is its class's module path and name; the store keeps the topic each event was written under.
When a policy moves a class (or a whole module), it lists the old topics in ``former_topics`` as topics: old
topic -> the class's topic now, or old module path -> module path now (`domain.policy.Lazy`). Neither imports
a policy that is not loaded yet, so a quote loads only its own policy:

- a moved module: `register` tells the library once, when the store is opened, with a stand-in that imports
  the module on first use (``old.path:Class`` resolves as an attribute of what ``old.path`` is registered as;
  an aggregate's own topic, inside its opening event, resolves so too);
- a moved class: `moved_classes` gives the store's mapper the table it reads a stored topic through before
  the library resolves it (`adapters.store.ledger`), as the library would need the class itself here.

`aliases` gives every topic a class was ever written under, for reads that filter the log by topic.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import Any

from eventsourcing.utils import get_topic, register_topic


def _former() -> dict[str, str]:
    from domain.policies import registry

    return {old: new for p in registry.POLICIES for old, new in p.former_topics.items()}


class _Moved(ModuleType):
    """A moved module under its old path: its attributes are those of the module at its new path, imported on
    first use (``resolve_topic`` reads ``old.path:Class`` as an attribute of what ``old.path`` is registered as)."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(old)
        self._new_path = new

    def __getattr__(self, name: str) -> Any:
        new = self.__dict__.get("_new_path")
        if new is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(importlib.import_module(new), name)


@cache
def _stand_in(old: str, new: str) -> _Moved:
    return _Moved(old, new)  # one per move: the library refuses a second, different object for a topic


def register() -> None:
    for old, new in _former().items():
        if ":" not in new:
            register_topic(old, _stand_in(old, new))


def moved_classes() -> dict[str, str]:
    """Each moved class's former topic -> its topic now."""
    return {old: new for old, new in _former().items() if ":" in new}


def aliases(cls: Any) -> list[str]:
    """The topic ``cls`` is written under now, and every topic it was written under before."""
    topic = get_topic(cls)
    module, _, name = topic.partition(":")
    out = [topic]
    for old, new in _former().items():
        if new == topic:
            out.append(old)
        elif new == module:
            out.append(f"{old}:{name}")
    return out
