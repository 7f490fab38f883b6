"""`basb-baseline`: the drift a promotion would bring, from two environments' recorded baselines.

basb-baseline diff SOURCE TARGET [--baseline-dir DIR] [--service ID] [--json]

"What promoting SOURCE to TARGET changes": the surface and golden results recorded for SOURCE
replace those recorded for TARGET; surface changes are classified as `regression.surface` classifies
them, and a golden result that differs is breaking (TARGET's `regression.golden` would fail).
`--from SOURCE --to TARGET` say the same. Exit status: 1 when any change is breaking, 0 otherwise,
2 on bad input (missing folder, unreadable baseline, wrong arguments); never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_basb.checks.drift import Drift, compare_surfaces
from pytest_basb.checks.golden import golden_result
from pytest_basb.regression.baseline import DEFAULT_DIR, BaselineError, read_baseline


class _UsageError(ValueError):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="basb-baseline", description="Compare recorded regression baselines")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    diff = commands.add_parser(
        "diff",
        help="Print what promoting SOURCE to TARGET changes",
        description="Print what promoting SOURCE to TARGET changes (surface and golden results); "
        "exit 1 on breaking changes",
    )
    diff.add_argument("source_env", nargs="?", metavar="SOURCE", help="Environment promoted (e.g. staging)")
    diff.add_argument("target_env", nargs="?", metavar="TARGET", help="Environment promoted to (e.g. prod)")
    diff.add_argument("--from", dest="source", metavar="SOURCE", help="Same as the SOURCE argument")
    diff.add_argument("--to", dest="target", metavar="TARGET", help="Same as the TARGET argument")
    diff.add_argument(
        "--baseline-dir", type=Path, default=Path(DEFAULT_DIR), help=f"Baselines folder (default: ./{DEFAULT_DIR})"
    )
    diff.add_argument("--service", action="append", metavar="ID", help="Only this service (repeatable)")
    diff.add_argument("--json", action="store_true", help="Print the drift as JSON (same exit status)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors: return its code
        return exc.code if isinstance(exc.code, int) else 2
    if args.command != "diff":
        parser.print_help(sys.stderr)
        return 2
    try:
        source, target = _environments(args)
        report = _diff(args.baseline_dir, source, target, args.service)
    except (BaselineError, _UsageError) as exc:
        return _error(str(exc))
    except Exception as exc:  # a console script reports, it does not dump a traceback
        return _error(f"{type(exc).__name__}: {exc}")
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else "\n".join(_text(report)))
    return 1 if report["breaking"] else 0


def _environments(args: argparse.Namespace) -> tuple[str, str]:
    """SOURCE TARGET, or --from/--to; both spellings must agree."""
    source, target = args.source_env, args.target_env
    for name, positional, option in (("SOURCE (--from)", source, args.source), ("TARGET (--to)", target, args.target)):
        if positional and option and positional != option:
            raise _UsageError(f"{name} given twice: {positional!r} and {option!r}; give it once")
    source, target = source or args.source, target or args.target
    if not (source and target):
        raise _UsageError("name both environments: basb-baseline diff SOURCE TARGET (or --from SOURCE --to TARGET)")
    if source == target:
        raise _UsageError(f"SOURCE and TARGET are both {source!r}; name two environments")
    return str(source), str(target)


def _diff(directory: Path, source: str, target: str, only: list[str] | None) -> dict[str, Any]:
    new, old = _load(directory, source), _load(directory, target)
    services = sorted(set(new) | set(old))
    if only:
        unknown = sorted(set(only) - set(services))
        if unknown:
            raise _UsageError(f"no baseline for service(s) {', '.join(unknown)} in {source} or {target}")
        services = sorted(only)
    entries = []
    for service in services:
        entry: dict[str, Any] = {"service": service}
        if service not in old:
            entry["status"] = "new"
        elif service not in new:
            entry["status"] = "only in target"
        else:
            try:
                drift = _service_drift(old[service], new[service])
                golden = _golden_changes(service, old[service], new[service])
            except (TypeError, AttributeError, KeyError, ValueError, RecursionError) as exc:
                files = " or ".join(str(directory / env / f"{service}.json") for env in (source, target))
                raise BaselineError(
                    f"{files}: not a baseline as recorded ({type(exc).__name__}: {exc}); "
                    "record it again with --basb-record-baseline"
                ) from None
            counts = {**drift.counts(), "golden": len(golden)}
            entry.update(
                status="drift" if any(counts.values()) else "no drift",
                counts=counts,
                changes=drift.lines(),
                golden=golden,
                info={key: change for key, change in sorted(drift.info.items())},
                breaking=drift.breaking or bool(golden),
            )
        entries.append(entry)
    breaking = [e["service"] for e in entries if e.get("breaking")]
    return {
        "source": source,
        "target": target,
        "baseline_dir": str(directory),
        "services": entries,
        "breaking": breaking,
    }


def _golden_changes(service: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Golden results SOURCE recorded that TARGET's regression.golden would not accept."""
    before, after = old.get("golden") or {}, new.get("golden") or {}
    changes = []
    for key in sorted(set(before) & set(after)):
        ignore = list(after[key].get("ignore") or before[key].get("ignore") or ())
        result = golden_result(service, key, before[key], after[key], ignore=ignore)
        if result.outcome == "fail":
            diff = "; ".join(str(line) for line in result.evidence.get("diff", [])[:5])
            changes.append(f"{key}: result differs: {diff}")
    return changes


def _text(report: dict[str, Any]) -> list[str]:
    source, target = report["source"], report["target"]
    lines = [f"basb-baseline diff: what promoting {source} to {target} changes ({report['baseline_dir']})"]
    for entry in report["services"]:
        service, status = entry["service"], entry["status"]
        if status == "new":
            lines.append(f"{service}: new service (not in {target}'s baselines)")
        elif status == "only in target":
            lines.append(f"{service}: only in {target}; the promotion leaves it as it is")
        elif status == "no drift":
            lines.append(f"{service}: no drift")
        else:
            counts = entry["counts"]
            lines.append(f"{service}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n))
            lines += [f"  {line}" for line in entry["changes"]]
            lines += [f"  GOLDEN    {line}" for line in entry["golden"]]
            lines += [f"  INFO      server {key}: {c['old']} → {c['new']}" for key, c in entry["info"].items()]
    if report["breaking"]:
        lines.append(f"BREAKING: promoting {source} to {target} breaks callers of {', '.join(report['breaking'])}")
    else:
        lines.append(f"OK: no breaking drift from {target} to {source}")
    return lines


def _service_drift(old: dict[str, Any], new: dict[str, Any]) -> Drift:
    return compare_surfaces(
        old.get("surface") or {}, new.get("surface") or {}, old_server=old.get("server"), new_server=new.get("server")
    )


def _load(directory: Path, environment: str) -> dict[str, dict[str, Any]]:
    folder = directory / environment
    if not folder.is_dir():
        raise BaselineError(
            f"{folder}: no baselines for environment {environment!r}; record them with "
            f"pytest --basb-env={environment} -m regression --basb-record-baseline"
        )
    baselines = {}
    for path in sorted(folder.glob("*.json")):
        data = read_baseline(path)
        if data is None or "surface" not in data:
            raise BaselineError(f"{path}: has no recorded surface; record it again with --basb-record-baseline")
        baselines[path.stem] = data
    if not baselines:
        raise BaselineError(f"{folder}: no <service>.json baselines in it")
    return baselines


def _error(message: str) -> int:
    print(f"basb-baseline: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
