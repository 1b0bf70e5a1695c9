"""`bench.readme`: the README's performance table, one column per `make bench` run, each target judged from the
figures (a target is met only when every run meets it)."""

from bench.readme import table


def run(instances: int, lines_per_s: float, startup_ms: float) -> dict:
    quotes = {n: {"p50": p, "p99": p, "cold": 1.0} for n, p in (("10", 0.1), ("50", 0.1), ("1000", 0.15))}
    return {"instances": instances,
            "ingest": {"lines_per_s": lines_per_s, "library_events_per_s": 100_000.0},
            "replay": {"events_per_s": 30_000.0, "raw_rows_per_s": 100_000.0, "read_decode_events_per_s": 60_000.0},
            "quote_ms": quotes, "quote_ms_orders": quotes,
            "what_if": {"large": {"requests": 10, "seconds": 2.0, "peak_rss_mb": 70.0},
                        "small": {"peak_rss_mb": 70.0}},
            "cli_startup": {"quote": {"wall_ms": startup_ms, "cpu_ms": startup_ms},
                            "python_pass": {"wall_ms": 30.0}}}


def rows(text: str) -> dict[str, list[str]]:
    return {cells[0].split(";")[0]: cells[1:] for cells in
            ([c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()[2:])}


def test_one_column_per_run_in_order_of_size_and_each_target_judged_from_every_run():
    out = rows(table([run(10_000, 12_000, 200), run(100_000, 9_999, 240)]))
    ingest = out["ingest (`record`, feeds of 2,000 lines)"]
    assert ingest[:2] == ["12,000 lines/s", "9,999 lines/s"]
    assert ingest[3] == "0.12 / 0.10" and ingest[4] == "≥ 10,000 lines/s: **missed**"  # one run below the target
    assert out["replay: a quote for every instance (lean, as the ledger-wide jobs judge)"][4].endswith(": met")
    assert out["CLI start-up: one `quote`, a fresh process (median of 20)"][0] == "200 ms (CPU 200)"
    assert out["CLI start-up: one `quote`, a fresh process (median of 20)"][4] == "≤ 0.25 s: met"
    assert out["PostgreSQL ingest (the same 5,000-instance feed)"] == ["", "", "", "", ""]  # not measured: no verdict


def test_a_target_is_missed_when_one_run_misses_it():
    out = rows(table([run(10_000, 12_000, 200), run(100_000, 12_000, 260)]))
    assert out["ingest (`record`, feeds of 2,000 lines)"][4] == "≥ 10,000 lines/s: met"
    assert out["CLI start-up: one `quote`, a fresh process (median of 20)"][4] == "≤ 0.25 s: **missed**"


def test_one_row_per_ledger_wide_job_judged_against_the_raw_ceiling_of_its_run_issue_27():
    fast, slow = run(10_000, 12_000, 200), run(100_000, 12_000, 200)
    for r, wall in ((fast, 1.0), (slow, 4.0)):
        r["scale_out"] = {"raw": {"rows": 100_000, "rows_per_s": 200_000.0},
                          "sqlite": {j: {"1": {"wall_s": wall}, "speedup": 1.5}
                                     for j in ("project --rebuild", "export account-ledger", "journal", "reconcile",
                                               "what-if")}}
    journal = rows(table([fast, slow]))["`journal`, `--workers 1` (SQLite)"]
    assert journal[:2] == ["100,000 ev/s, 1.0 s, 1.50× at 2", "25,000 ev/s, 4.0 s, 1.50× at 2"]
    assert journal[3] == "0.50 / 0.12" and journal[4] == "≥ 0.25 of the raw ceiling: **missed**"
    fast["scale_out"]["sqlite"]["journal"]["1"]["wall_s"] = 2.0
    only_fast = rows(table([fast]))["`journal`, `--workers 1` (SQLite)"]
    assert only_fast[1:] == ["200,000 rows/s", "0.25", "≥ 0.25 of the raw ceiling: met"]
