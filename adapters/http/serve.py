"""``python -m adapters.http.serve``: what ``billing-ledger serve`` runs (uvicorn, the app built by
`create_app` from the environment in each worker process).

``--fd N`` serves on a socket already bound (the tests bind 127.0.0.1 port 0); it is adopted with its own
address family, so that TCP_NODELAY is set on its connections (uvicorn's own ``--fd`` takes every socket for
a Unix one, and small answers then wait for the peer's delayed acknowledgement).
"""

from __future__ import annotations

import argparse
import copy
import glob
import os
import socket
import tempfile
import threading
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from adapters.http import protocol
from adapters.http.settings import HttpSettings

APP = "adapters.http:create_app"
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"  # adapters.formats.metrics: every worker's counts, added up when scraped
WORKER_HEALTHCHECK = 30  # seconds a worker has to answer its supervisor's ping (`--workers`)


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the application's own loggers (``billing_ledger.*``: key actions with their
    actor, unexpected errors) at INFO on the same handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["billing_ledger"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    # the JSON line per request has its own handler (adapters.http.observe.install_log), not uvicorn's format
    config["loggers"]["billing_ledger.access"] = {"level": "INFO", "propagate": False}
    return config


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
    if args.workers > 1:
        metrics_dir()
    http = HttpSettings.resolve()
    # uvicorn's own access line is replaced by the JSON line of adapters.http.observe
    options: dict[str, Any] = {"factory": True, "server_header": False, "log_level": "info", "proxy_headers": False,
                               "access_log": False,
                               # the request's own deadlines (adapters.http.protocol), the idle one between two
                               "http": protocol.PATH, "timeout_keep_alive": http.keep_alive,
                               "h11_max_incomplete_event_size": protocol.MAX_HEAD, "log_config": log_config(),
                               # a worker restarted after a crash answers the supervisor's ping only once its
                               # interpreter has started: uvicorn's 5 s killed it again and again on a busy host
                               "timeout_worker_healthcheck": WORKER_HEALTHCHECK}
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
