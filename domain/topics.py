"""Former topics of moved event classes, so that a ledger written before a move still decodes.

An event's topic is its class's module path (and name); the store keeps the topic each event was written under. When a
class moves, its old path is registered here for the new class (or a moved module for the new module), once,
when the store is opened. `aliases` lists the old topics of a class, for reads that filter the log by topic.
"""

from __future__ import annotations

import importlib
from typing import Any

from eventsourcing.utils import get_topic, register_topic

MODULES = {  # old module path -> new module path
    "domain.korpro": "domain.policies.korpro.subscription",
}


CLASSES = {  # module holding FORMER_TOPICS: {old topic: class}
    "domain.policies.kingsoft.events",
}


def register() -> None:
    for old, new in MODULES.items():
        register_topic(old, importlib.import_module(new))
    for module in CLASSES:
        for old, cls in importlib.import_module(module).FORMER_TOPICS.items():
            register_topic(old, cls)


def aliases(cls: Any) -> list[str]:
    """The topic ``cls`` is written under now, and every topic it was written under before."""
    topic = get_topic(cls)
    module, _, name = topic.partition(":")
    former = [old for m in CLASSES for old, c in importlib.import_module(m).FORMER_TOPICS.items() if c is cls]
    return [topic, *(f"{old}:{name}" for old, new in MODULES.items() if new == module), *former]
