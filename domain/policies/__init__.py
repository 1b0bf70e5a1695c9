"""The refund policies: one folder each (``kingsoft/``, ``korpro/``), and ``registry.py``, the one place that
names them all. A policy's folder may import ``domain`` and itself, never another policy, ``projections`` or
``adapters``, but for its ``feed`` module: its edge, the pydantic models of the feed commands it declares, built
from the feed's shared field types (``adapters.formats.feed``) and imported only by the feed parser (through the
registry, `domain.policy.About.feed`). Everything else reaches a policy through `domain.policy.Policy` and the
registry. A policy's ``__init__`` is light (`domain.policy.Lazy`): the rest of its folder is imported on its
first use. docs/policies.md: how to write one.
"""
