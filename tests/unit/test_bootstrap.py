"""The composition root: the URL is resolved once, the clock is the App's, the store opens on first use."""

from datetime import UTC, datetime

import pytest

from adapters.bootstrap import DEFAULT_URL, NoLedger, Settings, StoreURLError, bootstrap, utc_now


def test_the_url_is_the_explicit_value_else_the_environment_else_the_default():
    env = {"BILLING_LEDGER_DB": "sqlite:///from-env.db"}
    assert Settings.resolve("sqlite:///given.db", environ=env).url == "sqlite:///given.db"
    assert Settings.resolve(None, environ=env).url == "sqlite:///from-env.db"
    assert Settings.resolve(None, environ={}).url == DEFAULT_URL == "sqlite:///billing-ledger.db"


def test_the_default_clock_is_an_aware_utc_now():
    now = Settings().clock()
    assert now.tzinfo is not None and now.utcoffset().total_seconds() == 0
    assert Settings.resolve(environ={}).clock is utc_now


def test_the_pool_size_must_be_positive():
    with pytest.raises(ValueError):
        Settings(pool_size=0)


def test_the_app_reads_its_clock_and_opens_the_store_once_on_first_use(tmp_path):
    fixed = datetime(2030, 1, 1, tzinfo=UTC)
    db = tmp_path / "ledger.db"
    app = bootstrap(Settings(url=f"sqlite:///{db}", clock=lambda: fixed, pool_size=3))
    assert app.now() == fixed
    assert not db.exists()  # nothing opened yet
    with pytest.raises(NoLedger):  # reading never creates a ledger
        app.ledger  # noqa: B018
    assert not db.exists()
    ledger = app.writer  # recording does
    assert app.ledger is ledger and app.writer is ledger and db.exists()
    assert ledger.env.get("POSTGRES_POOL_SIZE") == "3"
    assert app.readmodels is app.readmodels
    assert app.readmodels.pool.size() == 3
    app.close()


def test_a_bad_url_is_reported_when_the_store_is_first_used():
    app = bootstrap(Settings(url="foo://x"))
    with pytest.raises(StoreURLError, match="unsupported database 'foo'"):
        app.ledger  # noqa: B018
