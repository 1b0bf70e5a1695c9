"""The README runs as written: every ```sh / ```bash block, in order, in one fresh directory laid out like the
repository's root (its examples), with ``billing-ledger`` on the PATH, each block under ``bash -euo pipefail``.
A block preceded by ``<!-- notest: why -->`` is skipped (the set-up commands, which the suite itself is, and
commands that need the reader's own server). SQLite only: the README's blocks name their own SQLite ledgers.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import ROOT

FENCE = re.compile(r"(<!-- notest[^>]*-->\n)?```(?:sh|bash)\n(.*?)```", re.S)


def blocks(text: str) -> list[tuple[int, str]]:
    return [(text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in FENCE.finditer(text) if not m.group(1)]


def test_the_readme_has_runnable_blocks_and_skips_only_what_it_says():
    text = (ROOT / "README.md").read_text()
    assert len(blocks(text)) >= 3
    assert len(FENCE.findall(text)) - len(blocks(text)) == text.count("<!-- notest")


def test_every_shell_block_of_the_readme_runs_in_order(tmp_path: Path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {k: v for k, v in os.environ.items() if k != "BILLING_LEDGER_DB"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for line, script in blocks((ROOT / "README.md").read_text()):
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, f"README.md:{line} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"


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
