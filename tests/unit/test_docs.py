"""The reference in docs/ cannot drift from the code: every CLI command and option is documented in
docs/cli.md, and every link in README.md and docs/ points at a file inside the repository."""

import re
from pathlib import Path

import pytest
import typer

from adapters.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GROUP = typer.main.get_command(cli)


def commands(group=GROUP, prefix=""):
    """Every command by its full name (``keys create``), sub-commands of a group included."""
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        yield full, cmd
        if hasattr(cmd, "commands"):
            yield from commands(cmd, f"{full} ")


COMMANDS = dict(commands())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_and_option_is_documented(name):
    text = (ROOT / "docs" / "cli.md").read_text()
    assert f"`{name}" in text, f"docs/cli.md does not document the command {name}"
    for param in COMMANDS[name].params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert opt in text, f"docs/cli.md does not mention {name} {opt}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_point_inside_the_repository(doc):
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", doc.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        resolved = (doc.parent / target).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{doc.name} links to {target}"


def test_every_option_says_what_it_is_for():
    missing = [(name, p.opts) for name, cmd in COMMANDS.items() for p in cmd.params
               if p.param_type_name == "option" and not p.help]
    assert missing == []


def sections(text: str) -> dict[str, str]:
    """The README's ``## `` sections by title."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def tables(text: str) -> int:
    return len(re.findall(r"^\| ?-{3}", text, flags=re.M))  # a Markdown table's header rule


def test_the_readme_keeps_one_summary_table_of_the_measurements_which_are_in_docs_performance():
    """Issue 25, item 15: the README held three long tables of measurements (make bench, the what-if at 100,000
    instances on one and two workers, every ledger-wide job at 10,000) with pages of commentary."""
    readme = sections((ROOT / "README.md").read_text())
    assert tables(readme["Performance"]) == 1 and tables(readme["Scale-out"]) == 0
    assert "docs/performance.md" in readme["Performance"] and "docs/performance.md" in readme["Scale-out"]
    performance = sections((ROOT / "docs" / "performance.md").read_text())
    assert tables(performance["The figures of `make bench`"]) == 1
    assert tables(performance["The ledger-wide jobs on one and two workers"]) == 2


SCREEN = 45  # lines: the README's first screen


def anchor(title: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def test_the_readme_opens_with_a_tour_of_each_user_and_keeps_two_set_up_commands_on_its_first_screen():
    """Issue 25, item 15: the README opened with the set-up and went on to the command reference; nothing said
    what an auditor, finance, an analyst, an operator or a customer does with the ledger."""
    text = (ROOT / "README.md").read_text()
    screen = "\n".join(text.splitlines()[:SCREEN])
    headings = {anchor(t) for t in re.findall(r"^#+ (.+)$", text, flags=re.M)}
    for user in ("Auditor", "Finance", "Analyst", "Operator", "Customer"):
        item = re.search(rf"^- \*\*{user}\*\*: (.+(?:\n  .+)*)", screen, flags=re.M)
        assert item, f"the first screen has no tour item for the {user.lower()}"
        links = re.findall(r"\]\(#([^)]+)\)", item.group(1))
        assert links and all(link in headings for link in links), (user, links)
    shell = re.findall(r"```(?:sh|bash)\n(.*?)```", screen, flags=re.S)
    commands = [line.split("#")[0].strip() for block in shell for line in block.splitlines()]
    assert [c for c in commands if c] == ["make demo", "make test"]


def rule_text(doc: str, rule: str) -> str:
    """The bullet of ``rule`` in a doc (``- **K-P1 ...``), whole."""
    return next(line for line in (ROOT / doc).read_text().splitlines() if line.startswith(f"- **{rule} "))


def test_the_rules_docs_carry_the_2026_12_decisions_K_P1_P_G3():
    """The Decisions found by checking generated histories, as the specification words them, and the README's
    summary of P-G3 agreeing with them (and with the code: test_korpro_rules, test_kingsoft_amount)."""
    assert "Decision (2026-12): the same holds when no order has an actual payment" in \
        rule_text("docs/rules-kingsoft.md", "K-P1")
    assert "Decision (2026-12): a billing period not yet used is one that starts **at or after** the request's " \
        "time" in rule_text("docs/rules-korpro.md", "P-G3")
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "prepaid billing periods that start at or after the request" in readme
    assert "start after the request" not in readme
