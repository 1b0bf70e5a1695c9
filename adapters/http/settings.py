"""The HTTP API's own limits, from the environment (the store comes from `adapters.bootstrap.Settings`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MAX_BODY = "BILLING_LEDGER_HTTP_MAX_BODY"  # bytes
RATE = "BILLING_LEDGER_HTTP_RATE"  # per key, e.g. "600/minute" (the `limits` notation); "off" for none
ACCESS_LOG = "BILLING_LEDGER_HTTP_ACCESS_LOG"  # "false": no JSON line per request
CHECKPOINTS = "BILLING_LEDGER_CHECKPOINTS"  # the operator's signed checkpoint file, shown on the console's chain page


@dataclass(frozen=True)
class HttpSettings:
    max_body: int = 64 * 1024 * 1024  # a request body over this is 413
    rate: str | None = "1200/minute"  # requests per key in a moving window; None: unlimited
    checkpoints: str | None = None  # a checkpoint file set by the operator (never one a caller names)
    access_log: bool = True  # one JSON line per request on stderr (adapters.http.observe)

    @classmethod
    def resolve(cls, environ: Mapping[str, str] | None = None) -> HttpSettings:
        env = os.environ if environ is None else environ
        default = cls()
        max_body = int(env.get(MAX_BODY) or default.max_body)
        if max_body < 1:
            raise ValueError(f"{MAX_BODY} must be a positive number of bytes, not {max_body}")
        rate = env.get(RATE) or default.rate
        return cls(max_body, None if rate in ("off", "none", "0") else rate, env.get(CHECKPOINTS) or None,
                   env.get(ACCESS_LOG, "true") != "false")
