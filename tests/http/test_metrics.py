"""``GET /metrics`` and the per-request JSON log (issue 29) over a real server on both stores: the exposition
parses with prometheus-client's own parser; requests are counted by route template and status; posted feed
lines by outcome; refunds by policy and state equal the refunds listing once the read models caught up; one
JSON line per request with its id echoed and its key's id, never the secret; several uvicorn workers add up."""

from __future__ import annotations

import collections
import json
import os
import socket
import subprocess
import time
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.http.conftest import EXE, OWN, ROOT, purchase, seed, serving
from tests.stores import store_url


def scrape(server, key: str = "admin") -> dict[str, dict[tuple, float]]:
    """Every sample of /metrics: name -> {labels as sorted pairs: value}."""
    got = server.get("/metrics", key)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = collections.defaultdict(dict)
    for family in text_string_to_metric_families(got.text):
        for s in family.samples:
            samples[s.name][tuple(sorted(s.labels.items()))] = s.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples[name].get(tuple(sorted(labels.items())), 0.0)


def test_metrics_are_for_an_unnarrowed_admin_key_only(server):
    assert server.get("/metrics").status_code == 401
    for key in ("auditor", "finance", "support", "recorder", f"admin@{OWN}", f"customer@{OWN}"):
        assert server.get("/metrics", key).status_code == 403, key
    assert server.get("/metrics", "admin").status_code == 200


def test_requests_are_counted_by_route_template_and_status_with_their_latency(server):
    before = scrape(server)
    route = "/v1/instances/{instance}/history"
    for name in ("kec-1", "kec-2", "kp-1"):
        assert server.get(f"/v1/instances/{name}/history", "auditor").status_code == 200
    assert server.get("/v1/instances/nobody/history", "auditor").status_code == 404
    after = scrape(server)
    for status, n in (("200", 3), ("404", 1)):
        labels = {"method": "GET", "route": route, "status": status}
        assert value(after, "billing_ledger_http_requests_total", **labels) - \
            value(before, "billing_ledger_http_requests_total", **labels) == n
    count = "billing_ledger_http_request_duration_seconds_count"
    assert value(after, count, method="GET", route=route) - value(before, count, method="GET", route=route) == 4
    assert not any("kec-1" in dict(labels).get("route", "") for labels in after["billing_ledger_http_requests_total"])


def test_posted_feed_lines_are_counted_by_outcome(server):
    before = scrape(server)
    feed = "\n".join(purchase(f"met-{uuid.uuid4().hex[:8]}", "metrics") for _ in range(2)) + "\n"
    for _ in range(2):
        assert server.post("/v1/feeds", "recorder", content=feed,
                           headers={"Content-Type": "application/x-ndjson"}).status_code == 200
    after = scrape(server)
    for outcome, n in (("recorded", 2), ("duplicate", 2)):
        assert value(after, "billing_ledger_feed_lines_total", outcome=outcome) - \
            value(before, "billing_ledger_feed_lines_total", outcome=outcome) == n


def test_refunds_by_policy_and_state_and_the_read_models_lag(server):
    env = {k: v for k, v in os.environ.items() if k != "BILLING_LEDGER_DB"}
    done = subprocess.run([str(EXE), "--db", server.db, "project"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    samples = scrape(server)
    listed = collections.Counter((r["policy"], r["state"]) for r in server.get(
        "/v1/refunds", "admin", params={"limit": 1000}).json()["refunds"])
    shown = {(dict(k)["policy"], dict(k)["state"]): v for k, v in samples["billing_ledger_refunds"].items()}
    assert shown == dict(listed) and shown
    assert value(samples, "billing_ledger_readmodel_lag_positions") == 0
    assert value(samples, "billing_ledger_log_head_position") > 0
    server.post("/v1/feeds", "recorder", content=purchase(f"lag-{uuid.uuid4().hex[:8]}", "metrics") + "\n",
                headers={"Content-Type": "application/x-ndjson"})
    assert value(scrape(server), "billing_ledger_readmodel_lag_positions") > 0


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A server that writes its JSON line per request (the session's server is quiet)."""
    workdir = tmp_path_factory.mktemp("logged")
    db = store_url("sqlite", workdir)
    made = seed(db)
    env = {k: v for k, v in os.environ.items() if k != "BILLING_LEDGER_DB"}
    for args in (("keygen", "--out", "ledger.key"), ("checkpoint", "--key", "ledger.key", "--file", "cp.jsonl")):
        done = subprocess.run([str(EXE), "--db", db, *args], cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
    with serving(db, workdir, env={"BILLING_LEDGER_HTTP_ACCESS_LOG": "true",
                                   "BILLING_LEDGER_CHECKPOINTS": str(workdir / "cp.jsonl")}) as s:
        s.keys = made
        yield s


def log_lines(server) -> list[dict]:
    return [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]


def test_one_json_line_per_request_with_its_id_echoed_and_the_keys_id_never_its_secret(logged):
    got = logged.get("/v1/instances/kec-1/history", "auditor", headers={"X-Request-Id": "trace-42.a:b"})
    assert got.headers["x-request-id"] == "trace-42.a:b"
    made = logged.get("/v1/instances/kec-1/history", "auditor", headers={"X-Request-Id": "bad id; " + "x" * 200})
    assert len(made.headers["x-request-id"]) == 32 and "bad" not in made.headers["x-request-id"]
    assert logged.get("/healthz").headers["x-request-id"]
    key_id = next(k["id"] for k in logged.get("/v1/keys", "admin").json()["keys"] if k["name"] == "auditor")
    deadline = time.monotonic() + 10
    while not any(x["request_id"] == made.headers["x-request-id"] for x in log_lines(logged)):
        assert time.monotonic() < deadline, logged.stderr()
        time.sleep(0.05)
    line = next(x for x in log_lines(logged) if x["request_id"] == "trace-42.a:b")
    assert {k: line[k] for k in ("method", "route", "path", "status", "key_id")} == {
        "method": "GET", "route": "/v1/instances/{instance}/history", "path": "/v1/instances/kec-1/history",
        "status": 200, "key_id": key_id}
    assert line["duration_ms"] > 0
    assert next(x for x in log_lines(logged) if x["route"] == "/healthz")["key_id"] is None
    text = logged.log.read_text()
    assert all(secret not in text for secret in logged.keys.values())
    assert '"GET /v1/instances' not in text  # uvicorn's own access line is replaced, not doubled


def test_the_age_of_the_last_verification_is_the_operators_last_checkpoints(logged, server):
    """``checkpoint`` verifies the chain, then appends a signed line: its ``made_at`` is the last verification."""
    age = value(scrape(logged), "billing_ledger_chain_verification_age_seconds")
    assert 0 < age < 600
    assert "billing_ledger_chain_verification_age_seconds" not in scrape(server)  # no checkpoint file set


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_several_workers_add_up_their_counts_on_every_scrape(tmp_path):
    pg = os.environ.get("BILLING_LEDGER_TEST_PG")
    if not pg:
        pytest.skip("several workers need PostgreSQL: run through scripts/test-env")
    db = store_url("postgresql", tmp_path)
    made = seed(db)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BILLING_LEDGER_HTTP_RATE": "off"}
    env.pop("BILLING_LEDGER_DB", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(tmp_path / "server.log", "wb") as out:
        proc = subprocess.Popen([str(EXE), "--db", db, "serve", "--port", str(port), "--workers", "2"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {made['admin']}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
        for _ in range(30):  # a new connection each: the workers share them
            assert httpx.get(base + "/v1/events", params={"limit": 1}, headers=auth).status_code == 200
        for _ in range(6):
            text = httpx.get(base + "/metrics", headers=auth).text
            counts = [s.value for f in text_string_to_metric_families(text) for s in f.samples
                      if s.name == "billing_ledger_http_requests_total" and s.labels["route"] == "/v1/events"]
            assert counts == [30.0], text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
