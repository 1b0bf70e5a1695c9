"""The table of docs/performance.md ("The figures of `make bench`") from the JSON of `make bench` runs of one
code version, one column per run (10,000, 100,000 and 1,000,000 instances), each figure beside its reference
measured in the same run and the issue's target judged from the figures themselves:

    python -m bench.readme results-10k.json results-100k.json results-1m.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Run = dict[str, Any]


def _verdict(ok: bool, what: str) -> str:
    return f"{what}: met" if ok else f"{what}: **missed**"


def _row(runs: list[Run], workload: str, figure: Callable[[Run], str], reference: Callable[[Run], str],
         ratio: Callable[[Run], float] | None, target: Callable[[list[float]], str] = lambda _: "") -> str:
    """``target`` judges the ratios of the runs that have the figure."""
    # a run that lacks the figure (PostgreSQL not asked for) shows an empty cell
    def cell(f: Callable[[Run], Any], r: Run) -> Any:
        try:
            return f(r)
        except KeyError:
            return None

    figures = [cell(figure, r) or "" for r in runs]
    references = " / ".join(x for x in (cell(reference, r) for r in runs) if x)
    ratios = [x for x in (cell(ratio, r) for r in runs) if x is not None] if ratio else []
    return "| " + " | ".join([workload, *figures, references, " / ".join(f"{x:.2f}" for x in ratios),
                              target(ratios) if ratios or ratio is None else ""]) + " |"


def table(runs: list[Run]) -> str:
    head = ["workload", *(f"{r['instances']:,} instances" for r in runs), "reference (same run)", "ratio",
            "target"]
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    q = "quote_ms"

    def ingest(r: Run) -> float:
        return r["ingest"]["lines_per_s"]

    out.append(_row(runs, "ingest (`record`, feeds of 2,000 lines); reference: the library's insert of the same rows",
                    lambda r: f"{ingest(r):,.0f} lines/s",
                    lambda r: f"{r['ingest']['library_events_per_s']:,.0f} ev/s",
                    lambda r: ingest(r) / r["ingest"]["library_events_per_s"],
                    lambda _: _verdict(all(ingest(r) >= 10_000 for r in runs), "≥ 10,000 lines/s")))
    out.append(_row(runs, "replay: a quote for every instance (lean, as the ledger-wide jobs judge); reference: "
                          "a raw `sqlite3` scan + `json.loads` of the same rows",
                    lambda r: f"{r['replay']['events_per_s']:,.0f} ev/s",
                    lambda r: f"{r['replay']['raw_rows_per_s']:,.0f} rows/s",
                    lambda r: r["replay"]["events_per_s"] / r["replay"]["raw_rows_per_s"],
                    lambda x: _verdict(bool(x) and min(x) >= 0.25, "≥ 0.25 of the raw ceiling")))
    out.append(_row(runs, "… of which reading and decoding alone",
                    lambda r: f"{r['replay']['read_decode_events_per_s']:,.0f} ev/s", lambda r: "",
                    lambda r: r["replay"]["read_decode_events_per_s"] / r["replay"]["raw_rows_per_s"]))
    out.append(_row(runs, "quote p50, 10 events (bindings)", lambda r: f"{r[q]['10']['p50']:.2f} ms", lambda r: "",
                    None))
    out.append(_row(runs, "quote p50, 50 events (bindings)", lambda r: f"{r[q]['50']['p50']:.2f} ms", lambda r: "",
                    None, lambda _: _verdict(all(r[q]["50"]["p50"] <= 2 for r in runs), "≤ 2 ms")))
    out.append(_row(runs, "quote p50, 1,000 events (bindings); ratio to the 10-event p50",
                    lambda r: f"{r[q]['1000']['p50']:.2f} ms",
                    lambda r: "", lambda r: r[q]["1000"]["p50"] / r[q]["10"]["p50"],
                    lambda x: _verdict(bool(x) and max(x) <= 2, "≤ 2× the 10-event p50")))
    out.append(_row(runs, "quote p50, 1,000 events (500 renewals); ratio to its 10-event p50",
                    lambda r: f"{r['quote_ms_orders']['1000']['p50']:.2f} ms", lambda r: "",
                    lambda r: r["quote_ms_orders"]["1000"]["p50"] / r["quote_ms_orders"]["10"]["p50"]))
    out.append(_row(runs, "what-if over the whole ledger; reference: peak RSS at a tenth of the size",
                    lambda r: (f"{r['what_if']['large']['requests'] / r['what_if']['large']['seconds']:,.0f} req/s, "
                               f"peak RSS {r['what_if']['large']['peak_rss_mb']:.0f} MB"),
                    lambda r: f"{r['what_if']['small']['peak_rss_mb']:.0f} MB",
                    lambda r: r["what_if"]["large"]["peak_rss_mb"] / r["what_if"]["small"]["peak_rss_mb"],
                    lambda x: _verdict(bool(x) and max(x) <= 1.2, "≤ 1.2×")))
    out.append(_row(runs, "CLI start-up: one `quote`, a fresh process (median of 20)",
                    lambda r: (f"{r['cli_startup']['quote']['wall_ms']:.0f} ms "
                               f"(CPU {r['cli_startup']['quote']['cpu_ms']:.0f})"),
                    lambda r: f"`python -c pass` {r['cli_startup']['python_pass']['wall_ms']:.0f} ms",
                    None, lambda _: _verdict(all(r["cli_startup"]["quote"]["wall_ms"] <= 250 for r in runs), "≤ 0.25 s")
                    if all("cli_startup" in r for r in runs) else ""))
    out.append(_row(runs, "PostgreSQL ingest (the same 5,000-instance feed)",
                    lambda r: f"{r['postgresql']['lines_per_s']:,.0f} lines/s",
                    lambda r: f"SQLite {r['postgresql']['sqlite']['lines_per_s']:,.0f}",
                    lambda r: r["postgresql"]["lines_per_s"] / r["postgresql"]["sqlite"]["lines_per_s"],
                    lambda x: _verdict(bool(x) and min(x) >= 0.8, "≥ 0.8×")))
    pg_replay = "replay_events_per_s"
    out.append(_row(runs, "PostgreSQL replay (lean)", lambda r: f"{r['postgresql'][pg_replay]:,.0f} ev/s",
                    lambda r: f"SQLite {r['postgresql']['sqlite'][pg_replay]:,.0f}",
                    lambda r: r["postgresql"][pg_replay] / r["postgresql"]["sqlite"][pg_replay]))
    out += _jobs(runs)
    return "\n".join(out)


JOBS = ("project --rebuild", "export account-ledger", "journal", "reconcile", "what-if")


def _jobs(runs: list[Run]) -> list[str]:
    """One row per ledger-wide job (`bench.scaleout`, SQLite): its stored events per second at `--workers 1`
    and its `--workers 2` speed-up, beside the raw ceiling of the same run (issue 27's target: 0.25 of it)."""
    out = []
    for job in JOBS:
        def one(r: Run, job: str = job) -> dict[str, Any]:
            return r["scale_out"]["sqlite"][job]

        def rate(r: Run, job: str = job) -> float:
            return r["scale_out"]["raw"]["rows"] / one(r, job)["1"]["wall_s"]

        out.append(_row(runs, f"`{job}`, `--workers 1` (SQLite); last: its `--workers 2` speed-up",
                        lambda r, job=job: (f"{rate(r, job):,.0f} ev/s, {one(r, job)['1']['wall_s']:.1f} s, "
                                            f"{one(r, job)['speedup']:.2f}× at 2"),
                        lambda r: f"{r['scale_out']['raw']['rows_per_s']:,.0f} rows/s",
                        lambda r, job=job: rate(r, job) / r["scale_out"]["raw"]["rows_per_s"],
                        lambda x: _verdict(bool(x) and min(x) >= 0.25, "≥ 0.25 of the raw ceiling")))
    return out


def main() -> None:
    runs = [json.loads(Path(p).read_text()) for p in sys.argv[1:]]
    print(table(sorted(runs, key=lambda r: r["instances"])))


if __name__ == "__main__":
    main()
