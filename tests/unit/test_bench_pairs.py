"""`make bench`'s scale-out pairs: alternating order, the median run per worker count, the median speed-up and
its range (no process is started: `measure` is replaced by a recorder of the calls)."""

from bench import scaleout


def test_pairs_alternate_and_report_the_median(monkeypatch, tmp_path):
    calls = []
    walls = {"1": iter([30.0, 25.0, 33.0]), "2": iter([20.0, 18.0, 17.0])}

    def measure(url, args):
        w = args[args.index("--workers") + 1]
        calls.append(w)
        return {"wall_s": next(walls[w]), "cpu_s": 1.0, "peak_tree_rss_mb": 1.0}

    monkeypatch.setattr(scaleout, "measure", measure)
    monkeypatch.setattr(scaleout, "statement", lambda url, path: path)
    out = scaleout.run_jobs("sqlite:///x.db", str(tmp_path), ("what-if",), repeat=3)["what-if"]
    assert calls == ["1", "2", "2", "1", "1", "2"]  # each pair measured close together, in alternating order
    assert (out["1"]["wall_s"], out["2"]["wall_s"]) == (30.0, 18.0)  # the median run of each
    assert out["speedups"] == sorted([30 / 20, 25 / 18, 33 / 17]) and out["speedup"] == 30 / 20
    row = dict((r[0], r[3]) for r in scaleout.rows({"sqlite": {"what-if": out}, "cluster_start":
                                                    {"wall_s": 1, "cpu_s": 1}, "load_before": [0],
                                                    "load_after": [0]}))
    assert row["what-if (sqlite), --workers 2"] == "speed-up 1.50 (1.39–1.94, 3 pairs)"


def test_a_run_without_the_scale_out_jobs_has_no_rows():
    # `bench.run --no-scale-out` (the 1,000,000-instance column) stores no scale-out figures: no row, no error
    assert scaleout.rows({}) == []
