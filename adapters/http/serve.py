"""``python -m adapters.http.serve``: what ``billing-ledger serve`` runs (uvicorn, the app built by
`create_app` from the environment in each worker process).

``--fd N`` serves on a socket already bound (the tests bind 127.0.0.1 port 0); it is adopted with its own
address family, so that TCP_NODELAY is set on its connections (uvicorn's own ``--fd`` takes every socket for
a Unix one, and small answers then wait for the peer's delayed acknowledgement).
"""

from __future__ import annotations

import argparse
import copy
import os
import socket
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from adapters.http import protocol
from adapters.http.settings import HttpSettings

APP = "adapters.http:create_app"
ACCESS_LOG = "BILLING_LEDGER_HTTP_ACCESS_LOG"  # "false": no line per request
WORKER_HEALTHCHECK = 30  # seconds a worker has to answer its supervisor's ping (`--workers`)


def log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the application's own loggers (``billing_ledger.*``: key actions with their
    actor, unexpected errors) at INFO on the same handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["billing_ledger"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="billing-ledger serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--fd", type=int)
    args = parser.parse_args(argv)
    http = HttpSettings.resolve()
    options: dict[str, Any] = {"factory": True, "server_header": False, "log_level": "info", "proxy_headers": False,
                               "access_log": os.environ.get(ACCESS_LOG, "true") != "false",
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


if __name__ == "__main__":
    main()
