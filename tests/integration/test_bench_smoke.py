"""The benchmark suite runs (tiny), so it cannot rot. No timing is asserted: speed is reported by
`make bench`, never tested."""

import json
import os
import subprocess
import sys

from tests.integration.conftest import ROOT


def test_the_benchmark_suite_produces_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    # one ledger-wide job at --workers 1 and 2 (each local cluster costs seconds; the others are the same code)
    done = subprocess.run([sys.executable, "-m", "bench.run", "--instances", "60", "--json", str(out),
                           "--scale-out-jobs", "what-if"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert figures["ingest"]["lines"] > 60 and figures["ingest"]["stored_events"] > figures["ingest"]["lines"]
    assert figures["replay"]["instances"] == 60
    assert set(figures["quote_ms"]) == set(figures["quote_ms_orders"]) == {"10", "50", "100", "1000"}
    assert figures["what_if"]["large"]["requests"] > 0
    assert set(figures["http"]) == {"requests", "1", "16"}
    startup = figures["cli_startup"]
    assert startup["runs"] == 20 and startup["quote"]["wall_ms"] > 0 and startup["python_pass"]["cpu_ms"] >= 0
    jobs = {"what-if"}
    scale = figures["scale_out"]
    for store in ("sqlite", *(("postgresql",) if os.environ.get("BILLING_LEDGER_TEST_PG") else ())):
        assert set(scale[store]) == jobs
        for m in scale[store].values():
            assert m["speedup"] > 0 and m["1"]["peak_tree_rss_mb"] > 0 and m["2"]["cpu_s"] > 0
    for line in ("ingest", "replay", "reading and decoding only", "quote, 1000 events (bindings)",
                 "quote, 1000 events (half orders)", "what-if", "quote over HTTP, 16 client(s)",
                 "record over HTTP, 1 client(s)", "CLI start-up: a quote",
                 "what-if (sqlite), --workers 2", "local cluster of 2"):
        assert line in done.stdout
