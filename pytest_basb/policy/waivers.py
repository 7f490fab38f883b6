"""Waivers: a failure a team accepts for a while, with a reason and an expiry date.

`expires` is inclusive: a waiver applies through the date it names and is expired from the next
day on. A run judges every waiver against one date, the day it started (UTC), so a run that
crosses midnight does not waive a check before midnight and fail the same check after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pytest_basb.policy.catalogue import matches

WaiverState = Literal["active", "expiring", "expired", "stale"]
WAIVER_STATES: tuple[WaiverState, ...] = ("active", "expiring", "expired", "stale")
EXPIRING_DAYS = 14  # a waiver that ends within this many days is listed as expiring
EVERY_SERVICE = "*"


@dataclass(frozen=True)
class Waiver:
    """One `waivers:` entry; `source` is its key path (`environments.prod.waivers.0`)."""

    check: str  # check id or glob
    reason: str
    expires: date
    source: str
    service: str = EVERY_SERVICE  # service id or glob

    def covers(self, check_id: str, service: str) -> bool:
        return matches(self.check, check_id) and matches(self.service, service)

    def state(self, today: date) -> WaiverState:
        """active, expiring (ends within 14 days) or expired (the day after `expires` and later)."""
        if today > self.expires:
            return "expired"
        if (self.expires - today).days < EXPIRING_DAYS:
            return "expiring"
        return "active"

    def to_dict(self, today: date) -> dict[str, str]:
        """What a waived check carries: `waiver: {reason, expires, source, state}`."""
        expires = self.expires.isoformat()
        return {"reason": self.reason, "expires": expires, "source": self.source, "state": self.state(today)}

    def describe(self) -> str:
        """`waiver environments.prod.waivers.0 (security.shadowing on notes-*, expires 2027-01-31)`."""
        on = "" if self.service == EVERY_SERVICE else f" on {self.service}"
        return f"waiver {self.source} ({self.check}{on}, expires {self.expires.isoformat()})"


def waiver_for(
    waivers: Iterable[Waiver], check_id: str, service: str, today: date
) -> tuple[Waiver | None, Waiver | None]:
    """(the waiver in force for this failure, an expired waiver that would have covered it). A
    waiver in force wins; of several, the one that ends last (the team's latest word)."""
    covering = [w for w in waivers if w.covers(check_id, service)]
    live = [w for w in covering if w.state(today) != "expired"]
    expired = [w for w in covering if w.state(today) == "expired"]
    pick = max(live, key=lambda w: w.expires, default=None)
    return pick, (max(expired, key=lambda w: w.expires, default=None) if pick is None else None)


@dataclass(frozen=True)
class WaiverStatus:
    """A waiver in a report: gate.json's `waivers: [{check, service, reason, expires, matched, state}]`."""

    check: str
    service: str
    reason: str
    expires: str  # ISO date
    source: str
    matched: int  # failures it covered in this run (waived, or named as expired)
    state: WaiverState

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "service": self.service,
            "reason": self.reason,
            "expires": self.expires,
            "source": self.source,
            "matched": self.matched,
            "state": self.state,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WaiverStatus:
        state = str(data.get("state", "active"))
        return cls(
            check=str(data["check"]),
            service=str(data.get("service", EVERY_SERVICE)),
            reason=str(data.get("reason", "")),
            expires=str(data.get("expires", "")),
            source=str(data.get("source", "")),
            matched=int(data.get("matched", 0)),
            state=state if state in WAIVER_STATES else "active",
        )

    def line(self) -> str:
        """`security.shadowing on notes-*, expires 2026-12-10, matched 2 (environments.prod.waivers.0) — <reason>`."""
        on = "" if self.service == EVERY_SERVICE else f" on {self.service}"
        return f"{self.check}{on}, expires {self.expires}, matched {self.matched} ({self.source}) — {self.reason}"


def waiver_statuses(
    waivers: Iterable[Waiver], matched: Mapping[str, int], *, today: date, full_run: bool
) -> tuple[WaiverStatus, ...]:
    """Every waiver of the environment with what it did in this run. `matched`: waiver source ->
    failures it covered. Stale: in force, yet it covered nothing in a full run (the finding is gone,
    or the waiver names the wrong check); a partial run cannot tell."""
    statuses = []
    for waiver in waivers:
        count = matched.get(waiver.source, 0)
        state: WaiverState = waiver.state(today)
        if state != "expired" and count == 0 and full_run:
            state = "stale"
        statuses.append(
            WaiverStatus(
                check=waiver.check,
                service=waiver.service,
                reason=waiver.reason,
                expires=waiver.expires.isoformat(),
                source=waiver.source,
                matched=count,
                state=state,
            )
        )
    return tuple(statuses)


def merge_statuses(shards: Iterable[Iterable[WaiverStatus]], *, full_run: bool = True) -> tuple[WaiverStatus, ...]:
    """The waivers of shard runs as one run's: matches summed; stale when no shard matched it and the
    shards make a full run (a missing or narrowed shard cannot tell)."""
    by_source: dict[str, list[WaiverStatus]] = {}
    for statuses in shards:
        for status in statuses:
            by_source.setdefault(status.source, []).append(status)
    merged = []
    for source in sorted(by_source):
        seen = by_source[source]
        matched = sum(s.matched for s in seen)
        states = [s.state for s in seen]
        state: WaiverState
        if "expired" in states:
            state = "expired"
        elif matched == 0 and full_run:
            state = "stale"
        else:  # a shard that ran alone may have called it stale; another one's date-based state holds
            state = next((s for s in states if s != "stale"), "active")
        merged.append(WaiverStatus(**{**seen[0].to_dict(), "matched": matched, "state": state}))
    return tuple(merged)
