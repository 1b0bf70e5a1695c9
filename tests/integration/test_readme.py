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
