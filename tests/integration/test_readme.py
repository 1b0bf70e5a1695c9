"""The README runs as written: every ```sh / ```bash block, in order, in one shell (``bash -euo pipefail``, as a
reader types them into one terminal), started in a directory laid out like the repository's root (its
examples), with ``billing-ledger`` on the PATH. A block preceded by ``<!-- notest: why -->`` is skipped (the
set-up commands, which the suite itself is, and commands that need the reader's own server). SQLite only: the
README's blocks name their own SQLite ledgers.

The walk-through writes ledgers, live API keys (``admin.json`` ...) and a private signing key (``ledger.key``):
its first block moves to a scratch directory, so none of them lands in the repository (issue 25, item 12).
"""

import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT

FENCE = re.compile(r"(<!-- notest[^>]*-->\n)?```(?:sh|bash)\n(.*?)```", re.S)
SECRETS = ("admin.json", "recorder.json", "finance.json", "auditor.json", "support.json", "customer.json", "ledger.key")


def blocks(text: str) -> list[tuple[int, str]]:
    return [(text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in FENCE.finditer(text) if not m.group(1)]


def test_the_readme_has_runnable_blocks_and_skips_only_what_it_says():
    text = (ROOT / "README.md").read_text()
    assert len(blocks(text)) >= 3
    assert len(FENCE.findall(text)) - len(blocks(text)) == text.count("<!-- notest")


@pytest.fixture(scope="module")
def tour(tmp_path_factory) -> tuple[Path, Path]:
    """Runs the README's blocks in one shell from ``root`` (the repository's stand-in); returns ``root`` and the
    directory the shell ended in. A failing block is named by its line in README.md."""
    base = tmp_path_factory.mktemp("readme")
    root, scratch, where = base / "root", base / "tmp", base / "where"
    root.mkdir(), scratch.mkdir()
    (root / "examples").symlink_to(ROOT / "examples")
    env = {k: v for k, v in os.environ.items() if k != "BILLING_LEDGER_DB"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TMPDIR"] = str(scratch)  # mktemp -d: the scratch directory lands in the test's own temporary one
    trail = base / "trail"
    script = f"exec 3>>{shlex.quote(str(trail))}\n"
    readme = (ROOT / "README.md").read_text()
    script += "".join(f"echo 'README.md:{line}' >&3\n{block}" for line, block in blocks(readme))
    script += f'echo "$PWD" > {shlex.quote(str(where))}\n'
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=root, env=env, capture_output=True,
                          text=True, timeout=1200)
    failed = (trail.read_text().split() if trail.exists() else [])[-1:] or ["README.md (before its first block)"]
    assert done.returncode == 0, f"{failed[0]}: the block failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return root, Path(where.read_text().strip())


def test_every_shell_block_of_the_readme_runs_in_order(tour):
    root, ended_in = tour
    assert ended_in.exists()


def test_the_walk_through_writes_nothing_into_the_repository_and_keeps_its_secrets_private(tour):
    """Issue 25, item 12: run from the repository's root, the README wrote service.db, four live API keys and
    the private key ledger.key there (and .gitignore did not cover the keys)."""
    root, ended_in = tour
    assert sorted(p.name for p in root.iterdir()) == ["examples"]  # no ledger, no key, no output file
    assert ended_in != root and ended_in.is_relative_to(root.parent / "tmp")
    for name in SECRETS:  # the secrets are written (so this test is live) where the tour runs, for its user only
        path = ended_in / name
        assert path.is_file(), name
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{name} is readable by others"


def test_gitignore_covers_the_walk_throughs_secrets_should_one_be_written_in_the_repository():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *SECRETS, "ledger.key.pub"], cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    assert sorted(ignored) == sorted([*SECRETS, "ledger.key.pub"])


def test_the_readmes_ledger_wide_what_ifs_show_a_change_on_its_own_ledger(tmp_path: Path):
    """Issue 25 item 3: the finance section's what-ifs without an instance, run on the ledger that section
    records, each print a table with rows, and the exposure's shows a change (it printed an empty table,
    "1 request(s) judged, 0 changed")."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    block = next(script for _, script in blocks((ROOT / "README.md").read_text())
                 if "examples/korpro-examples.jsonl" in script and "what-if" in script)
    lines = [line.split("  #")[0] for line in block.splitlines()
             if line.startswith(("export BILLING_LEDGER_DB", "billing-ledger record"))]
    what_ifs = [line.split("  #")[0] for line in block.splitlines()
                if line.startswith("billing-ledger what-if --")]  # no INSTANCE: ledger-wide
    assert any("--at" in w for w in what_ifs) and any("--at" not in w for w in what_ifs)
    env = {k: v for k, v in os.environ.items() if k != "BILLING_LEDGER_DB"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    shown = []
    for what_if in what_ifs:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join([*lines, what_if])], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        rows = [r for r in done.stdout.splitlines() if r.startswith("│")]
        assert rows, f"{what_if}: an empty table\n{done.stdout}"
        shown.append((what_if, rows, done.stdout))
        (tmp_path / "finance.db").unlink()
    exposure = next(s for s in shown if "--at" in s[0])
    assert re.search(r"\b[1-9]\d* changed", exposure[2]), exposure[2]
    assert any("kp-1" in r and "USD 1200.00" in r and "USD 800.00" in r for r in exposure[1]), exposure[2]
