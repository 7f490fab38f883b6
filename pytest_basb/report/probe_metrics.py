"""The Prometheus exposition of one probe (`basb-probe`'s `/probe?service=ID` answer)."""

from __future__ import annotations

from pytest_basb.model.probe import PHASES, ProbeOutcome


def probe_exposition(outcome: ProbeOutcome) -> bytes:
    """`basb_probe_success{service}` (1/0) and `basb_probe_duration_seconds{service,phase}` for the
    phases the probe reached, in the text format (a fresh registry per probe, as blackbox_exporter)."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry(auto_describe=True)
    success = Gauge(
        "basb_probe_success", "1 when the MCP probe passed (handshake, listing, smoke calls)", ["service"],
        registry=registry,
    )  # fmt: skip
    success.labels(service=outcome.service).set(1 if outcome.success else 0)
    duration = Gauge(
        "basb_probe_duration_seconds", "Time each phase of the MCP probe took", ["service", "phase"], registry=registry
    )
    for phase in PHASES:
        if phase in outcome.durations:
            duration.labels(service=outcome.service, phase=phase).set(round(outcome.durations[phase], 6))
    return generate_latest(registry)
