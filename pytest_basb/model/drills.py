"""Drill records: one incident rehearsal (service, failure mode, timings, outcome) as a ledger line.

The ledger is `drills.jsonl` (one JSON object per line) in the report folder and in the vault's log
folder; the Incident gate item and the daily note read it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

MODES: tuple[str, ...] = ("stopped", "hung", "crashed")
LEDGER = "drills.jsonl"
DrillOutcome = Literal["pass", "fail"]


@dataclass(frozen=True)
class DrillRecord:
    """`started` is ISO 8601 UTC; times in seconds, None when the stage was not reached or not configured."""

    service: str
    mode: str
    started: str
    detected_s: float | None
    alerted_s: float | None
    recovered_s: float | None
    runbook: str
    outcome: DrillOutcome
    environment: str = ""
    why: str = ""  # the failed stage, in words ("" when it passed)

    @property
    def started_at(self) -> datetime:
        moment = datetime.fromisoformat(self.started)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DrillRecord:
        outcome = data["outcome"]
        if outcome not in ("pass", "fail"):
            raise ValueError(f"outcome {outcome!r} is not pass or fail")
        datetime.fromisoformat(str(data["started"]))  # a record without a readable date is no evidence
        return cls(
            service=str(data["service"]),
            mode=str(data["mode"]),
            started=str(data["started"]),
            detected_s=_seconds(data.get("detected_s")),
            alerted_s=_seconds(data.get("alerted_s")),
            recovered_s=_seconds(data.get("recovered_s")),
            runbook=str(data.get("runbook") or ""),
            outcome=outcome,
            environment=str(data.get("environment") or ""),
            why=str(data.get("why") or ""),
        )


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def read_ledgers(paths: Iterable[Path]) -> tuple[list[DrillRecord], list[str]]:
    """Every record of these ledgers (missing files are empty), and one note per unreadable line."""
    records: list[DrillRecord] = []
    problems: list[str] = []
    seen: set[str] = set()
    for path in paths:
        for number, line in _lines(path):
            try:
                record = DrillRecord.from_dict(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"{path}:{number}: unreadable drill record ({exc})")
                continue
            key = record.to_json()
            if key not in seen:  # the same drill is in the report folder and in the vault
                seen.add(key)
                records.append(record)
    return records, problems


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield number, line
