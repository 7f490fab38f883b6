"""regression.latency's judging: p95 only from enough samples, a breach re-measured, tolerance."""

from __future__ import annotations

import pytest

from pytest_basb.checks import latency

FIVE = [10.0, 11.0, 12.0, 13.0, 14.0]


def test_percentile_is_nearest_rank() -> None:
    assert latency.percentile([5, 1, 3, 2, 4], 0.95) == 5
    assert latency.percentile(list(range(1, 101)), 0.95) == 95
    assert latency.percentile([5, 1, 3, 2, 4], 0.5) == 3
    with pytest.raises(ValueError, match="no samples"):
        latency.percentile([], 0.5)


def test_baseline_limit_and_tolerance() -> None:
    assert latency.baseline_limit_ms(10) == 60  # +50 ms wins for fast calls
    assert latency.baseline_limit_ms(200) == 400  # 2x wins for slow ones
    assert latency.baseline_limit_ms(200, 3) == 600


def test_few_samples_are_judged_by_their_median_and_say_so() -> None:
    stalled = [[10.0, 11.0, 900.0, 12.0, 13.0]]  # one stall: the p95 of 5 calls would be 900 ms
    result = latency.judge("s", "c", stalled, budget_ms=100, tolerance=None, baseline={"p50_ms": 11, "p95_ms": 14})
    assert result.outcome == "pass"
    assert result.evidence["judged_by"] == "p50"
    assert "too few for a p95: 20 needed" in result.evidence["summary"]


def test_enough_samples_are_judged_by_their_p95() -> None:
    many = [[10.0] * 18 + [500.0, 500.0]]
    result = latency.judge("s", "c", many, budget_ms=100, tolerance=None, baseline=None)
    assert result.outcome == "fail"
    assert result.message == "c: 20 calls: p50 10 ms, p95 500 ms, over the inventory budget 100 ms (by p95)"


def test_a_breach_is_re_measured_before_it_fails() -> None:
    slow, calm = [100.0, 101.0, 102.0, 103.0, 104.0], [12.0] * 20
    baseline = {"p50_ms": 12.0, "p95_ms": 14.0}
    confirmed = latency.judge("s", "c", [slow, calm], budget_ms=None, tolerance=None, baseline=baseline)
    assert confirmed.outcome == "pass"
    assert "re-measured after 5 calls: p50 102 ms" in confirmed.evidence["summary"]
    still_slow = latency.judge("s", "c", [slow, [100.0] * 20], budget_ms=None, tolerance=None, baseline=baseline)
    assert still_slow.outcome == "fail"
    assert still_slow.message == (
        "c: 5 calls: p50 102 ms, p95 104 ms (too few for a p95: 20 needed; the median is judged),"
        " over max(2 × baseline p50 12 ms, baseline + 50 ms) = 62 ms (by p50);"
        " re-measured: 20 calls: p50 100 ms, p95 100 ms, over max(2 × baseline p50 12 ms, baseline + 50 ms) = 62 ms"
        " (by p50)"
    )


def test_a_p95_is_compared_with_a_baseline_p95_only_when_both_had_enough_calls() -> None:
    # 20 calls, two of them stalled: their p95 is a stall, their median is not.
    stalled = [[10.0] * 18 + [90.0, 90.0]]
    small = {"samples": 5, "p50_ms": 10.0, "p95_ms": 12.0}  # the "p95" of 5 calls is their slowest
    assert latency.judge("s", "c", stalled, budget_ms=None, tolerance=None, baseline=small).outcome == "pass"
    large = {"samples": 20, "p50_ms": 10.0, "p95_ms": 12.0}
    result = latency.judge("s", "c", stalled, budget_ms=None, tolerance=None, baseline=large)
    assert result.outcome == "fail"
    assert "(by p95)" in (result.message or "")


def test_tolerance_loosens_the_baseline_limit() -> None:
    baseline = {"p50_ms": 40.0, "p95_ms": 45.0}
    batch = [[100.0] * 5]
    assert latency.judge("s", "c", batch, budget_ms=None, tolerance=None, baseline=baseline).outcome == "fail"
    loose = latency.judge("s", "c", batch, budget_ms=None, tolerance=3, baseline=baseline)
    assert loose.outcome == "pass"
    assert loose.evidence["tolerance"] == 3


def test_no_limit_at_all_is_a_skip() -> None:
    assert latency.judge("s", "c", [FIVE], budget_ms=None, tolerance=None, baseline=None).outcome == "skip"
