"""The refund policies: one folder each (``kingsoft/``, ``korpro/``), and ``registry.py``, the one place that
names them all. A policy's folder may import ``domain`` and itself, never another policy, ``projections`` or
``adapters``; everything else reaches a policy through `domain.policy.Policy` and the registry. A policy's
``__init__`` is light (`domain.policy.Lazy`): the rest of its folder is imported on its first use.
"""
