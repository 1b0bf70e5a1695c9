"""The hash chain's state in words, for people (`verify`'s text, the console's chain panel): what the first
broken row is, and which seal sealed what was expected there. Works on `verify --json`'s data."""

from __future__ import annotations

from typing import Any


def subject_text(subject: dict[str, Any]) -> str:
    """One line naming a row: ``row 12: instance kec-2, Purchased, line l-3, at …, recorded …``."""
    parts = [f"{subject['stream']} {subject['name']}", subject["fact"]]
    parts.append(f"line {subject['line']}" if subject.get("line") else "no line id")
    if not subject.get("decodes", True):
        parts.append("its stored state no longer decodes")
    else:
        parts.append(f"at {subject['at'] or '—'}")
        parts.append(f"recorded {subject['recorded_at'] or '—'}")
    return f"row {subject['row']}: " + ", ".join(parts)


def problem_lines(first: dict[str, Any]) -> list[str]:
    """The first problem (``first_problem`` of `verify --json`) as lines: where, what, which row, which seal."""
    lines = [f"BROKEN at position {first['position']}: {first['message']}"]
    subject = first.get("subject")
    if subject:
        found = "the row found where the sealed one is missing: " if first["kind"] == "deleted" else ""
        lines.append("  " + found + subject_text(subject))
    sealed = first.get("sealed_by")
    if sealed:
        lines.append(f"  the row expected there was sealed by seal row {sealed['row']}, recorded "
                     f"{sealed['recorded_at']}")
    return lines



UNVERIFIED_NOTE = ("UNVERIFIED: from that fact on, this instance's rows no longer match the hash chain's seals (a row "
                   "edited, deleted or inserted behind the ledger's back); `billing-ledger verify` names the first "
                   "broken row of the log")
