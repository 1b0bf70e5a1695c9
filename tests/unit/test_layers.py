"""The layers hold: entrypoints parse, call one use case and render; nothing is built at import time.

The entrypoints' imports are read with `ast` (nothing is imported): only the standard library, their own
framework (the CLI: typer, rich, and its own package; the HTTP API and its web console, ``adapters/http/``:
fastapi, starlette, pydantic, limits, uvicorn, jinja2, and its own package), the composition root
(`adapters.bootstrap`), the application layer (`adapters.services`), the formats (`adapters.formats`) and the
domain's error types (`domain.errors`).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINTS = sorted((ROOT / "adapters" / "cli").glob("*.py"))  # the CLI package: its modules import one another
HTTP_ENTRYPOINT = sorted((ROOT / "adapters" / "http").rglob("*.py"))  # the web console (console/) included
ALLOWED_PACKAGES = ("typer", "rich", "adapters.bootstrap", "adapters.services", "adapters.formats", "domain.errors",
                    "adapters.cli")
HTTP_ALLOWED = ("fastapi", "fastapi_offline", "starlette", "pydantic", "limits", "uvicorn", "jinja2", "markupsafe",
                "h11",  # uvicorn's HTTP/1.1 state machine: the server's protocol (adapters/http/protocol.py)
                "adapters.bootstrap",
                "adapters.services", "adapters.formats", "domain.errors", "adapters.http")
FORBIDDEN_EXAMPLES = ("eventsourcing", "sqlalchemy", "psycopg", "adapters.store", "adapters.store.ledger",
                      "projections", "projections.finance", "domain", "domain.instance", "domain.policies.registry")


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def allowed(name: str, packages: tuple[str, ...] = ALLOWED_PACKAGES) -> bool:
    top = name.split(".")[0]
    if top in sys.stdlib_module_names:
        return True
    return any(_within(name, p) for p in packages)


def imported_names(path: Path) -> list[str]:
    """Every module a file imports (at any depth), as absolute dotted names; ``from P import x`` counts as
    ``P.x`` when ``P`` is one of our packages (``x`` may be a submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            if base.split(".")[0] in ("adapters", "domain", "projections"):
                names += [f"{base}.{a.name}" if base in ("adapters", "domain", "projections") else base
                          for a in node.names]
            else:
                names.append(base)
    return names


def test_the_checker_rejects_infrastructure_projections_and_the_domain_model():
    assert not any(allowed(name) for name in FORBIDDEN_EXAMPLES)
    assert all(allowed(name) for name in ("json", "typer", "rich.table", "adapters.services",
                                          "adapters.services.queries", "adapters.formats.feed", "domain.errors"))


@pytest.mark.parametrize("path", ENTRYPOINTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_entrypoints_import_only_the_composition_root_use_cases_formats_and_domain_errors(path: Path):
    names = imported_names(path)
    assert names, f"{path} imports nothing?"
    assert [n for n in names if not allowed(n)] == []


def test_the_http_checker_rejects_infrastructure_the_cli_and_the_domain_model():
    assert not any(allowed(name, HTTP_ALLOWED) for name in (*FORBIDDEN_EXAMPLES, "adapters.cli"))
    assert all(allowed(name, HTTP_ALLOWED) for name in ("fastapi.responses", "adapters.http.auth",
                                                        "adapters.services.keys", "domain.errors"))


@pytest.mark.parametrize("path", HTTP_ENTRYPOINT, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_http_api_imports_only_its_framework_the_composition_root_use_cases_formats_and_domain_errors(
        path: Path):
    names = imported_names(path)
    assert [n for n in names if not allowed(n, HTTP_ALLOWED)] == []


def test_the_http_api_is_checked():
    assert {p.name for p in HTTP_ENTRYPOINT} >= {"__init__.py", "app.py", "auth.py", "reads.py", "writes.py",
                                                 "pages.py", "session.py"}


def _modules() -> list[str]:
    found = []
    for package in ("adapters", "domain", "projections"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_importing_every_module_builds_no_infrastructure(tmp_path: Path):
    db = tmp_path / "must-not-exist.db"
    work = tmp_path / "cwd"
    work.mkdir()
    modules = _modules()
    assert "adapters.cli" in modules and "adapters.bootstrap" in modules
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    env = {**os.environ, "BILLING_LEDGER_DB": f"sqlite:///{db}", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code, *modules], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not db.exists()
    assert list(work.iterdir()) == []  # not even the default ./billing-ledger.db
