"""`basb-log`: maintain the Obsidian DevOps log outside a gate run.

basb-log weekly --vault DIR [--week 2026-W48] [--log-dir agent-workspaces/DevOps/deply-notes]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pytest_basb.obsidian.daily import DEFAULT_LOG_DIR

_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for usage errors, like argparse)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors: return its code
        return exc.code if isinstance(exc.code, int) else 2
    if args.command == "weekly":
        return _weekly(args)
    parser.print_help(sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="basb-log", description="Maintain the BASB Obsidian DevOps log")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    weekly = commands.add_parser(
        "weekly", help="Build the weekly summary from the week's daily logs", description="Build the weekly summary"
    )
    weekly.add_argument("--vault", required=True, type=Path, help="Obsidian vault directory")
    weekly.add_argument("--week", help="ISO week as YYYY-Www, e.g. 2026-W48 (default: the current week, UTC)")
    weekly.add_argument(
        "--log-dir", default=DEFAULT_LOG_DIR, help=f"Log folder inside the vault (default: {DEFAULT_LOG_DIR})"
    )
    return parser


def _weekly(args: argparse.Namespace) -> int:
    from pytest_basb.obsidian.weekly import write_weekly_summary

    vault: Path = args.vault
    if not vault.is_dir():
        return _error(f"vault directory not found: {vault}")
    log_dir = Path(args.log_dir)
    if log_dir.is_absolute() or ".." in log_dir.parts:
        return _error(f"--log-dir must be a folder inside the vault, got {args.log_dir!r}")
    try:
        year, week = parse_week(args.week) if args.week else datetime.now(UTC).isocalendar()[:2]
    except ValueError as exc:
        return _error(str(exc))
    path = write_weekly_summary(vault, iso_year=year, iso_week=week, log_dir=log_dir.as_posix())
    print(path)
    return 0


def parse_week(text: str) -> tuple[int, int]:
    """`2026-W48` -> (2026, 48); ValueError naming the expected form or the missing week."""
    match = _WEEK.match(text.strip())
    if not match:
        raise ValueError(f"--week must look like 2026-W48, got {text!r}")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        datetime.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"--week {text}: {year} has no ISO week {week}") from None
    return year, week


def _error(message: str) -> int:
    print(f"basb-log: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
