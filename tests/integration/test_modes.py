"""Issue 25 item 1: a quote's ``--mode`` is one of the modes of the policy that judges the instance. A mode of the
other policy (or of none) is bad input -- status 2 naming ``--mode`` and listing that policy's modes -- on every
command that takes one, never a crash (it was ``error: KeyError: 'trial'``, status 1, for a Kingsoft instance).

The modes are the spec's (interface.md): Kingsoft's request modes, and KorPro's refund reasons (P-R1)."""

import pytest

from tests.integration.conftest import CLI, ROOT

KINGSOFT = ("five_day", "self_service", "exception")  # K-F*, K-S*, K-E1
KORPRO = ("money_back", "savings_shortfall", "early_termination", "trial", "billing_error", "duplicate_payment",
          "outage", "not_as_described", "technical_incompatibility", "change_of_mind", "user_error", "third_party")
CASES = [  # (instance, the policy's name in messages, its modes, the other policy's)
    ("kec-1", "kingsoft-2021-05-27", KINGSOFT, KORPRO),
    ("kp-1", "korpro", KORPRO, KINGSOFT),
]
AT = "2026-03-10T00:00:00Z"


@pytest.fixture
def both(cli: CLI) -> CLI:
    for example in ("seed-examples.jsonl", "korpro-examples.jsonl"):
        cli.ok("record", str(ROOT / "examples" / example))
    return cli


def listed(stderr: str) -> list[str]:
    """The modes an error message lists (after ``its modes: ``)."""
    assert "its modes: " in stderr, stderr
    return stderr.split("its modes: ", 1)[1].strip().split(", ")


@pytest.mark.parametrize(("instance", "policy", "own", "foreign"), CASES, ids=["kingsoft", "korpro"])
def test_every_mode_of_the_other_policy_is_status_2_naming_mode_and_listing_the_policys_modes(
        both: CLI, instance, policy, own, foreign):
    before = both.rows()
    for mode in foreign:
        for command in (["quote", instance, "--at", AT], ["what-if", instance, "--at", AT],
                        ["diff", instance, "--at", AT, "--known-at", AT, "--vs", "2030-01-01T00:00:00Z"]):
            done = both.run(*command, "--mode", mode)
            assert done.returncode == 2, (command, mode, done.stderr)
            assert done.stderr.startswith(f"--mode: {mode!r} is not a mode of {policy}"), (command, done.stderr)
            assert listed(done.stderr) == ["auto", *own], (command, mode)
            assert "KeyError" not in done.stderr
    assert both.rows() == before  # nothing written


@pytest.mark.parametrize(("instance", "policy", "own", "foreign"), CASES, ids=["kingsoft", "korpro"])
def test_every_mode_of_the_instances_own_policy_is_judged_not_refused_as_a_mode(both: CLI, instance, policy, own,
                                                                                foreign):
    for mode in own:
        done = both.run("quote", instance, "--at", AT, "--mode", mode, "--json")
        # judged (0), or refused for a reason of the policy's own (an exception needs its report, K-E1; a KorPro
        # reason its invoice, P-R1): never as a mode it does not know
        assert done.returncode in (0, 2) and "is not a mode" not in done.stderr, (mode, done.stderr)
        assert "Error" not in done.stderr, (mode, done.stderr)
