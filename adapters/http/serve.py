"""``python -m adapters.http.serve``: what ``billing-ledger serve`` runs (uvicorn, the app built by
`create_app` from the environment in each worker process).

``--fd N`` serves on a socket already bound (the tests bind 127.0.0.1 port 0); it is adopted with its own
address family, so that TCP_NODELAY is set on its connections (uvicorn's own ``--fd`` takes every socket for
a Unix one, and small answers then wait for the peer's delayed acknowledgement).
"""

from __future__ import annotations

import argparse
import glob
import os
import socket
import tempfile
import threading
from typing import Any

import uvicorn

APP = "adapters.http:create_app"
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"  # adapters.formats.metrics: every worker's counts, added up when scraped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="billing-ledger serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--fd", type=int)
    parser.add_argument("--webhooks", action="store_true")
    args = parser.parse_args(argv)
    if args.webhooks:
        deliver()
    # uvicorn's own access line is replaced by the JSON line of adapters.http.observe
    options: dict[str, Any] = {"factory": True, "server_header": False, "log_level": "info", "proxy_headers": False,
                               "access_log": False}
    if args.workers > 1:
        metrics_dir()
    if args.fd is None:
        uvicorn.run(APP, host=args.host, port=args.port, workers=args.workers, **options)
        return
    sock = socket.socket(fileno=args.fd)
    uvicorn.Server(uvicorn.Config(APP, **options)).run(sockets=[sock])


def deliver() -> threading.Event:
    """The webhook deliverer (`adapters.services.deliverer`, its default schedule) on a thread of this process:
    one deliverer whatever the number of workers (this process is uvicorn's supervisor then); its own App."""
    from adapters.bootstrap import Settings, bootstrap
    from adapters.services import deliverer

    stop = threading.Event()
    app = bootstrap(Settings.resolve())
    threading.Thread(target=deliverer.run_deliverer, args=(app, stop), name="webhooks", daemon=True).start()
    return stop


def metrics_dir() -> str:
    """The directory where each worker keeps its counts (prometheus-client's multiprocess mode): the operator's
    ``PROMETHEUS_MULTIPROC_DIR``, emptied of the counts of an earlier run, or a new one. Set before uvicorn
    starts the workers, which inherit it."""
    given = os.environ.get(MULTIPROC)
    if given:
        os.makedirs(given, exist_ok=True)
        for old in glob.glob(os.path.join(given, "*.db")):
            os.remove(old)
        return given
    made = os.environ[MULTIPROC] = tempfile.mkdtemp(prefix="billing-ledger-metrics-")
    return made


if __name__ == "__main__":
    main()
