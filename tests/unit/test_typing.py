"""The type checker that `make test` runs (issue 26, item 6) checks a registry entry against `Policy`: a policy
object that lacks a part of the protocol, or gets one wrong, is an error where it is declared a `Policy`."""

import textwrap
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")
ROOT = Path(__file__).resolve().parents[2]

POLICY = """
    from collections.abc import Iterable
    from typing import Any

    from domain.instance import Instance
    from domain.policy import About, Context, Paid, Policy, PolicyBase, Postings
    from domain.quote import Quote


    class Sketch(PolicyBase):
        aggregate = Instance
        parameters = dict
        postings = Postings(accepted="X-1", completed="X-2", settles_to="payout")

        def assess(self, ctx: Context) -> Quote:
            raise NotImplementedError

        def orders(self, head: Any, facts: Iterable[Any]) -> {orders}:
            return []
        {deadline}

    POLICY: Policy = Sketch(About("sketch", products=frozenset({{"Sketch"}}), modes=()))
"""
DEADLINE = """
        def deadline(self, refund: Any, load: Any, known_at: Any, overrides: dict[str, Any]) -> Any:
            raise NotImplementedError
"""


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    module = tmp_path / "sketch.py"
    module.write_text(textwrap.dedent(source))
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--no-incremental", str(module)])
    return out + err, status


def test_a_whole_policy_passes(tmp_path):
    out, status = _mypy(tmp_path, POLICY.format(orders="list[Paid]", deadline=DEADLINE))
    assert status == 0, out


@pytest.mark.parametrize(("orders", "deadline", "missing"), [
    ("list[Paid]", "", "deadline"),  # a part of the protocol left out
    ("list[str]", DEADLINE, "orders"),  # a part with the wrong type
])
def test_a_policy_that_is_not_one_is_a_type_error(tmp_path, orders, deadline, missing):
    out, status = _mypy(tmp_path, POLICY.format(orders=orders, deadline=deadline))
    assert status == 1
    assert '(expression has type "Sketch", variable has type "Policy")' in out and missing in out, out
