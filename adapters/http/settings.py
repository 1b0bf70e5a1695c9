"""The HTTP API's own limits, from the environment (the store comes from `adapters.bootstrap.Settings`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MAX_BODY = "BILLING_LEDGER_HTTP_MAX_BODY"  # bytes
RATE = "BILLING_LEDGER_HTTP_RATE"  # per key, e.g. "600/minute" (the `limits` notation); "off" for none
ACCESS_LOG = "BILLING_LEDGER_HTTP_ACCESS_LOG"  # "false": no JSON line per request
ANON_RATE = "BILLING_LEDGER_HTTP_ANON_RATE"  # per client address: refused keys and sign-in attempts; "off"
KEEP_ALIVE = "BILLING_LEDGER_HTTP_KEEP_ALIVE"  # seconds an idle connection is kept between two requests
HEADER_TIMEOUT = "BILLING_LEDGER_HTTP_HEADER_TIMEOUT"  # seconds for a request's head, from the connection's start
BODY_TIMEOUT = "BILLING_LEDGER_HTTP_BODY_TIMEOUT"  # seconds for a request's whole body, from its head
CHECKPOINTS = "BILLING_LEDGER_CHECKPOINTS"  # the operator's signed checkpoint file, shown on the console's chain page
OFF = ("off", "none", "0")


@dataclass(frozen=True)
class HttpSettings:
    max_body: int = 64 * 1024 * 1024  # a request body over this is 413
    rate: str | None = "1200/minute"  # requests per key in a moving window; None: unlimited
    checkpoints: str | None = None  # a checkpoint file set by the operator (never one a caller names)
    anon_rate: str | None = "60/minute"  # refused keys and sign-in attempts per client address; None: unlimited
    keep_alive: float = 5.0
    header_timeout: float = 10.0
    body_timeout: float = 120.0
    access_log: bool = True  # one JSON line per request on stderr (adapters.http.observe)

    @classmethod
    def resolve(cls, environ: Mapping[str, str] | None = None) -> HttpSettings:
        env = os.environ if environ is None else environ
        default = cls()
        max_body = int(env.get(MAX_BODY) or default.max_body)
        if max_body < 1:
            raise ValueError(f"{MAX_BODY} must be a positive number of bytes, not {max_body}")
        rate = env.get(RATE) or default.rate
        anon = env.get(ANON_RATE) or default.anon_rate
        return cls(max_body, None if rate in OFF else rate, env.get(CHECKPOINTS) or None, None if anon in OFF else anon,
                   _seconds(env, KEEP_ALIVE, default.keep_alive), _seconds(env, HEADER_TIMEOUT, default.header_timeout),
                   _seconds(env, BODY_TIMEOUT, default.body_timeout), env.get(ACCESS_LOG, "true") != "false")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = float(env.get(name) or default)
    if not 0 < value < 86400:
        raise ValueError(f"{name} must be a number of seconds above 0 and below a day, not {value:g}")
    return value
