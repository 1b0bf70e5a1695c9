"""Former topics of moved event classes, so that a ledger written before a move still decodes.

An event's topic is its class's module path and name; the store keeps the topic each event was written under.
When a policy moves a class (or a whole module), it lists the old topics in ``former_topics`` (old topic ->
class, or old module path -> module). `register` tells the library once, when the store is opened; `aliases`
gives every topic a class was ever written under, for reads that filter the log by topic.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from eventsourcing.utils import get_topic, register_topic


def _former() -> dict[str, Any]:
    from domain.policies import registry

    return {old: new for p in registry.POLICIES for old, new in getattr(p, "former_topics", {}).items()}


def register() -> None:
    for old, new in _former().items():
        register_topic(old, new)


def aliases(cls: Any) -> list[str]:
    """The topic ``cls`` is written under now, and every topic it was written under before."""
    topic = get_topic(cls)
    module, _, name = topic.partition(":")
    out = [topic]
    for old, new in _former().items():
        if new is cls:
            out.append(old)
        elif isinstance(new, ModuleType) and new.__name__ == module:
            out.append(f"{old}:{name}")
    return out
