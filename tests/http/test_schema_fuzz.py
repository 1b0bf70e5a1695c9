"""Schemathesis against the served /openapi.json with a valid admin key: no 5xx, no answer that breaks the
schema (status, content type, headers, body). It shares the seeded server: what it posts is refused (random
feeds are bad input) or harmless (a key it creates)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance)


# The coverage phase (every boundary case the schema defines) runs on SQLite; PostgreSQL gets the fuzzing only,
# to keep the suite quick.
PHASES = {"sqlite": {"stateful": {"enabled": False}},
          "postgresql": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}}


@pytest.fixture(scope="session")
def api_schema(server):
    store = "sqlite" if server.db.startswith("sqlite") else "postgresql"
    config = SchemathesisConfig.from_dict({"phases": PHASES[store]})
    return schemathesis.openapi.from_url(server.base + "/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_answer_is_a_server_error_or_breaks_the_schema(case, server):
    case.call_and_validate(headers={"Authorization": f"Bearer {server.keys['admin']}"}, checks=CHECKS)
