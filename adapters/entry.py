"""The ``billing-ledger`` console script: the CLI's ``main``, after `adapters.codecache` is installed, so that
the classes the CLI builds at import come from the cache (docs/cli.md, "Start-up"). Only the CLI installs it:
the server, Dask workers and tests build their classes as Python does."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.version_info < (3, 13):  # 3.13's dataclasses compile one text per class: little left to cache
        from adapters import codecache

        codecache.install()
    from adapters.cli import main as run

    run()


if __name__ == "__main__":
    main()
