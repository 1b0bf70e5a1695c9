"""Everything that touches the world. ``bootstrap`` (the composition root) builds the App from settings;
``services`` is the application layer every entrypoint calls; ``store`` and ``formats`` hold infrastructure
and file formats; ``cli`` is an entrypoint. Entrypoints import only ``bootstrap``, ``services``, ``formats``
and ``domain.errors`` (tests/unit/test_layers.py).
"""
