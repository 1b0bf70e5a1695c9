"""A command loads only what it uses: the CLI starts, and a quote runs, without SQLAlchemy, psycopg,
cryptography, the HTTP stack, Dask, pyarrow or the feed's pydantic models (docs/cli.md, "Start-up": the quote
CLI's wall time). Checked structurally, on the modules a fresh process holds afterwards; no timing here."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-examples.jsonl"
# what a quote on SQLite never needs: the read models' and PostgreSQL's drivers, the checkpoint keys, the HTTP
# service, the clusters, the Parquet writer, the feed's models, the hash chain and the log scans; pydantic itself
# (typer 0.29 parses every option through it: pyproject.toml keeps typer below 0.29, docs/cli.md "Start-up")
NOT_FOR_A_QUOTE = ("pydantic", "pydantic_core", "sqlalchemy", "psycopg", "psycopg_pool", "cryptography", "fastapi",
                   "starlette", "uvicorn", "dask", "distributed", "pyarrow", "adapters.formats.feed",
                   "adapters.formats.checkpoints", "adapters.store.readmodels", "adapters.store.integrity",
                   "adapters.store.apikeys", "adapters.services.anchors", "adapters.services.jobs", "adapters.http",
                   "domain.chain")


HEAVY = f"sorted(m for m in sys.modules if any(m == p or m.startswith(p + '.') for p in {NOT_FOR_A_QUOTE!r}))"


def _python(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def _cli_then_modules(*argv: str) -> str:
    """Run ``billing-ledger ARGV`` in a fresh process, then print what it loaded of NOT_FOR_A_QUOTE (on stderr,
    after the command's own output)."""
    return ("import sys\n"
            f"sys.argv = ['billing-ledger', *{list(argv)!r}]\n"
            "from adapters.cli import main\n"
            "try:\n    main()\n"
            "except SystemExit as e:\n    status = e.code\n"
            "else:\n    status = 0\n"
            f"heavy = {HEAVY}\n"
            "store = 'eventsourcing.sqlite' in sys.modules\n"
            "print('STATUS', status, 'LOADED', heavy, 'STORE', store, file=sys.stderr)\n")


def test_the_cli_starts_without_the_heavy_libraries():
    done = _python(f"import sys, adapters.cli\nprint({HEAVY})")
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


def test_a_quote_on_sqlite_reads_the_event_store_and_loads_nothing_else(tmp_path):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    recorded = _python(_cli_then_modules("--db", db, "record", str(SEED)))
    assert "STATUS 0" in recorded.stderr, recorded.stderr
    quoted = _python(_cli_then_modules("--db", db, "quote", "kec-1", "--at", "2027-02-22T10:00:00+08:00",
                                       "--known-at", "2027-03-01T00:00:00Z"))
    assert "CNY 196.00" in quoted.stdout, quoted.stderr
    assert quoted.stderr.strip().splitlines()[-1] == "STATUS 0 LOADED [] STORE True", quoted.stderr


# each policy's heavy part (domain.policy.Lazy): its policy object, aggregate and events, commands and rules
KORPRO = ("domain.policies.korpro.policy", "domain.policies.korpro.subscription", "domain.policies.korpro.rules",
          "domain.policies.korpro.commands", "domain.policies.korpro.parameters",
          "domain.policies.korpro.view", "domain.policies.korpro.amount",
          "domain.policies.korpro.events")
KINGSOFT = ("domain.policies.kingsoft.policy", "domain.policies.kingsoft.events", "domain.policies.kingsoft.commands",
            "domain.policies.kingsoft.rules", "domain.policies.kingsoft.view",
            "domain.policies.kingsoft.amount", "domain.policies.kingsoft.orders", "domain.policies.kingsoft.parameters")


def _policies_after(db: str, *argv: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``billing-ledger --db DB ARGV`` in a fresh process: what it did, and the policy modules it loaded."""
    done = _python("import sys\n"
                   f"sys.argv = ['billing-ledger', '--db', {db!r}, *{list(argv)!r}]\n"
                   "from adapters.cli import main\n"
                   "try:\n    main()\n"
                   "except SystemExit as e:\n    assert not e.code, e.code\n"
                   "print('POLICIES', sorted(m for m in sys.modules if m.startswith('domain.policies.')),"
                   " file=sys.stderr)\n")
    assert done.returncode == 0, done.stderr
    return done, eval(done.stderr.strip().splitlines()[-1].removeprefix("POLICIES "))


def test_a_quote_loads_only_the_policy_that_judges_it(tmp_path):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    for feed in (SEED, ROOT / "examples" / "korpro-examples.jsonl"):
        _policies_after(db, "record", str(feed))
    kingsoft, loaded = _policies_after(db, "quote", "kec-1", "--at", "2027-02-22T10:00:00+08:00",
                                       "--known-at", "2027-03-01T00:00:00Z")
    assert "CNY 196.00" in kingsoft.stdout
    assert "domain.policies.kingsoft.policy" in loaded and not set(KORPRO) & set(loaded), loaded
    korpro, loaded = _policies_after(db, "quote", "kp-1", "--at", "2026-03-10T00:00:00Z", "--mode", "outage",
                                     "--known-at", "2027-03-01T00:00:00Z")
    assert "USD 107.14" in korpro.stdout
    assert "domain.policies.korpro.policy" in loaded and not set(KINGSOFT) & set(loaded), loaded


def test_a_legacy_ledger_decodes_a_moved_policy_module_on_first_use(tmp_path):
    """Events written under KorPro's former module path (``domain.korpro:…``) and under Kingsoft's former class
    topics (``domain.instance:Instance.Purchased``) decode in a fresh process, where neither policy is loaded
    before (domain.topics); a Kingsoft quote on the same ledger still loads nothing of KorPro, and a KorPro
    quote nothing of Kingsoft."""
    legacy = tmp_path / "ledger.db"
    legacy.write_bytes((ROOT / "tests" / "data" / "legacy" / "ledger.db").read_bytes())
    db = f"sqlite:///{legacy}"
    korpro, loaded = _policies_after(db, "quote", "kp-1", "--at", "2026-01-15T00:00:00+08:00", "--known-at",
                                     "2100-01-01T00:00:00Z", "--mode", "outage", "--json")
    assert '"policy": "korpro-2025-12-20"' in korpro.stdout and "domain.policies.korpro.policy" in loaded
    assert not set(KINGSOFT) & set(loaded), loaded
    kingsoft, loaded = _policies_after(db, "quote", "kec-1", "--at", "2026-01-15T00:00:00+08:00", "--known-at",
                                       "2100-01-01T00:00:00Z", "--json")
    assert '"amount": "672.67"' in kingsoft.stdout and not set(KORPRO) & set(loaded), loaded


def test_a_refused_option_loads_nothing_heavy_either(tmp_path):
    done = _python(_cli_then_modules("--db", f"sqlite:///{tmp_path / 'none.db'}", "quote", "kec-1",
                                     "--at", "2027-02-22T10:00:00"))
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == "STATUS 2 LOADED [] STORE False", done.stderr
    assert lines[0].startswith("--at: "), done.stderr


def test_a_plain_sqlite_url_reads_as_sqlalchemy_reads_it():
    """The SQLite fast path (no SQLAlchemy import) gives the file and the shown URL SQLAlchemy would give."""
    from sqlalchemy.engine import make_url

    from adapters.store.ledger import _plain_sqlite, settings_from_url, shown

    for url in ("sqlite:///demo.db", "sqlite:///", "sqlite:////abs/path.db", "sqlite:///a@b:c/d.db",
                "sqlite:///:memory:", "sqlite:///file:x", "sqlite:///ü é#x.db", "sqlite:///two\nlines.db"):
        u = make_url(url)
        assert _plain_sqlite(url) == (u.database or ""), url
        assert shown(url) == u.render_as_string(hide_password=True) == url
        assert settings_from_url(url) == {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                          "SQLITE_DBNAME": u.database or ":memory:"}
    for url in ("sqlite:///demo.db?mode=ro", "sqlite+pysqlite:///demo.db", "sqlite://", "postgresql://u:p@h/d"):
        assert _plain_sqlite(url) is None, url


def test_a_server_loads_every_use_case_at_start_up():
    """The HTTP app's lifespan calls `services.load_all`: a first request pays no import. Checked in a fresh
    process: every module of the package is loaded afterwards (here, other tests may have loaded them)."""
    done = _python("import sys\nfrom adapters import services\nservices.load_all()\n"
                   "print(sorted(m.removeprefix('adapters.services.') for m in sys.modules"
                   " if m.startswith('adapters.services.')))")
    modules = sorted(p.stem for p in (ROOT / "adapters" / "services").glob("*.py") if p.stem != "__init__")
    assert done.stdout.strip() == repr(modules), done.stderr


def test_a_call_builds_only_the_command_it_names():
    """typer builds click's parameters for every command it holds: a call runs in an app holding only the
    command it names; no command, an option first or an unknown name get the whole app (its help, its errors)."""
    from adapters.cli import cli, invoked

    for argv in (["quote", "kec-1"], ["--db", "sqlite:///x.db", "quote", "--help"], ["--db=sqlite:///x.db", "quote"]):
        app = invoked(argv)
        assert [c.name for c in app.registered_commands] == ["quote"] and app.registered_groups == [], argv
        assert app.registered_callback is cli.registered_callback and app is invoked(["quote"])
    keys = invoked(["keys", "list"])
    assert keys.registered_commands == [] and [g.name for g in keys.registered_groups] == ["keys"]
    for argv in ([], ["--db"], ["--help"], ["--version"], ["quot"], ["--db", "x.db", "--help", "quote"]):
        assert invoked(argv) is cli, argv
