"""`regression.latency`: how slow a repeated smoke call may get, judged so a busy machine does not fail it.

A p95 is judged only from enough samples (`MIN_P95_SAMPLES`): of 5 calls it would be their
maximum, one stall. With fewer, the median is judged against the same limits, and the message
says so; against a baseline, a p95 only when the baseline too had enough calls for one. A breach
is re-measured (the caller makes one more, larger batch) before it fails: the check fails only
when every batch is over a limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_basb.model.results import CheckResult, passed, skipped, violated

CHECK = "regression.latency"
MIN_P95_SAMPLES = 20  # nearest-rank p95 below this is the slowest call, or next to it
LATENCY_FLOOR_MS = 50.0  # a fast call may always get this much slower than its baseline
DEFAULT_TOLERANCE = 2.0  # times the baseline figure


def percentile(samples_ms: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 < fraction <= 1)."""
    if not samples_ms:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples_ms)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def figures(samples_ms: Sequence[float]) -> dict[str, Any]:
    """What a baseline records of one batch."""
    return {
        "samples": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 0.5), 1),
        "p95_ms": round(percentile(samples_ms, 0.95), 1),
        "max_ms": round(max(samples_ms), 1),
    }


def statistic(samples: int) -> str:
    """The figure a batch of `samples` calls is judged by: p95 when there are enough, else p50."""
    return "p95" if samples >= MIN_P95_SAMPLES else "p50"


def baseline_limit_ms(recorded_ms: float, tolerance: float = DEFAULT_TOLERANCE) -> float:
    """How slow a call may get against its baseline: max(tolerance × recorded, recorded + 50 ms)."""
    return max(tolerance * recorded_ms, recorded_ms + LATENCY_FLOOR_MS)


def judge(
    service: str,
    label: str,
    batches_ms: Sequence[Sequence[float]],
    *,
    budget_ms: float | None,
    tolerance: float | None,
    baseline: Mapping[str, Any] | None,
) -> CheckResult:
    """Pass when any batch is within every limit (later batches are re-measurements of a breach).

    `budget_ms` is the inventory's absolute p95 budget; `tolerance` the inventory's factor over the
    baseline figure (default 2).
    """
    judged = [_batch(batch, budget_ms, tolerance or DEFAULT_TOLERANCE, baseline) for batch in batches_ms]
    if not any(limits for _, _, limits in judged):
        return skipped(CHECK, service, f"{label}: no latency budget in the inventory and no baseline figure")
    evidence: dict[str, Any] = {
        "call": label,
        "batches": [{"statistic": stat, **numbers} for stat, numbers, _ in judged],
        "min_p95_samples": MIN_P95_SAMPLES,
    }
    if tolerance is not None:
        evidence["tolerance"] = tolerance
    if baseline:
        evidence["baseline"] = {k: baseline[k] for k in ("samples", "p50_ms", "p95_ms") if k in baseline}
    lines = [_describe(stat, numbers, limits) for stat, numbers, limits in judged]
    good = next((i for i, (_, _, limits) in enumerate(judged) if not _over(limits)), None)
    if good is not None:
        stat, numbers, _ = judged[good]
        evidence.update(judged_by=stat, **numbers)
        note = "" if good == 0 else f"; re-measured after {lines[0]}"
        return passed(CHECK, service, **evidence, summary=lines[good] + note)
    message = f"{label}: " + "; re-measured: ".join(lines)
    return violated(CHECK, service, message, evidence=evidence)


def _batch(
    samples: Sequence[float], budget_ms: float | None, tolerance: float, baseline: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any], list[tuple[str, float, float]]]:
    """(statistic, figures, [(limit text, limit, measured)]) of one batch."""
    numbers = figures(samples)
    stat = statistic(len(samples))
    limits: list[tuple[str, float, float]] = []
    if budget_ms is not None:
        limits.append((f"the inventory budget {budget_ms:g} ms (by {stat})", budget_ms, float(numbers[f"{stat}_ms"])))
    # Like with like: a p95 against the baseline's only when the baseline had enough calls for one too
    # (the "p95" of a 5-call baseline is its slowest call, which a 20-call p95 exceeds by chance).
    recorded_samples = (baseline or {}).get("samples")
    against = statistic(min(len(samples), recorded_samples if isinstance(recorded_samples, int) else 0))
    recorded = (baseline or {}).get(f"{against}_ms")
    if isinstance(recorded, int | float):
        limit = round(baseline_limit_ms(float(recorded), tolerance), 1)
        floor = f"baseline + {LATENCY_FLOOR_MS:g} ms"
        text = f"max({tolerance:g} × baseline {against} {recorded:g} ms, {floor}) = {limit:g} ms (by {against})"
        limits.append((text, limit, float(numbers[f"{against}_ms"])))
    return stat, numbers, limits


def _over(limits: Sequence[tuple[str, float, float]]) -> list[str]:
    return [text for text, limit, measured in limits if measured > limit]


def _describe(stat: str, numbers: Mapping[str, Any], limits: Sequence[tuple[str, float, float]]) -> str:
    samples = numbers["samples"]
    text = f"{samples} calls: p50 {float(numbers['p50_ms']):g} ms, p95 {float(numbers['p95_ms']):g} ms"
    if stat != "p95":
        text += f" (too few for a p95: {MIN_P95_SAMPLES} needed; the median is judged)"
    over = _over(limits)
    return text + (f", over {' and '.join(over)}" if over else ", within budget")
