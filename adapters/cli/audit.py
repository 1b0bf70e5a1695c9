"""Audit: how a quote changed between two knowledge times, the hash chain's verification, the signed
checkpoints (``keygen``, ``checkpoint``) that anchor it, and backups that restore and verify (``backup``,
``restore``)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from adapters.cli import views
from adapters.cli.app import application, cli, err, out
from adapters.cli.options import Force, Json, Mode
from adapters.formats import chain, output
from adapters.formats.params import instant
from adapters.formats.wording import count


@cli.command("diff")
def diff_cmd(
    instance: str,
    at: Annotated[str, typer.Option("--at", help="business time of the refund request")],
    known_at: Annotated[str, typer.Option("--known-at", help="the first knowledge time")],
    vs: Annotated[str, typer.Option("--vs", help="the second knowledge time")],
    mode: Mode = "auto",
    with_: Annotated[Optional[list[str]], typer.Option("--with", help="instances refunded together")] = None,
    as_json: Json = False,
) -> None:
    """How the quote for --at changed between --known-at and --vs, and which recorded events caused it."""
    from adapters.services import listings, queries

    t, k1, k2 = instant("at", at), instant("known_at", known_at), instant("vs", vs)
    d = queries.diff(application(), instance, t, k1, k2, mode, with_ or [])
    if as_json:
        print(output.json_text(d))
        return
    zone = listings.instance_zone(application(), instance)  # one zone: the instance's policy's
    for shown in views.diff(d, instance, t, k1, k2, zone):
        out.print(shown)


@cli.command("verify")
def verify_cmd(
    as_json: Json = False,
    expect_head: Annotated[Optional[list[str]], typer.Option(
        "--expect-head", metavar="HASH",
        help="a head published earlier (verify --json): exit 1 unless some seal of the chain has exactly this "
             "head. A head is a running hash over every earlier row's digest, so finding it proves the prefix "
             "it covers is intact and in place; not finding it means truncated, or rewritten and re-sealed. "
             "Repeatable")] = None,
    checkpoints: Annotated[Optional[str], typer.Option(
        "--checkpoints", metavar="FILE",
        help="a signed checkpoint file (billing-ledger checkpoint): exit 1 unless every line's signature "
             "verifies and the ledger still extends every checkpoint (its head at its position)")] = None,
    public_key: Annotated[Optional[str], typer.Option(
        "--public-key", metavar="PUBFILE",
        help="with --checkpoints: check every signature against this key (PEM, or the base64 key keygen "
             "prints); without it, against the key each line names")] = None,
) -> None:
    """Re-walk the hash-chained log; exit 1 and name the first row that was edited, deleted, inserted or
    reordered. With --expect-head or --checkpoints, also prove that the ledger still contains what was
    anchored earlier: plain verify cannot tell a ledger whose last feed was deleted, seal and all, or that
    was rewritten and consistently re-sealed, from an honest one; an anchor can."""
    from adapters.services import queries

    result = queries.verify(application(), expect_head or [], checkpoints, public_key)
    v = result.verification
    if as_json:
        print(output.json_text(result.as_json()))
        if not result.ok:
            raise typer.Exit(1)
        return
    if v.ok:
        out.print(f"ok: {count(v.rows, 'row')} under {count(v.seals, 'seal')}, head {v.head} (position {v.position})")
    else:
        if v.finding:
            for line in chain.problem_lines(v.as_json()["first_problem"]):
                out.print(line, markup=False)
        for problem in v.seal_problems:
            out.print(f"BROKEN: {problem}")
    for h in result.heads:
        out.print(f"{'ok' if h.ok else 'NOT FOUND' if h.anchor is None else 'BROKEN'}: head {h.head}: {h.message}",
                  markup=False)
    if result.checkpoints is not None:
        report = result.checkpoints
        out.print(f"checkpoints {report.file}: {len(report.checks)} checked against {report.key_source}",
                  markup=False)
        for c in report.checks:
            cp = c.checkpoint
            out.print(f"  {'ok' if c.ok else 'FAILED'}: line {c.line}: seal {cp.seals}, position {cp.position}, "
                      f"made {output.when(cp.made_at, None)}" + ("" if c.ok else f": {c.message}"), markup=False)
        first = report.first_failure
        if first is not None:
            out.print(f"FAILED: the checkpoint at line {first.line} of {report.file}: {first.message}",
                      markup=False)
    if not result.ok:
        raise typer.Exit(1)


@cli.command("keygen")
def keygen_cmd(
    key_out: Annotated[str, typer.Option("--out", metavar="KEYFILE",
                                         help="the new private key (PEM, mode 0600); the public key goes to "
                                              "KEYFILE.pub. Never overwrites a file")],
    as_json: Json = False,
) -> None:
    """Make a new Ed25519 key for signing checkpoints. Keep the private key outside the database (and off the
    ledger's host, ideally); publish the public key to the auditors."""
    from adapters.services import anchors

    pair = anchors.keygen(application(), key_out)
    if as_json:
        print(output.json_text(pair.as_json()))
        return
    out.print(f"wrote the private key to {pair.private_path} (mode 0600) and the public key to {pair.public_path}",
              markup=False)
    out.print(f"public key: {pair.public_key}", markup=False)


@cli.command("checkpoint")
def checkpoint_cmd(
    key: Annotated[str, typer.Option("--key", metavar="KEYFILE", help="the private key (billing-ledger keygen)")],
    file: Annotated[str, typer.Option("--file", metavar="CHECKPOINTS",
                                      help="the checkpoint file to append to (created when missing)")],
    as_json: Json = False,
) -> None:
    """Verify the ledger, then append a signed checkpoint of its head (head, position, seals, recorded_at,
    made_at, public key, signature: one JSON line) to the checkpoint file. Refuses (exit 1) when the chain is
    broken or the ledger no longer extends a checkpoint already in the file."""
    from adapters.services import anchors

    try:
        made = anchors.checkpoint(application(), key, file)
    except anchors.Refused as refused:
        err.print(f"refused: {refused}", markup=False)
        raise typer.Exit(1) from None
    if as_json:
        print(output.json_text(made.as_json()))
        return
    cp = made.checkpoint
    recorded = output.when(cp.recorded_at, None) or "never (an empty ledger)"
    out.print(f"checkpoint at line {made.line} of {made.file}: head {cp.head}, position {cp.position}, "
              f"{count(cp.seals, 'seal')}, recorded {recorded}", markup=False)


@cli.command("backup")
def backup_cmd(
    out_path: Annotated[str, typer.Option("--out", metavar="FILE", help="the backup file (mode 0600)")],
    force: Force = False,
    as_json: Json = False,
) -> None:
    """Back the ledger up as of one moment while writers go on: SQLite's online backup API (the copy's chain
    re-walked, its head printed), or pg_dump on PostgreSQL. Exit 1 when the copy does not verify."""
    from adapters.services import backup as use_case

    copy = use_case.backup(application(), out_path, force=force)
    _copied(copy, as_json, f"backed up to {copy.file}")


@cli.command("restore")
def restore_cmd(
    file: Annotated[str, typer.Argument(metavar="FILE", help="a backup (billing-ledger backup)")],
    expect_head: Annotated[Optional[list[str]], typer.Option(
        "--expect-head", metavar="HASH", help="a head published before the backup (verify --json): exit 1 "
                                              "unless the restored chain holds it intact. Repeatable")] = None,
    as_json: Json = False,
) -> None:
    """Restore a backup into --db, which must hold no ledger yet (a new SQLite file, an empty PostgreSQL
    database), then verify the restored chain (and each --expect-head). Exit 1 when it does not verify."""
    from adapters.bootstrap import Settings
    from adapters.cli.app import State
    from adapters.services import backup as use_case

    copy = use_case.restore((State.settings or Settings.resolve()).url, file, expect_head or [])
    _copied(copy, as_json, f"restored {copy.file}")


def _copied(copy: Any, as_json: bool, done: str) -> None:
    if as_json:
        print(output.json_text(copy.as_json()))
    elif copy.audit is None:
        out.print(f"{done} (pg_dump; restore it to check its chain)", markup=False)
    else:
        v = copy.audit.verification
        out.print(f"{done}: {'ok' if copy.ok else 'BROKEN'}: {count(v.rows, 'row')} under "
                  f"{count(v.seals, 'seal')}, head {v.head} (position {v.position})", markup=False)
        for h in copy.audit.heads:
            out.print(f"{'ok' if h.ok else 'NOT FOUND'}: head {h.head}: {h.message}", markup=False)
    if not copy.ok:
        raise typer.Exit(1)
