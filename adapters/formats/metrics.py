"""The HTTP service's Prometheus metrics and their text exposition (``GET /metrics``; docs/http.md, "Metrics
and logs").

Counted in the process that answers (`observe_request`, `count_feed`): requests by method, route template and
status, their latency, and the feed lines posted by outcome. Read from the store when scraped
(`adapters.services.observe.Figures`): the log's head, the read models' lag, refunds by policy and state, the
webhook subscriptions' lag. With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` (which ``serve``
sets to a fresh directory when the operator has not) makes prometheus-client keep each process's counts in
that directory and every scrape add them up, whichever worker answers (its multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE", "count_feed", "exposition", "observe_request"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("billing_ledger_http_requests", "HTTP requests answered, by method, route template and status",
                   ["method", "route", "status"])
LATENCY = Histogram("billing_ledger_http_request_duration_seconds", "Time to answer an HTTP request, by method "
                    "and route template", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
FEED_LINES = Counter("billing_ledger_feed_lines", "Feed lines posted to /v1/feeds, by outcome (recorded, "
                     "duplicate, denied)", ["outcome"])


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def count_feed(recorded: int, duplicates: int, denied: int) -> None:
    """A posted feed's lines: ``recorded`` includes the ``denied`` refund requests (recorded as denials)."""
    for outcome, n in (("recorded", recorded), ("duplicate", duplicates), ("denied", denied)):
        if n:
            FEED_LINES.labels(outcome).inc(n)


class _Figures:
    """The figures read from the store at this scrape, as gauges."""

    def __init__(self, figures: Any) -> None:
        self.figures = figures

    def collect(self) -> Iterator[GaugeMetricFamily]:
        f = self.figures
        yield GaugeMetricFamily("billing_ledger_log_head_position", "The newest position in the global log",
                                value=f.head)
        yield GaugeMetricFamily("billing_ledger_readmodel_lag_positions", "Positions of the log the SQL read "
                                "models (billing-ledger project) do not include yet", value=f.readmodel_lag)
        refunds = GaugeMetricFamily("billing_ledger_refunds", "Refund requests by policy and state, as the read "
                                    "models hold them", labels=["policy", "state"])
        for policy, state, n in f.refunds:
            refunds.add_metric([policy, state], n)
        yield refunds
        lag = GaugeMetricFamily("billing_ledger_webhook_lag_positions", "Positions of the log a webhook "
                                "subscription has not been sent yet", labels=["subscription"])
        for subscription, position in f.webhooks:
            lag.add_metric([subscription], max(0, f.head - position))
        yield lag
        if f.verification_age is not None:
            yield GaugeMetricFamily("billing_ledger_chain_verification_age_seconds", "Seconds since the last "
                                    "checkpoint (billing-ledger checkpoint verifies the chain, then appends one) "
                                    "in the operator's file, BILLING_LEDGER_CHECKPOINTS", value=f.verification_age)


class _Counted:
    """What this process (or, in multiprocess mode, every process) counted."""

    def collect(self) -> Iterator[Any]:
        if os.environ.get(MULTIPROC):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()


def exposition(figures: Any) -> bytes:
    """The Prometheus text format of every metric, with ``figures`` (`adapters.services.observe.Figures`)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Counted())
    registry.register(_Figures(figures))
    return generate_latest(registry)
