"""Monitoring checks: a service's metrics endpoint answers in Prometheus text format with the
metrics the inventory names, so the gate's monitoring item is judged on real data.

The exposition is parsed with prometheus_client's own text parser, the one a scraper trusts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytest_basb.model.results import CheckResult, passed, skipped, violated

CHECK = "monitoring.metrics"
# Suffixes a family's samples add to its name (counter, histogram, summary, info, created).
_SAMPLE_SUFFIXES = ("_total", "_count", "_sum", "_bucket", "_info", "_created", "_gcount", "_gsum")


def metric_names(text: str) -> tuple[set[str], int]:
    """(family and sample names, number of samples) of a Prometheus text exposition.

    Raises ValueError with the parser's message when the text is not valid exposition.
    """
    from prometheus_client.parser import text_string_to_metric_families

    names: set[str] = set()
    samples = 0
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")  # declared counters expose name_total
        for sample in family.samples:
            names.add(sample.name)
            samples += 1
    return names, samples


def metrics_endpoint(
    service: str,
    url: str | None,
    *,
    required: Sequence[str],
    status: int | None,
    body: str | None,
    error: str | None,
) -> CheckResult:
    """metrics_url answered 2xx, its body parses as Prometheus text and names every `required` metric.

    A required name matches a family (`basb_tool_calls`) or one of its samples (`basb_tool_calls_total`).
    """
    if url is None:
        return skipped(CHECK, service, "no metrics_url configured")
    evidence: dict[str, Any] = {"url": url, "status": status, "required": list(required)}
    if error is not None:
        return violated(CHECK, service, f"GET {url} failed: {error}", evidence=evidence)
    if status is None or not 200 <= status < 300:
        return violated(CHECK, service, f"GET {url} answered {status}, expected 2xx", evidence=evidence)
    try:
        names, samples = metric_names(body or "")
    except ValueError as exc:
        return violated(CHECK, service, f"GET {url}: not Prometheus text format: {exc}", evidence=evidence)
    families = {n for n in names if not n.endswith(_SAMPLE_SUFFIXES)}
    evidence.update(families=len(families), samples=samples)
    if not names:
        return violated(CHECK, service, f"GET {url}: the exposition holds no metrics", evidence=evidence)
    missing = [name for name in required if name not in names]
    if missing:
        return violated(
            CHECK,
            service,
            f"GET {url}: missing metric(s) {', '.join(missing)} ({samples} samples in {len(families)} families)",
            evidence={**evidence, "missing": missing},
        )
    return passed(CHECK, service, **evidence)
