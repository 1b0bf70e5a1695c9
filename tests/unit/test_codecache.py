"""The cache of dataclasses' generated code (adapters.codecache): a class built from it is the class built
without it, a module's file is written only when something new was compiled and bytecode may be written, and
a bad file is ignored. No timing here."""

import os
import subprocess
import sys
from pathlib import Path

from adapters import codecache

ROOT = Path(__file__).resolve().parents[2]

MODULE = """
import dataclasses
@dataclasses.dataclass(frozen=True)
class Paid:
    amount: int
    currency: str = "CNY"
    tags: list = dataclasses.field(default_factory=list)
"""

BUILD = """
import dataclasses
from adapters import codecache
codecache.PACKAGES = ("dcpkg",)
codecache.install()
from dcpkg.paid import Paid
p = Paid(3)
print(p, p == Paid(3), hash(Paid(3, tags=())) == hash(Paid(3, tags=())), Paid.__init__.__code__.co_filename)
try:
    p.amount = 4
except dataclasses.FrozenInstanceError as e:
    print(type(e).__name__)
"""


def _build(where: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(where), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.run([sys.executable, *flags, "-c", BUILD], env=env, capture_output=True, text=True, timeout=60)


def _package(tmp_path: Path) -> Path:
    (tmp_path / "dcpkg").mkdir()
    (tmp_path / "dcpkg" / "__init__.py").write_text("")
    (tmp_path / "dcpkg" / "paid.py").write_text(MODULE)
    return tmp_path / "dcpkg" / "__pycache__" / f"paid.{sys.implementation.cache_tag}.pyc{codecache.SUFFIX}"


def _installed_after(statement: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    probe = f"{statement}\nimport dataclasses\nprint(vars(dataclasses).get('exec') is not None)"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_only_the_console_script_installs_it():
    """Issue 26.4: no global patch for the server, Dask workers or tests: importing the packages (the CLI's
    module included) leaves ``dataclasses`` alone; the console script's entry installs it (before 3.13)."""
    assert _installed_after("import adapters, adapters.cli, adapters.http.app") == "False"
    entry = "import sys; sys.argv = ['billing-ledger', '--version']\nfrom adapters import entry\ntry:\n" \
            "    entry.main()\nexcept SystemExit:\n    pass"
    assert _installed_after(entry) == str(sys.version_info < (3, 13))


def test_it_caches_this_projects_packages_only():
    assert codecache.PACKAGES == ("domain", "projections", "adapters")
    assert codecache._module({"__name__": "eventsourcing.domain", "__cached__": "/x/domain.pyc"}) is None


def test_a_class_built_from_the_cache_is_the_class_built_without_it(tmp_path):
    cache = _package(tmp_path)
    first = _build(tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split("\n")[:2] == ["Paid(amount=3, currency='CNY', tags=[]) True True <string>",
                                            "FrozenInstanceError"]
    assert cache.read_bytes().startswith(codecache.MAGIC)
    written = cache.stat().st_mtime_ns
    second = _build(tmp_path)
    assert second.stdout == first.stdout, second.stderr
    assert cache.stat().st_mtime_ns == written  # nothing new compiled: not rewritten


def test_no_file_without_bytecode_writing_and_a_bad_file_is_ignored(tmp_path):
    cache = _package(tmp_path)
    expected = _build(tmp_path, "-B")
    assert expected.returncode == 0 and not cache.parent.exists(), expected.stderr
    cache.parent.mkdir()
    for junk in (b"", b"not marshal", codecache.MAGIC + b"\xff\x00", b"\x00\x00\x00\x00" + b"x" * 20):
        cache.write_bytes(junk)
        done = _build(tmp_path)
        assert (done.returncode, done.stdout) == (0, expected.stdout), done.stderr
        assert cache.read_bytes().startswith(codecache.MAGIC)


def test_only_the_named_packages_are_cached():
    assert codecache._module({"__name__": "json.decoder", "__cached__": "/x/decoder.pyc"}) is None
    assert codecache._module({"__name__": "__main__"}) is None
    assert codecache._module({"__name__": "domain.nowhere"}) is None  # no bytecode path: nothing to keep
